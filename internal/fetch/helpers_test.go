package fetch

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpmtool/gpm/internal/lock"
	"github.com/gpmtool/gpm/internal/registry"
)

// fakeReg is an in-memory registry implementing Downloader, with counters
// and fault injection. It behaves like registry.Client.Download: it checks
// size and hash, and when the destination can Reset it retries a failed
// transfer from the start.
type fakeReg struct {
	mu    sync.Mutex
	blobs map[string][]byte // by refKey

	calls   atomic.Int64 // Download calls
	sources atomic.Int64 // Source calls

	// serve, when set, replaces the bytes served for a file (a re-publish).
	serve func(ref registry.FileRef, data []byte) []byte
	// pauseHalfway, when set, is called once half of a file was written; it
	// may block (until the context is cancelled).
	pauseHalfway func(ctx context.Context, ref registry.FileRef)
	// failOnce lists files whose first transfer breaks halfway.
	failOnce map[string]bool
	// delay is slept per chunk, to make downloads overlap.
	delay time.Duration
}

func newFakeReg() *fakeReg { return &fakeReg{blobs: map[string][]byte{}, failOnce: map[string]bool{}} }

func refKey(ref registry.FileRef) string {
	return ref.Project + "|" + ref.Package + "|" + ref.Version + "|" + ref.File
}

func (f *fakeReg) put(ref registry.FileRef, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.blobs[refKey(ref)] = data
}

func (f *fakeReg) Download(ctx context.Context, ref registry.FileRef, want registry.Expect, dst io.Writer) (registry.Result, error) {
	f.calls.Add(1)
	f.mu.Lock()
	data, ok := f.blobs[refKey(ref)]
	fail := f.failOnce[ref.File]
	delete(f.failOnce, ref.File)
	f.mu.Unlock()
	if !ok {
		return registry.Result{}, &registry.HTTPError{Method: "GET", URL: "https://gitlab.example.com/x", Status: http.StatusNotFound, Op: registry.OpDownload}
	}
	if f.serve != nil {
		data = f.serve(ref, data)
	}
	const chunk = 4096
	for attempt := 0; ; attempt++ {
		h := sha256.New()
		var n int64
		broke := false
		paused := false
		for i := 0; i < len(data); i += chunk {
			if err := ctx.Err(); err != nil {
				return registry.Result{}, err
			}
			if f.delay > 0 {
				time.Sleep(f.delay)
			}
			if !paused && i >= len(data)/2 && f.pauseHalfway != nil {
				paused = true
				f.pauseHalfway(ctx, ref)
				if err := ctx.Err(); err != nil {
					return registry.Result{}, err
				}
			}
			part := data[i:min(i+chunk, len(data))]
			if _, err := dst.Write(part); err != nil {
				return registry.Result{}, err
			}
			h.Write(part)
			n += int64(len(part))
			if fail && attempt == 0 && i >= len(data)/2 {
				broke = true
				break
			}
		}
		if broke {
			r, ok := dst.(interface{ Reset() error })
			if !ok {
				return registry.Result{}, &registry.TransientError{Attempts: 1, Err: io.ErrUnexpectedEOF}
			}
			if err := r.Reset(); err != nil {
				return registry.Result{}, err
			}
			continue
		}
		sum := hex.EncodeToString(h.Sum(nil))
		if want.Size >= 0 && n != want.Size || want.SHA256 != "" && sum != want.SHA256 {
			return registry.Result{}, &registry.IntegrityError{Ref: ref, WantSize: want.Size, GotSize: n, WantSHA256: want.SHA256, GotSHA256: sum}
		}
		return registry.Result{Size: n, SHA256: sum}, nil
	}
}

// env is a vendor directory, a cache and a fake registry.
type env struct {
	t     *testing.T
	reg   *fakeReg
	dir   string
	cache *Cache

	mu       sync.Mutex
	warnings []string
	events   []Event
}

func newEnv(t *testing.T) *env {
	t.Helper()
	root := t.TempDir()
	c, err := OpenCache(filepath.Join(root, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, reg: newFakeReg(), dir: filepath.Join(root, "project", "vendor"), cache: c}
}

// file is a file of a package for pkg.
type file struct {
	name string
	data []byte
}

func f(name, data string) file { return file{name, []byte(data)} }

func sum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// pkg registers a package version in the fake registry and returns its lock
// entry.
func (e *env) pkg(name, version string, extract bool, files ...file) lock.Package {
	p := lock.Package{Name: name, Project: "12345", Package: name, Version: version, Constraint: "*", Extract: extract, PackageID: 1}
	for i, fl := range files {
		e.reg.put(registry.FileRef{Project: p.Project, Package: p.Package, Version: version, File: fl.name}, fl.data)
		p.Files = append(p.Files, lock.FileEntry{Name: fl.name, Size: int64(len(fl.data)), SHA256: sum(fl.data), FileID: int64(i + 1)})
	}
	sort.Slice(p.Files, func(i, j int) bool { return p.Files[i].Name < p.Files[j].Name })
	return p
}

func lockOf(pkgs ...lock.Package) *lock.File {
	l := &lock.File{Version: lock.Version, Packages: pkgs}
	sort.Slice(l.Packages, func(i, j int) bool { return l.Packages[i].Name < l.Packages[j].Name })
	return l
}

func (e *env) opts() Options {
	return Options{
		Dir:   e.dir,
		Cache: e.cache,
		Jobs:  4,
		Source: func(p lock.Package) (Downloader, error) {
			e.reg.sources.Add(1)
			return e.reg, nil
		},
		Events: func(ev Event) {
			e.mu.Lock()
			e.events = append(e.events, ev)
			e.mu.Unlock()
		},
		Warnf: func(format string, args ...any) {
			e.mu.Lock()
			e.warnings = append(e.warnings, fmt.Sprintf(format, args...))
			e.mu.Unlock()
		},
	}
}

// install is a whole install as the project engine runs one, without a
// lock file to write: it takes the vendor directory's lock, stages and
// places.
func install(ctx context.Context, l *lock.File, opts Options) (*Report, error) {
	unlock, err := LockDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	st, err := Stage(ctx, l, opts)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return st.Place()
}

// verify is Verify under the shared lock of the vendor directory, as the
// project engine runs it.
func verify(ctx context.Context, dir string, l *lock.File, jobs int) (*VerifyReport, error) {
	unlock, err := RLockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return Verify(ctx, dir, l, jobs)
}

func (e *env) install(pkgs ...lock.Package) (*Report, error) {
	e.t.Helper()
	return install(context.Background(), lockOf(pkgs...), e.opts())
}

func (e *env) mustInstall(pkgs ...lock.Package) *Report {
	e.t.Helper()
	rep, err := e.install(pkgs...)
	if err != nil {
		e.t.Fatalf("Install: %v", err)
	}
	return rep
}

// read returns the content of a vendor file, "" with ok false if missing.
func (e *env) read(rel string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(e.dir, filepath.FromSlash(rel)))
	if err != nil {
		return "", false
	}
	return string(b), true
}

func (e *env) write(rel, data string) {
	e.t.Helper()
	p := filepath.Join(e.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// tree lists every path under dir (slash-separated, dirs with a trailing
// "/", symlinks as "name -> target"), skipping .gpm.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if rel == metaDir {
			return filepath.SkipDir
		}
		switch {
		case d.IsDir():
			out = append(out, rel+"/")
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out = append(out, rel+" -> "+target)
		default:
			out = append(out, rel)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}

// temps lists tmp-* entries in dir.
func temps(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "tmp-") || strings.Contains(e.Name(), ".tmp-") {
			out = append(out, e.Name())
		}
	}
	return out
}

func (e *env) assertNoTemps() {
	e.t.Helper()
	if l := temps(e.t, filepath.Join(e.dir, metaDir)); len(l) > 0 {
		e.t.Errorf("temporaries left in vendor/.gpm: %v", l)
	}
	if l := temps(e.t, e.cache.blobs); len(l) > 0 {
		e.t.Errorf("temporaries left in the cache: %v", l)
	}
}

func (e *env) countEvents(k EventKind) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.events {
		if ev.Kind == k {
			n++
		}
	}
	return n
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

// Archive builders.

// ent is an archive entry. typ is a tar type flag; for zip, '0', '5' and
// '2' (file, directory, symlink) are supported, and mode may carry other
// type bits.
type ent struct {
	name string
	typ  byte
	body string
	mode int64
	link string
	size int64 // tar: declared size when body is empty and size > 0 (zeros are written)
}

func file0(name, body string, mode int64) ent {
	return ent{name: name, typ: tar.TypeReg, body: body, mode: mode}
}

func makeTar(t testing.TB, gz bool, ents ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.Writer = &buf
	var zw *gzip.Writer
	if gz {
		zw, _ = gzip.NewWriterLevel(&buf, gzip.BestCompression)
		w = zw
	}
	tw := tar.NewWriter(w)
	for _, e := range ents {
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: mode, Linkname: e.link, Format: tar.FormatPAX, ModTime: time.Unix(1700000000, 0)}
		body := []byte(e.body)
		if e.typ == tar.TypeReg {
			h.Size = int64(len(body))
			if e.size > 0 {
				h.Size = e.size
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			if e.size > 0 {
				zeros := make([]byte, 1<<20)
				for left := e.size; left > 0; {
					n := min(left, int64(len(zeros)))
					tw.Write(zeros[:n])
					left -= n
				}
			} else {
				tw.Write(body)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		zw.Close()
	}
	return buf.Bytes()
}

func makeZip(t testing.TB, ents ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range ents {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		mode := fs.FileMode(e.mode)
		if mode.Perm() == 0 {
			mode |= 0o644
		}
		switch e.typ {
		case '5':
			mode |= fs.ModeDir
			if !strings.HasSuffix(h.Name, "/") {
				h.Name += "/"
			}
		case '2':
			mode |= fs.ModeSymlink
		}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case e.typ == '2':
			io.WriteString(w, e.link)
		case e.size > 0:
			zeros := make([]byte, 1<<20)
			for left := e.size; left > 0; {
				n := min(left, int64(len(zeros)))
				w.Write(zeros[:n])
				left -= n
			}
		default:
			io.WriteString(w, e.body)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
