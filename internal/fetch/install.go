package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/lock"
	"github.com/gpmtool/gpm/internal/registry"
)

// Downloader fetches one file of a generic package into dst, checking its
// size and SHA-256 against want. *registry.Client implements it. When dst
// has a Reset() error method, a downloader may retry a failed transfer after
// calling it.
type Downloader interface {
	Download(ctx context.Context, f registry.FileRef, want registry.Expect, dst io.Writer) (registry.Result, error)
}

// defaultJobs is the download parallelism when Options.Jobs is not set.
const defaultJobs = 8

// Options configure Stage.
type Options struct {
	// Dir is the vendor directory; package NAME goes to Dir/NAME and gpm's
	// bookkeeping to Dir/.gpm.
	Dir string
	// Cache is the shared blob cache; nil installs without one (every file
	// not in place is downloaded).
	Cache *Cache
	// Jobs bounds parallel downloads and package staging (defaultJobs when
	// zero or negative).
	Jobs int
	// Offline forbids downloads: files not in the cache are an error
	// matching ErrOffline.
	Offline bool
	// Source returns the downloader for a package's registry. It is called
	// only for packages that have files to download, never when everything
	// is in place or cached and the cached blobs match the lock. Stage
	// never calls it from two goroutines at once.
	Source func(p lock.Package) (Downloader, error)
	// Events receives progress; it may be nil. It is called from several
	// goroutines at once.
	Events func(Event)
	// Warnf receives warnings (one line each, no trailing newline); nil
	// discards them.
	Warnf func(format string, args ...any)
	// MaxExtract caps the bytes extracted from the archives of one package
	// (defaultMaxExtract when zero); MaxEntries caps their entries
	// (defaultMaxEntries when zero).
	MaxExtract int64
	MaxEntries int
}

// EventKind says what an Event reports.
type EventKind int

// Event kinds.
const (
	// FileStart: a download begins; Total is the file's size.
	FileStart EventKind = iota + 1
	// FileProgress: Bytes of Total were downloaded so far. Bytes may go
	// back to 0 when a download is retried.
	FileProgress
	// FileDone: the file is downloaded and verified, or, with FromCache,
	// it was found in the cache.
	FileDone
	// PackagePlaced: the package's new directory was swapped into place.
	PackagePlaced
	// PackageRemoved: a package no longer locked was removed.
	PackageRemoved
)

// String returns the kind's name, e.g. "file-done", for logs.
func (k EventKind) String() string {
	switch k {
	case FileStart:
		return "file-start"
	case FileProgress:
		return "file-progress"
	case FileDone:
		return "file-done"
	case PackagePlaced:
		return "package-placed"
	case PackageRemoved:
		return "package-removed"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is a progress report from Stage or Place.
type Event struct {
	Kind      EventKind
	Package   string // local package name
	Version   string
	File      string // file name in the package; "" for package events
	Bytes     int64  // bytes downloaded so far (FileProgress, FileDone)
	Total     int64  // the file's size
	FromCache bool   // FileDone: found in the cache, not downloaded
}

// Action is what an install did to a package.
type Action string

// Actions.
const (
	// Unchanged: the package was in place; nothing was read or written.
	Unchanged Action = "unchanged"
	// Installed: the package was placed where it was absent, or restored
	// at its locked version because its files were changed or missing.
	Installed Action = "installed"
	// Updated: the package replaced another version or other files.
	Updated Action = "updated"
	// Removed: the package is no longer locked and its files were removed.
	Removed Action = "removed"
)

// PackageReport is what an install did to one package.
type PackageReport struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Previous is the version that was installed before, for Updated and
	// Removed.
	Previous string `json:"previous,omitempty"`
	Action   Action `json:"action"`
	// Downloaded and Cached count the package's files fetched from the
	// registry and taken from the cache. A file shared by several packages
	// is downloaded once, for the first of them.
	Downloaded int   `json:"downloaded"`
	Cached     int   `json:"cached"`
	Bytes      int64 `json:"bytes"` // bytes downloaded
	// Kept lists files of a removed package that were left in place
	// because they were changed after gpm placed them.
	Kept []string `json:"kept,omitempty"`
	// MovedAside lists the user's own files that were in the way of the
	// new version's files and were kept under another name.
	MovedAside []MovedFile `json:"moved_aside,omitempty"`
}

// MovedFile is a user file kept under another name (From and To are
// slash-separated, relative to the package directory).
type MovedFile struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Report is the outcome of an install (Staged.Place).
type Report struct {
	// Packages are in lock order, followed by removed packages by name.
	Packages   []PackageReport `json:"packages"`
	Downloaded int             `json:"downloaded"` // files downloaded
	Cached     int             `json:"cached"`     // files taken from the cache
	Bytes      int64           `json:"bytes"`      // bytes downloaded
	Duration   time.Duration   `json:"duration_ns"`
}

// Changed reports whether the install changed the vendor directory.
func (r *Report) Changed() bool {
	for _, p := range r.Packages {
		if p.Action != Unchanged {
			return true
		}
	}
	return false
}

// Stage prepares the vendor directory opts.Dir to hold exactly the packages
// of l, without changing it: packages already in place are left alone
// without reading them; missing blobs are taken from the cache or
// downloaded and verified; changed packages are staged in full in
// DIR/.gpm. Staged.Place then swaps them into place, one directory rename
// each (two on Windows, see swapDir), and removes the packages no longer locked; Staged.Close discards
// what was staged. Files gpm did not place are kept.
//
// The caller holds LockDir(opts.Dir) from Stage until Close: the lock is
// not reentrant, and the caller usually needs it across more than the
// install (resolving, writing packages.lock between Stage and Place).
//
// The cache is not trusted: each blob is rehashed as it is copied or
// extracted into a staging directory, and one that no longer matches the
// lock is discarded with a warning and downloaded again (under
// Options.Offline it fails the install, matching ErrIntegrity). A large
// file downloaded in this run is the exception, and reads no blob: it is
// the copy written from the bytes that were hashed as they arrived
// (installer.newCopy), moved into place, and a second file of the same
// content is copied from the downloaded file, held open since
// (installer.hold).
//
// Stage plans before anything acts: every file is fetched and verified,
// every changed package is staged and every swap is checked to be
// permitted before it returns, so a download, checksum, archive or
// permission failure leaves the vendor directory as it was, and so does a
// caller that decides not to Place.
//
// Errors about a package are *PackageError. A cancelled ctx stops
// downloads and staging promptly and returns ctx.Err(). On error nothing
// is left to Close.
func Stage(ctx context.Context, l *lock.File, opts Options) (*Staged, error) {
	s, err := Begin(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Stage(ctx, l)
}

// Session is an install of the vendor directory opts.Dir that may start
// before its lock is known: Prefetch downloads a package's missing files
// into the cache as soon as the package is known (an install that resolves
// calls it as each entry resolves), and Stage then stages the whole lock,
// taking what was prefetched. Nothing in the vendor directory changes
// before Staged.Place; the lock may still be refused after Prefetch, and
// Close then discards the session, keeping only verified blobs in the cache.
//
// The caller holds LockDir(opts.Dir) from Begin until the Staged (or the
// Session, when Stage was not called or failed) is closed.
type Session struct {
	in     *installer
	ctx    context.Context // prefetch downloads run under it
	cancel context.CancelFunc
	start  time.Time

	mu      sync.Mutex
	staging bool // Stage was called: Prefetch does nothing more
	handed  bool // Stage succeeded: its Staged owns the temporaries
	closed  bool
	pre     sync.WaitGroup // prefetch downloads
}

// Begin starts a session on opts.Dir: it creates DIR/.gpm, removes what a
// killed gpm left there and reads the install state. Close it in any case.
func Begin(ctx context.Context, opts Options) (*Session, error) {
	start := time.Now()
	if opts.Dir == "" {
		return nil, errors.New("install: no vendor directory")
	}
	if opts.Jobs <= 0 {
		opts.Jobs = defaultJobs
	}
	in := &installer{opts: opts, dir: opts.Dir, meta: filepath.Join(opts.Dir, metaDir), blobs: map[string]*blob{}}
	in.warnf = opts.Warnf
	if in.warnf == nil {
		in.warnf = func(string, ...any) {}
	}
	in.slots = make(chan struct{}, opts.Jobs)
	if err := os.MkdirAll(in.meta, 0o777); err != nil {
		return nil, fmt.Errorf("install: %w", err)
	}
	if err := removeTemps(opts.Dir); err != nil {
		return nil, err
	}
	in.st = readState(in.dir, in.warnf)
	pctx, cancel := context.WithCancel(ctx)
	return &Session{in: in, ctx: pctx, cancel: cancel, start: start}, nil
}

// Prefetch starts downloading, in the background, the files of p (as
// installed on this platform) that are neither in place nor in the cache.
// At most opts.Jobs downloads are in flight, prefetched or not. It is safe
// to call from several goroutines; it does nothing under opts.Offline,
// after Stage was called, and for a package it cannot download (Stage
// then reports why). A download that fails is reported by Stage when the
// lock it stages still needs the file.
func (s *Session) Prefetch(p lock.Package) {
	in := s.in
	if in.opts.Offline || checkLockPackage(&p) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.staging || s.ctx.Err() != nil {
		return
	}
	w := in.newWork(&p)
	if !w.changed {
		return
	}
	for _, f := range p.Files {
		k := blobKey(f.SHA256, f.Size)
		if in.blobs[k] != nil || in.opts.Cache != nil && in.opts.Cache.has(f.SHA256, f.Size) {
			continue // being fetched already, or Stage takes it from the cache
		}
		if in.source(w) != nil {
			return
		}
		b := &blob{sha: f.SHA256, size: f.Size, w: w, file: f.Name, fetch: true, ready: make(chan struct{})}
		in.blobs[k] = b
		s.pre.Add(1)
		go func() {
			defer s.pre.Done()
			defer close(b.ready)
			b.err = in.fetchBlob(s.ctx, b)
		}()
	}
}

// Stage stages l as the package-level Stage does, taking the files that
// Prefetch downloaded or is still downloading. It may be called once. On
// error the session's temporaries are removed and nothing is left to Close
// but the Session.
func (s *Session) Stage(ctx context.Context, l *lock.File) (*Staged, error) {
	s.mu.Lock()
	if s.staging || s.closed {
		s.mu.Unlock()
		return nil, errors.New("install: Stage called twice, or after Close")
	}
	s.staging = true
	s.mu.Unlock()
	st, err := s.in.prepare(ctx, l)
	// Prefetches the lock did not need (a package resolved and then
	// dropped) stop here; those it needed have ended.
	s.cancel()
	s.pre.Wait()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.handed = true
	s.mu.Unlock()
	st.start = s.start
	return st, nil
}

// Close stops the prefetches still running and, unless Stage succeeded
// (its Staged owns them then), removes the session's temporaries. It is
// safe to call more than once.
func (s *Session) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	handed := s.handed
	s.mu.Unlock()
	s.cancel()
	s.pre.Wait()
	if !handed {
		s.in.cleanup()
	}
}

// Staged is an install whose every file is fetched, verified and staged,
// and whose vendor directory is not changed yet. Call Place to change it,
// and Close in any case.
type Staged struct {
	in         *installer
	works      []*work  // every locked package, in lock order
	changed    []*work  // the ones to swap into place
	prune      []string // installed packages no longer locked, by name
	stateDirty bool     // the state changes even if nothing is swapped
	start      time.Time
	placed     bool
	closed     bool
}

// Place swaps the staged packages into place, removes the packages no
// longer locked and writes the state, last. It does not stop once begun,
// since what is left is renames and removals: each package directory is at
// every moment entirely old or entirely new. Report.Duration counts from
// Stage. Place may be called once, before Close.
func (s *Staged) Place() (*Report, error) {
	if s.closed || s.placed {
		return nil, errors.New("install: Place called on a closed or placed install")
	}
	s.placed = true
	in := s.in
	var placeErr error
	for _, w := range s.changed {
		if err := in.place(w); err != nil {
			placeErr = &PackageError{Name: w.pkg.Name, Version: w.pkg.Version, Err: err}
			break
		}
		in.emit(Event{Kind: PackagePlaced, Package: w.pkg.Name, Version: w.pkg.Version})
	}
	stateDirty := s.stateDirty
	var removed []PackageReport
	if placeErr == nil {
		for _, name := range s.prune {
			removed = append(removed, in.prune(name))
			stateDirty = true
		}
	}
	if stateDirty || len(s.changed) > 0 {
		if err := writeState(in.dir, in.st, true); err != nil && placeErr == nil {
			placeErr = err
		}
	}
	if placeErr != nil {
		return nil, placeErr
	}

	rep := &Report{}
	for _, w := range s.works {
		rep.Packages = append(rep.Packages, *w.rep)
	}
	rep.Packages = append(rep.Packages, removed...)
	for _, p := range rep.Packages {
		rep.Downloaded += p.Downloaded
		rep.Cached += p.Cached
		rep.Bytes += p.Bytes
	}
	rep.Duration = time.Since(s.start)
	return rep, nil
}

// Close removes the install's temporaries: what was staged and not placed,
// the package trees Place swapped out, downloads made outside the cache. It
// is safe to call more than once. Leftovers (after a crash) are removed by
// the next Stage.
func (s *Staged) Close() {
	if s.closed {
		return
	}
	s.closed = true
	s.in.cleanup()
}

// installer is one run of Stage and Place.
type installer struct {
	opts  Options
	dir   string // vendor directory
	meta  string // dir/.gpm
	warnf func(string, ...any)
	st    *state

	noCacheWrite atomic.Bool // the cache refused a write: download elsewhere
	warnOnce     sync.Once
	dlOnce       sync.Once
	dlDir        string // dir/.gpm/tmp-dl-*, for downloads outside the cache
	dlErr        error
	temps        []string // trees to remove when done
	tempsMu      sync.Mutex

	slots chan struct{} // one per download request in flight
	srcMu sync.Mutex    // serializes opts.Source and work.src
	// blobs are the downloads Prefetch started, by blobKey; Stage adds
	// the rest of what it needs.
	blobs map[string]*blob

	heldMu sync.Mutex
	held   []*os.File // downloads kept open until cleanup (hold)
}

// A download of largeMin bytes or more is large. It is piped (tempFile.pipe):
// received on one goroutine, hashed on a second and written on a third,
// along with a copy in DIR/.gpm that staging moves into place
// (installer.newCopy). It is also held open until the install ends, so
// that a second file of the same content is copied from the file that was
// hashed as it arrived instead of from the cache blob, which would be
// hashed a second time (a SHA-256 pass of every byte, about 0.75 s per GiB
// here). Only where a held file can be reopened at offset 0 without its
// name (Linux, /proc/self/fd), and at most maxHeld at once, far below any
// limit on open files. Below largeMin none of this is worth its
// goroutines and system calls.
var (
	largeMin int64 = 4 << 20
	maxHeld        = 16
)

// mayHold reports whether a download of size bytes is worth holding and
// may be held.
func (in *installer) mayHold(size int64) bool {
	if !canReopen || size < largeMin {
		return false
	}
	in.heldMu.Lock()
	defer in.heldMu.Unlock()
	return len(in.held) < maxHeld
}

// hold keeps f, a download that commit left open, until cleanup, and
// returns it; past maxHeld (downloads that finished together) it closes
// f and returns nil.
func (in *installer) hold(f *os.File) *os.File {
	in.heldMu.Lock()
	defer in.heldMu.Unlock()
	if len(in.held) >= maxHeld {
		f.Close()
		return nil
	}
	in.held = append(in.held, f)
	return f
}

// work is one locked package and what happens to it.
type work struct {
	pkg    *lock.Package
	old    *pkgState // installed state, nil when none
	rep    *PackageReport
	src    Downloader
	staged string // staging directory
	files  []placed
	// setAside are the user's files kept under another name in the staged
	// directory, new and carried over (pkgState.SetAside).
	setAside []string
	// links are the package's commands: name -> path under DIR/NAME.
	links   map[string]string
	hadDir  bool // DIR/NAME existed when staging began
	changed bool // must be staged and placed
}

// blob is one distinct file content an install needs.
type blob struct {
	sha   string
	size  int64
	w     *work  // first package that needs it: downloads are counted there
	file  string // its file name in that package
	path  string // in the cache, or a download temporary
	fetch bool   // must be downloaded
	// ready is closed when path is set, or when fetching failed (path
	// stays "").
	ready chan struct{}

	// mu guards path and fresh once ready is closed: a blob that failed
	// its check while being staged is downloaded again under it (repair).
	mu sync.Mutex
	// fresh: path was downloaded and verified in this run. A fresh blob
	// that fails its check is not downloaded again: something is changing
	// the cache.
	fresh bool
	// err is why a prefetched blob could not be fetched, set before ready
	// is closed.
	err error
	// held, when set, is the file this run downloaded the blob into,
	// still open: the bytes in it are the bytes that were hashed as they
	// arrived, whatever happens to the blob's name in the cache since, so
	// staging copies from it without hashing them again (installer.hold).
	held *os.File
	// copy, when set, is a second file this run wrote the download to as
	// it arrived, in DIR/.gpm (installer.newCopy): staging moves it into
	// place once instead of copying the blob.
	copy string
}

// takeCopy returns the blob's copy (see blob.copy) for staging to move
// into place, or "" when there is none (left).
func (b *blob) takeCopy() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.copy
	b.copy = ""
	return c
}

// heldFile returns the file this run downloaded the blob into, when it is
// held open (see installer.hold), else nil.
func (b *blob) heldFile() *os.File {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held
}

// current returns the blob's path once it is ready, and whether it was
// downloaded in this run.
func (b *blob) current() (path string, fresh bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.path, b.fresh
}

func (in *installer) emit(e Event) {
	if in.opts.Events != nil {
		in.opts.Events(e)
	}
}

func (in *installer) addTemp(p string) {
	in.tempsMu.Lock()
	in.temps = append(in.temps, p)
	in.tempsMu.Unlock()
}

// cleanup closes the held downloads and removes the run's temporaries.
// Leftovers (after a crash) are removed by the next run.
func (in *installer) cleanup() {
	in.heldMu.Lock()
	for _, f := range in.held {
		f.Close()
	}
	in.held = nil
	in.heldMu.Unlock()
	for _, p := range in.temps {
		removeTree(p)
	}
	if in.dlDir != "" {
		removeTree(in.dlDir)
	}
}

// prepare plans the install of l and fetches and stages what changed.
func (in *installer) prepare(ctx context.Context, l *lock.File) (*Staged, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if l == nil {
		l = &lock.File{}
	}
	works, err := in.plan(l)
	if err != nil {
		return nil, err
	}
	s := &Staged{in: in, works: works}
	for name := range in.st.Packages {
		if _, ok := l.Lookup(name); !ok {
			s.prune = append(s.prune, name)
		}
	}
	sort.Strings(s.prune)
	for _, w := range works {
		switch {
		case w.changed:
			s.changed = append(s.changed, w)
		case w.old.Version != w.pkg.Version:
			// Same files under another version: only the state changes.
			w.rep.Action = Updated
			w.rep.Previous = w.old.Version
			w.old.Version = w.pkg.Version
			s.stateDirty = true
		}
	}

	if err := in.fetchAndStage(ctx, s.changed); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := in.checkPlaceable(s.changed); err != nil {
		return nil, err
	}
	if err := in.checkLinks(s.changed); err != nil {
		return nil, err
	}
	return s, nil
}

// plan checks the lock entries and decides which packages are in place.
func (in *installer) plan(l *lock.File) ([]*work, error) {
	works := make([]*work, 0, len(l.Packages))
	seen := map[string]bool{}
	for i := range l.Packages {
		p := &l.Packages[i]
		if err := checkLockPackage(p); err != nil {
			return nil, &PackageError{Name: p.Name, Version: p.Version, Err: err}
		}
		if seen[p.Name] {
			return nil, &PackageError{Name: p.Name, Version: p.Version, Err: errors.New("package is locked twice")}
		}
		seen[p.Name] = true
		works = append(works, in.newWork(p))
	}
	return works, nil
}

// newWork decides whether the locked package p is in place: installed with
// the same identity, every file as gpm placed it, and its commands linked.
func (in *installer) newWork(p *lock.Package) *work {
	w := &work{pkg: p, old: in.st.Packages[p.Name], rep: &PackageReport{Name: p.Name, Version: p.Version, Action: Unchanged}}
	if w.old != nil && w.old.sameIdentity(p) && inPlace(filepath.Join(in.dir, p.Name), w.old) && linksInPlace(in.dir, p.Name, w.old) {
		return w
	}
	w.changed = true
	w.rep.Action = Installed
	if w.old != nil && (w.old.Version != p.Version || !w.old.sameIdentity(p)) {
		w.rep.Action = Updated
		w.rep.Previous = w.old.Version
	}
	return w
}

// checkLockPackage rejects lock content that would be unsafe to act on. The
// lock parser refuses all of it already; a lock built in memory gets the
// same checks.
func checkLockPackage(p *lock.Package) error {
	if err := checkPackageName(p.Name); err != nil {
		return err
	}
	for _, f := range p.Files {
		if err := checkRelPath(f.Name); err != nil {
			return fmt.Errorf("file %q: unsafe name: %v", f.Name, err)
		}
		if !validSHA256(f.SHA256) {
			return fmt.Errorf("file %q: invalid sha256 %q in the lock", f.Name, f.SHA256)
		}
		if f.Size < 0 {
			return fmt.Errorf("file %q: invalid size %d in the lock", f.Name, f.Size)
		}
	}
	return nil
}

// inPlace reports whether every file the state records for a package is on
// disk with its recorded type, size, modification time and execute bits
// (a command that lost them cannot run). It only stats.
func inPlace(pkgDir string, s *pkgState) bool {
	fi, err := os.Lstat(pkgDir)
	if err != nil || !fi.IsDir() {
		return false
	}
	for i := range s.Files {
		f := &s.Files[i]
		fi, err := os.Lstat(filepath.Join(pkgDir, filepath.FromSlash(f.Path)))
		if err != nil || !sameType(fi, f.Type) {
			return false
		}
		if f.Type != typeDir && (fi.Size() != f.Size || fi.ModTime().UnixNano() != f.MTime) {
			return false
		}
		if !sameExec(fi, f) {
			return false
		}
	}
	return true
}

// sameExec reports whether the file fi has the execute bits recorded for f
// (always, for what is not a regular file or was recorded without a mode).
func sameExec(fi os.FileInfo, f *placed) bool {
	return f.Type != typeFile || f.Mode == 0 || fi.Mode().Perm()&0o111 == os.FileMode(f.Mode)&0o111
}

func sameType(fi os.FileInfo, typ string) bool {
	switch typ {
	case typeDir:
		return fi.IsDir()
	case typeSymlink:
		return fi.Mode()&os.ModeSymlink != 0
	}
	return fi.Mode().IsRegular()
}

// blobKey identifies a content.
func blobKey(sha string, size int64) string { return fmt.Sprintf("%s/%d", sha, size) }

// fetchAndStage makes every file of the changed packages available as a
// verified local file, from the cache when it has it, from a prefetch, else
// downloaded with at most Jobs requests in flight, and stages each changed
// package as soon as its files are there. Staging thus overlaps the
// downloads still running, and a download's slot is free again while its
// file gets its name in the cache (see download). The first failure
// cancels everything else and is the one reported.
func (in *installer) fetchAndStage(ctx context.Context, changed []*work) error {
	blobs, order, pre := in.planBlobs(changed)
	if len(order)+len(pre) > 0 && in.opts.Offline {
		b := append(pre, order...)[0]
		return &PackageError{Name: b.w.pkg.Name, Version: b.w.pkg.Version,
			Err: &offlineError{file: b.file, noCache: in.opts.Cache == nil, missing: len(order) + len(pre)}}
	}
	for _, b := range order {
		if err := in.source(b.w); err != nil {
			return err
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return in.downloadAll(gctx, order) })
	g.Go(func() error { return awaitPrefetched(gctx, pre) })
	g.Go(func() error { return in.stageAll(gctx, changed, blobs) })
	err := g.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return err
	}
	tally(changed, blobs)
	return nil
}

// planBlobs lists the distinct contents the changed packages need, by
// blobKey: those a prefetch is fetching (pre), and those to download
// (order), in package order. Those in the cache are ready (and reported as
// taken from it) at once.
func (in *installer) planBlobs(changed []*work) (blobs map[string]*blob, order, pre []*blob) {
	blobs = map[string]*blob{}
	c := in.opts.Cache
	for _, w := range changed {
		for _, f := range w.pkg.Files {
			k := blobKey(f.SHA256, f.Size)
			if _, ok := blobs[k]; ok {
				continue // the same content again: fetched once
			}
			if b := in.blobs[k]; b != nil {
				blobs[k] = b
				pre = append(pre, b)
				continue
			}
			b := &blob{sha: f.SHA256, size: f.Size, w: w, file: f.Name, ready: make(chan struct{})}
			blobs[k] = b
			if c != nil && c.has(f.SHA256, f.Size) {
				b.path = c.blobPath(f.SHA256)
				close(b.ready)
				in.emit(Event{Kind: FileDone, Package: w.pkg.Name, Version: w.pkg.Version, File: f.Name, Bytes: f.Size, Total: f.Size, FromCache: true})
				continue
			}
			b.fetch = true
			order = append(order, b)
		}
	}
	return blobs, order, pre
}

// tally counts, in the report of each changed package, its files
// downloaded in this run (by whichever package's prefetch or staging, and
// counted for the first package that needs the content) and those taken
// from the cache, once every file is staged.
func tally(changed []*work, blobs map[string]*blob) {
	counted := map[string]bool{}
	for _, w := range changed {
		for _, f := range w.pkg.Files {
			k := blobKey(f.SHA256, f.Size)
			b := blobs[k]
			if _, fresh := b.current(); fresh && !counted[k] {
				w.rep.Downloaded++
				w.rep.Bytes += b.size
			} else {
				w.rep.Cached++
			}
			counted[k] = true
		}
	}
}

// awaitPrefetched waits for the prefetched blobs and returns the first
// failure among them, in package order.
func awaitPrefetched(ctx context.Context, pre []*blob) error {
	for _, b := range pre {
		select {
		case <-b.ready:
		case <-ctx.Done():
			return ctx.Err()
		}
		if b.err != nil {
			return b.err
		}
	}
	return nil
}

// downloadAll downloads the blobs in order: at most Jobs requests in
// flight (in.slots), and as many more goroutines ready to take a slot the
// moment one is free. Each
// blob's ready is closed when its download ends, successful or not; after a
// failure, the blobs not started yet are not, and their packages' staging
// ends through ctx.
func (in *installer) downloadAll(ctx context.Context, order []*blob) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(2 * in.opts.Jobs)
	for _, b := range order {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			defer close(b.ready)
			return in.fetchBlob(gctx, b)
		})
	}
	return g.Wait()
}

// fetchBlob downloads b; download sets its path.
func (in *installer) fetchBlob(ctx context.Context, b *blob) error {
	_, err := in.download(ctx, b)
	return err
}

// stageAll stages each changed package, at most Jobs at once, as soon as
// all of its files are ready. A cache blob that fails its check while being
// staged is downloaded again, and the package is staged again from the
// start; each blob is repaired at most once, so this ends.
func (in *installer) stageAll(ctx context.Context, changed []*work, blobs map[string]*blob) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(in.opts.Jobs)
	for _, w := range changed {
		g.Go(func() error {
			for _, f := range w.pkg.Files {
				b := blobs[blobKey(f.SHA256, f.Size)]
				select {
				case <-b.ready:
				case <-gctx.Done():
					return gctx.Err()
				}
				if p, _ := b.current(); p == "" {
					return nil // its download failed, and said so
				}
			}
			for {
				err := in.stage(gctx, w, blobs)
				var be *cacheBlobError
				if errors.As(err, &be) && be.b != nil && gctx.Err() == nil {
					in.unstage(w)
					if err = in.repair(gctx, w, be); err == nil {
						continue
					}
				}
				if err == nil {
					return nil
				}
				if gctx.Err() != nil {
					return gctx.Err()
				}
				var pe *PackageError
				if !errors.As(err, &pe) {
					err = &PackageError{Name: w.pkg.Name, Version: w.pkg.Version, Err: err}
				}
				return err
			}
		})
	}
	return g.Wait()
}

// source sets w.src, the downloader of w's registry, when it is not set yet.
func (in *installer) source(w *work) error {
	in.srcMu.Lock()
	defer in.srcMu.Unlock()
	if w.src != nil {
		return nil
	}
	if in.opts.Source == nil {
		return &PackageError{Name: w.pkg.Name, Version: w.pkg.Version, Err: errors.New("no registry to download from")}
	}
	src, err := in.opts.Source(*w.pkg)
	if err != nil {
		return &PackageError{Name: w.pkg.Name, Version: w.pkg.Version, Err: err}
	}
	w.src = src
	return nil
}

// unstage discards w's staging directory after a failed staging.
func (in *installer) unstage(w *work) {
	if w.staged != "" {
		removeTree(w.staged)
	}
	w.staged, w.files, w.hadDir, w.rep.MovedAside = "", nil, false, nil
}

// repair answers a blob that failed its check while w was staged: it
// discards the blob and downloads it again, unless another package's
// staging already did. It fails, with be, under --offline and when what
// failed was downloaded and verified in this run (be.fresh): a fresh blob
// that changed is not a stale cache but something writing to it, and
// downloading again could go on forever.
func (in *installer) repair(ctx context.Context, w *work, be *cacheBlobError) error {
	perr := func(err error) error { return &PackageError{Name: w.pkg.Name, Version: w.pkg.Version, Err: err} }
	if be.fresh {
		return perr(be)
	}
	b := be.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fresh {
		return nil // downloaded again meanwhile, for another package
	}
	// Only a blob taken from the cache gets here (downloads are fresh),
	// so this removes a cache file. If it cannot be removed, the new
	// download replaces it, or goes elsewhere when the cache is read-only.
	if err := os.Remove(be.path); err != nil && !isNotExist(err) {
		in.warnf("cannot remove the cache blob %s: %v", be.path, errors.Unwrap(err))
	}
	if in.opts.Offline {
		be.offline = true
		return perr(be)
	}
	in.warnf("%s@%s: cache blob %s of file %q does not match packages.lock; discarded, downloading again",
		w.pkg.Name, w.pkg.Version, be.path, be.file)
	if err := in.source(b.w); err != nil {
		return err
	}
	_, err := in.download(ctx, b)
	return err
}

// download fetches one blob into the cache (or a temporary directory when
// there is no writable cache), sets b.path and returns the bytes
// downloaded. It holds one of the slots while the request is in flight, but
// not while the verified file is given its name in the cache.
func (in *installer) download(ctx context.Context, b *blob) (int64, error) {
	slots := in.slots
	w := b.w
	p := w.pkg
	perr := func(err error) error {
		return &PackageError{Name: p.Name, Version: p.Version, Err: err}
	}
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	release := sync.OnceFunc(func() { <-slots })
	defer release()
	t, err := in.newTemp()
	if err != nil {
		return 0, perr(fmt.Errorf("download %q: %w", b.file, err))
	}
	defer t.Close()
	var spare *os.File
	if b.size >= largeMin {
		if spare = in.newCopy(t, b); spare != nil {
			defer func() {
				if spare != nil {
					spare.Close()
					os.Remove(spare.Name())
				}
			}()
		}
		t.pipe(spare)
	}
	ref := registry.FileRef{Project: p.Project, Package: p.Package, Version: p.Version, File: b.file}
	in.emit(Event{Kind: FileStart, Package: p.Name, Version: p.Version, File: b.file, Total: b.size})
	pw := &progress{t: t, emit: func(n int64) {
		in.emit(Event{Kind: FileProgress, Package: p.Name, Version: p.Version, File: b.file, Bytes: n, Total: b.size})
	}}
	var dst io.Writer = pw
	if t.piped {
		dst = fillingProgress{pw}
	}
	res, err := w.src.Download(ctx, ref, registry.Expect{Size: b.size, SHA256: b.sha}, dst)
	release()
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		var ie *registry.IntegrityError
		if errors.As(err, &ie) {
			ie.Ref = ref
			return 0, perr(&mismatchError{name: p.Name, ie: ie})
		}
		return 0, perr(fmt.Errorf("download %q: %w", b.file, err))
	}
	// Check again here, independently of the downloader: only verified
	// bytes may get a name in the cache.
	if res.Size != b.size || res.SHA256 != b.sha {
		return 0, perr(&mismatchError{name: p.Name, ie: &registry.IntegrityError{Ref: ref, WantSize: b.size, GotSize: res.Size, WantSHA256: b.sha, GotSHA256: res.SHA256}})
	}
	t.keep = t.cache != nil && in.mayHold(b.size)
	path, err := t.commit(ref, b.sha, b.size)
	if err != nil {
		var ie *registry.IntegrityError
		if errors.As(err, &ie) {
			return 0, perr(&mismatchError{name: p.Name, ie: ie})
		}
		return 0, perr(fmt.Errorf("download %q: %w", b.file, err))
	}
	b.path, b.fresh = path, true
	if t.keep {
		b.held = in.hold(t.f)
	}
	if spare != nil && t.copyErr() == nil && spare.Close() == nil {
		b.copy, spare = spare.Name(), nil
	}
	pw.flush()
	in.emit(Event{Kind: FileDone, Package: p.Name, Version: p.Version, File: b.file, Bytes: b.size, Total: b.size})
	return b.size, nil
}

// newTemp returns a download destination: in the cache when it can be
// written, else in DIR/.gpm. A cache that refuses a write is warned about
// once and not written again in this run.
func (in *installer) newTemp() (*tempFile, error) {
	if c := in.opts.Cache; c != nil && !in.noCacheWrite.Load() {
		t, err := c.newTemp()
		if err == nil {
			return t, nil
		}
		in.noCacheWrite.Store(true)
		in.warnOnce.Do(func() {
			in.warnf("cannot write to the cache %s (%v); installing without caching", c.dir, errors.Unwrap(err))
		})
	}
	dir, err := in.downloadDir()
	if err != nil {
		return nil, err
	}
	return newTempFile(dir)
}

// downloadDir returns DIR/.gpm/tmp-dl-*, for this run's downloads outside
// the cache, made on first use.
func (in *installer) downloadDir() (string, error) {
	in.dlOnce.Do(func() {
		in.dlDir, in.dlErr = os.MkdirTemp(in.meta, "tmp-dl-")
	})
	return in.dlDir, in.dlErr
}

// newCopy returns the file a large download into the cache is written to
// as well, in DIR/.gpm, where the staging directories are: placing the
// blob is then a rename of this copy, made while the file arrived, not a
// second write of the whole file after it. The copy holds the bytes that
// were hashed, and becomes the blob's once the download is verified
// (blob.copy). It returns nil, and the blob is copied from the cache as
// any other, when the download is not going into the cache (a download
// outside it is in DIR/.gpm already), when the first package that needs
// the blob unpacks it, or when the file cannot be created.
func (in *installer) newCopy(t *tempFile, b *blob) *os.File {
	if t.cache == nil || b.w.pkg.Extract && archiveKind(b.file) != "" {
		return nil
	}
	dir, err := in.downloadDir()
	if err != nil {
		return nil
	}
	f, err := os.CreateTemp(dir, "copy-*")
	if err != nil {
		return nil
	}
	return f
}

// progress forwards writes to a tempFile and reports progress every
// progressStep bytes, or sooner when progressEvery has passed, so that a
// slow download still moves its progress bar.
type progress struct {
	t         *tempFile
	n, last   int64
	emit      func(int64)
	lastEvent time.Time
}

const (
	progressStep  = 256 << 10
	progressEvery = 100 * time.Millisecond
)

func (p *progress) Write(b []byte) (int, error) {
	n, err := p.t.Write(b)
	p.add(n)
	return n, err
}

func (p *progress) add(n int) {
	p.n += int64(n)
	if p.n-p.last >= progressStep || p.n > p.last && time.Since(p.lastEvent) >= progressEvery {
		p.flush()
	}
}

func (p *progress) flush() {
	p.last = p.n
	p.lastEvent = time.Now()
	p.emit(p.n)
}

// SHA256 forwards the file's own hash (registry.Hasher): the downloader
// checks it rather than hashing the same bytes again.
func (p *progress) SHA256() string { return p.t.SHA256() }

var _ registry.Hasher = (*progress)(nil)

// fillingProgress is the progress of a piped file, which reads the body
// straight into its pipe's chunks (registry.Filler). Only a piped file may
// be given one.
type fillingProgress struct{ *progress }

func (p fillingProgress) Fill(r io.Reader) (int, error, error) {
	n, rerr, werr := p.t.h.Fill(r)
	p.add(n)
	return n, rerr, werr
}

var _ registry.Filler = fillingProgress{}

// Reset starts the file over for a retried download.
func (p *progress) Reset() error {
	if err := p.t.Reset(); err != nil {
		return err
	}
	p.n = 0
	p.flush()
	return nil
}

// stage builds one package's new directory in DIR/.gpm/tmp-NAME-*.
func (in *installer) stage(ctx context.Context, w *work, blobs map[string]*blob) error {
	p := w.pkg
	pkgDir := filepath.Join(in.dir, p.Name)
	fi, err := os.Lstat(pkgDir)
	switch {
	case err == nil && fi.Mode()&os.ModeSymlink != 0:
		return hint.Wrap(fmt.Errorf("%s is a symlink; gpm does not replace it: %w", pkgDir, errConflict),
			"remove the symlink, or remove the package from packages.toml")
	case err == nil && !fi.IsDir():
		return hint.Wrap(fmt.Errorf("%s exists and is not a directory: %w", pkgDir, errConflict),
			"move it away and run 'gpm install' again")
	case err == nil:
		w.hadDir = true
	case !isNotExist(err):
		return err
	}

	dir, err := mkdirTemp(in.meta, "tmp-"+p.Name+"-")
	if err != nil {
		return err
	}
	in.addTemp(dir)
	w.staged = dir
	s, err := newStager(ctx, dir, in.opts.MaxExtract, in.opts.MaxEntries, in.warnf)
	if err != nil {
		return err
	}
	defer s.close()
	s.strip = p.Strip
	for _, f := range p.Files {
		b := blobs[blobKey(f.SHA256, f.Size)]
		src, fresh := b.current()
		unpack := p.Extract && archiveKind(f.Name) != ""
		var moved string // the download's copy, when it is to be moved into place
		if !unpack {
			moved = b.takeCopy()
		}
		var held *os.File
		if h := b.heldFile(); moved == "" && h != nil && !unpack {
			// Where it cannot be reopened, the blob is placed from the
			// cache and rehashed, as any other.
			held, _ = reopen(h)
		}
		if moved != "" {
			err = s.placeCopy(f.Name, moved, f.SHA256, f.Size)
		} else if held != nil {
			err = s.placeHeld(f.Name, held, f.SHA256, f.Size)
			held.Close()
		} else if unpack {
			err = s.extract(f.Name, src, f.SHA256, f.Size)
		} else {
			if p.Extract && looksLikeArchive(f.Name) {
				in.warnf("%s@%s: %q is not a format gpm unpacks (.tar.gz, .tgz, .tar, .zip); placing it as a file", p.Name, p.Version, f.Name)
			}
			err = s.placeBlob(f.Name, src, f.SHA256, f.Size)
		}
		var be *cacheBlobError
		if errors.As(err, &be) {
			be.b, be.fresh = b, fresh
		}
		if err != nil {
			return err
		}
	}
	if err := s.finish(); err != nil {
		return err
	}
	w.files = s.files()
	if w.links, err = resolveBins(p, w.files); err != nil {
		return err
	}
	if err := s.makeExecutable(w.files, w.links); err != nil {
		return err
	}
	if w.hadDir {
		moved, err := in.carryOver(ctx, s, dir, pkgDir, w.old)
		if err != nil {
			return err
		}
		w.rep.MovedAside = moved
		for _, m := range moved {
			in.warnf("%s: your file %q is in the way of the new version's files; it is kept as %q", p.Name, m.From, m.To)
			w.setAside = append(w.setAside, m.To)
		}
		// Files set aside before were carried over as the user's, at the
		// same path unless the new version needed it.
		if w.old != nil {
			for _, a := range w.old.SetAside {
				if s.entries[a] == kindFile && s.placed[a] == nil {
					w.setAside = append(w.setAside, a)
				}
			}
		}
		slices.Sort(w.setAside)
		w.setAside = slices.Compact(w.setAside)
	}
	return nil
}

// looksLikeArchive reports archive formats gpm does not unpack.
func looksLikeArchive(name string) bool {
	n := strings.ToLower(name)
	for _, ext := range []string{".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tar.zst", ".tzst", ".7z", ".rar", ".xz", ".bz2", ".zst"} {
		if strings.HasSuffix(n, ext) {
			return true
		}
	}
	return false
}

// place swaps a staged package into DIR/NAME and records it in the state.
func (in *installer) place(w *work) error {
	target := filepath.Join(in.dir, w.pkg.Name)
	oldTree, err := swapDir(w.staged, target, w.hadDir)
	if err != nil {
		return err
	}
	if oldTree != "" {
		in.addTemp(oldTree)
	}
	var oldLinks map[string]string
	if w.old != nil {
		oldLinks = w.old.Links
	}
	if err := in.placeLinks(w.pkg.Name, oldLinks, w.links); err != nil {
		return err
	}
	// The state is written once, after the last swap (run): rewriting it
	// after every package cost more than the swaps themselves (a rename
	// over the old state makes ext4 flush the new one). The window in which
	// a killed gpm leaves placed files that the state does not list is
	// only the swaps, and what follows is harmless: the next install finds
	// those packages not in place, stages them again, and drops the
	// unlisted files as it would a user's, since they have the new files'
	// content.
	in.st.Packages[w.pkg.Name] = &pkgState{
		Version:  w.pkg.Version,
		Extract:  w.pkg.Extract,
		Strip:    w.pkg.Strip,
		Bin:      w.pkg.Bin,
		Links:    w.links,
		Lock:     identity(w.pkg),
		Files:    w.files,
		SetAside: w.setAside,
	}
	return nil
}

// prune removes a package that is no longer locked: the files gpm placed
// and that are unchanged, then the directories that became empty.
func (in *installer) prune(name string) PackageReport {
	old := in.st.Packages[name]
	delete(in.st.Packages, name)
	rep := PackageReport{Name: name, Version: old.Version, Previous: old.Version, Action: Removed}
	defer in.emit(Event{Kind: PackageRemoved, Package: name, Version: old.Version})
	for n, t := range old.Links {
		removeLink(filepath.Join(in.dir, binDirName), runtime.GOOS, name, n, t)
	}
	pkgDir := filepath.Join(in.dir, name)
	fi, err := os.Lstat(pkgDir)
	if err != nil || !fi.IsDir() {
		return rep
	}
	root, err := os.OpenRoot(pkgDir)
	if err != nil {
		in.warnf("%s: cannot remove %s: %v", name, pkgDir, err)
		return rep
	}
	defer root.Close()
	dirs := map[string]bool{}
	for i := range old.Files {
		f := &old.Files[i]
		for q := range prefixes(f.Path) {
			dirs[q] = true
		}
		if f.Type == typeDir {
			dirs[f.Path] = true
			continue
		}
		fi, err := root.Lstat(f.Path)
		if err != nil {
			continue // already gone
		}
		if !ownedFile(root, f, fi) {
			rep.Kept = append(rep.Kept, f.Path)
			continue
		}
		if err := root.Remove(f.Path); err != nil && !isNotExist(err) {
			in.warnf("%s: cannot remove %q: %v", name, f.Path, err)
			rep.Kept = append(rep.Kept, f.Path)
		}
	}
	// Deepest first; a directory that is not empty holds someone's files.
	ds := make([]string, 0, len(dirs))
	for d := range dirs {
		ds = append(ds, d)
	}
	slices.SortFunc(ds, func(a, b string) int {
		if c := strings.Count(b, "/") - strings.Count(a, "/"); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	for _, d := range ds {
		if fi, err := root.Lstat(d); err == nil && fi.IsDir() {
			root.Remove(d)
		}
	}
	os.Remove(pkgDir)
	if len(rep.Kept) > 0 {
		in.warnf("%s: kept %d changed file(s) in %s: %s", name, len(rep.Kept), pkgDir, strings.Join(rep.Kept, ", "))
	}
	return rep
}

// ownedFile reports whether the file at f.Path (whose Lstat is fi) is still
// the one gpm placed: same type, and same size and modification time, or
// else the same content.
func ownedFile(root *os.Root, f *placed, fi os.FileInfo) bool {
	if !sameType(fi, f.Type) {
		return false
	}
	if fi.Size() == f.Size && fi.ModTime().UnixNano() == f.MTime {
		return true
	}
	switch f.Type {
	case typeSymlink:
		t, err := root.Readlink(f.Path)
		return err == nil && t == f.Link
	case typeFile:
		if fi.Size() != f.Size || f.SHA256 == "" {
			return false
		}
		sum, _, err := hashRootFile(root, f.Path)
		return err == nil && sum == f.SHA256
	}
	return false
}
