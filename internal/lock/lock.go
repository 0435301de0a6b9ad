// Package lock reads and writes packages.lock, the generated file that pins
// every package of packages.toml to an exact registry version and the size,
// SHA-256 and file ID of each of its files.
//
// The lock is TOML with a fixed layout: Encode writes it byte for byte the
// same for the same content (packages and files sorted by name, a stable key
// order), and Write replaces the file atomically and only when its bytes
// change. Parse is as strict as the manifest parser: unknown keys, wrong
// types, missing fields and unsafe names are errors naming the file, line and
// key, so a hand-edited or corrupted lock is caught before anything is
// downloaded. The lock holds no instance URL: one lock serves every GitLab
// instance the manifest or the environment points at.
//
// Fresh and Check compare lock entries with the manifest: an entry is reused
// without asking the registry only while it still describes what the
// manifest asks for.
package lock

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/gpmtool/gpm/internal/platform"
)

// FileName is the lock's conventional file name, beside packages.toml.
const FileName = "packages.lock"

// Version is the newest lock_version this gpm reads and writes. Version 2
// adds platforms: the platform set the lock covers, a package's platforms
// and replacements, and a file's platform. A lock that uses none of them is
// written as version 1, byte for byte what earlier gpm versions wrote; one
// that does is version 2, which an earlier gpm refuses with its "needs a
// newer gpm" message rather than misreading it.
//
// Version 3 adds a package's strip and bin; a lock that uses neither is
// written as before.
const Version = 3

// MinVersion is the oldest lock_version this gpm reads.
const MinVersion = 1

// File is a parsed packages.lock.
type File struct {
	// Version is lock_version, MinVersion to Version. Encode writes the
	// lowest version that can hold the content, and never a lower one
	// than this.
	Version int
	// Platforms is the platform set the lock covers (top-level key
	// `platforms`): the manifest's [install] platforms when it was
	// written. Encode writes it only when a package is platform-specific.
	Platforms []string
	// Packages are the locked packages, sorted by Name.
	Packages []Package
}

// Package is one [[package]] entry: a manifest package pinned to one
// registry version.
type Package struct {
	// Name is the local name, the manifest's [packages.NAME] key.
	Name string
	// Registry is the manifest's registry name; "" is the default registry
	// and is omitted from the file.
	Registry string
	// Project is the publisher project as in the manifest: a numeric ID
	// ("12345") or a full path ("group/sub/project").
	Project string
	// Package is the package name in the registry.
	Package string
	// Version is the locked version, spelled as the registry spells it
	// (e.g. "v1.4.2").
	Version string
	// Constraint is the manifest constraint the entry was resolved for, as
	// written.
	Constraint string
	// Globs are the manifest `files` globs the entry was resolved for (TOML
	// key `files`); empty means every file and is omitted from the file.
	Globs []string
	// Replacements are the manifest's replacements the entry was resolved
	// with; nil when none, and omitted from the file.
	Replacements map[string]string
	// PlatformGlobs are the manifest's `platforms` globs of the package
	// (TOML key `platforms`); empty means every platform and is omitted.
	PlatformGlobs []string
	// Targets are the platforms a platform-specific package is locked for:
	// File.Platforms within PlatformGlobs. They are not written: Parse
	// derives them, and resolution sets them.
	Targets []string
	// Extract is the manifest's extract setting (TOML key `extract`),
	// omitted from the file when false.
	Extract bool
	// Strip is the manifest's strip (TOML key `strip`), omitted when 0.
	Strip int
	// Bin maps command names to the manifest's bin paths (TOML key `bin`,
	// always written as a table); nil when none, and omitted. In a view
	// from ForPlatform the paths have their placeholders filled in.
	Bin map[string]string
	// PackageID is GitLab's ID of the package version (package_id).
	PackageID int64
	// Files are the locked files ([[package.file]]), sorted by Name.
	Files []FileEntry
}

// FileEntry is one [[package.file]] entry: a file of the locked version.
type FileEntry struct {
	// Name is the file name in the registry: a clean relative path, which
	// may contain "/".
	Name string
	// Size is the file size in bytes.
	Size int64
	// SHA256 is the file's SHA-256, 64 lowercase hex digits.
	SHA256 string
	// FileID is GitLab's ID of the package file (file_id).
	FileID int64
	// Platform is the platform ("linux-amd64") the file serves; "" for a
	// shared file, which serves every platform. One file may be locked
	// once per platform it serves.
	Platform string
}

// Specific reports whether the package's files depend on the platform.
func (p Package) Specific() bool { return platform.AnySpecific(p.Globs) }

// Has returns the platforms for which the package has files, sorted.
func (p Package) Has() []string {
	var out []string
	for _, f := range p.Files {
		if f.Platform != "" && !slices.Contains(out, f.Platform) {
			out = append(out, f.Platform)
		}
	}
	slices.Sort(out)
	return out
}

// ForPlatform returns the package as installed on plat: its shared files and
// the files of plat. ok is false when the package is platform-specific and
// has no file for plat.
func (p Package) ForPlatform(plat string) (view Package, ok bool) {
	view = p
	view.Bin = p.BinFor(plat)
	view.Files = nil
	found := false
	for _, f := range p.Files {
		switch f.Platform {
		case "":
			view.Files = append(view.Files, f)
		case plat:
			view.Files = append(view.Files, f)
			found = true
		}
	}
	return view, found || !p.Specific()
}

// BinFor returns the package's bin paths with their placeholders filled in
// for plat ("OS-ARCH") and the locked version; nil when it has none.
func (p Package) BinFor(plat string) map[string]string {
	if len(p.Bin) == 0 {
		return nil
	}
	pl, _ := platform.Parse(plat) // the zero Platform for an invalid name: only {version} is replaced
	out := make(map[string]string, len(p.Bin))
	for name, glob := range p.Bin {
		out[name] = platform.Expand(glob, pl, p.Version, p.Replacements)
	}
	return out
}

// Lookup returns the package with the given local name. Packages sorted by
// name, as Parse returns them and as gpm writes them, are found by binary
// search: callers look up every package in turn, which took 1,000 x 1,000
// comparisons for a lock of 1,000 packages. A name it misses is looked for
// in order, so an unsorted Packages still works.
func (f *File) Lookup(name string) (Package, bool) {
	if f == nil {
		return Package{}, false
	}
	if i, ok := slices.BinarySearchFunc(f.Packages, name, func(p Package, n string) int { return strings.Compare(p.Name, n) }); ok {
		return f.Packages[i], true
	}
	for _, p := range f.Packages {
		if p.Name == name {
			return p, true
		}
	}
	return Package{}, false
}

// ErrInvalid is matched (errors.Is) by every error Parse and Read return for
// a lock that exists but cannot be used: bad TOML, unknown keys, wrong types,
// missing or invalid fields, or an unsupported lock_version.
var ErrInvalid = errors.New("invalid lock file")

// Error is a problem in a lock file. It matches ErrInvalid.
type Error struct {
	Path string // the file, as given to Parse or Read
	Line int    // 1-based line, 0 when unknown
	Key  string // the entry at fault, e.g. `package "cli-tool": file "x"`; may be ""
	Msg  string // what is wrong, e.g. `sha256 "abc" is not 64 lowercase hex digits`
}

// Error returns "path:line: key: message", leaving out the parts that are
// unknown or empty.
func (e *Error) Error() string {
	var parts []string
	switch {
	case e.Path != "" && e.Line > 0:
		parts = append(parts, fmt.Sprintf("%s:%d", e.Path, e.Line))
	case e.Path != "":
		parts = append(parts, e.Path)
	}
	if e.Key != "" {
		parts = append(parts, e.Key)
	}
	return strings.Join(append(parts, e.Msg), ": ")
}

// Is reports whether target is ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Read reads and parses the lock file at path. A missing file is an error
// that matches fs.ErrNotExist.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Uncovered is a locked package that applies to a platform but cannot be
// installed there.
type Uncovered struct {
	Name, Version string
	// Targets are the platforms the package is locked for.
	Targets []string
	// Has are the platforms it has files for.
	Has []string
	// Covered says the platform is one of Targets: the publisher has no
	// build for it. Otherwise the lock does not cover the platform.
	Covered bool
}

// ForPlatform returns the lock as installed on plat ("OS-ARCH"): the
// packages that apply there, each with its shared files and plat's files.
// Packages whose platforms globs exclude plat are returned in skipped;
// platform-specific packages that cannot be installed on plat, in
// uncovered (and not in view).
func (f *File) ForPlatform(plat string) (view *File, skipped []Package, uncovered []Uncovered) {
	view = &File{Version: f.Version, Platforms: f.Platforms}
	for _, p := range f.Packages {
		if len(p.PlatformGlobs) > 0 && !platform.MatchAny(p.PlatformGlobs, plat) {
			skipped = append(skipped, p)
			continue
		}
		v, ok := p.ForPlatform(plat)
		if !ok {
			uncovered = append(uncovered, Uncovered{Name: p.Name, Version: p.Version, Targets: p.Targets, Has: p.Has(), Covered: slices.Contains(p.Targets, plat)})
			continue
		}
		view.Packages = append(view.Packages, v)
	}
	return view, skipped, uncovered
}
