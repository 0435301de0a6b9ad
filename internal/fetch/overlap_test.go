package fetch

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpmtool/gpm/internal/registry"
)

// TestStagingOverlapsDownloads pins that a package is staged as soon as its
// files are there, while other downloads are still running: the download
// of b waits, halfway, until a's file is staged.
func TestStagingOverlapsDownloads(t *testing.T) {
	e := newEnv(t)
	a := e.pkg("a", "1.0.0", false, f("a.bin", "a's content"))
	b := e.pkg("b", "1.0.0", false, file{"b.bin", bytes.Repeat([]byte("b"), 64<<10)})
	staged := false
	e.reg.pauseHalfway = func(ctx context.Context, ref registry.FileRef) {
		if ref.Package != "b" {
			return
		}
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(time.Millisecond) {
			if m, _ := filepath.Glob(filepath.Join(e.dir, metaDir, "tmp-a-*", "a.bin")); len(m) > 0 {
				staged = true
				return
			}
		}
	}
	e.mustInstall(a, b)
	if !staged {
		t.Errorf("a was not staged while b was downloading")
	}
	equal(t, "vendor tree", tree(t, e.dir), []string{"a/", "a/a.bin", "b/", "b/b.bin"})
	e.assertNoTemps()
}

// TestStagingFailureStopsDownloads: a package that cannot be staged (a
// corrupt archive) fails the install at once, cancelling the downloads
// still running, and the vendor directory is left as it was.
func TestStagingFailureStopsDownloads(t *testing.T) {
	e := newEnv(t)
	a := e.pkg("a", "1.0.0", true, f("a.tar.gz", "not a gzip stream"))
	b := e.pkg("b", "1.0.0", false, file{"b.bin", bytes.Repeat([]byte("b"), 64<<10)})
	cancelled := make(chan bool, 1)
	// a is served only once b is halfway, so that a's staging fails while
	// b's download is running, however fast a is downloaded and staged.
	bHalfway := make(chan struct{})
	e.reg.serve = func(ref registry.FileRef, data []byte) []byte {
		if ref.Package == "a" {
			select {
			case <-bHalfway:
			case <-time.After(10 * time.Second):
			}
		}
		return data
	}
	e.reg.pauseHalfway = func(ctx context.Context, ref registry.FileRef) {
		if ref.Package != "b" {
			return
		}
		close(bHalfway)
		select {
		case <-ctx.Done():
			cancelled <- true
		case <-time.After(10 * time.Second):
			cancelled <- false
		}
	}
	_, err := e.install(a, b)
	var pe *PackageError
	if !errors.As(err, &pe) || pe.Name != "a" || !strings.Contains(err.Error(), "a.tar.gz") {
		t.Fatalf("Install = %v, want an error about a's archive", err)
	}
	if !<-cancelled {
		t.Errorf("b's download was not cancelled")
	}
	equal(t, "vendor tree", tree(t, e.dir), nil)
	e.assertNoTemps()
}
