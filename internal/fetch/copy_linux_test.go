package fetch

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func kernelChunkForTest() int { return kernelChunk }

// withKernelCopies replaces the kernel's clone and copy_file_range for one
// test, counting the calls.
func withKernelCopies(t *testing.T, clone func(out, in int) error, cfr func(in int, inOff *int64, out int, outOff *int64, n int, flags int) (int, error)) (clones, cfrs *int) {
	t.Helper()
	oldClone, oldCFR := ficlone, copyFileRange
	t.Cleanup(func() { ficlone, copyFileRange = oldClone, oldCFR })
	clones, cfrs = new(int), new(int)
	if clone == nil {
		clone = oldClone
	}
	if cfr == nil {
		cfr = oldCFR
	}
	ficlone = func(out, in int) error { *clones++; return clone(out, in) }
	copyFileRange = func(in int, inOff *int64, out int, outOff *int64, n int, flags int) (int, error) {
		*cfrs++
		return cfr(in, inOff, out, outOff, n, flags)
	}
	return clones, cfrs
}

// realClone is a working FICLONE for file systems that have none (ext4,
// tmpfs): it copies the whole file, as a clone shares it.
func realClone(out, in int) error {
	buf := make([]byte, 1<<20)
	for off := int64(0); ; {
		n, err := unix.Pread(in, buf, off)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if _, err := unix.Pwrite(out, buf[:n], off); err != nil {
			return err
		}
		off += int64(n)
	}
}

func blobData(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{9}).Read(b)
	return b
}

// TestCopyClonesWhenItCan: a blob of the locked size is cloned, with no
// other copy; a clone that fails leaves the copy to copy_file_range, even
// when it wrote something before failing.
func TestCopyClonesWhenItCan(t *testing.T) {
	data := blobData(2*kernelChunk + 5)
	clones, cfrs := withKernelCopies(t, realClone, nil)
	got, _, err := copyCase(t, data, data)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("clone: err %v, copy equal %v", err, bytes.Equal(got, data))
	}
	if *clones != 1 || *cfrs != 0 {
		t.Errorf("%d clones and %d copy_file_range calls, want 1 and 0", *clones, *cfrs)
	}

	// A blob that grew is not cloned whole: it is copied up to one byte
	// past the locked size.
	*clones, *cfrs = 0, 0
	_, _, err = copyCase(t, append(bytes.Clone(data), 'x'), data)
	var be *cacheBlobError
	if !errors.As(err, &be) || *clones != 0 {
		t.Errorf("grown blob: err %v, %d clones; want a mismatch and no clone", err, *clones)
	}

	// A clone that fails after writing (or that left bytes behind) must
	// not leave them in the copy.
	clones, cfrs = withKernelCopies(t, func(out, in int) error {
		unix.Pwrite(out, bytes.Repeat([]byte("junk"), kernelChunk), 0)
		return unix.EOPNOTSUPP
	}, nil)
	got, _, err = copyCase(t, data, data)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("after a failed clone: err %v, copy equal %v (%d bytes)", err, bytes.Equal(got, data), len(got))
	}
	if *clones != 1 || *cfrs == 0 {
		t.Errorf("%d clones and %d copy_file_range calls, want 1 and some", *clones, *cfrs)
	}
}

// TestCopyVerifiesTheCopy: what is verified is the copy that will be
// placed, not the blob it came from: a clone (or any kernel copy) that
// leaves other bytes in the copy than the locked ones, because the blob
// changed between a read of it and the copy or the file system got it
// wrong, fails the check although the blob itself matches the lock.
func TestCopyVerifiesTheCopy(t *testing.T) {
	data := blobData(kernelChunk + 3)
	evil := sameSize(data)
	withKernelCopies(t, func(out, in int) error {
		_, err := unix.Pwrite(out, evil, 0)
		return err
	}, nil)
	_, _, err := copyCase(t, data, data)
	var be *cacheBlobError
	if !errors.As(err, &be) || be.gotSHA != sum(evil) {
		t.Fatalf("err = %v, want a *cacheBlobError with the hash of the copy's bytes", err)
	}

	// copy_file_range, which copies from and to the files' offsets.
	withKernelCopies(t, func(out, in int) error { return unix.EOPNOTSUPP }, func(in int, _ *int64, out int, _ *int64, n int, _ int) (int, error) {
		off, err := unix.Seek(out, 0, io.SeekCurrent)
		if err != nil {
			return 0, err
		}
		k, err := unix.Write(out, evil[off:min(off+int64(n), int64(len(evil)))])
		unix.Seek(in, int64(k), io.SeekCurrent)
		return k, err
	})
	_, _, err = copyCase(t, data, data)
	if !errors.As(err, &be) || be.gotSHA != sum(evil) {
		t.Fatalf("copy_file_range: err = %v, want a *cacheBlobError with the hash of the copy's bytes", err)
	}
}

// TestCopyFallsBack: where the kernel cannot copy (another file system,
// an old kernel, a seccomp filter), the copy goes through a buffer and is
// verified the same way; a kernel copy that fails after it copied
// something is an error, as in Go's own os.File.ReadFrom.
func TestCopyFallsBack(t *testing.T) {
	data := blobData(3*copyChunk + 1)
	for _, errno := range []error{unix.EXDEV, unix.EOPNOTSUPP, unix.ENOSYS, unix.EINVAL, unix.EPERM, unix.EIO} {
		_, cfrs := withKernelCopies(t, func(out, in int) error { return unix.EOPNOTSUPP }, func(int, *int64, int, *int64, int, int) (int, error) { return 0, errno })
		got, head, err := copyCase(t, data, data)
		if err != nil || !bytes.Equal(got, data) || !bytes.Equal(head, data[:execHead]) {
			t.Errorf("%v: err %v, copy equal %v, head %q", errno, err, bytes.Equal(got, data), head)
		}
		if *cfrs != 1 {
			t.Errorf("%v: %d copy_file_range calls, want 1", errno, *cfrs)
		}
		// A mismatch is found on this path too.
		if _, _, err := copyCase(t, sameSize(data), data); !errors.As(err, new(*cacheBlobError)) {
			t.Errorf("%v: changed blob: err = %v, want a *cacheBlobError", errno, err)
		}
	}

	calls := 0
	withKernelCopies(t, func(out, in int) error { return unix.EOPNOTSUPP }, func(in int, inOff *int64, out int, outOff *int64, n int, flags int) (int, error) {
		calls++
		if calls > 1 {
			return 0, unix.EIO
		}
		return unix.CopyFileRange(in, inOff, out, outOff, n, flags)
	})
	_, _, err := copyCase(t, data, data)
	if !errors.Is(err, unix.EIO) {
		t.Errorf("failure midway: err = %v, want EIO", err)
	}
}

// Ctrl-C during the copy of a held download (a second file of a large
// download's content) stops the copy at the next chunk, as it stops a
// verified copy, instead of finishing a copy of any size first.
func TestPlaceHeldStopsWhenCancelled(t *testing.T) {
	const size = 16 << 20
	src := filepath.Join(t.TempDir(), "held")
	if err := os.WriteFile(src, bytes.Repeat([]byte("x"), size), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, calls := withKernelCopies(t, func(int, int) error { return unix.EOPNOTSUPP },
		func(in int, inOff *int64, out int, outOff *int64, n int, flags int) (int, error) {
			cancel()
			return unix.CopyFileRange(in, inOff, out, outOff, min(n, 1<<20), flags)
		})
	s, err := newStager(ctx, t.TempDir(), 0, 0, func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	err = s.placeHeld("big.bin", in, "", size)
	if !errors.Is(err, context.Canceled) || *calls > 1 {
		t.Errorf("placeHeld after Ctrl-C: %v after %d chunks, want it cancelled before the second", err, *calls)
	}
}
