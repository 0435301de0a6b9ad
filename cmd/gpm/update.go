package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/gpmtool/gpm/internal/project"
)

func updateCmd() *command {
	var dryRun bool
	return &command{
		name: "update", args: "[NAME...] [--dry-run]",
		summary: "re-resolve packages to the newest matching versions",
		example: "gpm update cli-tool",
		flags: func(fs *pflag.FlagSet) {
			fs.BoolVar(&dryRun, "dry-run", false, "resolve and print what would change; write nothing")
		},
		run: func(c *cli, args []string) error { return runUpdate(c, args, dryRun) },
	}
}

// runUpdate re-resolves all packages, or the named ones, to the newest
// versions their constraints allow, then installs like gpm install.
func runUpdate(c *cli, args []string, dryRun bool) error {
	p, err := c.loadProject()
	if err != nil {
		return err
	}
	o := project.InstallOptions{DryRun: dryRun, All: len(args) == 0, Update: args}
	for _, name := range args {
		if _, ok := p.Manifest.Lookup(name); !ok {
			return c.unknownPackage(p.Manifest, name, fmt.Sprintf("to add it, run 'gpm add %s --project P'", name))
		}
	}
	return c.install(p, o)
}
