package project

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestFind(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "packages.toml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// A directory named like the manifest is not one.
	if err := os.Mkdir(filepath.Join(root, "a", "packages.toml"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := Find(deep, "packages.toml")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(deep, "..", "..", "packages.toml"); got != want {
		t.Errorf("Find = %q, want %q", got, want)
	}
	if got, err := Find(root, "packages.toml"); err != nil || got != filepath.Join(root, "packages.toml") {
		t.Errorf("Find(root) = %q, %v", got, err)
	}
	if _, err := Find(deep, "no-such-manifest.toml"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Find of a missing file: %v, want fs.ErrNotExist", err)
	}
}
