package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gpmtool/gpm/internal/doctor"
	"github.com/gpmtool/gpm/internal/registry"
)

func doctorCmd() *command {
	return &command{name: "doctor", summary: "check configuration, credentials, access and the vendor directory", example: "gpm doctor", run: runDoctor}
}

// jsonDoctor is the --json document of gpm doctor.
type jsonDoctor struct {
	OK     bool           `json:"ok"`
	Checks []doctor.Check `json:"checks"`
}

// runDoctor walks the set-up checklist (internal/doctor), printing each
// check as it is decided. It changes nothing. It exits 0 when every check is
// ok, 5 when a problem is about access, 2 when packages.toml or
// packages.lock is invalid, and 1 otherwise.
func runDoctor(c *cli, args []string) error {
	if len(args) > 0 {
		return usageError("gpm doctor takes no arguments")
	}
	checks := doctor.Run(c.ctx, doctor.Options{
		ManifestPath: c.manifestPath(),
		LockPath:     c.lockPath(),
		Env:          c.env(),
		Report: func(ch doctor.Check) {
			c.printf("%-8s %s: %s\n", ch.Status, ch.Name, strings.ReplaceAll(ch.Detail, "\n", "\n         "))
			if ch.Fix != "" {
				c.printf("         fix: %s\n", ch.Fix)
			}
		},
	})
	if err := c.ctx.Err(); err != nil {
		return err
	}
	problems, kind := doctor.Worst(checks)
	if c.g.json {
		if checks == nil {
			checks = []doctor.Check{}
		}
		if err := writeJSON(c, jsonDoctor{OK: problems == 0, Checks: checks}); err != nil {
			return err
		}
	}
	if problems == 0 {
		c.printf("no problems found\n")
		return nil
	}
	msg := fmt.Sprintf("gpm doctor found %s", plural(problems, "problem"))
	switch kind {
	case doctor.Access:
		return &kindError{kind: registry.ErrUnauthorized, msg: msg}
	case doctor.Invalid:
		return usageError("%s", msg)
	}
	return errors.New(msg)
}
