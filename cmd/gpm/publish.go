package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/gpmtool/gpm/internal/project"
	"github.com/gpmtool/gpm/internal/publish"
	"github.com/gpmtool/gpm/internal/registry"
)

func publishCmd() *command {
	var in publish.Input
	var registryURL string
	return &command{
		name: "publish", args: "[--project P] [--package N] [--version V] [--status hidden] [--allow-duplicate] [--registry URL] FILE...",
		summary: "upload files to a generic package",
		example: "gpm publish --project 12345 --package cli-tool --version 1.4.2 dist/*",
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&in.Project, "project", "", "publisher project `P`: numeric ID or group/project path (default $CI_PROJECT_ID)")
			fs.StringVar(&in.Package, "package", "", "package `NAME` (default in GitLab CI without --project: $CI_PROJECT_NAME)")
			fs.StringVar(&in.Version, "version", "", "package `VERSION` (default $CI_COMMIT_TAG)")
			fs.StringVar(&in.Status, "status", "", "set the package's `STATUS`: hidden (listed nowhere, still downloadable) or default")
			fs.BoolVar(&in.AllowDuplicate, "allow-duplicate", false, "upload a file even when the version already has a different file of that name (GitLab keeps both and serves the newest)")
			fs.StringVar(&registryURL, "registry", "", "GitLab instance `URL` (default: [registry] url of packages.toml, else $CI_SERVER_URL)")
		},
		run: func(c *cli, args []string) error { return runPublish(c, in, registryURL, args) },
	}
}

// runPublish uploads files to a generic package (internal/publish):
// validate everything, hash the files, compare with what the version already
// holds, then upload what is missing, one file at a time.
func runPublish(c *cli, in publish.Input, registryURL string, args []string) error {
	in.Files, in.Dir, in.Getenv = args, c.g.dir, c.getenv
	req, err := publish.NewRequest(in)
	if err != nil {
		return err
	}
	for _, w := range req.Warnings {
		c.warnf("%s", w)
	}
	cl, err := c.standaloneClient(registryURL)
	if err != nil {
		return err
	}
	res, err := publish.Run(c.ctx, cl, req, publish.Options{Jobs: c.g.jobs, Printf: c.printf, Warnf: c.warnf})
	if err != nil {
		return err
	}
	if res.Uploaded == 0 {
		c.printf("%s@%s is already published in project %s: %s unchanged\n", res.Name, res.Version, res.Project, plural(res.Skipped, "file"))
	} else {
		c.printf("published %s@%s to project %s: %d uploaded, %d already there\n", res.Name, res.Version, res.Project, res.Uploaded, res.Skipped)
	}
	if c.g.json {
		return writeJSON(c, res)
	}
	c.printf("to depend on it, add to packages.toml:\n")
	_, err = fmt.Fprint(c.stdout, res.Snippet)
	return err
}

// plural formats a count with its noun: "1 file", "2 files".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// standaloneClient is the client of a command that does not need a
// packages.toml (publish, search); see project.StandaloneClient.
func (c *cli) standaloneClient(flagURL string) (*registry.Client, error) {
	return project.StandaloneClient(flagURL, c.manifestPath(), c.env())
}
