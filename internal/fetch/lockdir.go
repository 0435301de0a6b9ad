package fetch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/rogpeppe/go-internal/lockedfile"

	"github.com/gpmtool/gpm/internal/atomicfile"
)

// LockDir takes the cross-process lock of the vendor directory dir, a file
// lock on DIR/.gpm/lock, creating DIR/.gpm when needed. It blocks while
// another gpm holds the lock, exclusively or shared (RLockDir). Call unlock
// to release it.
//
// The lock is not reentrant, not even within one process. Stage and Place
// do not take it: their caller holds it from before it reads packages.lock
// until after Place, across resolving and writing the lock.
func LockDir(dir string) (unlock func(), err error) {
	if err := makeMeta(dir); err != nil {
		return nil, fmt.Errorf("lock vendor directory: %w", err)
	}
	unlock, err = lockedfile.MutexAt(lockPath(dir)).Lock()
	if err != nil {
		return nil, fmt.Errorf("lock vendor directory: %w", err)
	}
	return unlock, nil
}

// RLockDir takes the lock of the vendor directory dir shared, for readers
// such as Verify: readers do not wait for one another, and LockDir waits
// for them as they wait for it, so a reader never sees a package directory
// while an install swaps it. Call unlock to release it; a second call does
// nothing. Like LockDir, it is not reentrant.
//
// A reader must work where it cannot write, e.g. in a container whose
// vendor directory is read-only: an existing lock file is only opened for
// reading, and it is created (with DIR/.gpm) only in a vendor directory
// that exists. Where the lock file cannot be opened or created (no vendor
// directory, a read-only one, .gpm not a directory, no permission),
// RLockDir returns an unlock that does nothing and the reader goes on
// without the lock: an install creates the lock file before it changes
// anything, so where there is none no install had begun, and where this
// user cannot create it, this user cannot install either.
func RLockDir(dir string) (unlock func(), err error) {
	p := lockPath(dir)
	f, err := lockedfile.OpenFile(p, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		if fi, serr := os.Stat(dir); serr != nil || !fi.IsDir() {
			return func() {}, nil // no vendor directory: nothing is installed
		}
		if err = makeMeta(dir); err == nil {
			f, err = lockedfile.OpenFile(p, os.O_RDONLY|os.O_CREATE, 0o666)
		}
	}
	switch {
	case err == nil:
		return sync.OnceFunc(func() { f.Close() }), nil
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission),
		errors.Is(err, syscall.EROFS), errors.Is(err, syscall.ENOTDIR):
		return func() {}, nil
	}
	return nil, fmt.Errorf("lock vendor directory: %w", err)
}

func lockPath(dir string) string { return filepath.Join(dir, metaDir, "lock") }

// makeMeta creates DIR/.gpm, and DIR when needed.
func makeMeta(dir string) error {
	meta := filepath.Join(dir, metaDir)
	if err := os.MkdirAll(meta, 0o777); err != nil {
		return err
	}
	// Keep gpm's bookkeeping out of version control even when the vendor
	// directory is committed: the state records local modification times.
	ignore := filepath.Join(meta, ".gitignore")
	if _, err := os.Lstat(ignore); errors.Is(err, fs.ErrNotExist) {
		os.WriteFile(ignore, []byte("# Created by gpm: this directory is local bookkeeping.\n*\n"), 0o666)
	}
	return nil
}

// removeTemps removes what an interrupted install left in DIR/.gpm: staging
// directories, swapped-out package trees and downloads, all named tmp-*,
// after putting back a package directory that swapDir renamed away (old-*),
// and the state's temporaries (atomicfile.TempPattern: .state.tmp-*); and in
// DIR, the directories of probeWrite. It must run under the directory lock.
func removeTemps(dir string) error {
	if ents, err := os.ReadDir(dir); err == nil {
		for _, e := range ents {
			if p := filepath.Join(dir, e.Name()); isProbe(p, e) {
				os.Remove(p)
			}
		}
	}
	meta := filepath.Join(dir, metaDir)
	ents, err := os.ReadDir(meta)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if err := restoreOldTrees(dir, ents); err != nil {
		return err
	}
	state := statePath(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "tmp-") || atomicfile.IsTemp(state, e.Name()) {
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
