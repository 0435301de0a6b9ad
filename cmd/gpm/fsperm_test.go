//go:build unix

package main

import (
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gpmtool/gpm/internal/server"
)

// Permission faults need a user that permission bits apply to. Tests run as
// root in CI, and root ignores them, so as root gpm runs as the user
// "nobody" (uid 65534) on files that user owns; as anyone else it runs as
// itself.

// permEnv is a place where an unprivileged gpm can work: base holds a copy
// of the gpm binary, a home, and whatever the test creates with mkdir.
type permEnv struct {
	t    *testing.T
	base string
	gpm  string
	cred *syscall.Credential // nil: run as the current user
	env  []string
}

func newPermEnv(t *testing.T, registry string) *permEnv {
	t.Helper()
	base, err := os.MkdirTemp("", "gpm-perm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		filepath.Walk(base, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
		os.RemoveAll(base)
	})
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	pe := &permEnv{t: t, base: base}
	if os.Geteuid() == 0 {
		pe.cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	// A copy of the gpm binary where the unprivileged user can run it.
	src, err := exec.LookPath("gpm")
	if err != nil {
		t.Fatal(err)
	}
	pe.gpm = filepath.Join(pe.mkdir("bin"), "gpm")
	copyExecutable(t, src, pe.gpm)
	home := pe.mkdir("home")
	pe.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"CI_SERVER_URL=" + registry,
		"GPM_RETRY_BASE=1ms",
		"NO_COLOR=1",
		"GORACE=atexit_sleep_ms=0",
	}
	return pe
}

// mkdir creates base/rel, owned by the user gpm runs as.
func (pe *permEnv) mkdir(rel string) string {
	pe.t.Helper()
	p := filepath.Join(pe.base, rel)
	if err := os.MkdirAll(p, 0o755); err != nil {
		pe.t.Fatal(err)
	}
	pe.own(p)
	return p
}

// own gives p and everything below it to the user gpm runs as.
func (pe *permEnv) own(p string) {
	pe.t.Helper()
	if pe.cred == nil {
		return
	}
	err := filepath.Walk(p, func(q string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(q, int(pe.cred.Uid), int(pe.cred.Gid))
	})
	if err != nil {
		pe.t.Fatal(err)
	}
}

// run runs gpm as the unprivileged user in dir, with extra environment.
func (pe *permEnv) run(dir string, extra []string, args ...string) gpmProc {
	pe.t.Helper()
	cmd := exec.Command(pe.gpm, args...)
	cmd.Dir = dir
	cmd.Env = append(append([]string(nil), pe.env...), extra...)
	if pe.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pe.cred}
	}
	return runCmd(pe.t, cmd)
}

func (pe *permEnv) must(dir string, extra []string, args ...string) gpmProc {
	pe.t.Helper()
	p := pe.run(dir, extra, args...)
	if p.code != 0 {
		pe.t.Fatalf("gpm %s: exit %d\n%s", strings.Join(args, " "), p.code, p.stderr)
	}
	return p
}

func copyExecutable(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestPermissionFaults: a vendor directory gpm may not write fails the
// install with exit 1 and a message naming it, before the lock is written;
// a cache gpm may not write is read from, and the install works without
// adding to it, with one warning.
func TestPermissionFaults(t *testing.T) {
	srv := server.New(server.Options{})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	if err := srv.AddProject(server.Project{ID: 1, Path: "acme/tools", Visibility: server.Public}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ name, version, file, data string }{
		{"a", "1.0.0", "a.txt", "a one\n"},
		{"b", "1.0.0", "b.txt", "b one\n"},
		{"a", "1.1.0", "a.txt", "a two\n"},
	} {
		if _, err := srv.Publish(1, p.name, p.version, p.file, []byte(p.data), ""); err != nil {
			t.Fatal(err)
		}
	}
	manifest := func(aVersion string) map[string]string {
		return map[string]string{"packages.toml": "[packages.a]\nproject = 1\nversion = \"" + aVersion + "\"\n\n[packages.b]\nproject = 1\n"}
	}

	t.Run("read-only vendor", func(t *testing.T) {
		pe := newPermEnv(t, hs.URL)
		dir := pe.mkdir("project")
		writeFiles(t, dir, manifest("~1.0.0"))
		pe.own(dir)
		cache := []string{"GPM_CACHE=" + pe.mkdir("cache")}
		pe.must(dir, cache, "install")
		oldLock := readFile(t, filepath.Join(dir, "packages.lock"))
		writeFiles(t, dir, manifest("^1.1"))

		vendor := filepath.Join(dir, "vendor")
		for _, ro := range []string{vendor, filepath.Join(vendor, "a")} {
			if err := os.Chmod(ro, 0o555); err != nil {
				t.Fatal(err)
			}
			p := pe.run(dir, cache, "install")
			rel, _ := filepath.Rel(dir, ro)
			if p.code != 1 || !strings.Contains(p.stderr, "gpm: error: a@1.1.0: cannot place the package: "+rel+" is not writable: permission denied\n") ||
				!strings.Contains(p.stderr, "gpm: hint: make "+rel+" writable") {
				t.Errorf("%s read-only: exit %d, want 1 naming a@1.1.0, the directory and the cause, and a hint:\n%s", ro, p.code, p.stderr)
			}
			if got := readFile(t, filepath.Join(dir, "packages.lock")); string(got) != string(oldLock) {
				t.Errorf("%s read-only: the lock was changed although nothing could be placed", ro)
			}
			if got := readFile(t, filepath.Join(vendor, "a", "a.txt")); string(got) != "a one\n" {
				t.Errorf("%s read-only: vendor/a/a.txt = %q", ro, got)
			}
			if tmp := tempFiles(t, dir, pe.base); len(tmp) > 0 {
				t.Errorf("%s read-only: temporary files left: %v", ro, tmp)
			}
			if err := os.Chmod(ro, 0o755); err != nil {
				t.Fatal(err)
			}
			// Put the old lock back for the next case (an install that
			// failed after writing the lock would otherwise hide it).
			if err := os.WriteFile(filepath.Join(dir, "packages.lock"), oldLock, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		pe.must(dir, cache, "install")
		pe.must(dir, cache, "verify")
		if got := readFile(t, filepath.Join(vendor, "a", "a.txt")); string(got) != "a two\n" {
			t.Errorf("after permissions were fixed: vendor/a/a.txt = %q", got)
		}
	})

	t.Run("other users read", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("installing as one user and reading as another needs root")
		}
		// What root installs under umask 022, other users can read and
		// verify: package directories are not 0700, the state is not 0600,
		// and verify, which takes the vendor lock shared, works in a vendor
		// directory it cannot write, with the lock file there or not.
		old := syscall.Umask(0o022)
		defer syscall.Umask(old)
		pe := newPermEnv(t, hs.URL)
		dir := filepath.Join(pe.base, "project") // root's
		writeFiles(t, dir, manifest("~1.0.0"))
		mustGPM(t, dir, hermeticEnv(t, hs.URL, filepath.Join(pe.base, "cache")), "install")
		lockFile := filepath.Join(dir, "vendor", ".gpm", "lock")
		for _, withLock := range []bool{true, false} {
			if !withLock {
				if err := os.Remove(lockFile); err != nil {
					t.Fatal(err)
				}
			}
			p := pe.must(dir, nil, "verify")
			if !strings.Contains(p.stderr, "verified 2 files of 2 packages") || strings.Contains(p.stderr, "warning") {
				t.Errorf("verify by another user (lock file there: %v):\n%s", withLock, p.stderr)
			}
		}
		if _, err := os.Lstat(lockFile); !os.IsNotExist(err) {
			t.Errorf("verify created %s in a directory it cannot write: %v", lockFile, err)
		}
	})

	t.Run("read-only cache", func(t *testing.T) {
		pe := newPermEnv(t, hs.URL)
		// A shared cache that holds a 1.0.0, filled by its owner, which
		// the unprivileged user can read but not write.
		cacheDir := filepath.Join(pe.base, "shared-cache")
		owner := pe.mkdir("owner")
		writeFiles(t, owner, map[string]string{"packages.toml": "[packages.a]\nproject = 1\nversion = \"~1.0.0\"\n"})
		mustGPM(t, owner, hermeticEnv(t, hs.URL, cacheDir), "install")
		if pe.cred == nil {
			filepath.Walk(cacheDir, func(p string, fi os.FileInfo, err error) error {
				if err == nil && fi.IsDir() {
					os.Chmod(p, 0o555)
				}
				return nil
			})
		}
		before := snapshotTree(t, cacheDir)

		dir := pe.mkdir("project")
		writeFiles(t, dir, manifest("~1.0.0"))
		pe.own(dir)
		p := pe.must(dir, []string{"GPM_CACHE=" + cacheDir}, "install")
		if n := strings.Count(p.stderr, "gpm: warning: cannot write to the cache"); n != 1 {
			t.Errorf("want one warning about the cache, got %d:\n%s", n, p.stderr)
		}
		if !strings.Contains(p.stderr, "1 from cache") {
			t.Errorf("a@1.0.0 was not taken from the read-only cache:\n%s", p.stderr)
		}
		if got := readFile(t, filepath.Join(dir, "vendor", "b", "b.txt")); string(got) != "b one\n" {
			t.Errorf("vendor/b/b.txt = %q", got)
		}
		pe.must(dir, nil, "verify")
		if !sameTree(before, snapshotTree(t, cacheDir)) {
			t.Error("the read-only cache was changed")
		}
		if tmp := tempFiles(t, dir, cacheDir); len(tmp) > 0 {
			t.Errorf("temporary files left: %v", tmp)
		}
	})
}
