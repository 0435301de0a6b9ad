package fetch

import (
	"os"
	"path/filepath"
	"testing"
)

// TestProbeLeftovers: a crash between creating and removing the empty
// directory that probes a directory for write permission (.gpm-probe-*)
// leaves it behind. The next install removes those in the vendor
// directory, and one in a package directory is not carried into the
// package's new version as if it were the user's. A file, a symlink or a
// directory that is not empty is not a probe, whatever its name, and is
// kept.
func TestProbeLeftovers(t *testing.T) {
	e := newEnv(t)
	v1 := e.pkg("app", "1.0.0", false, f("a.txt", "1"))
	e.mustInstall(v1)
	mkdir := func(rel string) {
		t.Helper()
		if err := os.Mkdir(filepath.Join(e.dir, filepath.FromSlash(rel)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	mkdir(".gpm-probe-1")
	mkdir("app/.gpm-probe-2")
	e.write(".gpm-probe-mine/notes", "not a probe")
	e.write("app/.gpm-probe-mine/notes", "not a probe")
	e.write("app/.gpm-probe-file", "not a probe")
	mkdir("empty")
	if err := os.Symlink("empty", filepath.Join(e.dir, ".gpm-probe-link")); err != nil {
		t.Fatal(err)
	}
	want := []string{
		".gpm-probe-link -> empty",
		".gpm-probe-mine/", ".gpm-probe-mine/notes",
		"app/", "app/.gpm-probe-file", "app/.gpm-probe-mine/", "app/.gpm-probe-mine/notes", "app/a.txt",
		"empty/",
	}

	// An install that changes nothing removes the vendor directory's.
	e.mustInstall(v1)
	equal(t, "after a no-op install", tree(t, e.dir), []string{
		".gpm-probe-link -> empty",
		".gpm-probe-mine/", ".gpm-probe-mine/notes",
		"app/", "app/.gpm-probe-2/", "app/.gpm-probe-file", "app/.gpm-probe-mine/", "app/.gpm-probe-mine/notes", "app/a.txt",
		"empty/",
	})

	// The package's goes with its old version.
	e.mustInstall(e.pkg("app", "2.0.0", false, f("a.txt", "2")))
	equal(t, "after an update", tree(t, e.dir), want)
	if s, _ := e.read("app/a.txt"); s != "2" {
		t.Errorf("app/a.txt = %q", s)
	}
}
