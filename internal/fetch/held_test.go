package fetch

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// withHolding makes every download of at least min bytes held, at most max
// at once, for the test.
func withHolding(t *testing.T, min int64, max int) {
	t.Helper()
	if !canReopen {
		t.Skip("downloads are held only where they can be reopened (Linux)")
	}
	oldMin, oldMax := holdMin, maxHeld
	holdMin, maxHeld = min, max
	t.Cleanup(func() { holdMin, maxHeld = oldMin, oldMax })
}

// swapBlob replaces the cache blob sha by another file of the same size,
// as another process renaming over it would.
func swapBlob(t *testing.T, c *Cache, sha string, data []byte) {
	t.Helper()
	tmp := filepath.Join(c.blobs, "tmp-swap")
	if err := os.WriteFile(tmp, data, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, c.blobPath(sha)); err != nil {
		t.Fatal(err)
	}
}

// TestHeldDownloadIsPlaced: a file downloaded in this run is placed from
// the file it was hashed in as it arrived, held open since: it is not read
// back and hashed again, and a blob swapped under its name in the cache
// meanwhile changes nothing. Without the held file the swapped blob fails
// its rehash, and since it was downloaded in this run, the install fails.
func TestHeldDownloadIsPlaced(t *testing.T) {
	withHolding(t, 1, 16)
	e := newEnv(t)
	data := bytes.Repeat([]byte("#!/bin/sh\necho held\n"), 1000)
	p := e.pkg("p", "1.0.0", false, file{"tool", data})
	s := e.session(e.opts())
	s.Prefetch(p)
	b := s.in.blobs[blobKey(p.Files[0].SHA256, p.Files[0].Size)]
	<-b.ready
	if b.err != nil || b.heldFile() == nil {
		t.Fatalf("the download was not held: %v", b.err)
	}
	swapBlob(t, e.cache, p.Files[0].SHA256, bytes.Repeat([]byte("x"), len(data)))

	reads := filesRead.Load()
	st, err := s.Stage(context.Background(), lockOf(p))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Place(); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if n := filesRead.Load() - reads; n != 0 {
		t.Errorf("%d blob reads to place a held download, want 0", n)
	}
	got, err := os.ReadFile(filepath.Join(e.dir, "p", "tool"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("placed %d bytes (%v), want the downloaded file", len(got), err)
	}
	if fi, err := os.Stat(filepath.Join(e.dir, "p", "tool")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("a script was placed without its execute bit: %v %v", fi.Mode(), err)
	}
	if len(e.warnings) != 0 {
		t.Errorf("warnings: %q", e.warnings)
	}
	if len(s.in.held) != 0 {
		t.Errorf("%d downloads still held after Close", len(s.in.held))
	}
}

// TestHeldDownloadsCapped: past maxHeld, downloads are placed from the
// cache as before, rehashed.
func TestHeldDownloadsCapped(t *testing.T) {
	withHolding(t, 1, 1)
	e := newEnv(t)
	p := e.pkg("p", "1.0.0", false, f("a.bin", "aaaa"), f("b.bin", "bbbb"), f("c.bin", "cccc"))
	reads := filesRead.Load()
	e.mustInstall(p)
	if n := filesRead.Load() - reads; n != 2 {
		t.Errorf("%d blob reads for 3 downloads with 1 held, want 2", n)
	}
	for _, n := range []string{"a", "b", "c"} {
		if got, ok := e.read("p/" + n + ".bin"); !ok || got != n+n+n+n {
			t.Errorf("%s.bin = %q", n, got)
		}
	}
}

// TestHeldDownloadNotReopened: where a held download cannot be reopened,
// it is placed from the cache blob and rehashed, as any other.
func TestHeldDownloadNotReopened(t *testing.T) {
	withHolding(t, 1, 16)
	old := reopen
	reopen = func(*os.File) (*os.File, error) { return nil, os.ErrPermission }
	t.Cleanup(func() { reopen = old })
	e := newEnv(t)
	p := e.pkg("p", "1.0.0", false, f("a.bin", "aaaa"))
	reads := filesRead.Load()
	e.mustInstall(p)
	if n := filesRead.Load() - reads; n != 1 {
		t.Errorf("%d blob reads, want 1: the cache blob, rehashed", n)
	}
	if got, ok := e.read("p/a.bin"); !ok || got != "aaaa" {
		t.Errorf("a.bin = %q", got)
	}
}
