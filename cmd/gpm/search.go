package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/gpmtool/gpm/internal/project"
)

// searchFlags are gpm search's own flags.
type searchFlags struct {
	group, project, registry string
}

func searchCmd() *command {
	var f searchFlags
	return &command{
		name: "search", args: "[QUERY] (--group G | --project P) [--registry URL]",
		summary: "discover packages and their versions",
		example: "gpm search cli --group acme",
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&f.group, "group", "", "search the group `G` and its subgroups: numeric ID or full path")
			fs.StringVar(&f.project, "project", "", "search the project `P`: numeric ID or full path")
			fs.StringVar(&f.registry, "registry", "", "GitLab instance `URL` (default: [registry] url of packages.toml, else $CI_SERVER_URL)")
		},
		run: func(c *cli, args []string) error { return runSearch(c, args, f) },
	}
}

// runSearch lists the generic packages of a group or a project whose names
// contain QUERY, one row per package with its newest version.
func runSearch(c *cli, args []string, f searchFlags) error {
	if len(args) > 1 {
		return withHint(usageError("gpm search takes at most one QUERY, got %d", len(args)),
			"GitLab matches every word of the query; quote it: gpm search 'cli tool' --group G")
	}
	query := ""
	if len(args) == 1 {
		query = args[0]
	}
	switch {
	case f.group == "" && f.project == "":
		return withHint(usageError("gpm search needs --group G or --project P"), "gpm search cli --group acme")
	case f.group != "" && f.project != "":
		return usageError("gpm search takes --group or --project, not both")
	}
	cl, err := c.standaloneClient(f.registry)
	if err != nil {
		return err
	}
	where := fmt.Sprintf("project %q", f.project)
	if f.group != "" {
		where = fmt.Sprintf("group %q", f.group)
	}
	rows, err := project.Search(c.ctx, cl, query, f.group, f.project)
	if err != nil {
		return err
	}
	if c.g.json {
		return writeJSON(c, map[string]any{"packages": rows})
	}
	if len(rows) == 0 {
		if query != "" {
			c.printf("no generic packages matching %q in %s\n", query, where)
		} else {
			c.printf("no generic packages in %s\n", where)
		}
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tNEWEST\tVERSIONS\tPROJECT\tUPDATED")
	for _, r := range rows {
		updated := "-"
		if !r.UpdatedAt.IsZero() {
			updated = r.UpdatedAt.UTC().Format(time.DateOnly)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", r.Name, r.Newest, len(r.Versions), r.Project, updated)
	}
	return tw.Flush()
}
