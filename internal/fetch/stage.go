package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// Extraction limits applied when Options leave them zero.
const (
	// defaultMaxExtract caps the bytes extracted for one package.
	defaultMaxExtract = 8 << 30
	// defaultMaxEntries caps the entries extracted for one package.
	defaultMaxEntries = 100_000
	// maxRatio caps how much larger than its archive the extracted data of
	// one archive may be, once it is larger than ratioFloor. gzip cannot
	// compress better than about 1032:1, so only constructed data (a
	// decompression bomb, or sparse and overlapping entries) goes past it.
	maxRatio   = 1000
	ratioFloor = 1 << 20
	// maxLinkTarget bounds a symlink target read from a zip entry.
	maxLinkTarget = 4096
	// maxEntryPath and maxEntrySegment bound an entry's name, and its
	// segments: 1,024 bytes is macOS's PATH_MAX, and 255 bytes every
	// supported file system's longest name. Past them gpm could extract a
	// path (os.Root walks it a segment at a time) that it could not open
	// whole again to verify it or to carry a user's files over.
	maxEntryPath    = 1024
	maxEntrySegment = 255
)

// entryKind is what a staged path is.
type entryKind uint8

const (
	kindImplicitDir entryKind = iota + 1 // a parent directory made for an entry
	kindDir                              // an explicit directory entry
	kindFile                             // a regular file (or a hard link to one)
	kindSymlink                          // a symbolic link, created last
)

func (k entryKind) String() string {
	switch k {
	case kindImplicitDir, kindDir:
		return "a directory"
	case kindFile:
		return "a file"
	case kindSymlink:
		return "a symlink"
	}
	return "an entry"
}

// stager builds one package's directory in a staging directory: locked
// files copied from their blobs and archives extracted, with every path
// claimed once, so that nothing is overwritten and nothing lands outside.
// All writes go through an os.Root as a second line of defence behind the
// checks on names.
type stager struct {
	ctx        context.Context
	dir        string // the staging directory; root is open on it
	root       *os.Root
	maxBytes   int64
	maxEntries int
	warnf      func(string, ...any)
	// dirPerm is the mode of the staging directory: what a plain mkdir
	// gives here, under the umask. Directory modes from archives are
	// limited to it.
	dirPerm fs.FileMode

	// strip drops that many leading components of every archive entry
	// (lock.Package.Strip).
	strip int

	entries map[string]entryKind
	placed  map[string]*placed
	links   []pendingLink
	count   int   // entries claimed
	total   int64 // bytes extracted
	buf     []byte
}

// pendingLink is a symlink from an archive. Symlinks are created after every
// other entry, so no entry is ever written through one.
type pendingLink struct {
	archive, entry string // for messages
	path, target   string
	walk           []string // the paths the target passes through, relative to the root
}

// mkdirTemp creates a new directory in parent, named prefix and a random
// number, like os.MkdirTemp but with the mode a plain mkdir gives (0777
// less the umask) rather than 0700: a staging directory becomes a package
// directory, which other users (a job step that is not root, a web server,
// an image built from it) must be able to read.
func mkdirTemp(parent, prefix string) (string, error) {
	for try := 0; ; try++ {
		p := filepath.Join(parent, prefix+strconv.FormatUint(uint64(rand.Uint32()), 10))
		err := os.Mkdir(p, 0o777)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrExist) || try == 1000 {
			return "", err
		}
	}
}

// newStager stages into dir, which mkdirTemp made.
func newStager(ctx context.Context, dir string, maxBytes int64, maxEntries int, warnf func(string, ...any)) (*stager, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	fi, err := root.Stat(".")
	if err != nil {
		root.Close()
		return nil, err
	}
	if maxBytes <= 0 {
		maxBytes = defaultMaxExtract
	}
	if maxEntries <= 0 {
		maxEntries = defaultMaxEntries
	}
	return &stager{
		ctx: ctx, dir: dir, root: root, maxBytes: maxBytes, maxEntries: maxEntries, warnf: warnf,
		dirPerm: fi.Mode().Perm(),
		entries: map[string]entryKind{},
		placed:  map[string]*placed{},
	}, nil
}

func (s *stager) close() { s.root.Close() }

// files returns what was placed, sorted by path.
func (s *stager) files() []placed {
	out := make([]placed, 0, len(s.placed))
	for _, p := range s.placed {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b placed) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// claim reserves path p for an entry of kind k. It refuses a second entry
// at p (two directories merge), an entry below a file or symlink, and more
// entries than allowed. It returns the reason for a refusal, or "".
func (s *stager) claim(p string, k entryKind) string {
	for i := 0; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		switch pk := s.entries[p[:i]]; pk {
		case 0:
			// A directory made for an entry costs what an entry does.
			s.entries[p[:i]] = kindImplicitDir
			if s.count++; s.count > s.maxEntries {
				return fmt.Sprintf("more than %d entries", s.maxEntries)
			}
		case kindImplicitDir, kindDir:
		default:
			return fmt.Sprintf("its parent %q is %s", p[:i], pk)
		}
	}
	if old, ok := s.entries[p]; ok {
		isDir := func(k entryKind) bool { return k == kindDir || k == kindImplicitDir }
		if !(isDir(old) && isDir(k)) {
			if old == k {
				return "duplicate entry"
			}
			return fmt.Sprintf("path is already %s", old)
		}
		if k == kindImplicitDir {
			return ""
		}
		if old == kindImplicitDir { // counted when it was made
			s.entries[p] = k
			return ""
		}
	}
	s.entries[p] = k
	s.count++
	if s.count > s.maxEntries {
		return fmt.Sprintf("more than %d entries", s.maxEntries)
	}
	return ""
}

// mkParent creates the parent directories of p, with the mode a plain
// mkdir gives.
func (s *stager) mkParent(p string) error {
	if d := path.Dir(p); d != "." {
		return s.root.MkdirAll(d, 0o777)
	}
	return nil
}

// record stats p after it was written and records it for the state.
func (s *stager) record(p, typ, sha, link string) error {
	fi, err := s.root.Lstat(p)
	if err != nil {
		return err
	}
	s.placed[p] = &placed{
		Path:   p,
		Type:   typ,
		Size:   fi.Size(),
		MTime:  fi.ModTime().UnixNano(),
		SHA256: sha,
		Mode:   uint32(fi.Mode().Perm()),
		Link:   link,
	}
	if typ == typeDir {
		s.placed[p].Size = 0
	}
	return nil
}

// claimFile checks and claims name for a file and creates its parent
// directories.
func (s *stager) claimFile(name string) error {
	if err := checkRelPath(name); err != nil {
		return fmt.Errorf("file %q: unsafe name: %v", name, err)
	}
	if why := s.claim(name, kindFile); why != "" {
		return fmt.Errorf("file %q cannot be placed: %s", name, why)
	}
	if err := s.ctx.Err(); err != nil {
		return err
	}
	if err := s.mkParent(name); err != nil {
		return err
	}
	return nil
}

// placeBlob copies the blob at src to name and verifies the copy (see
// copy.go): a copy that does not match sha and size fails with a
// *cacheBlobError, and is left for the caller to discard with the staging
// directory. The mode is decided from the first bytes of the verified copy,
// so it too derives from the verified content.
func (s *stager) placeBlob(name, src, sha string, size int64) error {
	if err := s.claimFile(name); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("file %q: %w", name, err)
	}
	filesRead.Add(1)
	defer in.Close()
	out, err := s.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("file %q: %w", name, err)
	}
	head, err := copyVerified(s.ctx, out, in, sha, size, name, src)
	if err == nil && looksExecutable(head) {
		// What a create with 0755 would have given under the umask, which
		// the staging directory's mode (0777 less the umask) tells.
		err = out.Chmod(0o755 & s.dirPerm)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if _, ok := err.(*cacheBlobError); ok {
			return err
		}
		return fmt.Errorf("file %q: %w", name, err)
	}
	return s.record(name, typeFile, sha, "")
}

// placeHeld copies in, a file this run downloaded and hashed as it arrived
// and has held open since (installer.hold), reopened at offset 0, to name.
// The bytes of in are the verified ones whatever became of the blob's name
// in the cache, so they are not hashed again; the copy is checked for its
// size. A cancelled install stops the copy at the next chunk.
func (s *stager) placeHeld(name string, in *os.File, sha string, size int64) error {
	if err := s.claimFile(name); err != nil {
		return err
	}
	out, err := s.root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("file %q: %w", name, err)
	}
	err = copyData(out, in, size+1, &copyProgress{wake: make(chan struct{}, 1), done: s.ctx.Done()})
	if errors.Is(err, errCopyStopped) {
		err = s.ctx.Err()
	}
	if err == nil {
		err = s.finishWhole(out, size)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("file %q: %w", name, err)
	}
	return s.record(name, typeFile, sha, "")
}

// placeCopy moves src to name. src is the copy of a large download that
// this run wrote as the download arrived, from the bytes it hashed, and
// kept once they matched the lock (blob.copy): the placed file is that
// copy, and nothing is copied again. It is in DIR/.gpm, as the staging
// directory is, so the rename stays on one file system. Like any placed
// file it gets its mode from its first bytes, under the umask.
func (s *stager) placeCopy(name, src, sha string, size int64) error {
	if err := s.claimFile(name); err != nil {
		return err
	}
	// The staging directory is this run's, made under the vendor lock, and
	// holds no symlink until finish: the path cannot lead out of it. A
	// rename replaces what is there, where the other placements refuse to
	// (O_EXCL): on a file system that folds case, a file placed before as
	// "Tool" is there for "tool".
	if _, err := s.root.Lstat(name); err == nil {
		return fmt.Errorf("file %q: %w", name, &fs.PathError{Op: "rename", Path: name, Err: fs.ErrExist})
	}
	if err := os.Rename(src, filepath.Join(s.dir, filepath.FromSlash(name))); err != nil {
		return fmt.Errorf("file %q: %w", name, err)
	}
	f, err := s.root.Open(name)
	if err != nil {
		return fmt.Errorf("file %q: %w", name, err)
	}
	err = s.finishWhole(f, size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("file %q: %w", name, err)
	}
	return s.record(name, typeFile, sha, "")
}

// finishWhole checks that f, a file placed from bytes verified before
// (placeHeld, placeCopy), is a regular file of size bytes, and gives it
// the mode its first bytes call for: what a create with 0644, or 0755 for
// a program, would have given under the umask, which the staging
// directory's mode (0777 less the umask) tells.
func (s *stager) finishWhole(f *os.File, size int64) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Size() != size {
		return fmt.Errorf("placed %d bytes of %d", fi.Size(), size)
	}
	var head [execHead]byte
	n, err := f.ReadAt(head[:], 0)
	if err != nil && err != io.EOF {
		return err
	}
	mode := 0o644 & s.dirPerm
	if looksExecutable(head[:n]) {
		mode = 0o755 & s.dirPerm
	}
	return f.Chmod(mode)
}

// looksExecutable reports whether a file starts like a program: an ELF or
// Mach-O binary or a script with a #! line. Generic packages carry no file
// modes, and a vendored CLI that cannot be run would be useless; the umask
// still applies. head is the start of the file.
func looksExecutable(head []byte) bool {
	b := head[:min(len(head), 4)]
	switch {
	case bytes.HasPrefix(b, []byte("#!")),
		bytes.HasPrefix(b, []byte("\x7fELF")),
		bytes.Equal(b, []byte{0xfe, 0xed, 0xfa, 0xce}), bytes.Equal(b, []byte{0xfe, 0xed, 0xfa, 0xcf}), // Mach-O, big-endian
		bytes.Equal(b, []byte{0xce, 0xfa, 0xed, 0xfe}), bytes.Equal(b, []byte{0xcf, 0xfa, 0xed, 0xfe}), // Mach-O, little-endian
		bytes.Equal(b, []byte{0xca, 0xfe, 0xba, 0xbe}): // Mach-O universal
		return true
	}
	return false
}

// finish creates the pending symlinks of all archives, refusing chains:
// a symlink whose target, or whose own directory, goes through another
// symlink could be resolved outside the root by a later change, and no
// legitimate package needs one.
func (s *stager) finish() error {
	for _, l := range s.links {
		for q := range prefixes(l.path) {
			if s.entries[q] == kindSymlink {
				return &archiveError{Archive: l.archive, Entry: l.entry, Reason: fmt.Sprintf("symlink is inside the symlinked directory %q", q)}
			}
		}
		for _, q := range l.walk {
			if s.entries[q] == kindSymlink {
				return &archiveError{Archive: l.archive, Entry: l.entry, Reason: fmt.Sprintf("symlink target %q goes through another symlink %q", l.target, q)}
			}
		}
	}
	for _, l := range s.links {
		if err := s.mkParent(l.path); err != nil {
			return err
		}
		if err := s.root.Symlink(l.target, l.path); err != nil {
			return symlinkError(runtime.GOOS, l.archive, l.entry, err)
		}
		if err := s.record(l.path, typeSymlink, "", l.target); err != nil {
			return err
		}
	}
	return nil
}

// prefixes yields the proper ancestor paths of p: "a", "a/b" for "a/b/c".
func prefixes(p string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for i := 0; i < len(p); i++ {
			if p[i] == '/' && !yield(p[:i]) {
				return
			}
		}
	}
}

// isNotExist reports whether err means a path does not exist.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
