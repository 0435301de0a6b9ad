package server

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// ErrNotExist is returned by a Store when the project, package, file or blob
// asked for does not exist.
var ErrNotExist = errors.New("does not exist")

// ErrExist is returned by a Store when a project's ID or path is already
// taken.
var ErrExist = errors.New("already exists")

// Visibility levels of a project, as GitLab names them.
const (
	Public   = "public"
	Internal = "internal"
	Private  = "private"
)

// Package statuses, as GitLab names them.
const (
	StatusDefault            = "default"
	StatusHidden             = "hidden"
	StatusProcessing         = "processing"
	StatusError              = "error"
	StatusPendingDestruction = "pending_destruction"
	StatusDeprecated         = "deprecated"
)

// Project is a GitLab project that can hold packages.
type Project struct {
	ID int64
	// Path is the full path, e.g. "group/sub/proj". Lookups by path ignore
	// case, as GitLab's do.
	Path string
	// Visibility is Public, Internal or Private; empty means Private.
	Visibility string
	// PackageRegistryPublic makes the package registry readable by everyone
	// even when the project is private (GitLab's package registry access
	// level "Everyone"). It opens generic downloads and the package_files
	// list, not the package list, exactly as in GitLab.
	PackageRegistryPublic bool
}

// Name returns the last element of the project's path, which GitLab calls the
// project's path (as opposed to its full path).
func (p Project) Name() string {
	return p.Path[strings.LastIndex(p.Path, "/")+1:]
}

func (p Project) visibility() string {
	if p.Visibility == "" {
		return Private
	}
	return p.Visibility
}

// Package is one name+version of a generic package in a project.
type Package struct {
	ID        int64
	ProjectID int64
	Name      string
	Version   string
	// Type is the package type; this server only creates "generic".
	Type             string
	Status           string
	CreatedAt        time.Time
	UpdatedAt        time.Time
	LastDownloadedAt time.Time // zero when never downloaded
}

// PackageFile is one uploaded file of a package. Several files of a package
// may share a FileName: each upload of the same name adds a record.
type PackageFile struct {
	ID        int64
	PackageID int64
	// FileName is the stored name: for a file uploaded under a directory
	// path it is the whole path URL-encoded, e.g. "dir%2Ffile.bin".
	FileName string
	Size     int64
	SHA256   string // lowercase hex; also the key of the file's blob
	// Status is StatusDefault, StatusPendingDestruction, StatusProcessing
	// or StatusError.
	Status    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Store keeps a Server's projects, packages, package files and blobs.
//
// Every method is atomic and safe for concurrent use. A Server serializes its
// own read-modify-write sequences, so a Store needs no transactions beyond
// single calls. Lists are returned in ascending ID order and are copies the
// caller may keep.
type Store interface {
	// CreateProject stores a new project. A zero ID is replaced by the next
	// free one (see nextID). It fails with ErrExist if the ID or the path
	// (ignoring case) is taken. Each parent group of the path that is not
	// stored yet ("acme" and "acme/tools" for "acme/tools/cli") is stored
	// with it, under the next free group ID, so that groups have stable
	// numeric IDs.
	CreateProject(p Project) (Project, error)
	// DeleteProject removes a project that holds no package, and each
	// group above it that no other project is below: it undoes a
	// CreateProject whose first upload failed. It fails with ErrNotExist
	// for no such project, and ErrExist when the project holds a package.
	DeleteProject(id int64) error
	// Project returns the project with the given ID, or ErrNotExist.
	Project(id int64) (Project, error)
	// ProjectByPath returns the project with the given full path, ignoring
	// case, or ErrNotExist.
	ProjectByPath(path string) (Project, error)
	// Projects returns every project.
	Projects() ([]Project, error)
	// Groups returns every group CreateProject stored. A stored group has
	// an ID and a path, no visibility of its own.
	Groups() ([]Group, error)

	// CreatePackage stores a new package together with its first file, so
	// that no package is ever visible without the file that created it. It
	// assigns both IDs; file.PackageID is set to the new package's ID.
	CreatePackage(pkg Package, file PackageFile) (Package, PackageFile, error)
	// UpdatePackage replaces the stored package with the same ID. A
	// package's project and name never change: an update that changes
	// them fails.
	UpdatePackage(pkg Package) error
	// Package returns the package with the given ID, or ErrNotExist.
	Package(id int64) (Package, error)
	// Packages returns every package of a project, whatever its status.
	Packages(projectID int64) ([]Package, error)
	// PackagesNamed returns the packages of a project with exactly that
	// name, every version and status: what a download and an upload
	// need, without copying every package of a project of thousands.
	PackagesNamed(projectID int64, name string) ([]Package, error)

	// CreateFile adds a file to an existing package and assigns its ID.
	CreateFile(f PackageFile) (PackageFile, error)
	// UpdateFile replaces the stored file with the same ID. A file's
	// package and name never change: an update that changes them fails.
	UpdateFile(f PackageFile) error
	// File returns the package file with the given ID, or ErrNotExist.
	File(id int64) (PackageFile, error)
	// Files returns every file of a package, whatever its status.
	Files(packageID int64) ([]PackageFile, error)
	// FilesNamed returns the files of a package stored under fileName,
	// whatever their status: what a download by name and the duplicate
	// check need, without copying every file of a package of thousands.
	FilesNamed(packageID int64, fileName string) ([]PackageFile, error)

	// NewBlob starts writing a blob. Nothing written becomes visible until
	// Commit; Abort (or never committing) discards it.
	NewBlob() (BlobWriter, error)
	// OpenBlob opens a committed blob, or fails with ErrNotExist.
	OpenBlob(key string) (Blob, error)
}

// nextID is the ID a store gives a new record when taken holds the IDs in
// use: one more than the highest, or, once the highest is math.MaxInt64
// (a client may create a project with any positive ID), the lowest free
// one, so that an ID never wraps around to a negative number.
func nextID[T any](taken map[int64]T) int64 {
	var top int64
	for id := range taken {
		top = max(top, id)
	}
	if top < math.MaxInt64 {
		return top + 1
	}
	for id := int64(1); ; id++ {
		if _, ok := taken[id]; !ok {
			return id
		}
	}
}

// parentGroups returns the full paths of the groups above a project path,
// outermost first: "acme", "acme/tools" for "acme/tools/cli".
func parentGroups(projectPath string) []string {
	var out []string
	for i := 0; i < len(projectPath); i++ {
		if projectPath[i] == '/' && i > 0 {
			out = append(out, projectPath[:i])
		}
	}
	return out
}

// unusedGroups returns the IDs of the groups above projectPath that no
// project of projects is below.
func unusedGroups(groups map[int64]Group, projects map[int64]Project, projectPath string) []int64 {
	var out []int64
	for id, g := range groups {
		if !slices.ContainsFunc(parentGroups(projectPath), func(gp string) bool { return strings.EqualFold(gp, g.Path) }) {
			continue
		}
		used := false
		for _, p := range projects {
			if len(p.Path) > len(g.Path) && strings.EqualFold(p.Path[:len(g.Path)+1], g.Path+"/") {
				used = true
				break
			}
		}
		if !used {
			out = append(out, id)
		}
	}
	return out
}

// addParentGroups stores in groups each parent group of projectPath that it
// does not hold yet (ignoring case) and returns the IDs it added.
func addParentGroups(groups map[int64]Group, projectPath string) []int64 {
	var added []int64
	for _, gp := range parentGroups(projectPath) {
		found := false
		for _, g := range groups {
			if strings.EqualFold(g.Path, gp) {
				found = true
				break
			}
		}
		if !found {
			id := nextID(groups)
			groups[id] = Group{ID: id, Path: gp}
			added = append(added, id)
		}
	}
	return added
}

// BlobWriter streams the bytes of a new blob.
type BlobWriter interface {
	io.Writer
	// Commit makes the bytes written so far readable under key, atomically.
	// Committing an existing key keeps the existing blob (blobs are
	// content-addressed, so both are the same bytes).
	Commit(key string) error
	// Abort discards the bytes. It is a no-op after Commit.
	Abort() error
}

// Blob is a committed blob opened for reading.
type Blob interface {
	io.ReadSeekCloser
	// Size returns the blob's length in bytes.
	Size() int64
}

// idIndex finds records by owner (a project's packages, a package's
// files), and by owner and name, in ID order, without walking and copying
// every record of the store: each download looks up one, and with the walk
// a registry of 3,000 packages or 10,000 files spent most of its CPU
// there. Stores hand out increasing IDs, so add appends.
type idIndex struct {
	byOwner map[int64][]int64
	byName  map[ownedName][]int64
}

type ownedName struct {
	owner int64
	name  string
}

func newIDIndex() idIndex {
	return idIndex{byOwner: map[int64][]int64{}, byName: map[ownedName][]int64{}}
}

// add indexes id, which must be above every indexed ID.
func (x idIndex) add(owner int64, name string, id int64) {
	x.byOwner[owner] = append(x.byOwner[owner], id)
	k := ownedName{owner, name}
	x.byName[k] = append(x.byName[k], id)
}

// remove drops id from the index (a DiskStore undoing a failed create).
func (x idIndex) remove(owner int64, name string, id int64) {
	x.byOwner[owner] = dropID(x.byOwner[owner], id)
	k := ownedName{owner, name}
	if x.byName[k] = dropID(x.byName[k], id); len(x.byName[k]) == 0 {
		delete(x.byName, k)
	}
}

// owned returns the IDs of owner's records, in ID order.
func (x idIndex) owned(owner int64) []int64 { return x.byOwner[owner] }

// named returns the IDs of owner's records named name, in ID order.
func (x idIndex) named(owner int64, name string) []int64 { return x.byName[ownedName{owner, name}] }

// records returns the records of ids, in their order.
func records[R any](ids []int64, all map[int64]R) []R {
	out := make([]R, 0, len(ids))
	for _, id := range ids {
		out = append(out, all[id])
	}
	return out
}

func dropID(ids []int64, id int64) []int64 {
	if i := slices.Index(ids, id); i >= 0 {
		return slices.Delete(ids, i, i+1)
	}
	return ids
}

// pkgIndex indexes packages by project, and by project and name.
type pkgIndex struct{ idIndex }

func newPkgIndex() pkgIndex         { return pkgIndex{newIDIndex()} }
func (x pkgIndex) add(p Package)    { x.idIndex.add(p.ProjectID, p.Name, p.ID) }
func (x pkgIndex) remove(p Package) { x.idIndex.remove(p.ProjectID, p.Name, p.ID) }

// checkPackageUpdate refuses an update that would move a package to
// another project or name.
func checkPackageUpdate(old, p Package) error {
	if old.ProjectID != p.ProjectID || old.Name != p.Name {
		return fmt.Errorf("package %d: its project and name cannot change", p.ID)
	}
	return nil
}

// fileIndex indexes files by package, and by package and name.
type fileIndex struct{ idIndex }

func newFileIndex() fileIndex            { return fileIndex{newIDIndex()} }
func (x fileIndex) add(f PackageFile)    { x.idIndex.add(f.PackageID, f.FileName, f.ID) }
func (x fileIndex) remove(f PackageFile) { x.idIndex.remove(f.PackageID, f.FileName, f.ID) }

// checkUpdate refuses an update that would move a file to another package
// or name.
func checkUpdate(old, f PackageFile) error {
	if old.PackageID != f.PackageID || old.FileName != f.FileName {
		return fmt.Errorf("package file %d: its package and name cannot change", f.ID)
	}
	return nil
}
