package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/gpmtool/gpm/internal/manifest"
)

func initCmd() *command {
	return &command{name: "init", summary: "write a commented starter packages.toml", example: "gpm init", run: runInit}
}

// runInit writes the starter manifest. It never overwrites: O_EXCL makes the
// check and the creation one step.
func runInit(c *cli, args []string) error {
	if len(args) > 0 {
		return usageError("gpm init takes no arguments")
	}
	path := c.newManifestPath()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return withHint(fmt.Errorf("%s already exists; not overwriting it", path),
			"edit it to add packages, or remove it to start over")
	}
	if err != nil {
		return err
	}
	_, err = f.Write(manifest.Starter())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	c.printf("created %s\n", path)
	if c.g.json {
		return writeJSON(c, map[string]any{"created": path})
	}
	return nil
}
