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
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// TempPattern is the os.CreateTemp pattern of the temporary file WriteFile
// uses for path: ".NAME.tmp-*" in path's directory. A crash can leave one
// behind; whoever owns path may remove stale ones.
func TempPattern(path string) string { return "." + filepath.Base(path) + ".tmp-*" }

// IsTemp reports whether name, a file name in path's directory, is one of
// the temporary files WriteFile and WriteFileUmask use for path
// (TempPattern).
func IsTemp(path, name string) bool {
	return strings.HasPrefix(name, strings.TrimSuffix(TempPattern(path), "*"))
}

// WriteFile replaces path with data. An existing file keeps its permission
// bits; a new one gets perm. The temporary file is private (0600) until it
// is given those bits. With durable set, the data and the rename are
// flushed to disk before WriteFile returns; without it a crash may lose the
// new content but never leaves a torn file. The temporary file is removed
// on failure.
func WriteFile(path string, data []byte, perm fs.FileMode, durable bool) error {
	if fi, err := os.Stat(path); err == nil {
		perm = fi.Mode().Perm()
	}
	return write(path, data, perm, true, durable)
}

// WriteFileUmask is WriteFile for a file gpm owns outright, such as the
// vendor directory's state: the file gets perm less the process's umask, as
// a file os.WriteFile creates does, whether or not path existed.
func WriteFileUmask(path string, data []byte, perm fs.FileMode, durable bool) error {
	return write(path, data, perm, false, durable)
}

// write replaces path with data. With chmod, the temporary file is created
// private and then given exactly perm; without, it is created with perm,
// which the umask reduces.
func write(path string, data []byte, perm fs.FileMode, chmod, durable bool) (err error) {
	dir := filepath.Dir(path)
	create := perm
	if chmod {
		create = 0o600
	}
	tmp, err := createTemp(dir, TempPattern(path), create)
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
	if chmod {
		if err := tmp.Chmod(perm); err != nil && !errors.Is(err, errors.ErrUnsupported) {
			return err
		}
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

// createTemp is os.CreateTemp(dir, pattern) creating the file with perm
// (less the umask) rather than always 0600.
func createTemp(dir, pattern string, perm fs.FileMode) (*os.File, error) {
	prefix, suffix, _ := strings.Cut(pattern, "*")
	for try := 0; ; try++ {
		p := filepath.Join(dir, prefix+strconv.FormatUint(uint64(rand.Uint32()), 10)+suffix)
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrExist) || try == 1000 {
			return nil, err
		}
	}
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
