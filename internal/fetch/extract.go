package fetch

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Extraction (Options.Extract packages).
//
// Every archive of a package is unpacked into the package's staging
// directory, which is the root: entry "bin/tool" becomes DIR/NAME/bin/tool.
// Files that are not archives are placed as they are. Any refused entry
// fails the whole package, and with it the install, before anything is
// placed. The rules:
//
//   - Strip (lock.Package.Strip = N) drops the first N components of every
//     entry name, once it passed the name checks; entries with N or fewer
//     components are skipped. Everything below applies to the stripped
//     paths: two entries that strip to one path are refused, and a
//     symlink's target is confined from its stripped place.
//   - Names: absolute paths, drive letters, ".." segments, empty or "."
//     segments, backslashes and control characters are refused. A leading
//     "./" and a trailing "/" are allowed, and a "./" entry (the root) is
//     skipped.
//   - Each path is claimed once across all archives of the package: a second
//     file, link or symlink at a path, or an entry below a file, is refused.
//     Directory entries merge.
//   - Symlinks must be relative and resolve, lexically, inside the root.
//     They are created after every other entry, so nothing is ever written
//     through one, and a symlink whose target or own directory goes through
//     another symlink (a chain) is refused: chains are how link tricks
//     escape, and packages do not need them.
//   - Hard links must name an earlier regular file of the same package.
//   - Devices, FIFOs, sockets and unknown entry types are refused.
//   - Limits: Options.MaxExtract bytes and Options.MaxEntries entries per
//     package, and an archive may not expand to more than 1000 times its
//     size once past 1 MiB (decompression bombs, sparse and overlapping
//     entries).
//   - Modes: execute bits are kept; setuid, setgid, sticky and group and
//     other write bits are dropped; files stay readable and directories
//     writable by their owner. Modification times are those of extraction.

// archiveKind returns how a file is unpacked, by its name: "tar", "tgz",
// "zip", or "" for a file that is not an archive.
func archiveKind(name string) string {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".tar.gz"), strings.HasSuffix(n, ".tgz"):
		return "tgz"
	case strings.HasSuffix(n, ".tar"):
		return "tar"
	case strings.HasSuffix(n, ".zip"):
		return "zip"
	}
	return ""
}

// extract unpacks the archive blob at src, whose file name in the package
// is name, into the stager's root, rehashing the blob as it goes (see
// rehash.go). A blob that does not match sha and size fails with a
// *cacheBlobError, whatever the extraction made of it: what it extracted is
// discarded with the staging directory.
func (s *stager) extract(name, src, sha string, size int64) error {
	kind := archiveKind(name)
	if kind == "" {
		return fmt.Errorf("archive %q: not a .tar.gz, .tgz, .tar or .zip file", name)
	}
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("archive %q: %w", name, err)
	}
	filesRead.Add(1)
	defer f.Close()
	a := &archive{s: s, name: name, size: size}
	if kind == "zip" {
		return a.zipBlob(f, src, sha)
	}
	r := newBlobReader(f, sha, size)
	if kind == "tgz" {
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(r); err == nil {
			zr.Multistream(true)
			err = a.tar(zr)
		} else {
			err = a.fail("", "cannot read gzip data: %v", err)
		}
	} else {
		err = a.tar(r)
	}
	if cerr := s.ctx.Err(); cerr != nil {
		return cerr
	}
	// The hash covers the whole blob, read or not by the extractor, and a
	// mismatch explains any extraction error: the archive is not the
	// locked one.
	if ferr := r.finish(name, src); ferr != nil {
		if _, ok := ferr.(*cacheBlobError); ok {
			return ferr
		}
		if err == nil {
			err = fmt.Errorf("archive %q: %w", name, ferr)
		}
	}
	return err
}

// zipBlob extracts the zip blob f (at src) from a private copy, verified
// and used only once it matched (see rehash.go and copy.go). The copy goes
// beside the staging directory, in DIR/.gpm, where an interrupted install's
// leftovers are removed by the next one.
func (a *archive) zipBlob(f *os.File, src, sha string) error {
	tmp, err := os.CreateTemp(filepath.Dir(a.s.root.Name()), "tmp-zip-")
	if err != nil {
		return fmt.Errorf("archive %q: %w", a.name, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	_, err = copyVerified(a.s.ctx, tmp, f, sha, a.size, a.name, src)
	if err != nil {
		if _, ok := err.(*cacheBlobError); ok {
			return err
		}
		return fmt.Errorf("archive %q: %w", a.name, err)
	}
	return a.zip(tmp, a.size)
}

// archive is one archive being extracted.
type archive struct {
	s    *stager
	name string
	size int64 // bytes of the archive file
	out  int64 // bytes extracted from it
}

func (a *archive) fail(entry, format string, args ...any) error {
	return &archiveError{Archive: a.name, Entry: entry, Reason: fmt.Sprintf(format, args...)}
}

func (a *archive) tar(r io.Reader) error {
	tr := tar.NewReader(r)
	for {
		if err := a.s.ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil && !(errors.Is(err, tar.ErrInsecurePath) && hdr != nil) {
			return a.fail("", "cannot read: %v", err)
		}
		raw := hdr.Name
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeGNUSparse:
			err = a.file(raw, hdr.FileInfo().Mode(), tr)
		case tar.TypeDir:
			err = a.dir(raw, hdr.FileInfo().Mode())
		case tar.TypeSymlink:
			err = a.symlink(raw, hdr.Linkname)
		case tar.TypeLink:
			err = a.hardlink(raw, hdr.Linkname)
		case tar.TypeChar, tar.TypeBlock:
			err = a.fail(raw, "device entries are not allowed")
		case tar.TypeFifo:
			err = a.fail(raw, "fifo entries are not allowed")
		case tar.TypeXGlobalHeader:
			continue
		default:
			err = a.fail(raw, "unsupported entry type %q", string(hdr.Typeflag))
		}
		if err != nil {
			return err
		}
	}
}

func (a *archive) zip(r io.ReaderAt, size int64) error {
	zr, err := zip.NewReader(r, size)
	if err != nil && !(errors.Is(err, zip.ErrInsecurePath) && zr != nil) {
		return a.fail("", "cannot read: %v", err)
	}
	for _, zf := range zr.File {
		if err := a.s.ctx.Err(); err != nil {
			return err
		}
		raw := zf.Name
		mode := zf.Mode()
		switch {
		case mode.IsDir():
			err = a.dir(raw, mode)
		case mode&fs.ModeSymlink != 0:
			err = a.zipSymlink(zf)
		case mode&(fs.ModeDevice|fs.ModeCharDevice) != 0:
			err = a.fail(raw, "device entries are not allowed")
		case mode&(fs.ModeNamedPipe|fs.ModeSocket) != 0:
			err = a.fail(raw, "fifo and socket entries are not allowed")
		case mode&fs.ModeType != 0:
			err = a.fail(raw, "unsupported entry type")
		default:
			err = a.zipFile(zf)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (a *archive) zipFile(zf *zip.File) error {
	rc, err := zf.Open()
	if err != nil {
		return a.fail(zf.Name, "cannot read: %v", err)
	}
	defer rc.Close()
	return a.file(zf.Name, zf.Mode(), rc)
}

func (a *archive) zipSymlink(zf *zip.File) error {
	rc, err := zf.Open()
	if err != nil {
		return a.fail(zf.Name, "cannot read: %v", err)
	}
	defer rc.Close()
	target, err := io.ReadAll(io.LimitReader(rc, maxLinkTarget+1))
	if err != nil {
		return a.fail(zf.Name, "cannot read: %v", err)
	}
	if len(target) > maxLinkTarget {
		return a.fail(zf.Name, "symlink target is longer than %d bytes", maxLinkTarget)
	}
	return a.symlink(zf.Name, string(target))
}

// entryPath turns an entry name into a clean path below the root. It
// returns "." for the root itself.
func entryPath(raw string) (string, error) {
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c < 0x20 || c == 0x7f {
			return "", errors.New("name contains a control character")
		}
	}
	switch {
	case strings.Contains(raw, `\`):
		return "", errors.New("name contains a backslash")
	case strings.HasPrefix(raw, "/"):
		return "", errors.New("absolute path")
	case len(raw) >= 2 && raw[1] == ':' && (raw[0]|0x20 >= 'a' && raw[0]|0x20 <= 'z'):
		return "", errors.New("absolute path (drive letter)")
	}
	p := raw
	for strings.HasPrefix(p, "./") {
		p = p[2:]
	}
	p = strings.TrimRight(p, "/")
	if p == "" || p == "." {
		return ".", nil
	}
	if len(p) > maxEntryPath {
		return "", fmt.Errorf("name is longer than %d bytes", maxEntryPath)
	}
	for seg := range strings.SplitSeq(p, "/") {
		switch {
		case seg == "..":
			return "", errors.New(`path has a ".." segment`)
		case seg == "" || seg == ".":
			return "", fmt.Errorf("path has an empty or %q segment", ".")
		case len(seg) > maxEntrySegment:
			return "", fmt.Errorf("a path segment is longer than %d bytes", maxEntrySegment)
		}
	}
	if !filepath.IsLocal(filepath.FromSlash(p)) {
		return "", errors.New("not a local path on this system")
	}
	return p, nil
}

// stripPath drops the first n components of the clean path p. It reports
// false when p has n or fewer: the entry is skipped.
func stripPath(p string, n int) (string, bool) {
	for ; n > 0; n-- {
		i := strings.IndexByte(p, '/')
		if i < 0 {
			return "", false
		}
		p = p[i+1:]
	}
	return p, true
}

// clean validates an entry's path, strips it, and claims it. It returns ""
// for an entry that stripping skips.
func (a *archive) clean(raw string, k entryKind) (string, error) {
	p, err := entryPath(raw)
	if err != nil {
		return "", a.fail(raw, "%v", err)
	}
	if p != "." && a.s.strip > 0 {
		var ok bool
		if p, ok = stripPath(p, a.s.strip); !ok {
			return "", nil
		}
	}
	if p == "." {
		if k == kindDir {
			return ".", nil
		}
		return "", a.fail(raw, "entry is the package directory itself")
	}
	if why := a.s.claim(p, k); why != "" {
		if a.s.strip > 0 {
			why += fmt.Sprintf(" (after strip = %d, as %q)", a.s.strip, p)
		}
		return "", a.fail(raw, "%s", why)
	}
	return p, nil
}

func (a *archive) dir(raw string, mode fs.FileMode) error {
	p, err := a.clean(raw, kindDir)
	if err != nil || p == "." || p == "" {
		return err
	}
	if err := a.s.root.MkdirAll(p, 0o777); err != nil {
		return a.fail(raw, "cannot create directory: %v", errors.Unwrap(err))
	}
	// Chmod ignores the umask: limit the archive's mode to what a plain
	// mkdir gives here, as tar does for a user who is not root.
	if err := a.s.root.Chmod(p, mode.Perm()&0o755&a.s.dirPerm|0o700); err != nil {
		return a.fail(raw, "cannot set mode: %v", errors.Unwrap(err))
	}
	return a.s.record(p, typeDir, "", "")
}

func (a *archive) file(raw string, mode fs.FileMode, r io.Reader) error {
	p, err := a.clean(raw, kindFile)
	if err != nil || p == "" {
		return err
	}
	s := a.s
	if err := s.mkParent(p); err != nil {
		return a.fail(raw, "cannot create directory: %v", errors.Unwrap(err))
	}
	out, err := s.root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return a.fail(raw, "path collides with another entry (a case-insensitive file system?)")
		}
		return a.fail(raw, "cannot create file: %v", errors.Unwrap(err))
	}
	h := sha256.New()
	if s.buf == nil {
		s.buf = make([]byte, 256<<10)
	}
	_, err = io.CopyBuffer(io.MultiWriter(out, h), &budget{a: a, raw: raw, r: r}, s.buf)
	if err == nil {
		err = out.Chmod(mode.Perm()&0o755 | 0o400)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		var ae *archiveError
		if errors.As(err, &ae) || s.ctx.Err() != nil {
			return err
		}
		return a.fail(raw, "cannot extract: %v", err)
	}
	return s.record(p, typeFile, hex.EncodeToString(h.Sum(nil)), "")
}

func (a *archive) symlink(raw, target string) error {
	switch {
	case target == "":
		return a.fail(raw, "symlink has an empty target")
	case strings.ContainsAny(target, "\x00\\"):
		return a.fail(raw, "symlink target %q contains a NUL or backslash", target)
	case strings.HasPrefix(target, "/"), filepath.IsAbs(target), filepath.VolumeName(target) != "":
		return a.fail(raw, "symlink target %q is absolute", target)
	}
	p, err := a.clean(raw, kindSymlink)
	if err != nil || p == "" {
		return err
	}
	walk, ok := walkTarget(path.Dir(p), target)
	if !ok {
		return a.fail(raw, "symlink target %q escapes the package directory", target)
	}
	a.s.links = append(a.s.links, pendingLink{archive: a.name, entry: raw, path: p, target: target, walk: walk})
	return nil
}

// walkTarget follows a relative symlink target from dir, segment by segment
// as the system would, and returns every path it passes through, the
// target last. It reports false when the walk leaves the root, even if it
// would come back: ".." is resolved against the real parent, which is only
// known inside the root.
func walkTarget(dir, target string) ([]string, bool) {
	cur := dir
	var walk []string
	for seg := range strings.SplitSeq(target, "/") {
		switch seg {
		case "", ".":
			continue
		case "..":
			if cur == "." {
				return nil, false
			}
			cur = path.Dir(cur)
		default:
			cur = path.Join(cur, seg)
		}
		walk = append(walk, cur)
	}
	return walk, true
}

func (a *archive) hardlink(raw, target string) error {
	t, err := entryPath(target)
	if err != nil {
		return a.fail(raw, "hard link target %q: %v", target, err)
	}
	p, err := entryPath(raw)
	if err != nil {
		return a.fail(raw, "%v", err)
	}
	if _, ok := stripPath(p, a.s.strip); !ok {
		return nil // skipped by strip, whatever its target
	}
	if a.s.strip > 0 {
		st, ok := stripPath(t, a.s.strip)
		if !ok {
			return a.fail(raw, "hard link target %q is skipped by strip = %d", target, a.s.strip)
		}
		t = st
	}
	if a.s.entries[t] != kindFile || a.s.placed[t] == nil {
		return a.fail(raw, "hard link target %q is not an earlier file of the package", target)
	}
	p, err = a.clean(raw, kindFile)
	if err != nil {
		return err
	}
	s := a.s
	if err := s.mkParent(p); err != nil {
		return a.fail(raw, "cannot create directory: %v", errors.Unwrap(err))
	}
	if err := linkEntry(s.root, t, p); err != nil {
		// File systems without hard links, or a file with as many links as
		// the file system allows (65,000 on ext4), get a copy, which counts
		// against the limits as extracted data does.
		if err := a.copyWithin(raw, t, p); err != nil {
			if _, ok := err.(*archiveError); ok {
				return err
			}
			return a.fail(raw, "cannot create hard link: %v", err)
		}
	}
	return s.record(p, typeFile, s.placed[t].SHA256, "")
}

// linkEntry makes a hard link inside the staging directory; tests make it
// fail.
var linkEntry = (*os.Root).Link

// copyWithin copies the placed file from to to, through the budget of the
// entry raw.
func (a *archive) copyWithin(raw, from, to string) error {
	in, err := a.s.root.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := a.s.root.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return err
	}
	_, err = io.Copy(out, &budget{a: a, raw: raw, r: in})
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// budget counts extracted bytes against the package's limits and the
// archive's ratio, and stops on cancellation.
type budget struct {
	a   *archive
	raw string
	r   io.Reader
}

func (b *budget) Read(p []byte) (int, error) {
	a, s := b.a, b.a.s
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := b.r.Read(p)
	a.out += int64(n)
	s.total += int64(n)
	if s.total > s.maxBytes {
		return n, a.fail(b.raw, "extracted data exceeds the limit of %d bytes", s.maxBytes)
	}
	if a.out > ratioFloor && a.out/maxRatio > a.size {
		return n, a.fail(b.raw, "archive expands more than %d times its size (a decompression bomb?)", maxRatio)
	}
	return n, err
}
