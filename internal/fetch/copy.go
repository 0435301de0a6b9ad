package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// Copying a blob out of the cache, and verifying the copy.
//
// A plain file is placed by copying its cache blob into the staging
// directory. Where the file system can, the kernel makes the copy (see
// copy_linux.go): a clone that shares the blob's blocks (FICLONE: Btrfs,
// XFS, ...) and writes no data, or an in-kernel copy (copy_file_range),
// which spares the two copies through gpm's memory. The cache is not
// trusted (see rehash.go), so the copy is then verified, and what is hashed
// is the copy itself, read back from the staging directory: a blob that
// changes while it is copied (or between a check and the copy) cannot slip
// through, since the bytes that were hashed are the ones that will be
// placed. Nothing but this install writes to its staging directory. A hard
// link would be no copy at all, but an edit of the vendored file would then
// change the cache.
//
// A clone shares blocks, not cached pages: its read-back comes from the
// disk, and cloning a blob that was just downloaded first writes the blob
// out. What a clone saves is the second copy's space and writes.
//
// The copy and the verification overlap: one goroutine copies, in chunks,
// while the calling one reads back and hashes what was copied so far, so
// that the two run on two cores. Where the kernel cannot copy (another file
// system, another operating system) the copying goroutine reads and writes
// through a buffer, and the copy is verified the same way.
//
// At most size+1 bytes of the blob are copied: one more than locked is
// enough to tell that it grew.

// copyChunk is the size of the reads and writes of a copy through gpm's
// memory, and of the reads that verify a copy. Larger buffers made writes
// much slower on the reference machine (kernel 6.18, ext4: 1 MiB writes
// cost 5 times the system time of 256 KiB ones).
const copyChunk = 256 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyChunk); return &b }}

// execHead is how many leading bytes looksExecutable needs.
const execHead = 4

// copyProgress tells the verifying goroutine how far the copy got, and the
// copying goroutine when to stop early.
type copyProgress struct {
	copied atomic.Int64
	wake   chan struct{}   // a send after each chunk, dropped when one is pending
	stop   atomic.Bool     // set by the verifier: copy no more
	done   <-chan struct{} // closed when the install was cancelled (nil: never)
}

// stopped reports whether the copy should end before its next chunk.
func (p *copyProgress) stopped() bool {
	select {
	case <-p.done:
		return true
	default:
		return p.stop.Load()
	}
}

func (p *copyProgress) add(n int64) {
	p.copied.Add(n)
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// errCopyStopped ends a copy that the verifier no longer waits for.
var errCopyStopped = errors.New("copy stopped")

// copyVerified copies the blob open as src into dst, a new, empty file
// open for reading and writing, and checks what dst then holds against the
// lock (see above). It returns dst's first bytes, to decide its mode from,
// or a *cacheBlobError naming file and path when dst does not hold exactly
// size bytes with SHA-256 sha. Both files must be at offset 0.
func copyVerified(ctx context.Context, dst, src *os.File, sha string, size int64, file, path string) ([]byte, error) {
	limit := size + 1
	pr := &copyProgress{wake: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() { done <- copyData(dst, src, limit, pr) }()

	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	h := sha256.New()
	var head []byte
	var off int64
	finished := false
	// stop ends the copy early and waits for it, so that nothing writes to
	// dst once copyVerified returns.
	stop := func(err error) ([]byte, error) {
		if !finished {
			pr.stop.Store(true)
			<-done
		}
		return nil, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return stop(err)
		}
		avail := pr.copied.Load()
		if off >= avail && !finished {
			select {
			case <-pr.wake:
			case err := <-done:
				finished = true
				if err != nil {
					return nil, err
				}
			case <-ctx.Done():
				return stop(ctx.Err())
			}
			continue
		}
		// Once the copy ended, read whatever dst holds, up to the limit:
		// a clone reports no progress, and dst is what will be placed.
		end := limit
		if !finished {
			end = avail
		}
		if off >= end {
			break
		}
		k, err := dst.ReadAt(buf[:min(int64(len(buf)), end-off)], off)
		h.Write(buf[:k])
		if len(head) < execHead {
			head = append(head, buf[:min(k, execHead-len(head))]...)
		}
		off += int64(k)
		if err == io.EOF && finished {
			break
		}
		if err == io.EOF && k == 0 {
			return stop(fmt.Errorf("copy of %s: %d bytes copied, %d readable", path, avail, off))
		}
		if err != nil && err != io.EOF {
			return stop(err)
		}
	}
	got := hex.EncodeToString(h.Sum(nil))
	if off != size || got != sha {
		return nil, &cacheBlobError{file: file, path: path, wantSHA: sha, wantSize: size, gotSHA: got, gotSize: off}
	}
	return head, nil
}

// copyData copies at most limit bytes of src into dst, from offset 0 of
// both, reporting progress to pr: by the kernel where it can (copyKernel),
// else through a buffer.
func copyData(dst, src *os.File, limit int64, pr *copyProgress) error {
	err := copyKernel(dst, src, limit, pr)
	if !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return copyUser(dst, src, limit, pr)
}

// copyUser copies at most limit bytes of src into dst through a buffer.
func copyUser(dst, src *os.File, limit int64, pr *copyProgress) error {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	r := io.LimitReader(src, limit)
	for {
		if pr.stopped() {
			return errCopyStopped
		}
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
			pr.add(int64(n))
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
