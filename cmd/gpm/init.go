package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"

	"github.com/spf13/pflag"

	"github.com/gpmtool/gpm/internal/manifest"
)

func initCmd() *command {
	var registryURL string
	return &command{
		name: "init", args: "[--registry URL]",
		summary: "write a commented starter packages.toml",
		example: "gpm init --registry https://gitlab.example.com",
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&registryURL, "registry", "", "the GitLab instance `URL` to write as [registry] url (default: $CI_SERVER_URL, else "+manifest.DefaultURL+")")
		},
		run: func(c *cli, args []string) error { return runInit(c, args, registryURL) },
	}
}

// runInit writes the starter manifest. It never overwrites: O_EXCL makes the
// check and the creation one step. The [registry] url is written out, never
// left to a default: it is where the user's token goes.
func runInit(c *cli, args []string, registryURL string) error {
	if len(args) > 0 {
		return usageError("gpm init takes no arguments")
	}
	if registryURL == "" {
		registryURL = c.getenv("CI_SERVER_URL")
	}
	if registryURL == "" {
		registryURL = manifest.DefaultURL
	}
	if u, err := url.Parse(registryURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return usageError("invalid registry url %q: want an http(s) URL such as https://gitlab.example.com", registryURL)
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
	_, err = f.Write(manifest.Starter(registryURL))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	c.printf("created %s (registry %s)\n", path, registryURL)
	if c.g.json {
		return writeJSON(c, map[string]any{"created": path})
	}
	return nil
}
