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
	"strings"
)

// FileName is the lock's conventional file name, beside packages.toml.
const FileName = "packages.lock"

// Version is the lock_version this gpm reads and writes.
const Version = 1

// File is a parsed packages.lock.
type File struct {
	// Version is lock_version; Parse accepts only the constant Version.
	Version int
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
	// Extract is the manifest's extract setting (TOML key `extract`),
	// omitted from the file when false.
	Extract bool
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
}

// Lookup returns the package with the given local name.
func (f *File) Lookup(name string) (Package, bool) {
	if f == nil {
		return Package{}, false
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
