// Package atomicfile replaces files whole or not at all, as go-internal's
// renameio does: a temporary file in the same directory is written, synced,
// closed and renamed over the target, so a reader (or a crash) sees either
// the old bytes or the new ones, never a mix. gpm writes packages.lock,
// packages.toml edits and the vendor directory's state through it.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// TempPattern is the os.CreateTemp pattern of the temporary file WriteFile
// uses for path: ".NAME.tmp-*" in path's directory. A crash can leave one
// behind; whoever owns path may remove stale ones.
func TempPattern(path string) string { return "." + filepath.Base(path) + ".tmp-*" }

// WriteFile replaces path with data. An existing file keeps its permission
// bits; a new one gets perm. With
// durable set, the data and the rename are flushed to disk before WriteFile
// returns; without it a crash may lose the new content but never leaves a
// torn file. The temporary file is removed on failure.
func WriteFile(path string, data []byte, perm fs.FileMode, durable bool) (err error) {
	if fi, err := os.Stat(path); err == nil {
		perm = fi.Mode().Perm()
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, TempPattern(path))
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("writing %s: %w", path, err)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Chmod(perm); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	if durable {
		if err := tmp.Sync(); err != nil {
			return err
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if durable {
		syncDir(dir)
	}
	return nil
}

// syncDir makes a rename in dir durable. It is best effort: the rename has
// already happened, and some systems cannot sync a directory.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}
