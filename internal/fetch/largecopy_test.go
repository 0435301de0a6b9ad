package fetch

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpmtool/gpm/internal/registry"
)

// TestLargeDownloadPlacedFromCopy: a large download is written, as it
// arrives, to a copy in DIR/.gpm besides the cache blob, and staging moves
// that copy into place: no blob is read, a blob swapped under its name in
// the cache meanwhile changes nothing, and the file gets the mode any
// placed file gets (not the copy's 0600).
func TestLargeDownloadPlacedFromCopy(t *testing.T) {
	withLarge(t, 1)
	e := newEnv(t)
	script := bytes.Repeat([]byte("#!/bin/sh\necho copy\n"), 1000)
	data := bytes.Repeat([]byte("data"), 3000)
	p := e.pkg("p", "1.0.0", false, file{"bin/tool", script}, file{"data.bin", data})
	s := e.session(e.opts())
	s.Prefetch(p)
	var copies []string
	copied := map[string]os.FileInfo{}
	for _, fe := range p.Files {
		b := s.in.blobs[blobKey(fe.SHA256, fe.Size)]
		<-b.ready
		if b.err != nil || b.copy == "" {
			t.Fatalf("%s: no copy of the download: %v", fe.Name, b.err)
		}
		if filepath.Dir(filepath.Dir(b.copy)) != filepath.Join(e.dir, metaDir) {
			t.Errorf("copy %s is not in DIR/.gpm", b.copy)
		}
		copies = append(copies, b.copy)
		fi, err := os.Stat(b.copy)
		if err != nil {
			t.Fatal(err)
		}
		copied[fe.Name] = fi
		swapBlob(t, e.cache, fe.SHA256, bytes.Repeat([]byte("x"), int(fe.Size)))
	}

	reads := filesRead.Load()
	e.stageAndPlace(s, p)
	if n := filesRead.Load() - reads; n != 0 {
		t.Errorf("%d blob reads to place two large downloads, want 0", n)
	}
	for name, cfi := range copied {
		fi, err := os.Stat(filepath.Join(e.dir, "p", filepath.FromSlash(name)))
		if err != nil || !os.SameFile(fi, cfi) {
			t.Errorf("%s was not placed by moving the download's copy (%v)", name, err)
		}
	}
	for _, c := range copies {
		if _, err := os.Lstat(c); !os.IsNotExist(err) {
			t.Errorf("copy %s still there: %v", c, err)
		}
	}
	if got, ok := e.read("p/bin/tool"); !ok || got != string(script) {
		t.Errorf("bin/tool: %d bytes", len(got))
	}
	if got, ok := e.read("p/data.bin"); !ok || got != string(data) {
		t.Errorf("data.bin: %d bytes", len(got))
	}
	// The modes a plain create would give under the umask.
	ref := filepath.Join(e.dir, "ref")
	if err := os.WriteFile(ref, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	want, _ := os.Stat(ref)
	if fi, err := os.Stat(filepath.Join(e.dir, "p", "data.bin")); err != nil || fi.Mode().Perm() != want.Mode().Perm() {
		t.Errorf("data.bin mode %v (%v), want %v", fi.Mode(), err, want.Mode())
	}
	if fi, err := os.Stat(filepath.Join(e.dir, "p", "bin", "tool")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("a script was placed without its execute bit: %v %v", fi.Mode(), err)
	}
	if len(e.warnings) != 0 {
		t.Errorf("warnings: %q", e.warnings)
	}
	e.assertNoTemps()
	if _, err := Verify(context.Background(), e.dir, lockOf(p), 2); err != nil { // the session holds the lock
		t.Errorf("verify: %v", err)
	}
}

// TestLargeDownloadFaults: a large download goes through the same faults
// as any: a transfer that breaks and is retried leaves the right bytes in
// the cache and the vendor directory; one that is interrupted, or does
// not match the lock, leaves no copy, no blob and no temporary.
func TestLargeDownloadFaults(t *testing.T) {
	withLarge(t, 1)
	data := strings.Repeat("0123456789", 50000)
	t.Run("retried", func(t *testing.T) {
		e := newEnv(t)
		a := e.pkg("app", "1.0.0", false, f("app", data))
		e.reg.failOnce["app"] = true
		e.mustInstall(a)
		if s, _ := e.read("app/app"); s != data {
			t.Errorf("retried download placed %d bytes, want %d", len(s), len(data))
		}
		if got, err := os.ReadFile(e.cache.blobPath(a.Files[0].SHA256)); err != nil || string(got) != data {
			t.Errorf("cache blob: %d bytes (%v)", len(got), err)
		}
		e.assertNoTemps()
	})
	t.Run("interrupted", func(t *testing.T) {
		e := newEnv(t)
		a := e.pkg("app", "1.0.0", false, f("app", data))
		ctx, cancel := context.WithCancel(context.Background())
		e.reg.pauseHalfway = func(ctx context.Context, ref registry.FileRef) {
			cancel()
			<-ctx.Done()
		}
		if _, err := install(ctx, lockOf(a), e.opts()); err == nil {
			t.Fatal("interrupted install succeeded")
		}
		if e.cache.has(a.Files[0].SHA256, a.Files[0].Size) {
			t.Error("interrupted download entered the cache")
		}
		e.assertNoTemps()
	})
	t.Run("mismatch", func(t *testing.T) {
		e := newEnv(t)
		a := e.pkg("app", "1.0.0", false, f("app", data))
		e.reg.serve = func(ref registry.FileRef, b []byte) []byte { return append([]byte("X"), b[1:]...) }
		if _, err := e.install(a); err == nil {
			t.Fatal("install of a file that does not match the lock succeeded")
		}
		if _, ok := e.read("app/app"); ok {
			t.Error("a file that does not match the lock was placed")
		}
		e.assertNoTemps()
	})
}

// TestLargeArchiveNotCopied: a large download that its package unpacks
// gets no copy (it would be written for nothing); it is extracted from the
// cache blob as before.
func TestLargeArchiveNotCopied(t *testing.T) {
	withLarge(t, 1)
	e := newEnv(t)
	tgz := makeTar(t, true, file0("bin/tool", "#!/bin/sh\n", 0o755), ent{name: "README", typ: tar.TypeReg, body: strings.Repeat("r", 5000), mode: 0o644})
	p := e.pkg("tool", "1.0.0", true, file{"tool.tar.gz", tgz}, f("notes.txt", "plain"))
	s := e.session(e.opts())
	s.Prefetch(p)
	for _, fe := range p.Files {
		b := s.in.blobs[blobKey(fe.SHA256, fe.Size)]
		<-b.ready
		if want := fe.Name == "notes.txt"; (b.copy != "") != want {
			t.Errorf("%s: copy %q, want one: %v", fe.Name, b.copy, want)
		}
	}
	e.stageAndPlace(s, p)
	if got, ok := e.read("tool/bin/tool"); !ok || got != "#!/bin/sh\n" {
		t.Errorf("bin/tool = %q", got)
	}
	if got, ok := e.read("tool/notes.txt"); !ok || got != "plain" {
		t.Errorf("notes.txt = %q", got)
	}
	e.assertNoTemps()
}

// TestPipedCacheWriteFails: when the cache file of a piped download cannot
// be written, commit fails with that error and stores nothing, although
// the hash of what arrived matches.
func TestPipedCacheWriteFails(t *testing.T) {
	e := newEnv(t)
	tf, err := e.cache.newTemp()
	if err != nil {
		t.Fatal(err)
	}
	rw := tf.f
	defer rw.Close()
	if tf.f, err = os.Open(rw.Name()); err != nil { // read-only: writes fail
		t.Fatal(err)
	}
	tf.pipe(nil)
	data := bytes.Repeat([]byte("z"), 3*hashChunkSize+1)
	for i := 0; i < len(data); i += 4096 {
		if _, err := tf.Write(data[i:min(i+4096, len(data))]); err != nil {
			break // the failure may show before the end
		}
	}
	_, err = tf.commit(registry.FileRef{File: "z"}, sum(data), int64(len(data)))
	if err == nil || !strings.Contains(err.Error(), "write cache blob") {
		t.Fatalf("commit = %v, want the write error", err)
	}
	if e.cache.has(sum(data), int64(len(data))) {
		t.Error("a blob that was not written entered the cache")
	}
	tf.Close()
}
