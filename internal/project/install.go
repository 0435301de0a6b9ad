package project

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/gpmtool/gpm/internal/fetch"
	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/lock"
	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/platform"
	"github.com/gpmtool/gpm/internal/registry"
	"github.com/gpmtool/gpm/internal/resolve"
)

// InstallOptions says what an install or update may change.
type InstallOptions struct {
	// Locked: the lock must exist and need no change (exit 3 otherwise);
	// no listing call is made.
	Locked bool
	// Offline: no network; install from the cache or fail.
	Offline bool
	// Update names entries to re-resolve even when their lock entry is
	// fresh (gpm update NAME...).
	Update []string
	// All re-resolves every entry (gpm update).
	All bool
	// To pins the one entry named in Update to exactly this version (gpm
	// update NAME --to VERSION, as cargo update --precise): it must
	// satisfy the entry's constraint, which is left as written.
	To string
	// DryRun resolves and reports the changes; it writes nothing, not even
	// the vendor directory's lock file.
	DryRun bool
	// Planned, when set, is called once the new lock is known, before
	// anything is placed: the caller prints the changes and opens its
	// progress display there. Downloads may have begun while entries were
	// resolving; their events are held until Planned returns.
	Planned func(changes []Change, packages int)
	// Events receives download and placement progress.
	Events func(Event)
}

// Result is what an install, update, add or remove did.
type Result struct {
	// Changes lists the packages whose locked version changed, by name.
	// It is never nil.
	Changes []Change
	// Report says what was placed, downloaded and removed; nil on a dry run.
	Report *Report
	// Platform is the platform installed for.
	Platform string
	// Skipped are the packages whose platforms exclude Platform; never nil.
	Skipped []Skipped
}

// Install resolves what is stale or missing, fetches everything the new lock
// pins, writes the lock once every file is fetched and verified, and places
// the packages. A failed or interrupted install leaves the lock and the
// vendor directory as they were.
func (p *Project) Install(ctx context.Context, o InstallOptions) (*Result, error) {
	if err := p.checkTo(o); err != nil {
		return nil, err
	}
	// --locked and --offline refuse before anything is written, even the
	// vendor directory's lock file; so does a platform packages.toml does
	// not cover.
	if err := p.checkPlatform(); err != nil {
		return nil, err
	}
	if err := p.checkModes(o); err != nil {
		return nil, err
	}
	if o.DryRun {
		return p.install(ctx, o)
	}
	unlock, err := fetch.LockDir(p.Dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Another gpm may have changed the lock while this one waited.
	if err := p.readLock(); err != nil {
		return nil, err
	}
	if err := p.checkModes(o); err != nil {
		return nil, err
	}
	return p.install(ctx, o)
}

// install is Install once the vendor directory is locked (or for a dry
// run, which writes nothing).
//
// When entries must be resolved, each package's downloads start as soon as
// it is resolved (fetch.Session.Prefetch), into the cache, so that
// resolution and downloads overlap; the lock is still written, and
// packages placed, only after every entry resolved and every file was
// fetched and verified.
func (p *Project) install(ctx context.Context, o InstallOptions) (*Result, error) {
	pl := p.plan(o)
	events := &heldEvents{out: o.Events}
	var sess *fetch.Session
	var prefetch func(lock.Package)
	if !o.DryRun {
		var err error
		if sess, err = fetch.Begin(ctx, p.fetchOptions(o, events.event)); err != nil {
			return nil, err
		}
		defer sess.Close()
		if len(pl.resolve) > 0 {
			prefetch = func(lp lock.Package) {
				if v, ok := p.viewOf(lp); ok {
					sess.Prefetch(v)
				}
			}
			for _, lp := range pl.keep {
				prefetch(lp)
			}
		}
	}
	resolved, err := p.resolve(ctx, pl.resolve, o, prefetch)
	if err != nil {
		return nil, err
	}
	next := &lock.File{Version: lock.MinVersion, Platforms: lockPlatforms(p.Manifest.Platforms, p.Lock), Packages: append(slices.Clone(pl.keep), resolved...)}
	sort.Slice(next.Packages, func(i, j int) bool { return next.Packages[i].Name < next.Packages[j].Name })

	// Only the current platform's files (and the shared ones) are
	// fetched and placed; the lock keeps every platform's.
	view, skipped, err := p.view(next)
	if err != nil {
		return nil, err
	}
	res := &Result{Changes: DiffLocks(p.Lock, next), Platform: p.Platform, Skipped: skipped}
	if o.DryRun {
		return res, nil
	}
	if o.Planned != nil {
		o.Planned(res.Changes, len(view.Packages))
	}
	events.release()
	res.Report, err = p.fetchAndPlace(ctx, sess, next, view, o)
	if err != nil {
		return nil, err
	}
	p.Lock = next
	return res, nil
}

// lockPlatforms is the platforms line of the next lock: the manifest's, in
// the order of the current lock when they are the same platforms. Their
// order means nothing, so reordering [install] platforms changes no lock
// (and install --locked, which compares them as a set, says so).
func lockPlatforms(manifest []string, old *lock.File) []string {
	if old != nil && slices.Equal(slices.Sorted(slices.Values(manifest)), slices.Sorted(slices.Values(old.Platforms))) {
		return slices.Clone(old.Platforms)
	}
	return slices.Clone(manifest)
}

// plan splits the manifest into entries whose lock entry can be kept and
// entries that must be resolved; lock entries no longer in the manifest are
// in neither, so they drop out of the next lock.
type plan struct {
	keep    []lock.Package
	resolve []manifest.Package
}

func (p *Project) plan(o InstallOptions) plan {
	var pl plan
	for _, mp := range p.Manifest.Packages {
		lp, ok := p.Lock.Lookup(mp.Name)
		if ok && lock.Fresh(mp, lp) && !o.All && !slices.Contains(o.Update, mp.Name) {
			pl.keep = append(pl.keep, lp)
			continue
		}
		pl.resolve = append(pl.resolve, mp)
	}
	return pl
}

// checkModes enforces --locked (the lock must exist and need no change) and
// --offline (nothing may need resolving).
func (p *Project) checkModes(o InstallOptions) error {
	if o.Locked {
		if p.Lock == nil {
			return hint.Wrap(kindErrorf(lock.ErrStale, "%s is missing and --locked was given", baseName(p.LockPath)),
				"run 'gpm install' (without --locked or --frozen) to create it, then commit it")
		}
		if err := lock.Check(p.Manifest, p.Lock); err != nil {
			return err
		}
	}
	if pl := p.plan(o); o.Offline && len(pl.resolve) > 0 {
		names := make([]string, len(pl.resolve))
		for i, mp := range pl.resolve {
			names[i] = mp.Name
		}
		return hint.Wrap(kindErrorf(ErrOffline, "resolving %s needs the network, but --offline was given", strings.Join(names, ", ")),
			"run 'gpm install' once with network access, then commit packages.lock")
	}
	return nil
}

// resolve pins the given manifest entries; o.To pins the one named in
// o.Update exactly. resolved, when set, receives each lock entry as soon
// as it is known. The clients share one limiter: at most --jobs listings
// in flight, and apart from them at most --jobs downloads.
func (p *Project) resolve(ctx context.Context, pkgs []manifest.Package, o InstallOptions, resolved func(lock.Package)) ([]lock.Package, error) {
	if len(pkgs) == 0 {
		return nil, nil
	}
	reqs := make([]resolve.Request, len(pkgs))
	for i, mp := range pkgs {
		cl, err := p.clients.get(mp.Registry)
		if err != nil {
			return nil, err
		}
		reqs[i] = resolve.Request{Pkg: mp, Source: cl, Explicit: p.Manifest.PlatformsSet}
		if o.To != "" && slices.Contains(o.Update, mp.Name) {
			reqs[i].Precise = o.To
		}
	}
	// Every entry may wait for a slot at once: the limiter bounds the
	// listings in flight, and a bound on entries would leave a slot idle
	// between one entry's listing and the next entry's.
	jobs := p.env.Jobs
	if p.env.Slots != nil {
		jobs = len(reqs)
	}
	return resolve.Resolve(ctx, reqs, resolve.Options{Jobs: jobs, Warnf: p.env.Warnf, Resolved: resolved})
}

// cache opens the blob cache; a cache that cannot be used is a warning, not
// a failure: installs work without it.
func (p *Project) cache() *fetch.Cache {
	dir, err := fetch.DefaultCacheDir(p.env.Getenv)
	if err == nil {
		var cache *fetch.Cache
		if cache, err = fetch.OpenCache(dir); err == nil {
			return cache
		}
	}
	p.env.Warn("not using the download cache: %v", err)
	return nil
}

// fetchAndPlace installs view, the current platform's part of next, into
// the vendor directory. It owns the order that keeps a failed or
// interrupted install harmless: every file is fetched, verified and staged
// (fetch.Session.Stage) before the lock is written, and the lock (next, for every
// platform) is written before the first package is placed (Staged.Place),
// which then completes. Under --locked the lock is not written at all. The
// caller holds the vendor directory's lock.
func (p *Project) fetchAndPlace(ctx context.Context, sess *fetch.Session, next, view *lock.File, o InstallOptions) (*Report, error) {
	st, err := sess.Stage(ctx, view)
	if err != nil {
		return nil, p.explainDownload404(ctx, err, next)
	}
	defer st.Close()
	// --locked checked that the lock holds next already and writes
	// nothing to it, whatever its line endings or layout: a read-only lock
	// stays untouched.
	if !o.Locked {
		if _, err := lock.Write(p.LockPath, next); err != nil {
			return nil, err
		}
	}
	rep, err := st.Place()
	if err != nil {
		return nil, err
	}
	if rep.Packages == nil {
		rep.Packages = []fetch.PackageReport{} // [], not null, in --json
	}
	return rep, nil
}

// fetchOptions configures the install's fetch session.
func (p *Project) fetchOptions(o InstallOptions, events func(Event)) fetch.Options {
	return fetch.Options{
		Dir:     p.Dir,
		Cache:   p.cache(),
		Jobs:    p.env.Jobs,
		Offline: o.Offline,
		Source: func(lp lock.Package) (fetch.Downloader, error) {
			return p.clients.get(lp.Registry)
		},
		Events: events,
		Warnf:  p.env.Warnf,
	}
}

// viewOf returns the lock entry lp as installed on the current platform,
// and false when it is not installed here (its platforms exclude this one,
// or it has no files for it: the install then reports that).
func (p *Project) viewOf(lp lock.Package) (lock.Package, bool) {
	if len(lp.PlatformGlobs) > 0 && !platform.MatchAny(lp.PlatformGlobs, p.Platform) {
		return lock.Package{}, false
	}
	return lp.ForPlatform(p.Platform)
}

// heldEvents passes progress events on once release was called, and holds
// the ones before (downloads that began while entries were resolving),
// so that they follow the plan the caller prints; of a file's progress
// events it holds the newest only.
type heldEvents struct {
	out func(Event)

	mu       sync.Mutex
	released bool
	held     []Event
	progress map[string]int // file -> index in held of its progress event
}

func (h *heldEvents) event(e Event) {
	if h.out == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released {
		h.out(e)
		return
	}
	if e.Kind == fetch.FileProgress {
		k := e.Package + "\x00" + e.File
		if i, ok := h.progress[k]; ok {
			h.held[i] = e
			return
		}
		if h.progress == nil {
			h.progress = map[string]int{}
		}
		h.progress[k] = len(h.held)
	}
	h.held = append(h.held, e)
}

// release passes on the events held so far, in order, and every later one
// as it comes.
func (h *heldEvents) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.released = true
	if h.out != nil {
		for _, e := range h.held {
			h.out(e)
		}
	}
	h.held, h.progress = nil, nil
}

// explainDownload404 makes sense of a 404 on a download. GitLab answers 404
// both for a missing file and for a project hidden from the caller; with a
// CI job token the usual cause is the publisher's job-token allowlist. One
// listing call tells them apart: GitLab answers it with 403 and its reason
// (or a project-level 404) when access is the problem. The listing error
// then replaces the download's, so the exit code says "access denied".
func (p *Project) explainDownload404(ctx context.Context, err error, next *lock.File) error {
	var pe *fetch.PackageError
	var he *registry.HTTPError
	if !errors.As(err, &pe) || !errors.As(err, &he) || he.Status != 404 || he.Op != registry.OpDownload || he.Storage {
		return err
	}
	lp, ok := next.Lookup(pe.Name)
	if !ok {
		return err
	}
	cl, cerr := p.clients.get(lp.Registry)
	if cerr != nil {
		return err
	}
	_, lerr := cl.ListPackages(ctx, lp.Project, lp.Package)
	if lerr == nil || !(errors.Is(lerr, registry.ErrUnauthorized) || errors.Is(lerr, registry.ErrHiddenProject)) {
		return err
	}
	return &fetch.PackageError{Name: pe.Name, Version: pe.Version, Err: fmt.Errorf("download refused (404), and listing project %q confirms access is the problem: %w", lp.Project, lerr)}
}

// Change is one package whose locked version changed.
type Change struct {
	Name string `json:"name"`
	From string `json:"from,omitempty"` // "" when added
	To   string `json:"to,omitempty"`   // "" when removed
}

// String formats the change as gpm prints it: "name old -> new".
func (ch Change) String() string {
	switch {
	case ch.From == "":
		return fmt.Sprintf("%s -> %s (new)", ch.Name, ch.To)
	case ch.To == "":
		return fmt.Sprintf("%s %s -> removed", ch.Name, ch.From)
	}
	return fmt.Sprintf("%s %s -> %s", ch.Name, ch.From, ch.To)
}

// DiffLocks lists the packages whose locked version differs between two
// locks, by name; old may be nil. It never returns nil: --json prints no
// change as [].
func DiffLocks(old, next *lock.File) []Change {
	out := []Change{}
	for _, np := range next.Packages {
		op, ok := old.Lookup(np.Name)
		switch {
		case !ok:
			out = append(out, Change{Name: np.Name, To: np.Version})
		case op.Version != np.Version:
			out = append(out, Change{Name: np.Name, From: op.Version, To: np.Version})
		}
	}
	if old != nil {
		for _, op := range old.Packages {
			if _, ok := next.Lookup(op.Name); !ok {
				out = append(out, Change{Name: op.Name, From: op.Version})
			}
		}
	}
	return out
}

func baseName(p string) string { return filepath.Base(p) }
