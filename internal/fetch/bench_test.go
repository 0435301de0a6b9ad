package fetch

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gpmtool/gpm/internal/lock"
	"github.com/gpmtool/gpm/internal/registry"
)

// BenchmarkHashFile measures Verify's hashing of one 64 MiB file; compare
// with `sha256sum` on the same machine.
func BenchmarkHashFile(b *testing.B) {
	p := filepath.Join(b.TempDir(), "f")
	data := bytes.Repeat([]byte("0123456789abcdef"), (64<<20)/16)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := hashFile(p); err != nil {
			b.Fatal(err)
		}
	}
}

// benchEnv returns an env whose packages (n of them, each with one file of
// size bytes) are all in the cache.
func benchEnv(b *testing.B, n, size int) (*env, *lock.File) {
	e := &env{reg: newFakeReg()}
	root := b.TempDir()
	c, err := OpenCache(filepath.Join(root, "cache"))
	if err != nil {
		b.Fatal(err)
	}
	e.cache, e.dir = c, filepath.Join(root, "vendor")
	var pkgs []lock.Package
	for i := range n {
		data := bytes.Repeat([]byte{byte(i)}, size)
		data = append(data, fmt.Sprint(i)...)
		p := e.pkg(fmt.Sprintf("pkg%03d", i), "1.0.0", false, file{"file.bin", data})
		if err := c.put(p.Files[0].SHA256, p.Files[0].Size, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return e, lockOf(pkgs...)
}

// BenchmarkPlace measures placing 50 packages of 256 KiB each from the
// cache into an empty vendor directory.
func BenchmarkPlace(b *testing.B) {
	e, l := benchEnv(b, 50, 256<<10)
	o := Options{Cache: e.cache, Jobs: 8}
	b.SetBytes(50 * 256 << 10)
	i := 0
	for b.Loop() {
		i++
		o.Dir = filepath.Join(filepath.Dir(e.dir), fmt.Sprintf("vendor%d", i))
		rep, err := install(context.Background(), l, o)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Cached != 50 {
			b.Fatalf("cached %d", rep.Cached)
		}
	}
}

// BenchmarkNoopInstall100 measures an install of 100 packages that are all
// in place: lock, read the state, stat every file.
func BenchmarkNoopInstall100(b *testing.B) {
	e, l := benchEnv(b, 100, 1024)
	o := Options{Dir: e.dir, Cache: e.cache}
	if _, err := install(context.Background(), l, o); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		rep, err := install(context.Background(), l, o)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Changed() {
			b.Fatal("changed")
		}
	}
}

// TestNoopInstall100 pins what makes a warm install of 100 packages fast,
// by counting instead of timing: no source, no download, no file read or
// hashed, no state write. Its speed is measured by `make bench`:
// BenchmarkNoopInstall100 above, and the end-to-end target "warm no-op
// install of 100 packages: 0 HTTP requests, under 50 ms" (bench/report.go).
func TestNoopInstall100(t *testing.T) {
	e := newEnv(t)
	var pkgs []lock.Package
	for i := range 100 {
		pkgs = append(pkgs, e.pkg(fmt.Sprintf("pkg%03d", i), "1.0.0", false, f("file.bin", fmt.Sprint(i))))
	}
	e.mustInstall(pkgs...)
	state, err := os.Stat(statePath(e.dir))
	if err != nil {
		t.Fatal(err)
	}
	calls, sources, reads := e.reg.calls.Load(), e.reg.sources.Load(), filesRead.Load()
	for range 3 {
		rep := e.mustInstall(pkgs...)
		if rep.Changed() || rep.Downloaded != 0 || rep.Cached != 0 || len(rep.Packages) != 100 {
			t.Fatalf("no-op install: changed %v, downloaded %d, cached %d, %d packages", rep.Changed(), rep.Downloaded, rep.Cached, len(rep.Packages))
		}
	}
	if n := e.reg.calls.Load() - calls; n != 0 {
		t.Errorf("no-op installs made %d downloads", n)
	}
	if n := e.reg.sources.Load() - sources; n != 0 {
		t.Errorf("no-op installs asked for %d sources", n)
	}
	if n := filesRead.Load() - reads; n != 0 {
		t.Errorf("no-op installs read %d files", n)
	}
	if fi, err := os.Stat(statePath(e.dir)); err != nil || !fi.ModTime().Equal(state.ModTime()) || fi.Size() != state.Size() {
		t.Errorf("no-op installs rewrote the state")
	}
}

// BenchmarkPlaceLarge measures an install of one 64 MiB file from a warm
// cache into an empty vendor directory: the copy and, since the cache is
// not trusted, the rehash of the blob in the same pass.
func BenchmarkPlaceLarge(b *testing.B) {
	const size = 64 << 20
	e, l := benchEnv(b, 1, size)
	o := Options{Cache: e.cache, Jobs: 8}
	b.SetBytes(size)
	i := 0
	for b.Loop() {
		i++
		o.Dir = filepath.Join(filepath.Dir(e.dir), fmt.Sprintf("vendor%d", i))
		rep, err := install(context.Background(), l, o)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Cached != 1 {
			b.Fatalf("cached %d", rep.Cached)
		}
		b.StopTimer()
		removeTree(o.Dir)
		b.StartTimer()
	}
}

// BenchmarkDownloadLarge measures the download of one 64 MiB file into the
// cache as an install makes it: registry.Client reading it from an HTTP
// server on loopback straight into the pipe of the cache's temporary file,
// which hashes it and writes it and the copy for the vendor directory
// (tempFile.pipe), and the commit that gives it its name. The server runs
// in the same process and shares the CPUs, as the registry of the
// end-to-end benchmark does.
func BenchmarkDownloadLarge(b *testing.B) {
	const size = 64 << 20
	data := make([]byte, size)
	rand.NewChaCha8([32]byte{7}).Read(data)
	sha := sum(data)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(size))
		w.Write(data)
	}))
	defer srv.Close()
	cl, err := registry.New(srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	c, err := OpenCache(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	copies := b.TempDir()
	ref := registry.FileRef{Project: "1", Package: "big", Version: "1.0.0", File: "big.bin"}
	b.SetBytes(size)
	for b.Loop() {
		t, err := c.newTemp()
		if err != nil {
			b.Fatal(err)
		}
		copy, err := os.CreateTemp(copies, "copy-*")
		if err != nil {
			b.Fatal(err)
		}
		t.pipe(copy)
		dst := fillingProgress{&progress{t: t, emit: func(int64) {}}}
		if _, err := cl.Download(context.Background(), ref, registry.Expect{Size: size, SHA256: sha}, dst); err != nil {
			b.Fatal(err)
		}
		p, err := t.commit(ref, sha, size)
		if err != nil || t.copyErr() != nil {
			b.Fatal(err, t.copyErr())
		}
		b.StopTimer()
		copy.Close()
		os.Remove(copy.Name())
		os.Remove(p)
		b.StartTimer()
	}
}
