package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/gpmtool/gpm/internal/project"
)

var updateDryRun bool

func init() {
	cmd := lookupCommand("update")
	cmd.flags = func(fs *pflag.FlagSet) {
		fs.BoolVar(&updateDryRun, "dry-run", false, "resolve and print what would change; write nothing")
	}
	cmd.run = runUpdate
}

// runUpdate re-resolves all packages, or the named ones, to the newest
// versions their constraints allow, then installs like gpm install.
func runUpdate(c *cli, args []string) error {
	p, err := c.loadProject()
	if err != nil {
		return err
	}
	o := project.InstallOptions{DryRun: updateDryRun, All: len(args) == 0, Update: args}
	for _, name := range args {
		if _, ok := p.Manifest.Lookup(name); !ok {
			return c.unknownPackage(p.Manifest, name, fmt.Sprintf("to add it, run 'gpm add %s --project P'", name))
		}
	}
	return c.install(p, o)
}
