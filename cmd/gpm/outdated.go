package main

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/gpmtool/gpm/internal/project"
)

func outdatedCmd() *command {
	var exitCode bool
	return &command{
		name: "outdated", args: "[--exit-code]",
		summary: "show locked, newest matching and newest versions",
		example: "gpm outdated --exit-code",
		flags: func(fs *pflag.FlagSet) {
			fs.BoolVar(&exitCode, "exit-code", false, "exit 7 when a package has a newer version (for scheduled CI checks)")
		},
		run: func(c *cli, args []string) error { return runOutdated(c, args, exitCode) },
	}
}

// runOutdated lists, for every package, the locked version, the newest
// version its constraint allows and the newest version overall. It changes
// nothing. With exitCode, a package whose locked version is not the newest
// one (matching or overall) makes it return errOutdated (exit 7), after the
// table or the --json document.
func runOutdated(c *cli, args []string, exitCode bool) error {
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
	n := 0
	for _, r := range rows {
		if r.Outdated || r.NewerLatest() {
			n++
		}
	}
	if c.g.json {
		if err := writeJSON(c, map[string]any{"packages": rows}); err != nil {
			return err
		}
	} else {
		printOutdated(c, rows)
		if n == 0 {
			c.printf("every package is at the newest version\n")
		}
	}
	if exitCode && n > 0 {
		return withHint(&kindError{kind: errOutdated, msg: outdatedCount(n) + " a newer version"},
			"run 'gpm update' for the newest versions the constraints allow; edit a version constraint in packages.toml to move past it")
	}
	return nil
}

// printOutdated prints the table; a PLATFORMS column only when the lock
// covers platforms.
func printOutdated(c *cli, rows []project.Outdated) {
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	withPlats := slices.ContainsFunc(rows, func(r project.Outdated) bool { return len(r.Platforms) > 0 })
	if withPlats {
		fmt.Fprintln(tw, "NAME\tLOCKED\tMATCHING\tLATEST\tPLATFORMS")
	} else {
		fmt.Fprintln(tw, "NAME\tLOCKED\tMATCHING\tLATEST")
	}
	for _, r := range rows {
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
}

// outdatedCount says how many packages have a newer version.
func outdatedCount(n int) string {
	if n == 1 {
		return "1 package has"
	}
	return fmt.Sprintf("%d packages have", n)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
