package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Helpers for the Go tests that run gpm as a separate process, as a user or
// a CI job does: the interrupt torture test, file-system faults, hostile
// registries and token safety. "gpm" on PATH is this test binary, installed
// there by testscript.Main (see TestMain), so no separate build is needed.

// gpmProc is one finished gpm process.
type gpmProc struct {
	stdout, stderr string
	code           int // exit code; -1 when killed by a signal
}

// hermeticEnv is the environment of a gpm process in these tests: the
// machine's PATH and nothing else of its environment (no tokens, no CI
// variables), the registry at reg, the cache at cache and a fast retry
// backoff, plus extra "KEY=value" entries.
func hermeticEnv(t *testing.T, reg, cache string, extra ...string) []string {
	t.Helper()
	home := t.TempDir()
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"GPM_CACHE=" + cache,
		"CI_SERVER_URL=" + reg,
		"GPM_RETRY_BASE=1ms",
		"NO_COLOR=1",
		"TMPDIR=" + os.TempDir(),
		// Under -race a process sleeps 1s before it exits by default.
		"GORACE=atexit_sleep_ms=0",
	}
	return append(env, extra...)
}

// gpmCmd prepares gpm with args in dir.
func gpmCmd(dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command("gpm", args...)
	cmd.Dir = dir
	cmd.Env = env
	return cmd
}

// runGPM runs gpm with args in dir and returns what it printed and its exit
// code. Only a failure to start it fails the test.
func runGPM(t *testing.T, dir string, env []string, args ...string) gpmProc {
	t.Helper()
	return runCmd(t, gpmCmd(dir, env, args...))
}

// runCmd runs cmd like runGPM. Each watch function is started in its own
// goroutine with the process's id once it runs, and its done channel is
// closed when the process has exited; runCmd waits for the watchers.
func runCmd(t *testing.T, cmd *exec.Cmd, watch ...func(pid int, done <-chan struct{})) gpmProc {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Start()
	if err == nil {
		done := make(chan struct{})
		var wg sync.WaitGroup
		for _, w := range watch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w(cmd.Process.Pid, done)
			}()
		}
		err = cmd.Wait()
		close(done)
		wg.Wait()
	}
	p := gpmProc{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		p.code = ee.ExitCode()
	default:
		t.Fatalf("running %v: %v", cmd.Args, err)
	}
	return p
}

// mustGPM runs gpm and fails the test unless it exits 0.
func mustGPM(t *testing.T, dir string, env []string, args ...string) gpmProc {
	t.Helper()
	p := runGPM(t, dir, env, args...)
	if p.code != 0 {
		t.Fatalf("gpm %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), p.code, p.stdout, p.stderr)
	}
	return p
}

// writeFiles writes name -> content files below dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// randomBytes returns n bytes that do not compress, from a seeded source.
func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// tarEntry is one entry of makeTarGz: a file (Link empty), or a symlink.
type tarEntry struct {
	Name, Link string
	Data       []byte
}

// makeTarGz builds a .tar.gz from entries, directories implied.
func makeTarGz(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.Name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e.Data))}
		if e.Link != "" {
			h = &tar.Header{Name: e.Name, Mode: 0o777, Typeflag: tar.TypeSymlink, Linkname: e.Link}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.Link == "" {
			if _, err := tw.Write(e.Data); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// treeEntry is what snapshotTree records of one path.
type treeEntry struct {
	kind string // "file", "dir" or "symlink"
	data string // a file's content or a symlink's target
}

// snapshotTree records every path below dir (slash-separated, relative),
// or returns nil when dir does not exist.
func snapshotTree(t *testing.T, dir string) map[string]treeEntry {
	t.Helper()
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	snap := map[string]treeEntry{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		switch {
		case rel == ".":
		case d.IsDir():
			snap[rel] = treeEntry{kind: "dir"}
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			snap[rel] = treeEntry{kind: "symlink", data: target}
		default:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			snap[rel] = treeEntry{kind: "file", data: string(data)}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", dir, err)
	}
	return snap
}

func sameTree(a, b map[string]treeEntry) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// tempFiles lists the files and directories below the given roots whose
// names say they are temporaries of gpm: vendor/.gpm/tmp-*, the cache's
// tmp-* and the lock's .packages.lock.tmp-*.
func tempFiles(t *testing.T, roots ...string) []string {
	t.Helper()
	var found []string
	for _, root := range roots {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if strings.HasPrefix(d.Name(), "tmp-") || strings.Contains(d.Name(), ".tmp-") {
				found = append(found, p)
				if d.IsDir() {
					return fs.SkipDir
				}
			}
			return nil
		})
	}
	return found
}
