package fetch

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// placeCopy moves the copy of a large download into place with a rename,
// which would replace a file already there. On a file system that folds
// case, a package's "Tool", placed before, is there for its "tool"; the
// other placements refuse that (O_EXCL), and so must this one, not swap
// one file's verified bytes for the other's. The folding is made by hand.
func TestPlaceCopyDoesNotReplace(t *testing.T) {
	dir, meta := t.TempDir(), t.TempDir()
	s, err := newStager(context.Background(), dir, 0, 0, func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	if err := os.WriteFile(filepath.Join(dir, "tool"), []byte("Tool's bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.entries["Tool"] = kindFile
	cp := filepath.Join(meta, "copy-1")
	if err := os.WriteFile(cp, []byte("tool's"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = s.placeCopy("tool", cp, "", 6)
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("placeCopy over an existing file: %v, want it refused as existing", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "tool")); string(got) != "Tool's bytes" {
		t.Errorf("the file there now holds %q", got)
	}
}
