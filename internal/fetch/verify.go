package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/gpmtool/gpm/internal/lock"
)

// FileStatus is the verdict on one path of a package directory.
type FileStatus string

// File verdicts.
const (
	FileOK         FileStatus = "ok"
	FileModified   FileStatus = "modified"   // content (or symlink target, type, or execute bits) differs
	FileMissing    FileStatus = "missing"    // gpm placed it; it is gone
	FileUnexpected FileStatus = "unexpected" // in the package directory, but not placed by gpm
)

// PackageStatus is the verdict on one package.
type PackageStatus string

// Package verdicts.
const (
	PackageOK PackageStatus = "ok"
	// PackageModified: some files are modified, missing or unexpected.
	PackageModified PackageStatus = "modified"
	// PackageNotInstalled: locked, but not in the vendor directory.
	PackageNotInstalled PackageStatus = "not-installed"
	// PackageOutdated: installed with other files than the lock's; gpm
	// install would update it.
	PackageOutdated PackageStatus = "outdated"
	// PackageUnrecorded: the directory exists, but gpm has no record of
	// extracting it, so its files cannot be checked.
	PackageUnrecorded PackageStatus = "unrecorded"
	// PackageNotLocked: installed, but no longer in the lock; gpm install
	// would remove it.
	PackageNotLocked PackageStatus = "not-locked"
)

// VerifyFile is one path that is not as gpm placed it.
type VerifyFile struct {
	Path   string     `json:"path"` // slash-separated, relative to the package directory
	Status FileStatus `json:"status"`
	Want   string     `json:"want,omitempty"` // expected sha256 (or symlink target)
	Got    string     `json:"got,omitempty"`  // found sha256 (or symlink target)
}

// VerifyPackage is the verdict on one package.
type VerifyPackage struct {
	Name    string        `json:"name"`
	Version string        `json:"version"`
	Status  PackageStatus `json:"status"`
	Checked int           `json:"checked"`         // files checked
	Files   []VerifyFile  `json:"files,omitempty"` // problems only, by path
	// SetAside are the user's changed files that gpm install kept as
	// PATH.gpm-user, by path. They are not problems: the package is ok
	// with them, and they stay until the user removes them.
	SetAside []string `json:"set_aside,omitempty"`
}

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	// Packages are in lock order, followed by installed packages no longer
	// locked, by name.
	Packages []VerifyPackage `json:"packages"`
	Files    int             `json:"files"` // files hashed
	Bytes    int64           `json:"bytes"` // bytes hashed
	// Warnings are problems with gpm's own records, e.g. an unreadable
	// state file.
	Warnings []string `json:"warnings,omitempty"`
}

// OK reports whether every package verified.
func (r *VerifyReport) OK() bool {
	for _, p := range r.Packages {
		if p.Status != PackageOK {
			return false
		}
	}
	return true
}

// verifyError is returned by Verify when the vendor directory does not
// match the lock. It matches ErrIntegrity.
type verifyError struct {
	Report *VerifyReport
}

// Error implements error: a summary naming the first problems.
func (e *verifyError) Error() string {
	var parts []string
	n := 0
	for _, p := range e.Report.Packages {
		if p.Status == PackageOK {
			continue
		}
		n++
		if len(parts) >= 5 {
			continue
		}
		id := p.Name + "@" + p.Version
		switch p.Status {
		case PackageModified:
			var fs []string
			for i, f := range p.Files {
				if i == 3 {
					fs = append(fs, fmt.Sprintf("and %d more", len(p.Files)-3))
					break
				}
				fs = append(fs, fmt.Sprintf("%s %q", f.Status, f.Path))
			}
			parts = append(parts, id+": "+strings.Join(fs, ", "))
		default:
			parts = append(parts, fmt.Sprintf("%s: %s", id, p.Status))
		}
	}
	if n > len(parts) {
		parts = append(parts, fmt.Sprintf("and %d more packages", n-len(parts)))
	}
	return "vendor directory does not match the lock: " + strings.Join(parts, "; ")
}

// Is matches ErrIntegrity.
func (e *verifyError) Is(target error) bool { return target == ErrIntegrity }

// Hints says how to repair the vendor directory.
func (e *verifyError) Hints() []string {
	var restore, unexpected bool
	for _, p := range e.Report.Packages {
		if p.Status != PackageModified {
			restore = restore || p.Status != PackageOK
			continue
		}
		for _, f := range p.Files {
			if f.Status == FileUnexpected {
				unexpected = true
			} else {
				restore = true
			}
		}
	}
	var h []string
	if restore {
		h = append(h, "run 'gpm install' to restore the locked files; a file you changed is kept as NAME.gpm-user, and a file changed without a change of size and time is only replaced after its package directory is removed")
	}
	if unexpected {
		h = append(h, "unexpected files are not gpm's: move them out of the package directory; 'gpm install' keeps them, so verify reports them until then")
	}
	return h
}

// Verify rehashes every file gpm placed in the vendor directory dir, in
// parallel over jobs workers (all CPUs when jobs <= 0), and compares it with
// the lock (files placed as they are) or with the hash recorded when it was
// extracted (files from archives). It also reports files in a package
// directory that gpm did not place, packages locked but not installed, and
// installed packages no longer locked.
//
// When the vendor directory does not match, Verify returns the report and a
// *verifyError (errors.Is ErrIntegrity). Other errors are failures to read.
//
// The caller holds RLockDir(dir) (or LockDir(dir)) while Verify reads, so
// that an install running at the same time is waited for, never seen half
// done; it usually reads packages.lock under it too, since that install may
// change it.
func Verify(ctx context.Context, dir string, l *lock.File, jobs int) (*VerifyReport, error) {
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	if l == nil {
		l = &lock.File{}
	}
	// Files are hashed while the rest of the vendor directory is still
	// being planned (a walk of each package directory). The first failure
	// to read cancels the rest.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	work := make(chan *verifyCheck, 256)
	var mu sync.Mutex
	var files int
	var nbytes int64
	for range jobs {
		g.Go(func() error {
			for c := range work {
				if err := gctx.Err(); err != nil {
					return err
				}
				vf, n, err := verifyOne(c.pkgDir, &c.file, c.want)
				if err != nil {
					return &PackageError{Name: c.name, Version: c.version, Err: err}
				}
				c.result = vf
				if n >= 0 {
					mu.Lock()
					files++
					nbytes += n
					mu.Unlock()
				}
			}
			return nil
		})
	}
	emit := func(c *verifyCheck) bool {
		select {
		case work <- c:
			return true
		case <-gctx.Done():
			return false
		}
	}
	rep, checks, perr := planVerify(dir, l, emit)
	close(work)
	if perr != nil {
		cancel()
	}
	err := g.Wait()
	switch {
	case perr != nil:
		return nil, perr
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		return nil, err
	}
	rep.Files, rep.Bytes = files, nbytes
	for _, c := range checks {
		vp := &rep.Packages[c.pkg]
		vp.Checked++
		if c.result.Status != FileOK {
			vp.Files = append(vp.Files, c.result)
		}
	}
	for i := range rep.Packages {
		vp := &rep.Packages[i]
		slices.SortFunc(vp.Files, func(a, b VerifyFile) int { return strings.Compare(a.Path, b.Path) })
		if vp.Status == PackageOK && len(vp.Files) > 0 {
			vp.Status = PackageModified
		}
	}
	if !rep.OK() {
		return rep, &verifyError{Report: rep}
	}
	return rep, nil
}

// verifyCheck is one placed path to check.
type verifyCheck struct {
	pkg           int    // index in VerifyReport.Packages
	name, version string // the package's
	pkgDir        string
	file          placed
	want          string // expected sha256, or symlink target
	result        VerifyFile
}

// planVerify decides, without reading any content, the status of each
// package that cannot be checked file by file (not installed, outdated,
// unrecorded, no longer locked), the paths to check of the others, and
// their unexpected files. Each path to check is passed to emit as soon as
// it is known, and returned with the others; when emit returns false
// (the checks failed or were cancelled) planning stops and returns
// nothing. The report's packages are in lock order, then the packages no
// longer locked by name.
func planVerify(dir string, l *lock.File, emit func(*verifyCheck) bool) (*VerifyReport, []*verifyCheck, error) {
	rep := &VerifyReport{}
	st := readState(dir, func(format string, args ...any) {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf(format, args...))
	})
	var checks []*verifyCheck
	for i := range l.Packages {
		p := &l.Packages[i]
		if err := checkLockPackage(p); err != nil {
			return nil, nil, &PackageError{Name: p.Name, Version: p.Version, Err: err}
		}
		pkgDir := filepath.Join(dir, p.Name)
		status, files, check := verifyPlan(pkgDir, p, st.Packages[p.Name])
		rep.Packages = append(rep.Packages, VerifyPackage{Name: p.Name, Version: p.Version, Status: status})
		if !check {
			continue
		}
		lockSHA := map[string]string{}
		for _, f := range p.Files {
			if !p.Extract || archiveKind(f.Name) == "" {
				lockSHA[f.Name] = f.SHA256
			}
		}
		known := map[string]bool{}
		for _, f := range files {
			known[f.Path] = true
			want := f.SHA256
			switch f.Type {
			case typeSymlink:
				want = f.Link
			case typeFile:
				if w, ok := lockSHA[f.Path]; ok {
					want = w
				}
			}
			c := &verifyCheck{pkg: len(rep.Packages) - 1, name: p.Name, version: p.Version, pkgDir: pkgDir, file: f, want: want}
			checks = append(checks, c)
			if !emit(c) {
				return nil, nil, nil
			}
		}
		unexpected, err := unexpectedFiles(pkgDir, known)
		if err != nil {
			return nil, nil, &PackageError{Name: p.Name, Version: p.Version, Err: err}
		}
		vp := &rep.Packages[len(rep.Packages)-1]
		var aside []string
		if s := st.Packages[p.Name]; s != nil {
			aside = s.SetAside
		}
		if s := st.Packages[p.Name]; s != nil {
			for _, n := range slices.Sorted(maps.Keys(s.Links)) {
				if !linkOK(dir, runtime.GOOS, p.Name, n, s.Links[n]) {
					want := binDirName + "/" + binEntry(runtime.GOOS, n, s.Links[n]) + " -> " + s.Links[n]
					vp.Files = append(vp.Files, VerifyFile{Path: "../" + binDirName + "/" + binEntry(runtime.GOOS, n, s.Links[n]), Status: FileMissing, Want: want})
				}
			}
		}
		for _, u := range unexpected {
			if slices.Contains(aside, u) {
				vp.SetAside = append(vp.SetAside, u)
				continue
			}
			vp.Files = append(vp.Files, VerifyFile{Path: u, Status: FileUnexpected})
		}
	}
	var gone []string
	for name := range st.Packages {
		if _, ok := l.Lookup(name); !ok {
			gone = append(gone, name)
		}
	}
	slices.Sort(gone)
	for _, name := range gone {
		rep.Packages = append(rep.Packages, VerifyPackage{Name: name, Version: st.Packages[name].Version, Status: PackageNotLocked})
	}
	return rep, checks, nil
}

// verifyPlan returns the status of locked package p, whose installed state
// is s (nil when none), and whether its directory is checked file by file
// (only when the status is PackageOK so far), with the files to check.
func verifyPlan(pkgDir string, p *lock.Package, s *pkgState) (status PackageStatus, files []placed, check bool) {
	fi, err := os.Lstat(pkgDir)
	switch {
	case err != nil || !fi.IsDir():
		return PackageNotInstalled, nil, false
	case s != nil && !s.sameIdentity(p):
		return PackageOutdated, nil, false
	case s != nil:
		return PackageOK, s.Files, true
	case p.Extract:
		return PackageUnrecorded, nil, false
	}
	// No record, files placed as they are: the lock says what must be
	// there.
	for _, f := range p.Files {
		files = append(files, placed{Path: f.Name, Size: f.Size, SHA256: f.SHA256})
	}
	return PackageOK, files, true
}

// verifyOne checks one placed path. It returns the bytes hashed, or -1
// when nothing was hashed.
func verifyOne(pkgDir string, f *placed, want string) (VerifyFile, int64, error) {
	vf := VerifyFile{Path: f.Path, Status: FileOK}
	p := filepath.Join(pkgDir, filepath.FromSlash(f.Path))
	fi, err := os.Lstat(p)
	if isNotExist(err) {
		vf.Status = FileMissing
		vf.Want = want
		return vf, -1, nil
	}
	if err != nil {
		return vf, -1, err
	}
	if !sameType(fi, f.Type) {
		vf.Status = FileModified
		vf.Want, vf.Got = want, "("+typeName(fi)+")"
		return vf, -1, nil
	}
	switch f.Type {
	case typeDir:
		return vf, -1, nil
	case typeSymlink:
		t, err := os.Readlink(p)
		if err != nil {
			return vf, -1, err
		}
		if t != want {
			vf.Status, vf.Want, vf.Got = FileModified, want, t
		}
		return vf, -1, nil
	}
	sum, n, err := hashFile(p)
	if err != nil {
		return vf, -1, err
	}
	switch {
	case sum != want:
		vf.Status, vf.Want, vf.Got = FileModified, want, sum
	case !sameExec(fi, f):
		vf.Status = FileModified
		vf.Want, vf.Got = fmt.Sprintf("(mode %#o)", f.Mode&0o777), fmt.Sprintf("(mode %#o)", fi.Mode().Perm())
	}
	return vf, n, nil
}

func typeName(fi fs.FileInfo) string {
	switch m := fi.Mode(); {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	case m.IsRegular():
		return "a file"
	}
	return "a special file"
}

// unexpectedFiles lists the files and symlinks under pkgDir that are not in
// known, by slash-separated path.
func unexpectedFiles(pkgDir string, known map[string]bool) ([]string, error) {
	var out []string
	err := filepath.WalkDir(pkgDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(pkgDir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !known[rel] {
			out = append(out, rel)
		}
		return nil
	})
	return out, err
}

// hashBufSize is large enough that hashing is bound by SHA-256, not by
// system calls.
const hashBufSize = 256 << 10

// filesRead counts files read for hashing, copying or extraction, so tests
// can prove that an install of packages in place reads nothing.
var filesRead atomic.Int64

var hashBufs = sync.Pool{New: func() any { b := make([]byte, hashBufSize); return &b }}

// hashFile returns the SHA-256 (lowercase hex) and size of the file at p.
func hashFile(p string) (string, int64, error) {
	f, err := openRead(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	return hashReader(f)
}

// hashRootFile is hashFile for a path inside root.
func hashRootFile(root *os.Root, p string) (string, int64, error) {
	f, err := root.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	return hashReader(f)
}

// hashReader hashes r through a large pooled buffer. It reads directly
// rather than through io.Copy, which would use the file's WriteTo and a
// small buffer.
func hashReader(r io.Reader) (string, int64, error) {
	filesRead.Add(1)
	bp := hashBufs.Get().(*[]byte)
	defer hashBufs.Put(bp)
	buf := *bp
	h := sha256.New()
	var n int64
	for {
		k, err := r.Read(buf)
		h.Write(buf[:k])
		n += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", n, err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
