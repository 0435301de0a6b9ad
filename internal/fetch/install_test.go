package fetch

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/lock"
	"github.com/gpmtool/gpm/internal/registry"
)

func TestInstallFirstThenNoop(t *testing.T) {
	e := newEnv(t)
	a := e.pkg("cli-tool", "1.4.2", false, f("cli-tool-linux-amd64", "binary"), f("docs/README.md", "readme"))
	b := e.pkg("data", "2.0.0", false, f("data.json", `{"x":1}`))

	rep := e.mustInstall(a, b)
	if rep.Downloaded != 3 || rep.Cached != 0 || rep.Bytes != int64(len("binary")+len("readme")+len(`{"x":1}`)) {
		t.Errorf("first install: downloaded %d, cached %d, bytes %d", rep.Downloaded, rep.Cached, rep.Bytes)
	}
	for _, p := range rep.Packages {
		if p.Action != Installed {
			t.Errorf("%s: action %s, want installed", p.Name, p.Action)
		}
	}
	equal(t, "vendor tree", tree(t, e.dir), []string{
		"cli-tool/", "cli-tool/cli-tool-linux-amd64", "cli-tool/docs/", "cli-tool/docs/README.md",
		"data/", "data/data.json",
	})
	if s, _ := e.read("cli-tool/docs/README.md"); s != "readme" {
		t.Errorf("README.md = %q", s)
	}
	for _, f := range a.Files {
		if !e.cache.has(f.SHA256, f.Size) {
			t.Errorf("cache lacks %s", f.Name)
		}
	}
	if got := e.countEvents(PackagePlaced); got != 2 {
		t.Errorf("%d PackagePlaced events, want 2", got)
	}
	if got := e.countEvents(FileStart); got != 3 {
		t.Errorf("%d FileStart events, want 3", got)
	}
	e.assertNoTemps()
	stateInfo, err := os.Stat(statePath(e.dir))
	if err != nil {
		t.Fatal(err)
	}

	// Second install: everything in place; no source, no download, no file
	// read or hashed, no state write.
	calls, sources := e.reg.calls.Load(), e.reg.sources.Load()
	reads := filesRead.Load()
	rep = e.mustInstall(a, b)
	if n := e.reg.calls.Load() - calls; n != 0 {
		t.Errorf("no-op install made %d downloads", n)
	}
	if n := e.reg.sources.Load() - sources; n != 0 {
		t.Errorf("no-op install asked for %d sources", n)
	}
	if n := filesRead.Load() - reads; n != 0 {
		t.Errorf("no-op install read %d files", n)
	}
	if rep.Changed() {
		t.Errorf("no-op install changed: %+v", rep.Packages)
	}
	if fi, err := os.Stat(statePath(e.dir)); err != nil || !fi.ModTime().Equal(stateInfo.ModTime()) {
		t.Errorf("no-op install rewrote the state")
	}
}

func TestInstallFromCacheIntoNewVendor(t *testing.T) {
	e := newEnv(t)
	a := e.pkg("cli-tool", "1.4.2", false, f("tool", "binary"), f("tool.sig", "sig"))
	e.mustInstall(a)

	e2 := newEnv(t)
	e2.cache, e2.reg = e.cache, e.reg
	calls := e.reg.calls.Load()
	rep := e2.mustInstall(a)
	if n := e.reg.calls.Load() - calls; n != 0 {
		t.Errorf("%d downloads, want 0 (cache hit)", n)
	}
	if rep.Cached != 2 || rep.Downloaded != 0 {
		t.Errorf("cached %d downloaded %d, want 2 and 0", rep.Cached, rep.Downloaded)
	}
	if e2.reg.sources.Load() != 1 { // e's own first install only
		t.Errorf("Source called %d times in total, want 1", e2.reg.sources.Load())
	}
	if s, _ := e2.read("cli-tool/tool.sig"); s != "sig" {
		t.Errorf("tool.sig = %q", s)
	}
	// Vendor files are copies: editing one does not touch the cache.
	e2.write("cli-tool/tool", "edited")
	c, _ := e.cache.open(a.Files[0].SHA256)
	data := make([]byte, 16)
	n, _ := c.Read(data)
	c.Close()
	if string(data[:n]) != "binary" {
		t.Errorf("cache blob changed to %q after a vendor edit", data[:n])
	}
}

func TestInstallOffline(t *testing.T) {
	t.Run("from cache", func(t *testing.T) {
		e := newEnv(t)
		a := e.pkg("cli-tool", "1.4.2", false, f("tool", "binary"))
		e.mustInstall(a)
		e2 := newEnv(t)
		e2.cache, e2.reg = e.cache, e.reg
		o := e2.opts()
		o.Offline = true
		o.Source = nil
		if _, err := install(context.Background(), lockOf(a), o); err != nil {
			t.Fatalf("offline install from cache: %v", err)
		}
		if s, _ := e2.read("cli-tool/tool"); s != "binary" {
			t.Errorf("tool = %q", s)
		}
	})
	for _, withCache := range []bool{true, false} {
		name := "missing from cache"
		if !withCache {
			name = "no cache"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			a := e.pkg("cli-tool", "1.4.2", false, f("tool", "binary"), f("tool.sig", "sig"))
			o := e.opts()
			o.Offline = true
			if !withCache {
				o.Cache = nil
			}
			_, err := install(context.Background(), lockOf(a), o)
			if !errors.Is(err, ErrOffline) {
				t.Fatalf("err = %v, want ErrOffline", err)
			}
			var pe *PackageError
			if !errors.As(err, &pe) || pe.Name != "cli-tool" || pe.Version != "1.4.2" {
				t.Errorf("err = %#v, want a PackageError for cli-tool@1.4.2", err)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "cli-tool@1.4.2: ") || !strings.Contains(msg, `"tool`) {
				t.Errorf("message %q does not name the package and file", msg)
			}
			if h := hint.Of(err); len(h) == 0 || !strings.Contains(h[0], "2 files") {
				t.Errorf("hints = %q, want one counting 2 files", h)
			}
			if e.reg.calls.Load() != 0 || e.reg.sources.Load() != 0 {
				t.Errorf("offline install contacted the registry")
			}
			if _, err := os.Stat(filepath.Join(e.dir, "cli-tool")); !os.IsNotExist(err) {
				t.Errorf("package directory created offline")
			}
		})
	}
}

func TestChecksumMismatch(t *testing.T) {
	e := newEnv(t)
	a1 := e.pkg("app", "1.0.0", false, f("app", "app v1"))
	b := e.pkg("cli-tool", "1.4.2", false, f("tool", "good bytes"))
	e.mustInstall(a1)

	a2 := e.pkg("app", "2.0.0", false, f("app", "app v2"))
	e.reg.serve = func(ref registry.FileRef, data []byte) []byte {
		if ref.Package == "cli-tool" {
			return []byte("evil bytes") // same size, other content
		}
		return data
	}
	_, err := e.install(a2, b)
	if !errors.Is(err, ErrChecksumMismatch) || !errors.Is(err, ErrIntegrity) {
		t.Fatalf("err = %v, want ErrChecksumMismatch and ErrIntegrity", err)
	}
	var pe *PackageError
	if !errors.As(err, &pe) || pe.Name != "cli-tool" {
		t.Fatalf("err = %#v, want a PackageError for cli-tool", err)
	}
	var ie *registry.IntegrityError
	if !errors.As(err, &ie) || ie.Ref.File != "tool" {
		t.Errorf("errors.As IntegrityError: %v", ie)
	}
	msg := err.Error()
	for _, want := range []string{"cli-tool@1.4.2: ", `"tool"`, b.Files[0].SHA256, sum([]byte("evil bytes")), "checksum mismatch"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	hints := strings.Join(hint.Of(err), "\n")
	for _, want := range []string{"same version", "gpm update cli-tool"} {
		if !strings.Contains(hints, want) {
			t.Errorf("hints lack %q:\n%s", want, hints)
		}
	}
	// Nothing placed: not even the package that downloaded fine.
	if s, _ := e.read("app/app"); s != "app v1" {
		t.Errorf("app/app = %q, want the previous version", s)
	}
	if _, ok := e.read("cli-tool/tool"); ok {
		t.Errorf("cli-tool was placed")
	}
	if e.cache.has(sum([]byte("evil bytes")), 10) || e.cache.has(b.Files[0].SHA256, 10) {
		t.Errorf("mismatching bytes entered the cache")
	}
	e.assertNoTemps()
}

func TestSizeMismatch(t *testing.T) {
	e := newEnv(t)
	b := e.pkg("cli-tool", "1.4.2", false, f("tool", "good bytes"))
	e.reg.serve = func(ref registry.FileRef, data []byte) []byte { return []byte("longer evil bytes") }
	_, err := e.install(b)
	if !errors.Is(err, ErrSizeMismatch) || !errors.Is(err, ErrIntegrity) || errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("err = %v, want ErrSizeMismatch only", err)
	}
	if _, ok := e.read("cli-tool/tool"); ok {
		t.Errorf("cli-tool was placed")
	}
}

func TestInterruptedDownload(t *testing.T) {
	e := newEnv(t)
	big := strings.Repeat("x", 64<<10)
	a1 := e.pkg("app", "1.0.0", false, f("app", "app v1"))
	e.mustInstall(a1)

	a2 := e.pkg("app", "2.0.0", false, f("app", big))
	ctx, cancel := context.WithCancel(context.Background())
	e.reg.pauseHalfway = func(ctx context.Context, ref registry.FileRef) {
		cancel() // Ctrl-C while the file is half written
		<-ctx.Done()
	}
	_, err := install(ctx, lockOf(a2), e.opts())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if s, _ := e.read("app/app"); s != "app v1" {
		t.Errorf("app/app = %q, want the previous version", s)
	}
	if e.cache.has(a2.Files[0].SHA256, a2.Files[0].Size) {
		t.Errorf("interrupted download entered the cache")
	}
	e.assertNoTemps()

	// The next run completes.
	e.reg.pauseHalfway = nil
	e.mustInstall(a2)
	if s, _ := e.read("app/app"); s != big {
		t.Errorf("app/app not updated")
	}
}

func TestRetriedDownloadStartsOver(t *testing.T) {
	e := newEnv(t)
	data := strings.Repeat("0123456789", 5000)
	a := e.pkg("app", "1.0.0", false, f("app", data))
	e.reg.failOnce["app"] = true
	e.mustInstall(a)
	if s, _ := e.read("app/app"); s != data {
		t.Errorf("retried download placed %d bytes, want %d", len(s), len(data))
	}
}

func TestDownloadErrorNamesPackage(t *testing.T) {
	e := newEnv(t)
	a := e.pkg("app", "1.0.0", false, f("app", "x"))
	a.Files = append(a.Files, lock.FileEntry{Name: "gone", Size: 1, SHA256: sum([]byte("y"))})
	_, err := e.install(a)
	if !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if !strings.HasPrefix(err.Error(), `app@1.0.0: download "gone": `) {
		t.Errorf("message = %q", err)
	}
	if _, ok := e.read("app/app"); ok {
		t.Errorf("app placed despite a failed download")
	}
}

func TestUpdateKeepsUserFiles(t *testing.T) {
	e := newEnv(t)
	v1 := e.pkg("app", "1.0.0", false, f("bin/app", "app v1"), f("old.txt", "only in v1"), f("conf.ini", "defaults v1"))
	e.mustInstall(v1)
	e.write("app/notes.txt", "my notes")         // the user's own file
	e.write("app/bin/local.sh", "my script")     // inside a gpm directory
	e.write("app/config.local", "mine")          // where v2 places a file
	e.write("app/same.txt", "identical content") // where v2 places the same bytes
	e.write("app/conf.ini", "my edits")          // a gpm file the user edited

	v2 := e.pkg("app", "2.0.0", false, f("bin/app", "app v2"), f("config.local", "v2 config"),
		f("same.txt", "identical content"), f("conf.ini", "defaults v2"))
	ino := inode(t, filepath.Join(e.dir, "app", "notes.txt"))
	rep := e.mustInstall(v2)
	if p := rep.Packages[0]; p.Action != Updated || p.Previous != "1.0.0" {
		t.Errorf("report %+v, want updated from 1.0.0", p)
	}
	equal(t, "vendor tree", tree(t, e.dir), []string{
		"app/", "app/bin/", "app/bin/app", "app/bin/local.sh",
		"app/conf.ini", "app/conf.ini.gpm-user",
		"app/config.local", "app/config.local.gpm-user",
		"app/notes.txt", "app/same.txt",
	})
	for rel, want := range map[string]string{
		"app/bin/app": "app v2", "app/notes.txt": "my notes", "app/bin/local.sh": "my script",
		"app/config.local": "v2 config", "app/config.local.gpm-user": "mine",
		"app/conf.ini": "defaults v2", "app/conf.ini.gpm-user": "my edits",
	} {
		if got, _ := e.read(rel); got != want {
			t.Errorf("%s = %q, want %q", rel, got, want)
		}
	}
	if !os.SameFile(inode(t, filepath.Join(e.dir, "app", "notes.txt")), ino) {
		t.Errorf("user file was copied, not linked")
	}
	moved := rep.Packages[0].MovedAside
	if len(moved) != 2 || moved[0] != (MovedFile{"conf.ini", "conf.ini.gpm-user"}) || moved[1] != (MovedFile{"config.local", "config.local.gpm-user"}) {
		t.Errorf("MovedAside = %v", moved)
	}
	if len(e.warnings) != 2 {
		t.Errorf("warnings = %q, want two about moved files", e.warnings)
	}
	e.assertNoTemps()

	// The user files are not gpm's: a later update keeps them again, and
	// the state does not list them.
	st := readState(e.dir, t.Errorf)
	for _, p := range st.Packages["app"].Files {
		if strings.Contains(p.Path, "gpm-user") || p.Path == "notes.txt" {
			t.Errorf("state lists the user's %q", p.Path)
		}
	}
}

func TestUpdateVersionOnly(t *testing.T) {
	e := newEnv(t)
	v1 := e.pkg("app", "1.0.0", false, f("app", "same"))
	e.mustInstall(v1)
	v2 := e.pkg("app", "1.0.1", false, f("app", "same"))
	reads := filesRead.Load()
	rep := e.mustInstall(v2)
	if p := rep.Packages[0]; p.Action != Updated || p.Previous != "1.0.0" || p.Downloaded+p.Cached != 0 {
		t.Errorf("report %+v, want updated without files", p)
	}
	if n := filesRead.Load() - reads; n != 0 {
		t.Errorf("read %d files", n)
	}
	if v := readState(e.dir, t.Errorf).Packages["app"].Version; v != "1.0.1" {
		t.Errorf("state version %q", v)
	}
}

func TestRestoreModifiedPackage(t *testing.T) {
	e := newEnv(t)
	a := e.pkg("app", "1.0.0", false, f("app", "original"), f("lib.so", "library"))
	e.mustInstall(a)
	other := e.pkg("other", "1.0.0", false, f("o", "o"))
	if got := InPlace(e.dir, lockOf(a, other)); !got["app"] || got["other"] {
		t.Errorf("InPlace after install = %v", got)
	}
	os.Remove(filepath.Join(e.dir, "app", "lib.so"))
	if got := InPlace(e.dir, lockOf(a)); got["app"] {
		t.Errorf("InPlace with a file missing = %v", got)
	}
	calls := e.reg.calls.Load()
	rep := e.mustInstall(a)
	if rep.Packages[0].Action != Installed || rep.Packages[0].Cached != 2 {
		t.Errorf("report %+v, want installed from the cache", rep.Packages[0])
	}
	if e.reg.calls.Load() != calls {
		t.Errorf("restore downloaded")
	}
	if s, _ := e.read("app/lib.so"); s != "library" {
		t.Errorf("lib.so not restored")
	}
	equal(t, "tree", tree(t, e.dir), []string{"app/", "app/app", "app/lib.so"})
}

func TestCorruptStateKeepsEverything(t *testing.T) {
	e := newEnv(t)
	a := e.pkg("app", "1.0.0", false, f("app", "original"))
	e.mustInstall(a)
	e.write("app/mine", "user")
	os.WriteFile(statePath(e.dir), []byte("{not json"), 0o644)
	e.mustInstall(a)
	if len(e.warnings) != 1 || !strings.Contains(e.warnings[0], "corrupt") {
		t.Errorf("warnings = %q", e.warnings)
	}
	// Identical files are not duplicated; the user's file is kept.
	equal(t, "tree", tree(t, e.dir), []string{"app/", "app/app", "app/mine"})
}

func TestPrune(t *testing.T) {
	e := newEnv(t)
	a := e.pkg("app", "1.0.0", false, f("app", "app"))
	b := e.pkg("tool", "1.0.0", false, f("bin/tool", "tool"), f("share/doc/x.txt", "doc"), f("share/y.txt", "y"))
	e.mustInstall(a, b)
	e.write("own.txt", "the user's own file in vendor")
	e.write("tool/share/mine.txt", "the user's file in the package")
	e.write("tool/share/y.txt", "edited by the user")

	rep := e.mustInstall(a)
	if len(rep.Packages) != 2 || rep.Packages[1].Name != "tool" || rep.Packages[1].Action != Removed {
		t.Fatalf("report %+v, want tool removed", rep.Packages)
	}
	equal(t, "kept", rep.Packages[1].Kept, []string{"share/y.txt"})
	equal(t, "vendor tree", tree(t, e.dir), []string{
		"app/", "app/app", "own.txt",
		"tool/", "tool/share/", "tool/share/mine.txt", "tool/share/y.txt",
	})
	if _, ok := readState(e.dir, t.Errorf).Packages["tool"]; ok {
		t.Errorf("state still lists tool")
	}
	if e.countEvents(PackageRemoved) != 1 {
		t.Errorf("no PackageRemoved event")
	}

	// Removing everything leaves only what is not gpm's.
	os.Remove(filepath.Join(e.dir, "tool", "share", "y.txt"))
	e.mustInstall()
	equal(t, "vendor tree", tree(t, e.dir), []string{"own.txt", "tool/", "tool/share/", "tool/share/mine.txt"})
}

func TestPruneIgnoresUnsafeState(t *testing.T) {
	e := newEnv(t)
	outside := filepath.Join(filepath.Dir(e.dir), "precious")
	os.MkdirAll(filepath.Join(e.dir, metaDir), 0o755)
	if err := os.WriteFile(outside, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(statePath(e.dir), []byte(`{"state_version":1,"packages":{"app":{"version":"1","lock":[],"files":[{"path":"../precious","size":1,"mtime":0}]}}}`), 0o644)
	e.mustInstall()
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("a file outside the vendor directory was removed: %v", err)
	}
	if len(e.warnings) != 1 || !strings.Contains(e.warnings[0], "corrupt") {
		t.Errorf("warnings = %q", e.warnings)
	}
}

func TestConflictingVendorEntry(t *testing.T) {
	e := newEnv(t)
	a := e.pkg("app", "1.0.0", false, f("app", "x"))
	e.write("app", "a file where the package directory goes")
	_, err := e.install(a)
	if !errors.Is(err, errConflict) {
		t.Fatalf("err = %v, want errConflict", err)
	}
	if s, _ := e.read("app"); s != "a file where the package directory goes" {
		t.Errorf("the file was replaced")
	}
}

func TestConcurrentInstallsSerialize(t *testing.T) {
	e := newEnv(t)
	var pkgs []lock.Package
	for i := range 5 {
		pkgs = append(pkgs, e.pkg("p"+string(rune('a'+i)), "1.0.0", false, f("f", strings.Repeat(string(rune('a'+i)), 50_000))))
	}
	e.reg.delay = 50 * 1000 // 50µs per chunk
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() {
			o := e.opts()
			if i == 1 {
				c, err := OpenCache(filepath.Join(t.TempDir(), "other-cache"))
				if err != nil {
					errs[i] = err
					return
				}
				o.Cache = c
			}
			_, errs[i] = install(context.Background(), lockOf(pkgs...), o)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("install %d: %v", i, err)
		}
	}
	if len(tree(t, e.dir)) != 10 {
		t.Errorf("tree = %q", tree(t, e.dir))
	}
	rep, err := verify(context.Background(), e.dir, lockOf(pkgs...), 0)
	if err != nil {
		t.Errorf("verify after concurrent installs: %v", err)
	} else if rep.Files != 5 {
		t.Errorf("verified %d files", rep.Files)
	}
	e.assertNoTemps()
}

func TestGitignoreInMeta(t *testing.T) {
	e := newEnv(t)
	e.mustInstall(e.pkg("app", "1.0.0", false, f("app", "x")))
	if _, err := os.Stat(filepath.Join(e.dir, metaDir, ".gitignore")); err != nil {
		t.Errorf("no .gitignore in .gpm: %v", err)
	}
}

// TestStageChangesNothing pins the phase split the project engine relies
// on to write packages.lock between fetching and placing: after Stage every
// file is downloaded, but the vendor directory and its state are as they
// were, and a caller that then decides not to place (Close without Place)
// leaves them so, with no temporaries.
func TestStageChangesNothing(t *testing.T) {
	e := newEnv(t)
	v1 := e.pkg("app", "1.0.0", false, f("app", "v1"))
	gone := e.pkg("gone", "1.0.0", false, f("gone.txt", "bye"))
	e.mustInstall(v1, gone)
	before := tree(t, e.dir)
	state, err := os.ReadFile(statePath(e.dir))
	if err != nil {
		t.Fatal(err)
	}

	v2 := e.pkg("app", "2.0.0", false, f("app", "v2"), f("new.txt", "new"))
	unlock, err := LockDir(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	st, err := Stage(context.Background(), lockOf(v2), e.opts())
	if err != nil {
		t.Fatal(err)
	}
	for _, fl := range v2.Files {
		if !e.cache.has(fl.SHA256, fl.Size) {
			t.Errorf("%s not downloaded by Stage", fl.Name)
		}
	}
	check := func(when string) {
		t.Helper()
		equal(t, "vendor tree "+when, tree(t, e.dir), before)
		if got, _ := os.ReadFile(statePath(e.dir)); !bytes.Equal(got, state) {
			t.Errorf("state changed %s", when)
		}
		if got, _ := e.read("app/app"); got != "v1" {
			t.Errorf("app/app = %q %s, want v1", got, when)
		}
	}
	check("after Stage")
	st.Close()
	st.Close() // a second Close does nothing
	check("after Close")
	if _, err := st.Place(); err == nil {
		t.Errorf("Place after Close succeeded")
	}
	check("after Place on a closed install")
	e.assertNoTemps()

	st, err = Stage(context.Background(), lockOf(v2), e.opts())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rep, err := st.Place()
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Packages) != 2 || rep.Packages[0].Action != Updated || rep.Packages[1].Action != Removed {
		t.Errorf("report %+v", rep.Packages)
	}
	if got, _ := e.read("app/app"); got != "v2" {
		t.Errorf("app/app = %q after Place, want v2", got)
	}
	if _, err := st.Place(); err == nil {
		t.Errorf("a second Place succeeded")
	}
}

func TestUnwritableCache(t *testing.T) {
	e := newEnv(t)
	a := e.pkg("app", "1.0.0", false, f("app", "x"), f("app2", "y"))
	// The blob directory vanishes and a file takes its place: every write
	// fails.
	os.RemoveAll(e.cache.blobs)
	os.WriteFile(e.cache.blobs, nil, 0o444)
	rep := e.mustInstall(a)
	if rep.Downloaded != 2 {
		t.Errorf("downloaded %d", rep.Downloaded)
	}
	if s, _ := e.read("app/app2"); s != "y" {
		t.Errorf("app2 = %q", s)
	}
	if len(e.warnings) != 1 || !strings.Contains(e.warnings[0], "without caching") {
		t.Errorf("warnings = %q, want one", e.warnings)
	}
	if l := temps(t, filepath.Join(e.dir, metaDir)); len(l) > 0 {
		t.Errorf("temporaries left: %v", l)
	}
}

func TestLeftoverTempsRemoved(t *testing.T) {
	e := newEnv(t)
	a := e.pkg("app", "1.0.0", false, f("app", "x"))
	e.mustInstall(a)
	left := filepath.Join(e.dir, metaDir, "tmp-app-123")
	os.MkdirAll(filepath.Join(left, "sub"), 0o755)
	os.WriteFile(filepath.Join(left, "sub", "f"), nil, 0o644)
	// A state write killed before its rename (atomicfile's temporary).
	stateTmp := filepath.Join(e.dir, metaDir, ".state.tmp-456")
	os.WriteFile(stateTmp, []byte("{"), 0o644)
	e.mustInstall(a)
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Errorf("leftover staging directory not removed")
	}
	if _, err := os.Stat(stateTmp); !os.IsNotExist(err) {
		t.Errorf("leftover state temporary not removed")
	}
}

func TestUnsafeLockNames(t *testing.T) {
	for _, name := range []string{"../evil", "/abs", `a\b`, "a/../../b", "a//b", "./a", "a\x00b"} {
		e := newEnv(t)
		p := e.pkg("app", "1.0.0", false, f("ok", "x"))
		p.Files[0].Name = name
		if _, err := e.install(p); err == nil || !strings.Contains(err.Error(), "unsafe name") {
			t.Errorf("file %q: err = %v", name, err)
		}
	}
	for _, name := range []string{"..", ".gpm", "a/b", ""} {
		e := newEnv(t)
		p := e.pkg("app", "1.0.0", false, f("ok", "x"))
		p.Name = name
		if _, err := e.install(p); err == nil {
			t.Errorf("package %q: no error", name)
		}
	}
}

func TestSharedBlobDownloadedOnce(t *testing.T) {
	e := newEnv(t)
	a := e.pkg("a", "1.0.0", false, f("lib", "shared"))
	b := e.pkg("b", "1.0.0", false, f("lib", "shared"))
	rep := e.mustInstall(a, b)
	if rep.Downloaded != 1 || rep.Cached != 1 {
		t.Errorf("downloaded %d cached %d, want 1 and 1", rep.Downloaded, rep.Cached)
	}
	if s, _ := e.read("b/lib"); s != "shared" {
		t.Errorf("b/lib = %q", s)
	}
}

func inode(t *testing.T, p string) os.FileInfo {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

// Where the system cannot exchange two directories (Windows), swapDir
// renames the old package directory to DIR/.gpm/old-NAME and then the
// staged one into place. A gpm killed between the two renames leaves no
// package directory; the next install puts the old one back first, so the
// user's files in it survive, and then updates it as usual.
func TestTwoRenameSwapRecovers(t *testing.T) {
	exchangeDirs = func(a, b string) error { return errors.New("no exchange here") }
	t.Cleanup(func() { exchangeDirs = exchange })
	e := newEnv(t)
	v1 := e.pkg("app", "1.0.0", false, f("bin/app", "app v1"))
	e.mustInstall(v1)
	e.write("app/notes.txt", "my notes")
	v2 := e.pkg("app", "2.0.0", false, f("bin/app", "app v2"))
	e.mustInstall(v2)
	equal(t, "vendor tree after a two-rename update", tree(t, e.dir), []string{"app/", "app/bin/", "app/bin/app", "app/notes.txt"})
	e.assertNoTemps()

	// Killed between the renames of the next update: the package directory
	// is in DIR/.gpm/old-app and nowhere else.
	if err := os.Rename(filepath.Join(e.dir, "app"), filepath.Join(e.dir, ".gpm", "old-app")); err != nil {
		t.Fatal(err)
	}
	v3 := e.pkg("app", "3.0.0", false, f("bin/app", "app v3"))
	e.mustInstall(v3)
	for rel, want := range map[string]string{"app/bin/app": "app v3", "app/notes.txt": "my notes"} {
		if got, _ := e.read(rel); got != want {
			t.Errorf("%s = %q, want %q", rel, got, want)
		}
	}
	if _, err := os.Lstat(filepath.Join(e.dir, ".gpm", "old-app")); !os.IsNotExist(err) {
		t.Errorf("old-app left behind: %v", err)
	}

	// Killed after both renames: the swapped-out tree is removed.
	if err := os.MkdirAll(filepath.Join(e.dir, ".gpm", "old-app", "bin"), 0o777); err != nil {
		t.Fatal(err)
	}
	e.mustInstall(v3)
	if _, err := os.Lstat(filepath.Join(e.dir, ".gpm", "old-app")); !os.IsNotExist(err) {
		t.Errorf("old-app left behind next to app: %v", err)
	}
	if got, _ := e.read("app/notes.txt"); got != "my notes" {
		t.Errorf("notes.txt = %q", got)
	}
}
