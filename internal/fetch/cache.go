package fetch

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gpmtool/gpm/internal/registry"
)

// staleTemp is how old an abandoned temporary file in the cache must be
// before a later gpm removes it. A live download writes to its file all the
// time, so its modification time stays recent.
const staleTemp = 24 * time.Hour

// Cache is a content-addressed store of verified files shared by every
// project of a user: each blob is stored once under its SHA-256, at
// DIR/blobs/sha256/<hex>.
//
// A blob gets its final name only after its size and hash were checked, by
// renaming a fully written temporary file in the same directory, so readers
// never see partial or unverified content and any number of gpm processes
// can fill one cache at once: when two write the same blob, the second rename
// replaces identical bytes. Blobs are read-only files; a Cache never modifies
// one in place. It does not flush them to disk either (see commit): after a
// crash a blob may be torn, which the rehash below finds.
//
// What gpm wrote is not necessarily what a later gpm reads: the cache is
// shared by projects and users, and CI restores it from object storage. A
// blob's name is therefore only a way to find it, never proof of its
// content: Stage rehashes every blob as it copies or extracts it, and
// discards one that does not match (see rehash.go).
type Cache struct {
	dir   string
	blobs string

	cleanOnce sync.Once
}

// DefaultCacheDir returns the cache directory gpm uses: $GPM_CACHE when set,
// else "gpm" in the user's cache directory (os.UserCacheDir: $XDG_CACHE_HOME
// or ~/.cache on Linux, ~/Library/Caches on macOS, %LocalAppData% on
// Windows). getenv is os.Getenv outside tests.
func DefaultCacheDir(getenv func(string) string) (string, error) {
	if d := getenv("GPM_CACHE"); d != "" {
		return filepath.Abs(d)
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory: %w (set GPM_CACHE)", err)
	}
	return filepath.Join(d, "gpm"), nil
}

// OpenCache opens the cache rooted at dir, creating its directories. An
// error means the cache cannot be used at all; callers are expected to warn
// and install without a cache (Options.Cache nil). A cache that exists but
// cannot be written (a read-only shared cache) opens fine: Stage reads
// from it and warns once when it cannot add to it.
func OpenCache(dir string) (*Cache, error) {
	if dir == "" {
		return nil, errors.New("empty cache directory")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("cache directory: %w", err)
	}
	c := &Cache{dir: dir, blobs: filepath.Join(dir, "blobs", "sha256")}
	if mkErr := os.MkdirAll(c.blobs, 0o777); mkErr != nil {
		if fi, err := os.Stat(c.blobs); err == nil && fi.IsDir() {
			return c, nil // read-only but usable
		}
		return nil, fmt.Errorf("cache directory: %w", mkErr)
	}
	return c, nil
}

// blobPath returns where the blob with the given SHA-256 (lowercase hex) is
// stored, or "" when sha is not a SHA-256.
func (c *Cache) blobPath(sha string) string {
	if !validSHA256(sha) {
		return ""
	}
	return filepath.Join(c.blobs, sha)
}

// has reports whether the blob is in the cache with the given size. It only
// stats the file, so the blob's content must still be checked as it is
// read.
func (c *Cache) has(sha string, size int64) bool {
	p := c.blobPath(sha)
	if p == "" {
		return false
	}
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Size() == size
}

// open opens the blob for reading. A missing blob is an error matching
// fs.ErrNotExist.
func (c *Cache) open(sha string) (*os.File, error) {
	p := c.blobPath(sha)
	if p == "" {
		return nil, fmt.Errorf("open cache blob: invalid sha256 %q", sha)
	}
	return os.Open(p)
}

// newTemp creates a temporary file in the cache's blob directory. Write the
// blob to it, then commit it under its hash, or Close it to discard it.
func (c *Cache) newTemp() (*tempFile, error) {
	c.cleanOnce.Do(c.removeStaleTemps)
	t, err := newTempFile(c.blobs)
	if err != nil {
		return nil, err
	}
	t.cache = c
	return t, nil
}

// put adds the blob read from r, checking that it has the given size and
// SHA-256. A blob already present is not written again.
func (c *Cache) put(sha string, size int64, r io.Reader) error {
	if c.has(sha, size) {
		return nil
	}
	t, err := c.newTemp()
	if err != nil {
		return err
	}
	defer t.Close()
	if _, err := io.Copy(t, r); err != nil {
		return fmt.Errorf("write cache blob: %w", err)
	}
	_, err = t.commit(registry.FileRef{File: sha}, sha, size)
	return err
}

// removeStaleTemps removes temporary files that an interrupted gpm left
// behind long ago. Younger ones may belong to a live download.
func (c *Cache) removeStaleTemps() {
	ents, err := os.ReadDir(c.blobs)
	if err != nil {
		return
	}
	cutoff := time.Now().Add(-staleTemp)
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "tmp-") {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(cutoff) {
			os.Remove(filepath.Join(c.blobs, e.Name()))
		}
	}
}

// tempFile is a file being downloaded. It hashes what is written to it, on
// a goroutine of its own (hashPipe) so that receiving and writing a large
// download and hashing it use two cores, and implements Reset so that a
// download that is retried starts the file over. Close (or commit) ends the
// hashing goroutine.
type tempFile struct {
	f     *os.File
	h     *hashPipe
	cache *Cache // nil: commit keeps the file where it is
	done  bool   // committed: Close leaves the file alone
	// keep: commit leaves f open, for the caller to hold the very file
	// that was hashed as it was written (see installer.hold).
	keep bool
	// piped: the pipe writes f, after hashing (see pipe).
	piped bool
}

func newTempFile(dir string) (*tempFile, error) {
	f, err := os.CreateTemp(dir, "tmp-*")
	if err != nil {
		return nil, err
	}
	return &tempFile{f: f, h: newHashPipe()}, nil
}

// pipe makes the file a large download's: what is written (or filled) is
// hashed on one goroutine and written to the file, and to second unless it
// is nil, on goroutines of their own (newWritingPipe), so the goroutine
// that receives the body only receives it. Only a failure to write the
// file itself fails the download; whether second got all of it is
// copyErr's to say after commit. It must be called before anything is
// written.
func (t *tempFile) pipe(second *os.File) {
	files := []*os.File{t.f}
	if second != nil {
		files = append(files, second)
	}
	t.h.Close()
	t.h = newWritingPipe(files...)
	t.piped = true
}

// Name returns the temporary file's path.
func (t *tempFile) Name() string { return t.f.Name() }

// Write writes to the file and hands what was written to the hash.
func (t *tempFile) Write(p []byte) (int, error) {
	if t.piped {
		return t.h.Write(p)
	}
	n, err := t.f.Write(p)
	t.h.Write(p[:n])
	return n, err
}

// copyErr reports, once the file was committed, whether the second file
// given to pipe failed to get all of it.
func (t *tempFile) copyErr() error { return t.h.Err(1) }

// SHA256 returns the lowercase hex SHA-256 of what was written so far,
// once the hashing goroutine has caught up. It makes tempFile a
// registry.Hasher, so a download into it is hashed once.
func (t *tempFile) SHA256() string {
	s := t.h.Sum()
	return hex.EncodeToString(s[:])
}

// Reset empties the file and the hash, for a download that starts over.
func (t *tempFile) Reset() error {
	if t.piped {
		return t.h.Reset()
	}
	if err := truncate(t.f); err != nil {
		return err
	}
	return t.h.Reset()
}

// check compares what was written with the expected size and hash.
func (t *tempFile) check(ref registry.FileRef, sha string, size int64) error {
	got, n := t.SHA256(), t.h.Size()
	if n != size || got != sha {
		return &registry.IntegrityError{Ref: ref, WantSize: size, GotSize: n, WantSHA256: sha, GotSHA256: got}
	}
	return nil
}

// commit checks that the file holds exactly size bytes with the given
// SHA-256 (a mismatch is a *registry.IntegrityError about ref) and gives it
// its final name in the cache, or, outside the cache, closes it where it
// is. It returns that name. On a mismatch the file is removed. If another
// process stored the same blob meanwhile, its copy is kept; the content is
// the same.
//
// The blob is not flushed to disk (no fsync) before it is renamed: a crash
// soon after may leave it empty, short or with the wrong bytes under its
// name. That is safe because the cache is not trusted anyway: every blob is
// rehashed when it is read for placing (see rehash.go), so such a blob is
// discarded with a warning and downloaded again, like any blob that no
// longer matches the lock, and never reaches a vendor directory. The fsync
// was a large part of a big install (writing out the whole file before
// staging could start: 0.65 s of 5.5 s for 1 GiB on the machine of
// BENCHMARKS.md) and bought only that a crash costs no second download.
// What the vendor directory's durability rests on is unchanged: the
// install state is written durably (writeState) after the packages were
// swapped into place.
func (t *tempFile) commit(ref registry.FileRef, sha string, size int64) (string, error) {
	if t.done {
		return "", errors.New("temporary file already committed")
	}
	err := t.check(ref, sha, size)
	if t.piped {
		// check waited for the writer: a failed write shows now, and is
		// why anything is missing.
		if werr := t.h.Err(0); werr != nil {
			err = fmt.Errorf("write cache blob: %w", werr)
		}
	}
	t.h.Close()
	if err != nil {
		t.Close()
		return "", err
	}
	if t.cache == nil {
		// Outside the cache the file is used where it is; it only needs to
		// be complete, not durable.
		t.done = true
		return t.f.Name(), t.f.Close()
	}
	if err := t.f.Chmod(0o444); err != nil {
		t.Close()
		return "", fmt.Errorf("write cache blob: %w", err)
	}
	if !t.keep {
		if err := t.f.Close(); err != nil {
			os.Remove(t.f.Name())
			return "", fmt.Errorf("write cache blob: %w", err)
		}
	}
	final := t.cache.blobPath(sha)
	if err := os.Rename(t.f.Name(), final); err != nil {
		// Some systems refuse to replace a read-only file; a blob already
		// there under the same name has the same content.
		if t.cache.has(sha, size) {
			os.Remove(t.f.Name())
			t.done = true
			return final, nil
		}
		os.Remove(t.f.Name())
		if t.keep {
			t.f.Close()
		}
		return "", fmt.Errorf("write cache blob: %w", err)
	}
	t.done = true
	return final, nil
}

// Close discards the file unless it was committed. It is safe to call more
// than once.
func (t *tempFile) Close() error {
	if t.done {
		return nil
	}
	t.done = true
	t.h.Close()
	t.f.Close()
	err := os.Remove(t.f.Name())
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	return err
}

// validSHA256 reports whether s is 64 lowercase hex digits.
func validSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
