package fetch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gpmtool/gpm/internal/atomicfile"
	"github.com/gpmtool/gpm/internal/lock"
)

// stateVersion is the state file format this gpm reads and writes. Another
// version is ignored with a warning: the next install then re-places every
// package (from the cache) and writes the state again.
const stateVersion = 1

// metaDir is gpm's own directory inside the vendor directory. It holds the
// state, the cross-process lock and staging directories, all on the vendor
// directory's file system so that renames out of it are atomic.
const metaDir = ".gpm"

// File types recorded in the state.
const (
	typeFile    = ""        // a regular file
	typeDir     = "dir"     // a directory from an archive
	typeSymlink = "symlink" // a symbolic link from an archive
)

// state is DIR/.gpm/state: what gpm placed in the vendor directory.
type state struct {
	Version  int                  `json:"state_version"`
	Packages map[string]*pkgState `json:"packages"`
}

// pkgState is one installed package.
type pkgState struct {
	Version string `json:"version"`
	// Extract, Strip and Lock are the identity of what was installed: when both
	// equal the lock entry's, the installed files are the locked ones.
	Extract bool `json:"extract,omitempty"`
	Strip   int  `json:"strip,omitempty"`
	// Bin are the package's bin paths as locked (placeholders filled in).
	Bin  map[string]string `json:"bin,omitempty"`
	Lock []lockFile        `json:"lock"`
	// Links are the commands gpm linked in DIR/.bin: name -> the file's
	// path under DIR/NAME.
	Links map[string]string `json:"links,omitempty"`
	// Files are the paths gpm placed under DIR/NAME, sorted.
	Files []placed `json:"files"`
	// SetAside are the paths under DIR/NAME where gpm kept the user's files
	// that were in the way of the package's files (PATH.gpm-user), sorted.
	// They are the user's, but gpm put them there: verify reports them as
	// a notice, not as unexpected files.
	SetAside []string `json:"set_aside,omitempty"`
}

// lockFile identifies one locked file.
type lockFile struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// placed is one file, directory or symlink gpm placed.
type placed struct {
	Path  string `json:"path"` // slash-separated, relative to DIR/NAME
	Type  string `json:"type,omitempty"`
	Size  int64  `json:"size"`
	MTime int64  `json:"mtime"` // modification time, Unix nanoseconds
	// SHA256 is the content's hash (regular files only).
	SHA256 string `json:"sha256,omitempty"`
	Mode   uint32 `json:"mode"`           // permission bits
	Link   string `json:"link,omitempty"` // a symlink's target
}

// identity returns the state identity of a lock entry.
func identity(p *lock.Package) []lockFile {
	ids := make([]lockFile, len(p.Files))
	for i, f := range p.Files {
		ids[i] = lockFile{Name: f.Name, SHA256: f.SHA256}
	}
	slices.SortFunc(ids, func(a, b lockFile) int { return strings.Compare(a.Name, b.Name) })
	return ids
}

// sameIdentity reports whether the installed package s holds exactly the
// files of lock entry p.
func (s *pkgState) sameIdentity(p *lock.Package) bool {
	return s.Extract == p.Extract && s.Strip == p.Strip && maps.Equal(s.Bin, p.Bin) && slices.Equal(s.Lock, identity(p))
}

// byPath returns the package's placed files by path.
func (s *pkgState) byPath() map[string]*placed {
	m := make(map[string]*placed, len(s.Files))
	for i := range s.Files {
		m[s.Files[i].Path] = &s.Files[i]
	}
	return m
}

func statePath(dir string) string { return filepath.Join(dir, metaDir, "state") }

// readState reads DIR/.gpm/state. A missing state is empty; an unreadable,
// corrupt or foreign one is empty too, with a warning: the state is a cache
// of what is on disk, and an install without it re-places every package
// while keeping every file it cannot prove it placed.
func readState(dir string, warnf func(string, ...any)) *state {
	empty := &state{Version: stateVersion, Packages: map[string]*pkgState{}}
	p := statePath(dir)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return empty
	}
	if err != nil {
		warnf("ignoring install state %s: %v", p, err)
		return empty
	}
	var s state
	if err := json.Unmarshal(data, &s); err != nil {
		warnf("ignoring corrupt install state %s: %v", p, err)
		return empty
	}
	if s.Version != stateVersion {
		warnf("ignoring install state %s: state_version %d is not %d", p, s.Version, stateVersion)
		return empty
	}
	if err := s.validate(); err != nil {
		warnf("ignoring corrupt install state %s: %v", p, err)
		return empty
	}
	if s.Packages == nil {
		s.Packages = map[string]*pkgState{}
	}
	return &s
}

// validate rejects a state that names paths gpm would never place: the
// state decides what prune deletes, so it must not be able to point
// anywhere else.
func (s *state) validate() error {
	for name, p := range s.Packages {
		if err := checkPackageName(name); err != nil {
			return fmt.Errorf("package %q: %w", name, err)
		}
		if p == nil {
			return fmt.Errorf("package %q: no entry", name)
		}
		for n, t := range p.Links {
			if err := checkRelPath(t); err != nil || strings.ContainsAny(n, "/\\:") || checkRelPath(n) != nil {
				return fmt.Errorf("package %q: command %q: unsafe link", name, n)
			}
		}
		for _, a := range p.SetAside {
			if err := checkRelPath(a); err != nil {
				return fmt.Errorf("package %q: set-aside path %q: %w", name, a, err)
			}
		}
		for _, f := range p.Files {
			if err := checkRelPath(f.Path); err != nil {
				return fmt.Errorf("package %q: path %q: %w", name, f.Path, err)
			}
			switch f.Type {
			case typeFile, typeDir, typeSymlink:
			default:
				return fmt.Errorf("package %q: path %q: unknown type %q", name, f.Path, f.Type)
			}
		}
	}
	return nil
}

// writeState replaces DIR/.gpm/state atomically. With durable set the file
// and the rename are flushed to disk before it returns. The state gets the
// mode a plain create gives (0666 less the umask), not a private one, and
// keeps no mode of its own: it must be readable by whoever can read the
// vendor directory, for gpm verify run by another user.
func writeState(dir string, s *state, durable bool) error {
	data, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		return fmt.Errorf("write install state: %w", err)
	}
	data = append(data, '\n')
	if err := atomicfile.WriteFileUmask(statePath(dir), data, 0o666, durable); err != nil {
		return fmt.Errorf("write install state: %w", err)
	}
	return nil
}

// checkPackageName rejects a package name that is not one plain directory
// name below the vendor directory. The lock parser already refuses such
// names; this is the last line of defence before paths are built from it.
func checkPackageName(name string) error {
	switch {
	case name == "":
		return errors.New("empty package name")
	case name == "." || name == ".." || name == metaDir:
		return fmt.Errorf("%q is not a package directory name", name)
	case strings.ContainsAny(name, "/\\:\x00"):
		return errors.New("package name contains a path separator")
	case strings.HasPrefix(name, "."):
		return errors.New("package name starts with a dot")
	}
	return nil
}

// checkRelPath rejects a path that is not a clean relative path below a
// package directory: absolute paths, "..", ".", empty segments, backslashes
// and control characters.
func checkRelPath(p string) error {
	if p == "" {
		return errors.New("empty path")
	}
	if strings.HasPrefix(p, "/") {
		return errors.New("absolute path")
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f {
			return errors.New("control character in path")
		}
	}
	if strings.Contains(p, `\`) {
		return errors.New("backslash in path")
	}
	for seg := range strings.SplitSeq(p, "/") {
		switch seg {
		case "":
			return errors.New("empty path segment")
		case ".", "..":
			return fmt.Errorf("%q path segment", seg)
		}
	}
	if !filepath.IsLocal(filepath.FromSlash(p)) {
		return errors.New("not a local path on this system")
	}
	return nil
}
