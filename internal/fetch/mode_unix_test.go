//go:build unix

package fetch

import (
	"archive/tar"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestDirModesFollowUmask: package directories and the directories in them
// get the mode a plain mkdir gives under the umask, so other users (a job
// step that is not root, a web server, an image built from vendor/) can
// read what root installed; an archive's directory modes are limited by
// the umask too, and the state file is not private either; placed files
// get 0644 or, for programs, 0755, less the umask. A directory of the
// user's carried into a new version keeps its mode. It sets the process
// umask, so it must not run in parallel with other tests.
func TestDirModesFollowUmask(t *testing.T) {
	tests := []struct {
		umask int
		// pkg: package and implicit directories; archive: a directory
		// entry of mode 0775 in an archive.
		pkg, archive fs.FileMode
	}{
		{0o022, 0o755, 0o755},
		{0o027, 0o750, 0o750},
		{0o002, 0o775, 0o755}, // an archive never makes a directory group-writable
		{0o077, 0o700, 0o700},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("umask %03o", tt.umask), func(t *testing.T) {
			old := syscall.Umask(tt.umask)
			defer syscall.Umask(old)

			e := newEnv(t)
			plain := e.pkg("plain", "1.0.0", false, f("a.txt", "a"), f("sub/deeper/b.txt", "b"), f("bin/tool", "#!/bin/sh\n"))
			arch := e.pkg("arch", "1.0.0", true, file{"x.tar", makeTar(t, false,
				ent{name: "share/", typ: tar.TypeDir, mode: 0o775},
				file0("share/doc.txt", "doc", 0o644),
				file0("lib/x/y.so", "so", 0o644), // lib and lib/x are implicit
			)})
			e.mustInstall(plain, arch)
			for rel, want := range map[string]fs.FileMode{
				"plain":            tt.pkg,
				"plain/sub":        tt.pkg,
				"plain/sub/deeper": tt.pkg,
				"arch":             tt.pkg,
				"arch/lib":         tt.pkg,
				"arch/lib/x":       tt.pkg,
				"arch/share":       tt.archive,
				// Placed files: a script is executable, as far as the
				// umask lets it be.
				"plain/a.txt":    0o644 &^ fs.FileMode(tt.umask),
				"plain/bin/tool": 0o755 &^ fs.FileMode(tt.umask),
			} {
				checkMode(t, filepath.Join(e.dir, rel), want)
			}
			// The state too, which gpm verify run by another user reads.
			checkMode(t, statePath(e.dir), 0o666&^fs.FileMode(tt.umask))

			// A new version swaps in a new directory: the same modes, and a
			// private directory of the user's stays private.
			if err := os.Mkdir(filepath.Join(e.dir, "plain", "private"), 0o700); err != nil {
				t.Fatal(err)
			}
			e.write("plain/private/key", "secret")
			e.mustInstall(e.pkg("plain", "2.0.0", false, f("a.txt", "a2"), f("sub/deeper/b.txt", "b2")), arch)
			checkMode(t, filepath.Join(e.dir, "plain"), tt.pkg)
			checkMode(t, filepath.Join(e.dir, "plain", "sub"), tt.pkg)
			checkMode(t, filepath.Join(e.dir, "plain", "private"), 0o700)
			if s, _ := e.read("plain/private/key"); s != "secret" {
				t.Errorf("the user's file was not carried over: %q", s)
			}
		})
	}
}

func checkMode(t *testing.T, p string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Error(err)
		return
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %v, want %v", p, got, want)
	}
}
