package main

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/gpmtool/gpm/internal/project"
)

func outdatedCmd() *command {
	return &command{name: "outdated", summary: "show locked, newest matching and newest versions", example: "gpm outdated", run: runOutdated}
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
	rows, err := p.Outdated(c.ctx)
	if err != nil {
		return err
	}
	if c.g.json {
		return writeJSON(c, map[string]any{"packages": rows})
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	withPlats := slices.ContainsFunc(rows, func(r project.Outdated) bool { return len(r.Platforms) > 0 })
	if withPlats {
		fmt.Fprintln(tw, "NAME\tLOCKED\tMATCHING\tLATEST\tPLATFORMS")
	} else {
		fmt.Fprintln(tw, "NAME\tLOCKED\tMATCHING\tLATEST")
	}
	n := 0
	for _, r := range rows {
		if r.Outdated || r.Latest != r.Locked {
			n++
		}
		plats := "all"
		if len(r.Platforms) > 0 {
			plats = strings.Join(r.Platforms, ",")
		}
		if withPlats {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, dash(r.Locked), dash(r.Matching), dash(r.Latest), plats)
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, dash(r.Locked), dash(r.Matching), dash(r.Latest))
		}
	}
	tw.Flush()
	if n == 0 {
		c.printf("every package is at the newest version\n")
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
