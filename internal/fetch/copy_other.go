//go:build !linux

package fetch

import (
	"errors"
	"os"
)

// copyKernel reports that gpm has the kernel copy files only on Linux;
// elsewhere copyData copies through a buffer.
func copyKernel(dst, src *os.File, limit int64, pr *copyProgress) error {
	return errors.ErrUnsupported
}

// canReopen says reopen works here: it does not, so no download is held
// (see installer.hold).
var canReopen = false

var reopen = func(f *os.File) (*os.File, error) { return nil, errors.ErrUnsupported }
