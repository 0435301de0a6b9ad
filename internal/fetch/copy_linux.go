package fetch

import (
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// The kernel's copies, replaceable by tests.
var (
	ficlone       = unix.IoctlFileClone
	copyFileRange = unix.CopyFileRange
)

// kernelChunk is how much one copy_file_range call copies: small enough
// that the verifier can start hashing early, large enough that the calls
// cost nothing.
const kernelChunk = 4 << 20

// copyKernel has the kernel copy at most limit bytes of src into dst: a
// clone of the whole blob (FICLONE) when it has the expected size, limit-1,
// and the file system can share blocks (Btrfs, XFS with reflink, ...),
// else copy_file_range, which clones too where it can, copies on the
// server on NFS and SMB, and copies within the kernel elsewhere (ext4).
// Both keep the blob's bytes out of gpm's memory; the verifier reads the
// copy back. It returns errors.ErrUnsupported, with dst untouched, when
// neither works here: another file system, an old kernel, a seccomp
// filter.
func copyKernel(dst, src *os.File, limit int64, pr *copyProgress) error {
	in, out := int(src.Fd()), int(dst.Fd())
	if fi, err := src.Stat(); err == nil && fi.Size() == limit-1 {
		if err := ficlone(out, in); err == nil {
			return nil
		}
		// A clone that failed leaves dst empty, but be sure of it: the
		// copy below writes from offset 0 and would not overwrite more.
		// Only truncate a file that is not empty: on ext4, a truncate to
		// zero makes the close start writing the file to disk at once
		// (auto_da_alloc, for programs that rewrite a file in place), and
		// then the durable write of the install state waits for it.
		fi, err := dst.Stat()
		if err != nil {
			return err
		}
		if fi.Size() != 0 {
			if err := dst.Truncate(0); err != nil {
				return err
			}
		}
	}
	var copied int64
	for copied < limit {
		if pr.stopped() {
			return errCopyStopped
		}
		n, err := copyFileRange(in, nil, out, nil, int(min(kernelChunk, limit-copied)), 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			// These mean "not here" (the list of Go's own os.File.ReadFrom)
			// as long as nothing was copied; afterwards they are failures.
			if copied == 0 && (err == unix.ENOSYS || err == unix.EXDEV || err == unix.EINVAL ||
				err == unix.EIO || err == unix.EOPNOTSUPP || err == unix.EPERM) {
				return errors.ErrUnsupported
			}
			return err
		}
		if n == 0 {
			if copied == 0 {
				// Some file systems (procfs, some FUSE ones) answer 0 for
				// files that are not empty: read it instead. An empty
				// blob reads as empty there too.
				return errors.ErrUnsupported
			}
			return nil
		}
		copied += int64(n)
		pr.add(int64(n))
	}
	return nil
}

// canReopen says reopen works here: /proc is mounted (it may not be in a
// bare chroot or container).
var canReopen = func() bool {
	_, err := os.Stat("/proc/self/fd")
	return err == nil
}()

// reopen opens the file f is open on, read-only and at offset 0 of its
// own, through /proc/self/fd: the same file even when its name now names
// another one, or none.
var reopen = func(f *os.File) (*os.File, error) {
	return os.Open("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
}
