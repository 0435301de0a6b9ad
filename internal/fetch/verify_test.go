package fetch

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gpmtool/gpm/internal/hint"
)

func TestVerify(t *testing.T) {
	e := newEnv(t)
	plain := e.pkg("plain", "1.0.0", false, f("a.txt", "aaaa"), f("sub/b.txt", "bbbb"), f("c.txt", "cccc"))
	arch := e.pkg("arch", "2.0.0", true, file{"x.tar.gz", makeTar(t, true,
		file0("bin/tool", "tool", 0o755),
		file0("lib/x.so", "so", 0o644),
		ent{name: "bin/t", typ: tar.TypeSymlink, link: "tool"},
	)})
	gone := e.pkg("gone", "0.1.0", false, f("g", "g"))
	e.mustInstall(plain, arch, gone)

	rep, err := verify(context.Background(), e.dir, lockOf(plain, arch, gone), 2)
	if err != nil {
		t.Fatalf("clean vendor: %v", err)
	}
	if rep.Files != 6 || !rep.OK() {
		t.Errorf("clean vendor: %d files hashed, ok %v", rep.Files, rep.OK())
	}

	e.write("plain/a.txt", "AAAA") // same size, other content
	os.Remove(filepath.Join(e.dir, "plain", "sub", "b.txt"))
	e.write("plain/sub/extra", "dropped")  // not placed by gpm
	e.write("arch/lib/x.so", "patched so") // extracted file changed
	os.Remove(filepath.Join(e.dir, "arch", "bin", "t"))
	os.Symlink("/etc/passwd", filepath.Join(e.dir, "arch", "bin", "t"))
	never := e.pkg("never", "1.0.0", false, f("n", "n"))

	// "gone" is installed but no longer locked; "never" is locked but not installed.
	rep, err = verify(context.Background(), e.dir, lockOf(plain, arch, never), 0)
	var ve *verifyError
	if !errors.Is(err, ErrIntegrity) || !errors.As(err, &ve) || ve.Report != rep {
		t.Fatalf("err = %v, want a verifyError", err)
	}
	var got []string
	for _, p := range rep.Packages {
		got = append(got, p.Name+" "+string(p.Status))
		for _, f := range p.Files {
			got = append(got, "  "+f.Path+" "+string(f.Status))
		}
	}
	equal(t, "report", got, []string{
		"arch modified",
		"  bin/t modified",
		"  lib/x.so modified",
		"never not-installed",
		"plain modified",
		"  a.txt modified",
		"  sub/b.txt missing",
		"  sub/extra unexpected",
		"gone not-locked",
	})
	for _, p := range rep.Packages {
		for _, f := range p.Files {
			switch f.Path {
			case "a.txt":
				if f.Want != sum([]byte("aaaa")) || f.Got != sum([]byte("AAAA")) {
					t.Errorf("a.txt: want %s got %s", f.Want, f.Got)
				}
			case "bin/t":
				if f.Want != "tool" || f.Got != "/etc/passwd" {
					t.Errorf("bin/t: want %q got %q", f.Want, f.Got)
				}
			}
		}
	}
	msg := err.Error()
	for _, want := range []string{`arch@2.0.0: modified "bin/t"`, `plain@1.0.0: modified "a.txt", missing "sub/b.txt", unexpected "sub/extra"`, "never@1.0.0: not-installed", "gone@0.1.0: not-locked"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if len(hint.Of(err)) == 0 {
		t.Errorf("no hint")
	}

	// An install repairs what it can see changed (a.txt keeps size and
	// mtime here only if the test wrote it within the same tick: it did
	// not, WriteFile sets a new mtime).
	e.mustInstall(plain, arch, never)
	rep, err = verify(context.Background(), e.dir, lockOf(plain, arch, never), 0)
	if err == nil {
		t.Fatalf("verify after install: the user's extra file should still be unexpected")
	}
	got = nil
	for _, p := range rep.Packages {
		for _, f := range p.Files {
			got = append(got, p.Name+"/"+f.Path+" "+string(f.Status))
		}
	}
	// The changed files install set aside are not unexpected: gpm put them
	// there, and they are reported apart.
	var aside []string
	for _, p := range rep.Packages {
		for _, a := range p.SetAside {
			aside = append(aside, p.Name+"/"+a)
		}
	}
	equal(t, "after install", got, []string{"plain/sub/extra unexpected"})
	equal(t, "set aside", aside, []string{"arch/bin/t.gpm-user", "arch/lib/x.so.gpm-user", "plain/a.txt.gpm-user"})
	for _, p := range rep.Packages {
		if p.Name == "arch" && p.Status != PackageOK {
			t.Errorf("arch with set-aside files only: %+v, want ok", p)
		}
	}

	// Once the user's extra file is gone, verify passes with the set-aside
	// files still there.
	os.Remove(filepath.Join(e.dir, "plain", "sub", "extra"))
	if rep, err := verify(context.Background(), e.dir, lockOf(plain, arch, never), 0); err != nil || !rep.OK() {
		t.Errorf("verify with only set-aside files = %v, %+v", err, rep)
	}
}

func TestVerifyWithoutState(t *testing.T) {
	e := newEnv(t)
	plain := e.pkg("plain", "1.0.0", false, f("a.txt", "aaaa"))
	arch := e.pkg("arch", "1.0.0", true, file{"x.tar", makeTar(t, false, file0("f", "f", 0))})
	e.mustInstall(plain, arch)
	os.Remove(statePath(e.dir))
	rep, err := verify(context.Background(), e.dir, lockOf(plain, arch), 0)
	if !errors.Is(err, ErrIntegrity) {
		t.Fatalf("err = %v", err)
	}
	if rep.Packages[0].Status != PackageUnrecorded || rep.Packages[1].Status != PackageOK || rep.Packages[1].Checked != 1 {
		t.Errorf("packages = %+v", rep.Packages)
	}
}

func TestHashFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	data := []byte(strings.Repeat("0123456789abcdef", (3<<20)/16+7))
	os.WriteFile(p, data, 0o644)
	got, n, err := hashFile(p)
	if err != nil || got != sum(data) || n != int64(len(data)) {
		t.Errorf("hashFile = %s, %d, %v", got, n, err)
	}
}

// TestVerifyWhileInstalling: Verify shares the vendor lock that Install
// takes, so it never sees a package directory while an install swaps it.
// Installs alternate between two versions of a package with the same paths
// and other contents while verifies run; a verify may find the other
// version installed (outdated), but never a modified, missing or
// unexpected file.
func TestVerifyWhileInstalling(t *testing.T) {
	e := newEnv(t)
	var files1, files2 []file
	for i := range 16 {
		name := fmt.Sprintf("sub%d/f%02d.bin", i%4, i)
		files1 = append(files1, file{name, bytes.Repeat([]byte{'1'}, 32<<10)})
		files2 = append(files2, file{name, bytes.Repeat([]byte{'2'}, 32<<10)})
	}
	v1 := e.pkg("app", "1.0.0", false, files1...)
	v2 := e.pkg("app", "2.0.0", false, files2...)
	e.mustInstall(v1)

	const installs, maxVerifies = 20, 400
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range installs {
			p := v2
			if i%2 == 1 {
				p = v1
			}
			if _, err := install(context.Background(), lockOf(p), e.opts()); err != nil {
				t.Errorf("install %d: %v", i, err)
				return
			}
		}
	}()
	verifies := 0
	for running := true; running && verifies < maxVerifies; verifies++ {
		select {
		case <-done:
			running = false // one more verify, after the last install
		default:
		}
		rep, err := verify(context.Background(), e.dir, lockOf(v1), 0)
		if err != nil && !errors.Is(err, ErrIntegrity) {
			t.Fatalf("verify %d: %v", verifies, err)
		}
		for _, p := range rep.Packages {
			if (p.Status != PackageOK && p.Status != PackageOutdated) || len(p.Files) > 0 {
				t.Fatalf("verify %d during installs: %s %s %+v", verifies, p.Name, p.Status, p.Files)
			}
		}
	}
	<-done
	if rep, err := verify(context.Background(), e.dir, lockOf(v1), 0); err != nil || rep.Files != 16 {
		t.Errorf("after the installs: %v", err)
	}
}

// TestVerifyReadsWithoutWriting: RLockDir and Verify take no lock and create nothing
// where there is no vendor directory, and works where .gpm cannot hold a
// lock file.
func TestVerifyReadsWithoutWriting(t *testing.T) {
	e := newEnv(t)
	p := e.pkg("app", "1.0.0", false, f("a.txt", "a"))
	rep, err := verify(context.Background(), e.dir, lockOf(p), 0)
	if !errors.Is(err, ErrIntegrity) || rep.Packages[0].Status != PackageNotInstalled {
		t.Fatalf("no vendor directory: %v", err)
	}
	if _, err := os.Lstat(e.dir); !os.IsNotExist(err) {
		t.Errorf("verify created the vendor directory: %v", err)
	}

	e.mustInstall(p)
	// .gpm is a file: no lock, no state, and the files still verify.
	if err := os.RemoveAll(filepath.Join(e.dir, metaDir)); err != nil {
		t.Fatal(err)
	}
	e.write(metaDir, "not a directory")
	if _, err := verify(context.Background(), e.dir, lockOf(p), 0); err != nil {
		t.Errorf(".gpm is a file: %v", err)
	}
}

// TestVerifyPlanningFailsWhileHashing: files are hashed while planning goes
// on, so a lock entry that planning refuses after hundreds of queued checks
// (more than the queue holds) ends the verification with that entry's
// error, and a cancelled context ends it too; neither waits forever.
func TestVerifyPlanningFailsWhileHashing(t *testing.T) {
	e := newEnv(t)
	many := e.pkg("many", "1.0.0", false, numbered("f%03d", 400)...)
	e.mustInstall(many)
	bad := e.pkg("zbad", "1.0.0", false, f("z", "z"))
	bad.Files[0].SHA256 = "not-a-sha"

	rep, err := verify(context.Background(), e.dir, lockOf(many, bad), 1)
	var pe *PackageError
	if !errors.As(err, &pe) || pe.Name != "zbad" || rep != nil {
		t.Fatalf("rep %v, err %v; want zbad's PackageError and no report", rep, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := verify(ctx, e.dir, lockOf(many), 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err %v, want context.Canceled", err)
	}

	rep, err = verify(context.Background(), e.dir, lockOf(many), 3)
	if err != nil || rep.Files != 400 || rep.Packages[0].Checked != 400 {
		t.Fatalf("many: err %v, %d files hashed", err, rep.Files)
	}
}

// TestVerifyReadFailureStopsPlanning: when a file cannot be checked (here
// every one: its directory became a symlink to itself), the workers stop
// and planning, blocked on a full queue, stops with them.
func TestVerifyReadFailureStopsPlanning(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs a symlink loop")
	}
	e := newEnv(t)
	p := e.pkg("loop", "1.0.0", false, numbered("d/x%03d", 400)...)
	e.mustInstall(p)
	d := filepath.Join(e.dir, "loop", "d")
	if err := os.RemoveAll(d); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("d", d); err != nil {
		t.Fatal(err)
	}
	_, err := verify(context.Background(), e.dir, lockOf(p), 1)
	var pe *PackageError
	if !errors.As(err, &pe) || pe.Name != "loop" || errors.Is(err, ErrIntegrity) {
		t.Fatalf("err %v, want a PackageError for loop that is not an integrity error", err)
	}
}

// numbered returns n small files named by format and their index.
func numbered(format string, n int) []file {
	var files []file
	for i := range n {
		files = append(files, f(fmt.Sprintf(format, i), fmt.Sprint(i)))
	}
	return files
}
