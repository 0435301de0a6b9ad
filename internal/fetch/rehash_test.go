package fetch

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/lock"
)

// poison overwrites the cache blob of sha with data, keeping its name and
// its read-only mode, as anyone who can write to a shared cache could.
func poison(t *testing.T, c *Cache, sha string, data []byte) {
	t.Helper()
	if err := poisonBlob(c, sha, data); err != nil {
		t.Fatal(err)
	}
}

func poisonBlob(c *Cache, sha string, data []byte) error {
	p := c.blobPath(sha)
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if err := os.Chmod(p, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		return err
	}
	return os.Chmod(p, fi.Mode().Perm())
}

// sameSize returns a copy of data with its last byte changed.
func sameSize(data []byte) []byte {
	b := bytes.Clone(data)
	b[len(b)-1] ^= 0xff
	return b
}

func (e *env) warned(sub string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, w := range e.warnings {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}

// TestPoisonedCacheBlobRepaired pins the cache contract: a cache blob that
// no longer matches the lock, with the same size (which is all the cache
// looks at when it finds a blob), is never placed or extracted. It is
// discarded with a warning and downloaded again, and the install succeeds
// with the locked content.
func TestPoisonedCacheBlobRepaired(t *testing.T) {
	script := "#!/bin/sh\necho good\n"
	evil := "#!/bin/sh\necho evil\n"
	goodTar := makeTar(t, false, file0("bin/tool.sh", script, 0o755))
	evilTar := makeTar(t, false, file0("bin/tool.sh", evil, 0o755))
	goodZip := makeZip(t, ent{name: "bin/tool.sh", typ: '0', body: script, mode: 0o755})
	evilZip := makeZip(t, ent{name: "bin/tool.sh", typ: '0', body: evil, mode: 0o755})
	// A gzip stream followed by more bytes than the gzip reader buffers,
	// which the extractor never reads: only the hash sees that they
	// changed.
	tgz := append(makeTar(t, true, file0("bin/tool.sh", script, 0o755)), bytes.Repeat([]byte("trailing"), 8<<10)...)
	tests := []struct {
		name     string
		extract  bool
		file     string
		good     []byte
		bad      []byte
		wantFile string // vendor path holding script afterwards
	}{
		{"plain file", false, "tool.sh", []byte(script), []byte(evil), "tool.sh"},
		{"plain file, last byte", false, "tool.bin", bytes.Repeat([]byte("x"), 3<<20), sameSize(bytes.Repeat([]byte("x"), 3<<20)), ""},
		{"swapped tar", true, "tool.tar", goodTar, evilTar, "bin/tool.sh"},
		{"swapped zip", true, "tool.zip", goodZip, evilZip, "bin/tool.sh"},
		{"tar.gz trailing bytes", true, "tool.tar.gz", tgz, sameSize(tgz), "bin/tool.sh"},
		{"not an archive at all", true, "tool.tgz", tgz, bytes.Repeat([]byte{0}, len(tgz)), "bin/tool.sh"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.good) != len(tc.bad) || bytes.Equal(tc.good, tc.bad) {
				t.Fatalf("test archives: %d and %d bytes, want the same size and other bytes", len(tc.good), len(tc.bad))
			}
			e := newEnv(t)
			p := e.pkg("tool", "1.0.0", tc.extract, file{tc.file, tc.good})
			e.mustInstall(p)
			if err := os.RemoveAll(e.dir); err != nil {
				t.Fatal(err)
			}
			sha := p.Files[0].SHA256
			poison(t, e.cache, sha, tc.bad)
			calls := e.reg.calls.Load()

			rep := e.mustInstall(p)

			if n := e.reg.calls.Load() - calls; n != 1 {
				t.Errorf("%d downloads, want 1 (the discarded blob)", n)
			}
			if rep.Downloaded != 1 || rep.Cached != 0 || rep.Bytes != int64(len(tc.good)) {
				t.Errorf("report: downloaded %d cached %d bytes %d, want 1, 0, %d", rep.Downloaded, rep.Cached, rep.Bytes, len(tc.good))
			}
			want := "tool@1.0.0: cache blob " + e.cache.blobPath(sha) + ` of file "` + tc.file + `" does not match packages.lock; discarded, downloading again`
			if !e.warned(want) {
				t.Errorf("warnings %q, want %q", e.warnings, want)
			}
			if got, _ := os.ReadFile(e.cache.blobPath(sha)); !bytes.Equal(got, tc.good) {
				t.Errorf("cache blob not repaired")
			}
			if tc.wantFile != "" {
				if got, _ := e.read("tool/" + tc.wantFile); got != script {
					t.Errorf("%s = %q, want %q", tc.wantFile, got, script)
				}
			} else if got, _ := e.read("tool/" + tc.file); got != string(tc.good) {
				t.Errorf("%s differs from the locked file", tc.file)
			}
			if _, err := verify(context.Background(), e.dir, lockOf(p), 1); err != nil {
				t.Errorf("Verify after the repair: %v", err)
			}
			e.assertNoTemps()
		})
	}
}

// TestPoisonedBlobSharedByPackages: two packages staged at once find the
// same bad blob; it is downloaded again once, and both get the locked file.
func TestPoisonedBlobSharedByPackages(t *testing.T) {
	e := newEnv(t)
	a := e.pkg("a", "1.0.0", false, f("same.bin", "shared content"))
	b := e.pkg("b", "1.0.0", false, f("same.bin", "shared content"))
	e.mustInstall(a, b)
	os.RemoveAll(e.dir)
	poison(t, e.cache, a.Files[0].SHA256, []byte("SHARED CONTENT"))
	calls := e.reg.calls.Load()
	rep := e.mustInstall(a, b)
	if n := e.reg.calls.Load() - calls; n != 1 {
		t.Errorf("%d downloads, want 1", n)
	}
	if rep.Downloaded != 1 || rep.Cached != 1 {
		t.Errorf("downloaded %d cached %d, want 1 and 1", rep.Downloaded, rep.Cached)
	}
	for _, p := range []string{"a/same.bin", "b/same.bin"} {
		if got, _ := e.read(p); got != "shared content" {
			t.Errorf("%s = %q", p, got)
		}
	}
}

// TestPoisonedCacheBlobOffline: without the network a bad blob cannot be
// replaced; the install fails as an integrity failure naming the package,
// file and blob, installs nothing, and removes the blob so that the next
// install with the network downloads it.
func TestPoisonedCacheBlobOffline(t *testing.T) {
	e := newEnv(t)
	good := makeTar(t, true, file0("bin/tool.sh", "#!/bin/sh\necho good\n", 0o755))
	other := e.pkg("other", "1.0.0", false, f("x.txt", "x"))
	p := e.pkg("tool", "1.0.0", true, file{"tool.tar.gz", good})
	e.mustInstall(other, p)
	os.RemoveAll(e.dir)
	sha := p.Files[0].SHA256
	poison(t, e.cache, sha, sameSize(good))
	o := e.opts()
	o.Offline = true
	o.Source = nil
	_, err := install(context.Background(), lockOf(other, p), o)
	if !errors.Is(err, ErrIntegrity) || errors.Is(err, ErrOffline) {
		t.Fatalf("err = %v, want ErrIntegrity (not ErrOffline)", err)
	}
	var pe *PackageError
	if !errors.As(err, &pe) || pe.Name != "tool" {
		t.Errorf("err = %v, want a PackageError for tool", err)
	}
	msg := err.Error()
	for _, want := range []string{"tool@1.0.0: ", `"tool.tar.gz"`, e.cache.blobPath(sha), "does not match packages.lock", "--offline"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not say %q", msg, want)
		}
	}
	if h := hint.Of(err); len(h) == 0 || !strings.Contains(h[0], "without --offline") {
		t.Errorf("hints = %q, want one saying to run without --offline", h)
	}
	if _, err := os.Stat(e.cache.blobPath(sha)); !os.IsNotExist(err) {
		t.Errorf("bad blob kept in the cache (%v)", err)
	}
	for _, d := range []string{"tool", "other"} {
		if _, err := os.Stat(filepath.Join(e.dir, d)); !os.IsNotExist(err) {
			t.Errorf("vendor/%s created by a failed install", d)
		}
	}
	e.assertNoTemps()

	// Online again: downloaded, installed.
	e.mustInstall(other, p)
	if got, _ := e.read("tool/bin/tool.sh"); got != "#!/bin/sh\necho good\n" {
		t.Errorf("tool.sh = %q", got)
	}
}

// TestBlobChangedAfterDownload: a blob downloaded and verified in this run
// that changes in the cache before it is staged is not downloaded again
// (something is writing to the cache, and a loop could follow): the
// install fails as a security error and installs nothing.
func TestBlobChangedAfterDownload(t *testing.T) {
	e := newEnv(t)
	p := e.pkg("tool", "1.0.0", false, f("tool.sh", "#!/bin/sh\necho good\n"))
	o := e.opts()
	events := o.Events
	o.Events = func(ev Event) {
		events(ev)
		if ev.Kind == FileDone && !ev.FromCache {
			if err := poisonBlob(e.cache, p.Files[0].SHA256, []byte("#!/bin/sh\necho evil\n")); err != nil {
				t.Error(err)
			}
		}
	}
	_, err := install(context.Background(), lockOf(p), o)
	if !errors.Is(err, ErrIntegrity) || !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("err = %v, want an integrity error", err)
	}
	if !strings.Contains(err.Error(), "changed after gpm downloaded and verified it") {
		t.Errorf("message %q does not say the blob changed after its download", err)
	}
	if n := e.reg.calls.Load(); n != 1 {
		t.Errorf("%d downloads, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "tool")); !os.IsNotExist(err) {
		t.Errorf("vendor/tool created by a failed install")
	}
	e.assertNoTemps()
}

// TestWarmInstallReadsEachBlobOnce: rehashing costs no second read of a
// blob, plain or archive.
func TestWarmInstallReadsEachBlobOnce(t *testing.T) {
	e := newEnv(t)
	pkgs := []lock.Package{
		e.pkg("plain", "1.0.0", false, f("a.txt", "a"), f("b.txt", "b")),
		e.pkg("tgz", "1.0.0", true, file{"t.tar.gz", makeTar(t, true, file0("t.txt", "t", 0))}),
		e.pkg("tar", "1.0.0", true, file{"t.tar", makeTar(t, false, file0("t.txt", "t", 0), ent{name: "d/", typ: tar.TypeDir})}),
		e.pkg("zip", "1.0.0", true, file{"z.zip", makeZip(t, ent{name: "z.txt", typ: '0', body: "z"})}),
	}
	e.mustInstall(pkgs...)
	os.RemoveAll(e.dir)
	reads := filesRead.Load()
	rep := e.mustInstall(pkgs...)
	if rep.Cached != 5 {
		t.Fatalf("cached %d, want 5", rep.Cached)
	}
	if n := filesRead.Load() - reads; n != 5 {
		t.Errorf("%d blob reads for 5 cached blobs, want 5", n)
	}
}

// TestRepairOncePerBlob: packages that read a bad cache blob before another
// package's staging downloaded it again restage from the new download
// instead of failing or downloading it once more; a blob of this run that
// fails is final.
func TestRepairOncePerBlob(t *testing.T) {
	e := newEnv(t)
	p := e.pkg("a", "1.0.0", false, f("same.bin", "shared content"))
	q := e.pkg("b", "1.0.0", false, f("same.bin", "shared content"))
	e.mustInstall(p)
	sha := p.Files[0].SHA256
	poison(t, e.cache, sha, []byte("SHARED CONTENT"))
	calls := e.reg.calls.Load()

	in := &installer{opts: e.opts(), dir: e.dir, meta: filepath.Join(e.dir, metaDir), warnf: func(string, ...any) {}}
	in.slots = make(chan struct{}, 1)
	wp := &work{pkg: &p, rep: &PackageReport{}}
	wq := &work{pkg: &q, rep: &PackageReport{}}
	b := &blob{sha: sha, size: int64(len("shared content")), w: wp, file: "same.bin", path: e.cache.blobPath(sha), ready: make(chan struct{})}
	close(b.ready)
	// Both packages read the bad blob from the cache.
	bad := func() *cacheBlobError { return &cacheBlobError{file: "same.bin", path: b.path, b: b} }
	first, second := bad(), bad()

	if err := in.repair(context.Background(), wp, first); err != nil {
		t.Fatalf("first repair: %v", err)
	}
	if err := in.repair(context.Background(), wq, second); err != nil {
		t.Fatalf("second repair: %v", err)
	}
	if n := e.reg.calls.Load() - calls; n != 1 {
		t.Errorf("%d downloads, want 1", n)
	}
	tally([]*work{wp, wq}, map[string]*blob{blobKey(b.sha, b.size): b})
	if wp.rep.Downloaded != 1 || wp.rep.Cached != 0 || wq.rep.Downloaded != 0 || wq.rep.Cached != 1 {
		t.Errorf("reports %+v and %+v, want the download counted once, for a", *wp.rep, *wq.rep)
	}
	if got, _ := os.ReadFile(b.path); string(got) != "shared content" {
		t.Errorf("blob = %q after the repair", got)
	}
	// The new download fails its check too: final.
	again := bad()
	again.fresh = true
	err := in.repair(context.Background(), wq, again)
	var pe *PackageError
	if !errors.As(err, &pe) || pe.Name != "b" || !errors.Is(err, ErrIntegrity) {
		t.Errorf("repair of a fresh blob: %v, want an integrity PackageError for b", err)
	}
	if n := e.reg.calls.Load() - calls; n != 1 {
		t.Errorf("%d downloads, want still 1", n)
	}
}
