package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpmtool/gpm/internal/lock"
	"github.com/gpmtool/gpm/internal/registry"
)

func TestDefaultCacheDir(t *testing.T) {
	env := map[string]string{"GPM_CACHE": "rel/cache"}
	got, err := DefaultCacheDir(func(k string) string { return env[k] })
	if err != nil || !filepath.IsAbs(got) || !strings.HasSuffix(filepath.ToSlash(got), "rel/cache") {
		t.Errorf("with GPM_CACHE: %q, %v", got, err)
	}
	ucd, uerr := os.UserCacheDir()
	got, err = DefaultCacheDir(func(string) string { return "" })
	if uerr == nil && (err != nil || got != filepath.Join(ucd, "gpm")) {
		t.Errorf("default: %q, %v; want %q", got, err, filepath.Join(ucd, "gpm"))
	}
}

func TestCachePutAndOpen(t *testing.T) {
	c, err := OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("hello blob")
	sha := sum(data)
	if c.has(sha, int64(len(data))) {
		t.Fatal("empty cache has the blob")
	}
	if err := c.put(sha, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if !c.has(sha, int64(len(data))) || c.has(sha, 3) {
		t.Errorf("Has is wrong after Put")
	}
	if c.has("../../etc/passwd", 0) || c.blobPath("ABC") != "" {
		t.Errorf("invalid sha accepted")
	}
	f, err := c.open(sha)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	if fi.Mode().Perm()&0o222 != 0 {
		t.Errorf("blob is writable: %v", fi.Mode())
	}

	// A wrong hash or size never gets a name.
	for _, tc := range []struct {
		data []byte
		want error
	}{{[]byte("other blob"), ErrChecksumMismatch}, {[]byte("short"), ErrSizeMismatch}} {
		wantSHA := sum([]byte("expected!!"))
		err := c.put(wantSHA, 10, bytes.NewReader(tc.data))
		if !errors.Is(err, tc.want) {
			t.Errorf("Put(%q) = %v, want %v", tc.data, err, tc.want)
		}
		if c.has(wantSHA, 10) || c.has(sum(tc.data), int64(len(tc.data))) {
			t.Errorf("mismatching blob stored")
		}
	}
	if l := temps(t, c.blobs); len(l) > 0 {
		t.Errorf("temporaries left: %v", l)
	}
}

func TestCacheConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	data := bytes.Repeat([]byte("concurrent"), 100_000)
	sha := sum(data)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			// Each writer opens the cache on its own, as separate processes do.
			c, err := OpenCache(dir)
			if err != nil {
				errs[i] = err
				return
			}
			t, err := c.newTemp()
			if err != nil {
				errs[i] = err
				return
			}
			defer t.Close()
			for off := 0; off < len(data); off += 1000 {
				t.Write(data[off:min(off+1000, len(data))])
			}
			_, errs[i] = t.commit(registry.FileRef{File: sha}, sha, int64(len(data)))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	c, _ := OpenCache(dir)
	got, err := os.ReadFile(c.blobPath(sha))
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("blob content wrong: %v", err)
	}
	if l := temps(t, c.blobs); len(l) > 0 {
		t.Errorf("temporaries left: %v", l)
	}
}

func TestCacheRemovesStaleTemps(t *testing.T) {
	c, err := OpenCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(c.blobs, "tmp-old")
	young := filepath.Join(c.blobs, "tmp-young")
	os.WriteFile(old, nil, 0o644)
	os.WriteFile(young, nil, 0o644)
	past := time.Now().Add(-48 * time.Hour)
	os.Chtimes(old, past, past)
	tmp, err := c.newTemp()
	if err != nil {
		t.Fatal(err)
	}
	tmp.Close()
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("stale temporary kept")
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("a live download's temporary was removed")
	}
}

// Two gpm processes install the same lock into one project with one cache
// at the same time: the directory lock serializes them, the cache accepts
// both writers, and the result is complete and verified.

const helperEnv = "GPM_FETCH_TEST_HELPER"

// helperLock builds the same packages in every process.
func helperLock(reg *fakeReg) *lock.File {
	e := &env{reg: reg}
	var pkgs []lock.Package
	for i := range 6 {
		name := fmt.Sprintf("pkg%d", i)
		pkgs = append(pkgs, e.pkg(name, "1.0.0", false,
			file{"data.bin", bytes.Repeat([]byte{byte('a' + i)}, 40_000+i)},
			file{"shared.bin", bytes.Repeat([]byte("shared"), 10_000)}))
	}
	return lockOf(pkgs...)
}

func TestHelperProcess(t *testing.T) {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		t.Skip("helper for TestTwoProcesses")
	}
	dir, cacheDir, _ := strings.Cut(spec, "|")
	c, err := OpenCache(cacheDir)
	if err != nil {
		t.Fatal(err)
	}
	reg := newFakeReg()
	reg.delay = 20 * time.Microsecond
	l := helperLock(reg)
	_, err = install(context.Background(), l, Options{
		Dir: dir, Cache: c, Jobs: 3,
		Source: func(lock.Package) (Downloader, error) { return reg, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestTwoProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	root := t.TempDir()
	dir, cacheDir := filepath.Join(root, "vendor"), filepath.Join(root, "cache")
	var cmds []*exec.Cmd
	var outs []*bytes.Buffer
	for range 2 {
		cmd := exec.Command(exe, "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"="+dir+"|"+cacheDir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		outs = append(outs, &out)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("process %d: %v\n%s", i, err, outs[i])
		}
	}
	l := helperLock(newFakeReg())
	rep, err := verify(context.Background(), dir, l, 0)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if rep.Files != 12 {
		t.Errorf("verified %d files, want 12", rep.Files)
	}
	c, _ := OpenCache(cacheDir)
	for _, p := range l.Packages {
		for _, f := range p.Files {
			if !c.has(f.SHA256, f.Size) {
				t.Errorf("cache lacks %s/%s", p.Name, f.Name)
			}
		}
	}
	if l := temps(t, c.blobs); len(l) > 0 {
		t.Errorf("cache temporaries left: %v", l)
	}
	if l := temps(t, filepath.Join(dir, metaDir)); len(l) > 0 {
		t.Errorf("vendor temporaries left: %v", l)
	}
}

// TestTornBlobDownloadedAgain pins what lets the cache skip fsync (see
// tempFile.commit): a blob that a crash left torn under its name (empty,
// cut short, or of the right size with the wrong bytes, as a file system
// may show unwritten blocks) is never placed; the install downloads it
// again and places the locked file.
func TestTornBlobDownloadedAgain(t *testing.T) {
	good := bytes.Repeat([]byte("0123456789abcdef"), 64<<10)
	for _, tc := range []struct {
		name string
		torn []byte
		warn bool // a blob of the locked size is rehashed and discarded with a warning
	}{
		{"empty", nil, false},
		{"cut short", good[:len(good)/3], false},
		{"zeros", make([]byte, len(good)), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p := e.pkg("tool", "1.0.0", false, file{"tool.bin", good})
			e.mustInstall(p)
			os.RemoveAll(e.dir)
			poison(t, e.cache, p.Files[0].SHA256, tc.torn)
			calls := e.reg.calls.Load()
			e.mustInstall(p)
			if n := e.reg.calls.Load() - calls; n != 1 {
				t.Errorf("%d downloads, want 1", n)
			}
			if got, _ := e.read("tool/tool.bin"); got != string(good) {
				t.Errorf("tool.bin differs from the locked file")
			}
			if got, _ := os.ReadFile(e.cache.blobPath(p.Files[0].SHA256)); !bytes.Equal(got, good) {
				t.Errorf("cache blob not replaced")
			}
			if w := e.warned("does not match packages.lock"); w != tc.warn {
				t.Errorf("warned %v, want %v (%q)", w, tc.warn, e.warnings)
			}
		})
	}
}
