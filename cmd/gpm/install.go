package main

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/gpmtool/gpm/internal/fetch"
	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/lock"
	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/resolve"
)

// errOffline marks work that needs the network under --offline (exit 3).
var errOffline = errors.New("network needed under --offline")

type installFlags struct {
	locked, offline, frozen bool
}

var instFlags installFlags

func init() {
	cmd := lookupCommand("install")
	cmd.flags = func(fs *pflag.FlagSet) {
		fs.BoolVar(&instFlags.locked, "locked", false, "fail (exit 3) if packages.lock is missing or would change; make no listing calls")
		fs.BoolVar(&instFlags.offline, "offline", false, "use no network: install from the cache or fail (exit 3)")
		fs.BoolVar(&instFlags.frozen, "frozen", false, "both --locked and --offline")
	}
	cmd.run = func(c *cli, args []string) error {
		if len(args) > 0 {
			return withHint(usageError("gpm install takes no arguments"), "to add a package, run 'gpm add NAME --project P' or edit packages.toml")
		}
		f := instFlags
		if f.frozen {
			f.locked, f.offline = true, true
		}
		return c.install(installOptions{locked: f.locked, offline: f.offline})
	}
}

// installOptions says what an install or update may change.
type installOptions struct {
	locked  bool            // the lock must not change
	offline bool            // no network
	update  map[string]bool // names to re-resolve even when fresh (gpm update)
	all     bool            // re-resolve everything (gpm update without names)
	dryRun  bool            // resolve and report, write nothing
}

// project is a loaded manifest with its lock and vendor directory.
type project struct {
	m        *manifest.Manifest
	lock     *lock.File // nil when there is no packages.lock
	lockPath string
	dir      string // vendor directory
}

// loadProject reads the manifest and the lock (if any).
func (c *cli) loadProject() (*project, error) {
	m, err := c.loadManifest()
	if err != nil {
		return nil, err
	}
	p := &project{m: m, lockPath: c.lockPath(), dir: filepath.Join(filepath.Dir(c.manifestPath()), m.Dir)}
	if err := p.readLock(); err != nil {
		return nil, err
	}
	return p, nil
}

// readLock (re)reads packages.lock; a missing lock leaves p.lock nil.
func (p *project) readLock() error {
	l, err := lock.Read(p.lockPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		p.lock = nil
	case err != nil:
		return err
	default:
		p.lock = l
	}
	return nil
}

// plan splits the manifest into entries whose lock entry can be kept and
// entries that must be resolved; lock entries no longer in the manifest are
// in neither, so they drop out of the next lock.
type plan struct {
	keep    []lock.Package
	resolve []manifest.Package
}

func makePlan(p *project, o installOptions) plan {
	var pl plan
	for _, mp := range p.m.Packages {
		lp, ok := p.lock.Lookup(mp.Name)
		if ok && lock.Fresh(mp, lp) && !o.all && !o.update[mp.Name] {
			pl.keep = append(pl.keep, lp)
			continue
		}
		pl.resolve = append(pl.resolve, mp)
	}
	return pl
}

// install is gpm install, and the shared engine of update, add and remove:
// plan, resolve what is stale, fetch everything, write the lock, place.
func (c *cli) install(o installOptions) error {
	start := time.Now()
	p, err := c.loadProject()
	if err != nil {
		return err
	}
	// --locked and --offline refuse before anything is written, even the
	// vendor directory's lock file.
	if err := checkModes(p, o); err != nil {
		return err
	}
	if !o.dryRun {
		unlock, err := fetch.LockDir(p.dir)
		if err != nil {
			return err
		}
		defer unlock()
		// Another gpm may have changed the lock while this one waited.
		if err := p.readLock(); err != nil {
			return err
		}
		if err := checkModes(p, o); err != nil {
			return err
		}
	}
	pl := makePlan(p, o)
	cls := c.clients(p.m)
	resolved, err := c.resolve(cls, pl.resolve)
	if err != nil {
		return err
	}
	next := &lock.File{Version: lock.Version, Packages: append(append([]lock.Package(nil), pl.keep...), resolved...)}
	sort.Slice(next.Packages, func(i, j int) bool { return next.Packages[i].Name < next.Packages[j].Name })

	changes := diffLocks(p.lock, next)
	if o.dryRun {
		c.printChanges(changes, true)
		if c.g.json {
			return writeJSON(c, jsonInstall{Changes: changes, DryRun: true})
		}
		return nil
	}

	c.printChanges(changes, false)
	rep, err := c.fetchAndPlace(p, cls, next, o)
	if err != nil {
		return err
	}
	c.printSummary(rep, time.Since(start))
	if c.g.json {
		if rep.Packages == nil {
			rep.Packages = []fetch.PackageReport{} // [], not null
		}
		return writeJSON(c, jsonInstall{Changes: changes, Report: rep})
	}
	return nil
}

// checkModes enforces --locked (the lock must exist and need no change) and
// --offline (nothing may need resolving).
func checkModes(p *project, o installOptions) error {
	if o.locked {
		if p.lock == nil {
			return hint.Wrap(&kindError{kind: lock.ErrStale, msg: fmt.Sprintf("%s is missing and --locked was given", filepath.Base(p.lockPath))},
				"run 'gpm install' (without --locked or --frozen) to create it, then commit it")
		}
		if err := lock.Check(p.m, p.lock); err != nil {
			return err
		}
	}
	if pl := makePlan(p, o); o.offline && len(pl.resolve) > 0 {
		names := make([]string, len(pl.resolve))
		for i, mp := range pl.resolve {
			names[i] = mp.Name
		}
		return hint.Wrap(&kindError{kind: errOffline, msg: fmt.Sprintf("resolving %s needs the network, but --offline was given", strings.Join(names, ", "))},
			"run 'gpm install' once with network access, then commit packages.lock")
	}
	return nil
}

// resolve pins the given manifest entries.
func (c *cli) resolve(cls *clients, pkgs []manifest.Package) ([]lock.Package, error) {
	if len(pkgs) == 0 {
		return nil, nil
	}
	reqs := make([]resolve.Request, len(pkgs))
	for i, mp := range pkgs {
		cl, err := cls.get(mp.Registry)
		if err != nil {
			return nil, err
		}
		reqs[i] = resolve.Request{Pkg: mp, Source: cl}
	}
	return resolve.Resolve(c.ctx, reqs, resolve.Options{Jobs: c.g.jobs, Warnf: c.warnf})
}
