package main

import (
	"fmt"

	"github.com/spf13/pflag"
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
	o := installOptions{dryRun: updateDryRun, update: map[string]bool{}}
	if len(args) == 0 {
		o.all = true
	} else {
		m, err := c.loadManifest()
		if err != nil {
			return err
		}
		for _, name := range args {
			if _, ok := m.Lookup(name); !ok {
				return c.unknownPackage(m, name, fmt.Sprintf("to add it, run 'gpm add %s --project P'", name))
			}
			o.update[name] = true
		}
	}
	return c.install(o)
}

// updateLine formats one "name old -> new" line.
func updateLine(ch change) string {
	switch {
	case ch.From == "":
		return fmt.Sprintf("%s -> %s (new)", ch.Name, ch.To)
	case ch.To == "":
		return fmt.Sprintf("%s %s -> removed", ch.Name, ch.From)
	}
	return fmt.Sprintf("%s %s -> %s", ch.Name, ch.From, ch.To)
}
