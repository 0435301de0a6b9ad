package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/gpmtool/gpm/internal/project"
)

func updateCmd() *command {
	var dryRun bool
	var to string
	var toSet func() bool
	return &command{
		name: "update", args: "[NAME...] [--dry-run] [--to VERSION]",
		summary: "re-resolve packages to the newest matching versions",
		example: "gpm update cli-tool",
		flags: func(fs *pflag.FlagSet) {
			fs.BoolVar(&dryRun, "dry-run", false, "resolve and print what would change; write nothing")
			fs.StringVar(&to, "to", "", "pin the one named package to exactly `VERSION`, which its constraint must allow")
			toSet = func() bool { return fs.Changed("to") }
		},
		run: func(c *cli, args []string) error { return runUpdate(c, args, dryRun, to, toSet()) },
	}
}

// runUpdate re-resolves all packages, or the named ones, to the newest
// versions their constraints allow, then installs like gpm install. With
// --to it pins the one named package to exactly that version, as cargo
// update -p NAME --precise VERSION does; the constraint in packages.toml
// must allow it and is not rewritten.
func runUpdate(c *cli, args []string, dryRun bool, to string, toSet bool) error {
	if toSet && len(args) != 1 {
		return withHint(usageError("gpm update --to takes exactly one package name, got %d", len(args)), "run 'gpm update NAME --to VERSION'")
	}
	if toSet && to == "" {
		return usageError("gpm update --to: the version is empty")
	}
	p, err := c.loadProject()
	if err != nil {
		return err
	}
	o := project.InstallOptions{DryRun: dryRun, All: len(args) == 0, Update: args, To: to}
	for _, name := range args {
		if _, ok := p.Manifest.Lookup(name); !ok {
			return c.unknownPackage(p.Manifest, name, fmt.Sprintf("to add it, run 'gpm add %s --project P'", name))
		}
	}
	return c.install(p, o)
}
