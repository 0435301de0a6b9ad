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
