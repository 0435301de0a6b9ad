package fetch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rogpeppe/go-internal/lockedfile"
)

// LockDir takes the cross-process lock of the vendor directory dir, a file
// lock on DIR/.gpm/lock, creating DIR/.gpm when needed. It blocks while
// another gpm holds the lock. Call unlock to release it.
//
// The lock is not reentrant, not even within one process: a caller that
// holds it across resolve, install and the lock-file write passes
// Options.Locked to Install, which then does not take it again.
func LockDir(dir string) (unlock func(), err error) {
	meta := filepath.Join(dir, metaDir)
	if err := os.MkdirAll(meta, 0o777); err != nil {
		return nil, fmt.Errorf("lock vendor directory: %w", err)
	}
	// Keep gpm's bookkeeping out of version control even when the vendor
	// directory is committed: the state records local modification times.
	ignore := filepath.Join(meta, ".gitignore")
	if _, err := os.Lstat(ignore); errors.Is(err, fs.ErrNotExist) {
		os.WriteFile(ignore, []byte("# Created by gpm: this directory is local bookkeeping.\n*\n"), 0o666)
	}
	unlock, err = lockedfile.MutexAt(filepath.Join(meta, "lock")).Lock()
	if err != nil {
		return nil, fmt.Errorf("lock vendor directory: %w", err)
	}
	return unlock, nil
}

// removeTemps removes what an interrupted install left in DIR/.gpm: staging
// directories, swapped-out package trees, downloads and state temporaries,
// all named tmp-*. It must run under the directory lock.
func removeTemps(dir string) error {
	meta := filepath.Join(dir, metaDir)
	ents, err := os.ReadDir(meta)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "tmp-") {
			if err := removeTree(filepath.Join(meta, e.Name())); err != nil {
				return fmt.Errorf("remove leftover %s: %w", filepath.Join(meta, e.Name()), err)
			}
		}
	}
	return nil
}

// removeTree is os.RemoveAll that also removes directories an archive made
// read-only.
func removeTree(p string) error {
	err := os.RemoveAll(p)
	if err == nil {
		return nil
	}
	filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(path, 0o700)
		}
		return nil
	})
	return os.RemoveAll(p)
}
