package fetch

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// withHolding makes every download of at least min bytes large, and held,
// at most max at once, for the test.
func withHolding(t *testing.T, min int64, max int) {
	t.Helper()
	if !canReopen {
		t.Skip("downloads are held only where they can be reopened (Linux)")
	}
	withLarge(t, min)
	oldMax := maxHeld
	maxHeld = max
	t.Cleanup(func() { maxHeld = oldMax })
}

// withLarge makes every download of at least min bytes large (largeMin)
// for the test.
func withLarge(t *testing.T, min int64) {
	t.Helper()
	old := largeMin
	largeMin = min
	t.Cleanup(func() { largeMin = old })
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

// TestHeldDownloadIsPlaced: a second file of the content of a large
// download (the first is the download's copy, see largecopy_test.go) is
// placed from the file the download was hashed in as it arrived, held open
// since: it is not read back and hashed again, and a blob swapped under
// its name in the cache meanwhile changes nothing. Without the held file
// the swapped blob fails its rehash, and since it was downloaded in this
// run, the install fails.
func TestHeldDownloadIsPlaced(t *testing.T) {
	withHolding(t, 1, 16)
	e := newEnv(t)
	data := bytes.Repeat([]byte("#!/bin/sh\necho held\n"), 1000)
	p := e.pkg("p", "1.0.0", false, file{"tool", data}, file{"tool2", data})
	s := e.session(e.opts())
	s.Prefetch(p)
	b := s.in.blobs[blobKey(p.Files[0].SHA256, p.Files[0].Size)]
	<-b.ready
	if b.err != nil || b.heldFile() == nil {
		t.Fatalf("the download was not held: %v", b.err)
	}
	swapBlob(t, e.cache, p.Files[0].SHA256, bytes.Repeat([]byte("x"), len(data)))

	reads := filesRead.Load()
	e.stageAndPlace(s, p)
	if n := filesRead.Load() - reads; n != 0 {
		t.Errorf("%d blob reads to place a held download, want 0", n)
	}
	for _, name := range []string{"tool", "tool2"} {
		got, err := os.ReadFile(filepath.Join(e.dir, "p", name))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s: placed %d bytes (%v), want the downloaded file", name, len(got), err)
		}
		if fi, err := os.Stat(filepath.Join(e.dir, "p", name)); err != nil || fi.Mode().Perm()&0o100 == 0 {
			t.Errorf("%s: a script was placed without its execute bit: %v %v", name, fi.Mode(), err)
		}
	}
	if len(e.warnings) != 0 {
		t.Errorf("warnings: %q", e.warnings)
	}
	if len(s.in.held) != 0 {
		t.Errorf("%d downloads still held after Close", len(s.in.held))
	}
}

// TestHeldDownloadsCapped: past maxHeld, the second files of each content
// are placed from the cache as before, rehashed (the first ones are the
// downloads' copies).
func TestHeldDownloadsCapped(t *testing.T) {
	withHolding(t, 1, 1)
	e := newEnv(t)
	p := e.pkg("p", "1.0.0", false, f("a.bin", "aaaa"), f("b.bin", "bbbb"), f("c.bin", "cccc"),
		f("a2.bin", "aaaa"), f("b2.bin", "bbbb"), f("c2.bin", "cccc"))
	reads := filesRead.Load()
	e.mustInstall(p)
	if n := filesRead.Load() - reads; n != 2 {
		t.Errorf("%d blob reads for 3 downloads with 1 held, want 2", n)
	}
	for _, n := range []string{"a", "b", "c"} {
		for _, name := range []string{n, n + "2"} {
			if got, ok := e.read("p/" + name + ".bin"); !ok || got != n+n+n+n {
				t.Errorf("%s.bin = %q", name, got)
			}
		}
	}
}

// TestHeldDownloadNotReopened: where a held download cannot be reopened,
// a second file of its content is placed from the cache blob and
// rehashed, as any other.
func TestHeldDownloadNotReopened(t *testing.T) {
	withHolding(t, 1, 16)
	old := reopen
	reopen = func(*os.File) (*os.File, error) { return nil, os.ErrPermission }
	t.Cleanup(func() { reopen = old })
	e := newEnv(t)
	p := e.pkg("p", "1.0.0", false, f("a.bin", "aaaa"), f("b.bin", "aaaa"))
	reads := filesRead.Load()
	e.mustInstall(p)
	if n := filesRead.Load() - reads; n != 1 {
		t.Errorf("%d blob reads, want 1: the cache blob, rehashed, for the second file", n)
	}
	for _, name := range []string{"a.bin", "b.bin"} {
		if got, ok := e.read("p/" + name); !ok || got != "aaaa" {
			t.Errorf("%s = %q", name, got)
		}
	}
}
