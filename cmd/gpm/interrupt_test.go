package main

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpmtool/gpm/internal/server"
)

// TestInterruptTorture sends SIGINT to gpm install and gpm update at many
// moments spread over a whole run (start-up, listing, slow downloads,
// staging, the lock write, placing, exit) and checks after each one that
// nothing was lost or left half-done:
//
//   - no temporary file remains: vendor/.gpm/tmp-*, the cache's tmp-*, the
//     lock's .packages.lock.tmp-*;
//   - the lock is byte for byte the old one (or absent, for a first
//     install) or the new one;
//   - every package directory is entirely the old version or entirely the
//     new one, and all of them match the lock: an interruption before the
//     lock is written changes nothing, and once it is written placing
//     completes;
//   - gpm either finished (exit 0), said "interrupted" (exit 130), or died of
//     the signal before it could handle it; it stopped within 2 seconds;
//   - gpm verify passes on whatever was left, and running the command again
//     succeeds and verifies.
//
// Set GPM_TORTURE_SEED to replay a run; the seed is logged.
func TestInterruptTorture(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns about a hundred gpm processes")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("GPM_TORTURE_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("GPM_TORTURE_SEED: %v", err)
		}
		seed = n
	}
	t.Logf("seed %d (GPM_TORTURE_SEED=%d replays it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	srv := server.New(server.Options{})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	if err := srv.AddProject(server.Project{ID: 1, Path: "acme/tools", Visibility: server.Public}); err != nil {
		t.Fatal(err)
	}
	publish := func(name, version, file string, data []byte) {
		t.Helper()
		if _, err := srv.Publish(1, name, version, file, data, ""); err != nil {
			t.Fatal(err)
		}
	}
	// Version 1.0.0 of each package; a and b change in 1.1.0 (a loses a
	// file and gains one), c does not.
	publish("a", "1.0.0", "a.bin", randomBytes(rng, 48<<10))
	publish("a", "1.0.0", "old.txt", []byte("only in 1.0.0\n"))
	publish("b", "1.0.0", "b.tar.gz", makeTarGz(t,
		tarEntry{Name: "bin/tool", Data: randomBytes(rng, 40<<10)},
		tarEntry{Name: "share/doc/readme.txt", Data: []byte("b 1.0.0\n")},
		tarEntry{Name: "bin/tool-link", Link: "tool"}))
	publish("c", "1.0.0", "c.bin", randomBytes(rng, 16<<10))

	manifest := "[packages.a]\nproject = 1\nversion = \"^1\"\n\n" +
		"[packages.b]\nproject = 1\nversion = \"^1\"\nextract = true\n\n" +
		"[packages.c]\nproject = 1\nversion = \"^1\"\n"
	work := t.TempDir()
	newProject := func(name string) string {
		dir := filepath.Join(work, name)
		writeFiles(t, dir, map[string]string{"packages.toml": manifest})
		return dir
	}

	// References, without interruption: the old state, from a first
	// install of 1.0.0, with its cache kept for setting up each update.
	v1Cache := filepath.Join(work, "cache-v1")
	ref1 := newProject("ref1")
	mustGPM(t, ref1, hermeticEnv(t, hs.URL, v1Cache), "install")
	oldLock := readFile(t, filepath.Join(ref1, "packages.lock"))
	oldTree := packageTrees(t, ref1)

	publish("a", "1.1.0", "a.bin", randomBytes(rng, 48<<10))
	publish("a", "1.1.0", "new.txt", []byte("only in 1.1.0\n"))
	publish("b", "1.1.0", "b.tar.gz", makeTarGz(t,
		tarEntry{Name: "bin/tool", Data: randomBytes(rng, 40<<10)},
		tarEntry{Name: "share/doc/readme.txt", Data: []byte("b 1.1.0\n")},
		tarEntry{Name: "share/doc/changes.txt", Data: []byte("new\n")},
		tarEntry{Name: "bin/tool-link", Link: "tool"}))

	// A registry slow enough that every phase takes a while: each API
	// request waits, and downloads trickle at 1 KiB per millisecond.
	srv.SetLatency(3 * time.Millisecond)
	if err := srv.AddFault(server.Fault{Method: "GET", Path: "/packages/generic/", Kind: server.FaultSlow, Delay: time.Millisecond, Times: -1}); err != nil {
		t.Fatal(err)
	}

	// setup returns a project in the old state and its cache, which holds
	// 1.0.0 only: an update has to download everything that changed.
	setupUpdate := func(name string) (dir, cache string) {
		dir = newProject(name)
		cache = filepath.Join(work, name+"-cache")
		copyDir(t, v1Cache, cache)
		writeFiles(t, dir, map[string]string{"packages.lock": string(oldLock)})
		mustGPM(t, dir, hermeticEnv(t, hs.URL, cache), "install", "--frozen")
		return dir, cache
	}
	setupInstall := func(name string) (dir, cache string) {
		return newProject(name), filepath.Join(work, name+"-cache")
	}

	refDir, refCache := setupUpdate("ref2")
	start := time.Now()
	mustGPM(t, refDir, hermeticEnv(t, hs.URL, refCache), "update")
	updateTime := time.Since(start)
	newLock := readFile(t, filepath.Join(refDir, "packages.lock"))
	newTree := packageTrees(t, refDir)
	if bytes.Equal(oldLock, newLock) || sameTrees(oldTree, newTree) {
		t.Fatal("the update changed nothing; the test would prove nothing")
	}
	refDir, refCache = setupInstall("ref3")
	start = time.Now()
	mustGPM(t, refDir, hermeticEnv(t, hs.URL, refCache), "install")
	installTime := time.Since(start)
	if got := readFile(t, filepath.Join(refDir, "packages.lock")); !bytes.Equal(got, newLock) {
		t.Fatalf("a first install locked\n%s\nan update locked\n%s", got, newLock)
	}
	t.Logf("uninterrupted: update %v, install %v", updateTime, installTime)

	// Besides random moments, interrupt at the moments that matter, as
	// soon as the test sees them: a download in flight, a package staged,
	// the lock written (placing begins), the first package placed.
	events := []struct {
		name string
		seen func(dir, cache string) bool
	}{
		{"download in flight", func(dir, cache string) bool {
			m, _ := filepath.Glob(filepath.Join(cache, "blobs", "sha256", "tmp-*"))
			return len(m) > 0
		}},
		{"package staged", func(dir, cache string) bool {
			m, _ := filepath.Glob(filepath.Join(dir, "vendor", ".gpm", "tmp-[abc]-*"))
			return len(m) > 0
		}},
		{"lock written", func(dir, cache string) bool {
			data, err := os.ReadFile(filepath.Join(dir, "packages.lock"))
			return err == nil && bytes.Equal(data, newLock)
		}},
		{"first package placed", func(dir, cache string) bool {
			_, err := os.Lstat(filepath.Join(dir, "vendor", "a", "new.txt"))
			return err == nil
		}},
	}

	const runs = 12 // random moments per command
	for _, sc := range []struct {
		cmd      string
		setup    func(string) (string, string)
		duration time.Duration
		old      map[string]map[string]treeEntry // package trees before the command
		oldLock  []byte                          // nil: no lock before
	}{
		{"update", setupUpdate, updateTime, oldTree, oldLock},
		{"install", setupInstall, installTime, map[string]map[string]treeEntry{"a": nil, "b": nil, "c": nil}, nil},
	} {
		outcomes := map[string]int{}
		for i := range runs + len(events) {
			name := fmt.Sprintf("%s-%02d", sc.cmd, i)
			dir, cache := sc.setup(name)
			env := hermeticEnv(t, hs.URL, cache)
			var when func() bool
			var delay time.Duration
			var moment string
			if i < runs {
				// Spread the moments over the whole run and a little
				// past it: one random moment in each of runs slices.
				slice := sc.duration * 11 / 10 / runs
				delay = slice*time.Duration(i) + time.Duration(rng.Int64N(int64(slice)+1))
				moment = fmt.Sprintf("after %v", delay)
			} else {
				ev := events[i-runs]
				when = func() bool { return ev.seen(dir, cache) }
				delay = time.Duration(rng.Int64N(int64(time.Millisecond)))
				moment = fmt.Sprintf("%v after %s", delay, ev.name)
			}
			outcome := interruptAt(t, gpmCmd(dir, env, sc.cmd), when, delay)
			outcomes[outcome]++
			where := fmt.Sprintf("gpm %s interrupted %s (%s)", sc.cmd, moment, outcome)

			if tmp := tempFiles(t, dir, cache); len(tmp) > 0 {
				t.Errorf("%s: temporary files left: %s", where, strings.Join(tmp, ", "))
			}
			lockData, err := os.ReadFile(filepath.Join(dir, "packages.lock"))
			if errors.Is(err, os.ErrNotExist) {
				lockData = nil
			} else if err != nil {
				t.Fatal(err)
			}
			trees := packageTrees(t, dir)
			switch {
			case bytes.Equal(lockData, sc.oldLock):
				if !sameTrees(trees, sc.old) {
					t.Errorf("%s: the lock is the old one, but the vendor directory changed:\n%s", where, describeTrees(trees, sc.old, newTree))
				}
			case bytes.Equal(lockData, newLock):
				if !sameTrees(trees, newTree) {
					t.Errorf("%s: the lock is the new one, but the vendor directory is not:\n%s", where, describeTrees(trees, sc.old, newTree))
				}
			default:
				t.Errorf("%s: the lock is neither the old nor the new one:\n%s", where, lockData)
			}
			if lockData != nil {
				if p := runGPM(t, dir, env, "verify"); p.code != 0 {
					t.Errorf("%s: gpm verify right after: exit %d\n%s", where, p.code, p.stderr)
				}
			}
			// Running the command again finishes the job.
			if p := runGPM(t, dir, env, sc.cmd); p.code != 0 {
				t.Errorf("%s: running it again: exit %d\n%s", where, p.code, p.stderr)
			} else if p := runGPM(t, dir, env, "verify"); p.code != 0 {
				t.Errorf("%s: gpm verify after running it again: exit %d\n%s", where, p.code, p.stderr)
			}
			if got := readFile(t, filepath.Join(dir, "packages.lock")); !bytes.Equal(got, newLock) {
				t.Errorf("%s: after running it again, the lock is not the new one", where)
			}
			if !sameTrees(packageTrees(t, dir), newTree) {
				t.Errorf("%s: after running it again, the vendor directory is not the new version", where)
			}
			if tmp := tempFiles(t, dir, cache); len(tmp) > 0 {
				t.Errorf("%s: temporary files left after running it again: %s", where, strings.Join(tmp, ", "))
			}
			if t.Failed() {
				t.FailNow()
			}
		}
		t.Logf("gpm %s: %d runs: %v", sc.cmd, runs+len(events), outcomes)
		if outcomes["interrupted"] < 3 {
			t.Errorf("gpm %s: only %d of %d runs were interrupted midway (%v); the moments do not cover the run", sc.cmd, outcomes["interrupted"], runs+len(events), outcomes)
		}
	}
}

// interruptAt starts cmd, waits until when reports true (when it is not
// nil) and then for delay, sends SIGINT and waits for gpm to exit. It
// returns how gpm ended: "finished" (exit 0, the signal came too late or
// during placing), "interrupted" (exit 130 saying so) or "killed" (the signal
// arrived before gpm installed its handler). Anything else, or an exit more
// than 2 seconds after the signal, fails the test.
func interruptAt(t *testing.T, cmd *exec.Cmd, when func() bool, delay time.Duration) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ready := make(chan struct{})
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for when != nil && !when() {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Microsecond):
			}
		}
		time.Sleep(delay)
		close(ready)
	}()
	var err error
	select {
	case err = <-done:
	case <-ready:
		cmd.Process.Signal(os.Interrupt)
		select {
		case err = <-done:
		case <-time.After(2 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("gpm did not stop within 2s of SIGINT\n%s", stderr.String())
		}
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "finished"
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGINT {
			return "killed"
		}
		if ee.ExitCode() == exitInterrupted && strings.Contains(stderr.String(), "gpm: error: interrupted\n") {
			return "interrupted"
		}
	}
	t.Fatalf("gpm ended with %v after SIGINT:\n%s", err, stderr.String())
	return ""
}

// packageTrees snapshots vendor/a, vendor/b and vendor/c of a project.
func packageTrees(t *testing.T, dir string) map[string]map[string]treeEntry {
	t.Helper()
	trees := map[string]map[string]treeEntry{}
	for _, name := range []string{"a", "b", "c"} {
		trees[name] = snapshotTree(t, filepath.Join(dir, "vendor", name))
	}
	return trees
}

func sameTrees(a, b map[string]map[string]treeEntry) bool {
	for name := range a {
		if !sameTree(a[name], b[name]) {
			return false
		}
	}
	return len(a) == len(b)
}

// describeTrees says, per package, whether its directory is old, new or
// neither.
func describeTrees(got, old, new map[string]map[string]treeEntry) string {
	var b strings.Builder
	for _, name := range []string{"a", "b", "c"} {
		state := "neither old nor new"
		switch {
		case sameTree(got[name], old[name]) && sameTree(got[name], new[name]):
			state = "unchanged by the update"
		case sameTree(got[name], old[name]):
			state = "old"
		case sameTree(got[name], new[name]):
			state = "new"
		}
		fmt.Fprintf(&b, "\tvendor/%s: %s\n", name, state)
	}
	return b.String()
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// copyDir copies the regular files and directories below from to to.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if fi.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}
