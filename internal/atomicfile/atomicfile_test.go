package atomicfile

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestWriteFile(t *testing.T) {
	for _, durable := range []bool{false, true} {
		dir := t.TempDir()
		p := filepath.Join(dir, "packages.lock")
		if err := WriteFile(p, []byte("one\n"), 0o644, durable); err != nil {
			t.Fatal(err)
		}
		if runtime.GOOS != "windows" {
			if err := os.Chmod(p, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := WriteFile(p, []byte("two\n"), 0o644, durable); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != "two\n" {
			t.Fatalf("content %q, %v", got, err)
		}
		fi, _ := os.Stat(p)
		if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want the file's own 0600 kept", fi.Mode().Perm())
		}
		if es, _ := os.ReadDir(dir); len(es) != 1 {
			t.Errorf("left %d entries, want only the file", len(es))
		}
	}
}

func TestWriteFileNewMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no unix modes")
	}
	p := filepath.Join(t.TempDir(), "packages.toml")
	if err := WriteFile(p, []byte("x"), 0o644, true); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644 (not CreateTemp's 0600)", fi.Mode().Perm())
	}
}

func TestWriteFileFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	// The target is a directory: the rename fails, the temp must go.
	p := filepath.Join(dir, "sub")
	if err := os.Mkdir(p, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("x"), 0o644, false); err == nil {
		t.Fatal("replacing a non-empty directory succeeded")
	}
	if m, _ := filepath.Glob(filepath.Join(dir, TempPattern(p))); len(m) != 0 {
		t.Errorf("temporaries left: %v", m)
	}
}

func TestIsTemp(t *testing.T) {
	p := filepath.Join("vendor", ".gpm", "state")
	for name, want := range map[string]bool{
		".state.tmp-123":         true,
		".state.tmp-":            true,
		"state":                  false,
		".state":                 false,
		".packages.lock.tmp-123": false,
		"tmp-state-123":          false,
		".statex.tmp-1":          false,
	} {
		if got := IsTemp(p, name); got != want {
			t.Errorf("IsTemp(%q, %q) = %v, want %v", p, name, got, want)
		}
	}
	// A failed write leaves nothing, so look at a temporary while it
	// exists: the name WriteFile uses is one IsTemp knows.
	dir := t.TempDir()
	f, err := createTemp(dir, TempPattern(filepath.Join(dir, "packages.lock")), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if !IsTemp(filepath.Join(dir, "packages.lock"), filepath.Base(f.Name())) {
		t.Errorf("IsTemp does not know the temporary %s", f.Name())
	}
}
