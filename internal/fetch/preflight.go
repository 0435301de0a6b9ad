package fetch

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gpmtool/gpm/internal/hint"
)

// checkPlaceable makes sure every swap of the changed packages can happen,
// before Stage returns (its caller then writes the lock and places). Placing
// a package renames DIR/NAME, which needs write permission on DIR and, to
// move a directory to another parent, on DIR/NAME itself. Without this, a
// vendor directory made read-only (chmod a-w vendor) would fail the first
// swap after the lock had already changed.
//
// It probes by creating and removing an empty directory, which the system
// permits exactly when it permits the rename: permission bits, ACLs and
// read-only mounts alike.
func (in *installer) checkPlaceable(changed []*work) error {
	if len(changed) == 0 {
		return nil
	}
	if err := probeWrite(in.dir); err != nil {
		w := changed[0]
		return &PackageError{Name: w.pkg.Name, Version: w.pkg.Version, Err: err}
	}
	for _, w := range changed {
		if !w.hadDir {
			continue
		}
		if err := probeWrite(filepath.Join(in.dir, w.pkg.Name)); err != nil {
			return &PackageError{Name: w.pkg.Name, Version: w.pkg.Version, Err: err}
		}
	}
	return nil
}

// probePrefix starts the names of probeWrite's directories. One that a
// crash left behind (an empty directory) is recognised by it: removed from
// the vendor directory by the next install (removeTemps), never carried
// into a package's new version (carryOver).
const probePrefix = ".gpm-probe-"

// isProbe reports whether the directory entry d at p is one that
// probeWrite left: an empty directory (not a symlink) with its prefix.
// Anything else is not gpm's.
func isProbe(p string, d fs.DirEntry) bool {
	if !d.IsDir() || !strings.HasPrefix(d.Name(), probePrefix) {
		return false
	}
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	_, err = f.ReadDir(1)
	return err == io.EOF
}

// probeWrite reports whether entries can be created and removed in dir.
func probeWrite(dir string) error {
	p, err := os.MkdirTemp(dir, probePrefix)
	if err == nil {
		err = os.Remove(p)
	}
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return hint.Wrap(fmt.Errorf("cannot place the package: %s is not writable: %w", dir, err),
		fmt.Sprintf("make %s writable (chmod u+w %s) and run gpm again; nothing was changed", dir, dir))
}
