package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/gpmtool/gpm/internal/fetch"
	"github.com/gpmtool/gpm/internal/lock"
	"github.com/gpmtool/gpm/internal/registry"
)

// change is one line of "name old -> new" output.
type change struct {
	Name string `json:"name"`
	From string `json:"from,omitempty"` // "" when added
	To   string `json:"to,omitempty"`   // "" when removed
}

// diffLocks lists the packages whose locked version differs between two
// locks, by name. It never returns nil: --json prints no change as [].
func diffLocks(old, next *lock.File) []change {
	out := []change{}
	for _, np := range next.Packages {
		op, ok := old.Lookup(np.Name)
		switch {
		case !ok:
			out = append(out, change{Name: np.Name, To: np.Version})
		case op.Version != np.Version:
			out = append(out, change{Name: np.Name, From: op.Version, To: np.Version})
		}
	}
	if old != nil {
		for _, op := range old.Packages {
			if _, ok := next.Lookup(op.Name); !ok {
				out = append(out, change{Name: op.Name, From: op.Version})
			}
		}
	}
	return out
}

// printChanges prints one "name old -> new" line per changed package.
func (c *cli) printChanges(changes []change, dryRun bool) {
	for _, ch := range changes {
		c.printf("%s\n", updateLine(ch))
	}
	if dryRun {
		if len(changes) == 0 {
			c.printf("every package is at the newest version its constraint allows\n")
		}
		c.printf("dry run: nothing was written\n")
	}
}

// jsonInstall is the --json document of install, update, add and remove.
type jsonInstall struct {
	Changes []change      `json:"changes"`
	DryRun  bool          `json:"dry_run,omitempty"`
	Report  *fetch.Report `json:"report,omitempty"`
}

// cache opens the blob cache; a cache that cannot be used is a warning, not
// a failure: installs work without it.
func (c *cli) cache() *fetch.Cache {
	dir, err := fetch.DefaultCacheDir(c.getenv)
	if err == nil {
		var cache *fetch.Cache
		if cache, err = fetch.OpenCache(dir); err == nil {
			return cache
		}
	}
	c.warnf("not using the download cache: %v", err)
	return nil
}

// fetchAndPlace installs the packages of next into the vendor directory and
// writes the lock once every file is fetched and verified, before the first
// package is placed. Under o.locked the lock is not written at all: it was
// checked to hold next already, and --locked writes nothing to it, whatever
// its line endings or layout (a read-only lock stays untouched).
func (c *cli) fetchAndPlace(p *project, cls *clients, next *lock.File, o installOptions) (*fetch.Report, error) {
	opts := fetch.Options{
		Dir:     p.dir,
		Cache:   c.cache(),
		Jobs:    c.g.jobs,
		Offline: o.offline,
		Locked:  true,
		Source: func(lp lock.Package) (fetch.Downloader, error) {
			return cls.get(lp.Registry)
		},
		BeforePlace: func() error {
			if o.locked {
				return nil
			}
			_, err := lock.Write(p.lockPath, next)
			return err
		},
		Warnf: c.warnf,
	}
	r := c.newReporter()
	if r != nil {
		opts.Events = r.event
	}
	end := c.section("install", "gpm: installing "+plural(len(next.Packages), "package"))
	rep, err := fetch.Install(c.ctx, next, opts)
	r.done()
	end()
	if err != nil {
		return nil, c.explainDownload404(err, next, cls)
	}
	return rep, nil
}

// printSummary closes install and update with one line. It counts the
// packages now locked: the report also lists the ones it removed.
func (c *cli) printSummary(rep *fetch.Report, d time.Duration) {
	n := 0
	for _, p := range rep.Packages {
		if p.Action != fetch.Removed {
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

// explainDownload404 makes sense of a 404 on a download. GitLab answers 404
// both for a missing file and for a project hidden from the caller; with a
// CI job token the usual cause is the publisher's job-token allowlist. One
// listing call tells them apart: GitLab answers it with 403 and its reason
// (or a project-level 404) when access is the problem. The listing error
// then replaces the download's, so the exit code says "access denied".
func (c *cli) explainDownload404(err error, next *lock.File, cls *clients) error {
	var pe *fetch.PackageError
	var he *registry.HTTPError
	if !errors.As(err, &pe) || !errors.As(err, &he) || he.Status != 404 || he.Op != registry.OpDownload || he.Storage {
		return err
	}
	lp, ok := next.Lookup(pe.Name)
	if !ok {
		return err
	}
	cl, cerr := cls.get(lp.Registry)
	if cerr != nil {
		return err
	}
	_, lerr := cl.ListPackages(c.ctx, lp.Project, lp.Package)
	if lerr == nil || !(errors.Is(lerr, registry.ErrUnauthorized) || hiddenProject(lerr)) {
		return err
	}
	return &fetch.PackageError{Name: pe.Name, Version: pe.Version, Err: fmt.Errorf("download refused (404), and listing project %q confirms access is the problem: %w", lp.Project, lerr)}
}
