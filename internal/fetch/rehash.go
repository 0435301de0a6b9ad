package fetch

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"os"
)

// Rehashing cache blobs.
//
// A blob gets its name in the cache only after it was verified, but the
// cache is shared (several projects, a CI cache restored from object
// storage) and files in it can change afterwards, or be left torn by a
// crash (blobs are not flushed to disk, see tempFile.commit). So Stage
// trusts a blob's name only to find it: every blob is rehashed when it is
// copied or extracted into a staging directory, and a blob that does not
// match the lock fails its package's staging with a *cacheBlobError, which
// Stage answers by discarding the blob and downloading it again. Staging
// directories are never placed before every blob of the package checked
// out, so what reaches the vendor directory derives only from bytes that
// matched the lock in this run.
//
// Each blob is read once:
//
//   - a plain file is copied into the staging directory, by the kernel
//     where it can (a clone or copy_file_range), and the copy is read back
//     and hashed while the copy goes on (copy.go): what is verified is the
//     file that will be placed, whatever happens to the blob meanwhile;
//   - a .tar or .tar.gz is hashed while it streams into the extractor, and
//     whatever the extractor leaves unread (padding, trailing bytes after
//     the end of the archive) is read and hashed after it, so the hash
//     covers the whole blob;
//   - a .zip needs random access (its directory is at the end), so hashing
//     first and extracting second would read the blob twice, and a blob
//     rewritten in place between the two reads would be extracted
//     unverified. It is instead copied into a private temporary file as a
//     plain file is, and extracted from that copy once the copy matched.
//
// A blob that grew is read only to one byte past its locked size.

// blobReader reads a blob, hashing and counting every byte it returns, and
// stops one byte past the locked size.
type blobReader struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	sha  string
	size int64
}

func newBlobReader(f *os.File, sha string, size int64) *blobReader {
	return &blobReader{r: io.LimitReader(f, size+1), h: sha256.New(), sha: sha, size: size}
}

func (b *blobReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.h.Write(p[:n])
	b.n += int64(n)
	return n, err
}

// finish reads what is left of the blob and compares everything read with
// the lock. It returns a *cacheBlobError naming file and path on a
// mismatch, or a read error.
func (b *blobReader) finish(file, path string) error {
	bp := hashBufs.Get().(*[]byte)
	defer hashBufs.Put(bp)
	for {
		_, err := b.Read(*bp)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	return b.check(file, path)
}

// check compares what was read with the lock; it reads nothing more.
func (b *blobReader) check(file, path string) error {
	got := hex.EncodeToString(b.h.Sum(nil))
	if b.n == b.size && got == b.sha {
		return nil
	}
	return &cacheBlobError{file: file, path: path, wantSHA: b.sha, wantSize: b.size, gotSHA: got, gotSize: b.n}
}
