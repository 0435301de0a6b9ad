package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"golang.org/x/sync/errgroup"

	"github.com/gpmtool/gpm/internal/resolve"
)

func init() {
	lookupCommand("outdated").run = runOutdated
}

// outdatedRow is one package of gpm outdated.
type outdatedRow struct {
	Name     string `json:"name"`
	Locked   string `json:"locked,omitempty"`   // "" when not locked
	Matching string `json:"matching,omitempty"` // newest version the constraint allows
	Latest   string `json:"latest,omitempty"`   // newest stable version overall
	Outdated bool   `json:"outdated"`           // gpm update would change the lock
}

// runOutdated lists, for every package, the locked version, the newest
// version its constraint allows and the newest version overall. It changes
// nothing.
func runOutdated(c *cli, args []string) error {
	if len(args) > 0 {
		return usageError("gpm outdated takes no arguments")
	}
	p, err := c.loadProject()
	if err != nil {
		return err
	}
	cls := c.clients(p.m)
	rows := make([]outdatedRow, len(p.m.Packages))
	g, ctx := errgroup.WithContext(c.ctx)
	g.SetLimit(c.g.jobs)
	for i, mp := range p.m.Packages {
		g.Go(func() error {
			row := outdatedRow{Name: mp.Name}
			if lp, ok := p.lock.Lookup(mp.Name); ok {
				row.Locked = lp.Version
			}
			cl, err := cls.get(mp.Registry)
			if err != nil {
				return err
			}
			vs, err := resolve.Versions(ctx, cl, mp.Project, mp.Package)
			if err != nil {
				return localError(mp.Name, err)
			}
			if v, ok := resolve.Newest(vs, &mp.Constraint); ok {
				row.Matching = v.Raw
			}
			if v, ok := resolve.Newest(vs, nil); ok {
				row.Latest = v.Raw
			}
			row.Outdated = row.Matching != "" && row.Matching != row.Locked
			rows[i] = row
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if c.g.json {
		return writeJSON(c, map[string]any{"packages": rows})
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tLOCKED\tMATCHING\tLATEST")
	n := 0
	for _, r := range rows {
		if r.Outdated || r.Latest != r.Locked {
			n++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, dash(r.Locked), dash(r.Matching), dash(r.Latest))
	}
	tw.Flush()
	if n == 0 {
		c.printf("every package is at the newest version\n")
	}
	return nil
}

// localError names a failure of resolve.Versions after the manifest's
// local name. Versions names the registry package already; wrapping its
// error again would print the name twice ("tool: tool: ...").
func localError(name string, err error) error {
	var re *resolve.Error
	if errors.As(err, &re) {
		err = re.Err
	}
	return &resolve.Error{Name: name, Err: err}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
