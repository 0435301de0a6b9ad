package fetch

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gpmtool/gpm/internal/lock"
	"github.com/gpmtool/gpm/internal/registry"
)

// session begins a session on e's vendor directory under its lock.
// stageAndPlace stages pkgs from s, places them and closes what was staged.
func (e *env) stageAndPlace(s *Session, pkgs ...lock.Package) {
	e.t.Helper()
	st, err := s.Stage(context.Background(), lockOf(pkgs...))
	if err != nil {
		e.t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Place(); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) session(opts Options) *Session {
	e.t.Helper()
	unlock, err := LockDir(e.dir)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(unlock)
	s, err := Begin(context.Background(), opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(s.Close)
	return s
}

// TestPrefetchThenStage: files prefetched while the lock was not known yet
// are downloaded once, counted for the package that needs them, and staged;
// the vendor directory changes only when Place runs.
func TestPrefetchThenStage(t *testing.T) {
	e := newEnv(t)
	e.reg.delay = time.Millisecond
	a := e.pkg("a", "1.0.0", false, f("a.bin", "aaaa"), f("shared.bin", "same"))
	b := e.pkg("b", "1.0.0", false, f("b.bin", "bbbb"), f("shared.bin", "same"))
	s := e.session(e.opts())
	var wg sync.WaitGroup
	for _, p := range []lock.Package{b, a} {
		wg.Go(func() { s.Prefetch(p) })
	}
	wg.Wait()
	if _, err := os.Stat(filepath.Join(e.dir, "a")); !os.IsNotExist(err) {
		t.Fatalf("a prefetch changed the vendor directory: %v", err)
	}
	st, err := s.Stage(context.Background(), lockOf(a, b))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rep, err := st.Place()
	if err != nil {
		t.Fatal(err)
	}
	if n := e.reg.calls.Load(); n != 3 {
		t.Errorf("%d downloads for 3 distinct files, want 3", n)
	}
	if rep.Downloaded != 3 || rep.Cached != 1 || rep.Bytes != 12 {
		t.Errorf("report: %d downloaded, %d cached, %d bytes; want 3, 1, 12", rep.Downloaded, rep.Cached, rep.Bytes)
	}
	for _, p := range rep.Packages {
		if p.Downloaded+p.Cached != 2 {
			t.Errorf("%s: %d downloaded + %d cached, want 2 files", p.Name, p.Downloaded, p.Cached)
		}
	}
	for _, rel := range []string{"a/a.bin", "a/shared.bin", "b/b.bin", "b/shared.bin"} {
		if _, ok := e.read(rel); !ok {
			t.Errorf("%s not installed", rel)
		}
	}
	st.Close()
	e.assertNoTemps()
}

// TestPrefetchNotLockedInTheEnd: a package prefetched and then left out of
// the lock is not installed, and its download is stopped or kept only as
// a verified cache blob.
func TestPrefetchNotLockedInTheEnd(t *testing.T) {
	e := newEnv(t)
	a := e.pkg("a", "1.0.0", false, f("a.bin", "aaaa"))
	big := make([]byte, 1<<20)
	dropped := e.pkg("dropped", "1.0.0", false, file{"d.bin", big})
	started := make(chan struct{})
	var once sync.Once
	e.reg.pauseHalfway = func(ctx context.Context, _ registry.FileRef) {
		once.Do(func() { close(started) })
		<-ctx.Done()
	}
	s := e.session(e.opts())
	s.Prefetch(dropped)
	<-started
	e.stageAndPlace(s, a)
	if _, err := os.Stat(filepath.Join(e.dir, "dropped")); !os.IsNotExist(err) {
		t.Errorf("the dropped package was installed: %v", err)
	}
	if e.cache.has(dropped.Files[0].SHA256, dropped.Files[0].Size) {
		t.Error("the stopped download got a name in the cache")
	}
	e.assertNoTemps()
}

// TestPrefetchFailureIsStageError: a prefetch that fails fails the Stage
// that needs the file, naming the package, and changes nothing.
func TestPrefetchFailureIsStageError(t *testing.T) {
	e := newEnv(t)
	a := e.pkg("a", "1.0.0", false, f("a.bin", "aaaa"))
	gone := a
	gone.Name, gone.Package = "gone", "gone" // not in the registry: 404
	s := e.session(e.opts())
	s.Prefetch(gone)
	s.Prefetch(a)
	_, err := s.Stage(context.Background(), lockOf(a, gone))
	var pe *PackageError
	if !errors.As(err, &pe) || pe.Name != "gone" {
		t.Fatalf("Stage: %v, want a PackageError for gone", err)
	}
	if l := tree(t, e.dir); len(l) != 0 {
		t.Errorf("vendor directory after the failure: %v", l)
	}
	e.assertNoTemps()
}

// TestPrefetchClosedWithoutStage: an install whose resolution fails closes
// the session: downloads stop, temporaries go, the vendor directory is as
// it was.
func TestPrefetchClosedWithoutStage(t *testing.T) {
	e := newEnv(t)
	e.reg.delay = time.Millisecond
	p := e.pkg("p", "1.0.0", false, file{"p.bin", make([]byte, 256<<10)})
	s := e.session(e.opts())
	s.Prefetch(p)
	s.Close()
	if l := tree(t, e.dir); len(l) != 0 {
		t.Errorf("vendor directory: %v", l)
	}
	e.assertNoTemps()
	if _, err := s.Stage(context.Background(), lockOf(p)); err == nil {
		t.Error("Stage after Close succeeded")
	}
}

// TestPrefetchSkipsWhatIsThere: packages in place, blobs in the cache and
// --offline download nothing.
func TestPrefetchSkipsWhatIsThere(t *testing.T) {
	e := newEnv(t)
	p := e.pkg("p", "1.0.0", false, f("p.bin", "pppp"))
	q := e.pkg("q", "1.0.0", false, f("q.bin", "qqqq"))
	e.mustInstall(p, q)
	os.RemoveAll(filepath.Join(e.dir, "q"))
	calls := e.reg.calls.Load()
	s := e.session(e.opts())
	s.Prefetch(p) // in place
	s.Prefetch(q) // in the cache
	off := e.opts()
	off.Offline = true
	s.Close()
	o, err := Begin(context.Background(), off) // still under the lock e.session took
	if err != nil {
		t.Fatal(err)
	}
	o.Prefetch(e.pkg("r", "1.0.0", false, f("r.bin", "rrrr")))
	o.Close()
	if n := e.reg.calls.Load() - calls; n != 0 {
		t.Errorf("%d downloads, want 0", n)
	}
}
