package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/platform"
	"github.com/gpmtool/gpm/internal/project"
)

// modeFlags are --locked, --offline and --frozen, which install and exec
// (when it must install first) share.
type modeFlags struct{ locked, offline, frozen bool }

// register adds the flags; prefix starts each description (exec's only
// apply when it installs).
func (m *modeFlags) register(fs *pflag.FlagSet, prefix string) {
	fs.BoolVar(&m.locked, "locked", false, prefix+"fail (exit 3) if packages.lock is missing or would change; make no listing calls")
	fs.BoolVar(&m.offline, "offline", false, prefix+"use no network: install from the cache or fail (exit 3)")
	fs.BoolVar(&m.frozen, "frozen", false, "both --locked and --offline")
}

// options are the install options the flags ask for.
func (m *modeFlags) options() project.InstallOptions {
	return project.InstallOptions{Locked: m.locked || m.frozen, Offline: m.offline || m.frozen}
}

func installCmd() *command {
	var mode modeFlags
	return &command{
		name: "install", args: "[--locked] [--offline] [--frozen]",
		summary: "resolve what changed, write packages.lock, install everything locked",
		example: "gpm install --locked",
		flags:   func(fs *pflag.FlagSet) { mode.register(fs, "") },
		run: func(c *cli, args []string) error {
			if len(args) > 0 {
				return withHint(usageError("gpm install takes no arguments"), "to add a package, run 'gpm add NAME --project P' or edit packages.toml")
			}
			p, err := c.loadProject()
			if err != nil {
				return err
			}
			return c.install(p, mode.options())
		},
	}
}

// env is what the engines need from the command line and the process.
func (c *cli) env() project.Env {
	getenv := c.getenv
	if c.g.platform != "" {
		// --platform wins over $GPM_PLATFORM; the engines read one.
		getenv = func(k string) string {
			if k == platform.Env {
				return c.g.platform
			}
			return c.getenv(k)
		}
	}
	e := project.Env{Getenv: getenv, Jobs: c.g.jobs, UserAgent: userAgent(), Warnf: c.warnf}
	if c.g.verbose {
		e.Logf = func(format string, args ...any) {
			fmt.Fprintf(c.stderr, "gpm: "+format+"\n", args...)
		}
	}
	return e
}

// loadProject reads the manifest and the lock (if any); a missing manifest
// is a usage error that points at gpm init.
func (c *cli) loadProject() (*project.Project, error) {
	p, err := project.Load(c.manifestPath(), c.env())
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(c.manifestPath()); errors.Is(serr, fs.ErrNotExist) {
			where := displayDir(filepath.Dir(c.manifestPath()))
			if c.searchedParents() {
				where += " or any parent directory"
			}
			return nil, hint.Wrap(usageError("no %s in %s", filepath.Base(c.manifestPath()), where),
				"run 'gpm init' to create one, or pass -C DIR / --manifest FILE")
		}
	}
	return p, err
}

// install runs an install, update, add or remove of p and prints its
// changes, progress and summary, or its --json document.
func (c *cli) install(p *project.Project, o project.InstallOptions) error {
	_, err := c.installWith(p, o, func(o project.InstallOptions) (*project.Result, error) {
		return p.Install(c.ctx, o)
	})
	return err
}

// installWith runs one engine call that ends in an install, with gpm's
// output wired into it.
func (c *cli) installWith(p *project.Project, o project.InstallOptions, call func(project.InstallOptions) (*project.Result, error)) (*project.Result, error) {
	start := time.Now()
	var r *reporter
	end := func() {}
	o.Planned = func(changes []project.Change, n int) {
		c.printChanges(changes, false)
		r = c.newReporter()
		end = c.section("install", "gpm: installing "+plural(n, "package"))
	}
	o.Events = func(e project.Event) { r.event(e) }
	res, err := call(o)
	r.done()
	end()
	if err != nil {
		return nil, err
	}
	for _, s := range res.Skipped {
		c.printf("gpm: skipped %s: its platforms (%s) exclude %s\n", s.Name, strings.Join(s.Platforms, ", "), res.Platform)
	}
	if o.DryRun {
		c.printChanges(res.Changes, true)
		if c.g.json {
			return res, writeJSON(c, jsonInstall{Changes: res.Changes, DryRun: true, Platform: res.Platform, Skipped: res.Skipped})
		}
		return res, nil
	}
	c.printSummary(res.Report, time.Since(start))
	if c.g.json {
		return res, writeJSON(c, jsonInstall{Changes: res.Changes, Report: res.Report, Platform: res.Platform, Skipped: res.Skipped})
	}
	return res, nil
}

// jsonInstall is the --json document of install, update, add and remove.
type jsonInstall struct {
	Changes []project.Change `json:"changes"`
	DryRun  bool             `json:"dry_run,omitempty"`
	Report  *project.Report  `json:"report,omitempty"`
	// Platform is the platform installed for; Skipped, the packages whose
	// platforms exclude it.
	Platform string            `json:"platform,omitempty"`
	Skipped  []project.Skipped `json:"skipped,omitempty"`
}

// printChanges prints one "name old -> new" line per changed package.
func (c *cli) printChanges(changes []project.Change, dryRun bool) {
	for _, ch := range changes {
		c.printf("%s\n", ch)
	}
	if dryRun {
		if len(changes) == 0 {
			c.printf("every package is at the newest version its constraint allows\n")
		}
		c.printf("dry run: nothing was written\n")
	}
}

// printSummary closes install and update with one line. It counts the
// packages now locked: the report also lists the ones it removed.
func (c *cli) printSummary(rep *project.Report, d time.Duration) {
	n := 0
	for _, p := range rep.Packages {
		if p.Action != project.Removed {
			n++
		}
	}
	if !rep.Changed() {
		c.printf("%s up to date (%s)\n", plural(n, "package"), roundDuration(d))
		return
	}
	c.printf("%s, %s downloaded (%s), %d from cache, in %s\n",
		plural(n, "package"), plural(rep.Downloaded, "file"), formatBytes(rep.Bytes), rep.Cached, roundDuration(d))
}

func roundDuration(d time.Duration) time.Duration {
	switch {
	case d > 10*time.Second:
		return d.Round(time.Second)
	case d > time.Second:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
