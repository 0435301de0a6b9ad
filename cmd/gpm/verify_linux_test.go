//go:build linux

package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpmtool/gpm/internal/fetch"
	"github.com/gpmtool/gpm/internal/server"
)

// TestVerifyWaitsForInstall: gpm verify takes the vendor lock shared and
// reads packages.lock under it, so an install holding the lock is waited
// for, and verify then checks the lock and the vendor directory that
// install left, not a lock from before it. The test holds the vendor lock
// itself, waits until verify blocks on it (Linux lists the waiter in
// /proc/locks), and meanwhile replaces the lock and the package as an
// update would.
func TestVerifyWaitsForInstall(t *testing.T) {
	srv := server.New(server.Options{})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	if err := srv.AddProject(server.Project{ID: 1, Path: "acme/tools", Visibility: server.Public}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.0.0", "1.1.0"} {
		if _, err := srv.Publish(1, "a", v, "a.txt", []byte("a "+v+"\n"), ""); err != nil {
			t.Fatal(err)
		}
	}
	env := hermeticEnv(t, hs.URL, t.TempDir())
	project := func(constraint string) string {
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{"packages.toml": "[packages.a]\nproject = 1\nversion = \"" + constraint + "\"\n"})
		mustGPM(t, dir, env, "install")
		return dir
	}
	dir, updated := project("~1.0.0"), project("^1.1")
	vendor := filepath.Join(dir, "vendor")

	unlock, err := fetch.LockDir(vendor)
	if err != nil {
		t.Fatal(err)
	}
	unlock = sync.OnceFunc(unlock)
	defer unlock()
	update := func(pid int, done <-chan struct{}) {
		defer unlock()
		if !waitBlockedOnLock(pid, done) {
			t.Error("verify did not wait for the vendor lock")
			return
		}
		for _, rel := range []string{"packages.lock", "vendor/a", "vendor/.gpm/state"} {
			if err := os.RemoveAll(filepath.Join(dir, rel)); err != nil {
				t.Error(err)
			}
			if err := os.Rename(filepath.Join(updated, rel), filepath.Join(dir, rel)); err != nil {
				t.Error(err)
			}
		}
	}
	p := runCmd(t, gpmCmd(dir, env, "verify"), update)
	if p.code != 0 || !strings.Contains(p.stderr, "verified 1 file of 1 package") {
		t.Errorf("verify after the update it waited for: exit %d, want 0\n%s%s", p.code, p.stdout, p.stderr)
	}
}

// waitBlockedOnLock polls /proc/locks until process pid waits for a file
// lock, and reports whether it did before done was closed.
func waitBlockedOnLock(pid int, done <-chan struct{}) bool {
	for {
		if data, err := os.ReadFile("/proc/locks"); err == nil {
			for _, line := range strings.Split(string(data), "\n") {
				// "2: -> FLOCK  ADVISORY  READ 1234 fe:00:42 0 EOF"
				f := strings.Fields(line)
				if len(f) > 5 && f[1] == "->" && f[5] == fmt.Sprint(pid) {
					return true
				}
			}
		}
		select {
		case <-done:
			return false
		case <-time.After(2 * time.Millisecond):
		}
	}
}
