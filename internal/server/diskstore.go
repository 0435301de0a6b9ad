package server

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/lockedfile"
)

// ErrLocked is returned by NewDiskStore when another process (or another
// DiskStore of this one) has the directory open.
var ErrLocked = errors.New("in use by another process")

// diskLockWait is how long NewDiskStore waits for the directory lock before
// it gives up with ErrLocked. Taking a free lock takes microseconds; the
// wait only lets a server that is still shutting down let go.
var diskLockWait = 500 * time.Millisecond

// diskFormat is the version of meta.json's layout.
const diskFormat = 1

// DiskStore is a Store that keeps everything in one directory, so that a
// registry survives restarts and crashes:
//
//	DIR/lock                 cross-process lock held while the store is open
//	DIR/meta.json            projects, groups, packages, files and ID counters
//	DIR/blobs/sha256/<hex>   file contents, named by their SHA-256
//	DIR/tmp/                 blobs and metadata being written
//
// Blobs are written to DIR/tmp, hashed as they arrive, and renamed into
// blobs/sha256 by Commit after an fsync, so a partial upload never becomes
// visible. Every change to the metadata rewrites meta.json whole (temp file,
// fsync, rename) before the call returns; a change that cannot be written is
// undone and reported. The one exception is a package's LastDownloadedAt,
// which is written with the next change or by Close, so that downloads cost
// no disk writes.
//
// Only one DiskStore may have a directory open at a time, across processes:
// NewDiskStore fails with ErrLocked while another has it. Whatever a crash
// left behind is removed when the store is opened: DIR/tmp, and blobs that
// no package file names (committed by an upload whose metadata was never
// written).
type DiskStore struct {
	dir    string
	unlock func()

	mu         sync.RWMutex // guards the fields below and meta.json
	projects   map[int64]Project
	groups     map[int64]Group
	packages   map[int64]Package
	pkgIndex   pkgIndex
	files      map[int64]PackageFile
	index      fileIndex
	lastPkgID  int64
	lastFileID int64
	dirty      bool // LastDownloadedAt changed since the last write
	closed     bool
}

var _ Store = (*DiskStore)(nil)

// NewDiskStore opens the store in dir, creating dir and an empty store if
// needed. It fails with ErrLocked if another DiskStore has dir open. Call
// Close to write pending changes and release the directory.
func NewDiskStore(dir string) (*DiskStore, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("registry directory %q: %w", dir, err)
	}
	for _, d := range []string{abs, filepath.Join(abs, "blobs", "sha256")} {
		if err := os.MkdirAll(d, 0o777); err != nil {
			return nil, fmt.Errorf("registry directory: %w", err)
		}
	}
	unlock, err := tryLock(filepath.Join(abs, "lock"))
	if err != nil {
		return nil, fmt.Errorf("registry directory %q: %w", dir, err)
	}
	d := &DiskStore{
		dir:      abs,
		unlock:   unlock,
		projects: map[int64]Project{},
		groups:   map[int64]Group{},
		packages: map[int64]Package{},
		pkgIndex: newPkgIndex(),
		files:    map[int64]PackageFile{},
		index:    newFileIndex(),
	}
	if err := d.open(); err != nil {
		unlock()
		return nil, fmt.Errorf("registry directory %q: %w", dir, err)
	}
	return d, nil
}

// tryLock takes the lock file at path, or fails with ErrLocked when it is
// not free within diskLockWait. lockedfile only blocks, so the attempt runs
// in a goroutine that, if abandoned, releases the lock as soon as it gets it.
func tryLock(path string) (func(), error) {
	type result struct {
		unlock func()
		err    error
	}
	got := make(chan result, 1)
	var mu sync.Mutex
	abandoned := false
	go func() {
		unlock, err := lockedfile.MutexAt(path).Lock()
		mu.Lock()
		defer mu.Unlock()
		if abandoned {
			if err == nil {
				unlock()
			}
			return
		}
		got <- result{unlock, err}
	}()
	t := time.NewTimer(diskLockWait)
	defer t.Stop()
	select {
	case r := <-got:
		return r.unlock, r.err
	case <-t.C:
	}
	mu.Lock()
	defer mu.Unlock()
	select {
	case r := <-got:
		return r.unlock, r.err
	default:
		abandoned = true
		return nil, ErrLocked
	}
}

// open removes leftovers of a crash and loads meta.json.
func (d *DiskStore) open() error {
	tmp := filepath.Join(d.dir, "tmp")
	if err := os.MkdirAll(tmp, 0o777); err != nil {
		return err
	}
	// Only the files the store writes there: DIR may have held a tmp of
	// its own before it became a registry (gpm serve --dir .).
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if name := e.Name(); (strings.HasPrefix(name, "blob-") || strings.HasPrefix(name, "meta-")) && e.Type().IsRegular() {
			if err := os.Remove(filepath.Join(tmp, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove temporary files: %w", err)
			}
		}
	}
	data, err := os.ReadFile(d.metaPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var m diskMeta
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("%s: %w", d.metaPath(), err)
	}
	if m.Format != diskFormat {
		return fmt.Errorf("%s: format %d, want %d (written by another version of gpm?)", d.metaPath(), m.Format, diskFormat)
	}
	d.lastPkgID, d.lastFileID = m.LastPackageID, m.LastFileID
	for _, p := range m.Projects {
		if _, dup := d.projects[p.ID]; dup || p.ID <= 0 {
			return fmt.Errorf("%s: bad or duplicate project id %d", d.metaPath(), p.ID)
		}
		d.projects[p.ID] = Project{ID: p.ID, Path: p.Path, Visibility: p.Visibility, PackageRegistryPublic: p.PackageRegistryPublic}
	}
	for _, g := range m.Groups {
		if _, dup := d.groups[g.ID]; dup || g.ID <= 0 || g.Path == "" {
			return fmt.Errorf("%s: bad or duplicate group id %d", d.metaPath(), g.ID)
		}
		d.groups[g.ID] = Group{ID: g.ID, Path: g.Path}
	}
	// Stores written before groups were stored get them now, in the order
	// their projects were created.
	for _, p := range sortedByID(d.projects, func(p Project) int64 { return p.ID }) {
		if len(addParentGroups(d.groups, p.Path)) > 0 {
			d.dirty = true
		}
	}
	for _, p := range m.Packages {
		if _, dup := d.packages[p.ID]; dup || p.ID <= 0 || p.ID > d.lastPkgID {
			return fmt.Errorf("%s: bad or duplicate package id %d", d.metaPath(), p.ID)
		}
		if _, ok := d.projects[p.ProjectID]; !ok {
			return fmt.Errorf("%s: package %d: no project %d", d.metaPath(), p.ID, p.ProjectID)
		}
		d.packages[p.ID] = Package{
			ID: p.ID, ProjectID: p.ProjectID, Name: p.Name, Version: p.Version, Type: p.Type, Status: p.Status,
			CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, LastDownloadedAt: p.LastDownloadedAt,
		}
	}
	for _, f := range m.Files {
		if _, dup := d.files[f.ID]; dup || f.ID <= 0 || f.ID > d.lastFileID {
			return fmt.Errorf("%s: bad or duplicate package file id %d", d.metaPath(), f.ID)
		}
		if _, ok := d.packages[f.PackageID]; !ok {
			return fmt.Errorf("%s: package file %d: no package %d", d.metaPath(), f.ID, f.PackageID)
		}
		if !validBlobKey(f.SHA256) {
			return fmt.Errorf("%s: package file %d: bad sha256 %q", d.metaPath(), f.ID, f.SHA256)
		}
		d.files[f.ID] = PackageFile{
			ID: f.ID, PackageID: f.PackageID, FileName: f.FileName, Size: f.Size, SHA256: f.SHA256, Status: f.Status,
			CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt,
		}
	}
	for _, p := range sortedByID(d.packages, func(p Package) int64 { return p.ID }) {
		d.pkgIndex.add(p)
	}
	for _, f := range sortedByID(d.files, func(f PackageFile) int64 { return f.ID }) {
		d.index.add(f)
	}
	return d.removeOrphanBlobs()
}

// removeOrphanBlobs removes the blobs no package file names: an upload whose
// blob was committed but whose metadata was never written, because the
// process died in between. It runs only while opening, under the
// directory lock, when no upload can be between the two steps.
func (d *DiskStore) removeOrphanBlobs() error {
	used := make(map[string]bool, len(d.files))
	for _, f := range d.files {
		used[f.SHA256] = true
	}
	dir := filepath.Join(d.dir, "blobs", "sha256")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if name := e.Name(); validBlobKey(name) && !used[name] && e.Type().IsRegular() {
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove unused blob: %w", err)
			}
		}
	}
	return nil
}

// Dir returns the store's directory as an absolute path.
func (d *DiskStore) Dir() string { return d.dir }

// Close writes a pending LastDownloadedAt and releases the directory. The
// store must not be used afterwards.
func (d *DiskStore) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	var err error
	if d.dirty {
		err = d.write()
	}
	d.closed = true
	d.unlock()
	return err
}

func (d *DiskStore) metaPath() string { return filepath.Join(d.dir, "meta.json") }

func (d *DiskStore) blobPath(key string) string {
	return filepath.Join(d.dir, "blobs", "sha256", key)
}

var errClosed = errors.New("store is closed")

// change runs apply under the write lock and persists the result; when the
// write fails it runs the undo that apply returned.
func (d *DiskStore) change(apply func() (undo func(), err error)) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errClosed
	}
	undo, err := apply()
	if err != nil {
		return err
	}
	if err := d.write(); err != nil {
		undo()
		return err
	}
	return nil
}

// write replaces meta.json with the current metadata. d.mu must be held.
func (d *DiskStore) write() error {
	m := diskMeta{Format: diskFormat, LastPackageID: d.lastPkgID, LastFileID: d.lastFileID,
		Projects: []diskProject{}, Packages: []diskPackage{}, Files: []diskFile{}}
	for _, p := range sortedByID(d.projects, func(p Project) int64 { return p.ID }) {
		m.Projects = append(m.Projects, diskProject{ID: p.ID, Path: p.Path, Visibility: p.Visibility, PackageRegistryPublic: p.PackageRegistryPublic})
	}
	for _, g := range sortedByID(d.groups, func(g Group) int64 { return g.ID }) {
		m.Groups = append(m.Groups, diskGroup{ID: g.ID, Path: g.Path})
	}
	for _, p := range sortedByID(d.packages, func(p Package) int64 { return p.ID }) {
		m.Packages = append(m.Packages, diskPackage{
			ID: p.ID, ProjectID: p.ProjectID, Name: p.Name, Version: p.Version, Type: p.Type, Status: p.Status,
			CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, LastDownloadedAt: p.LastDownloadedAt,
		})
	}
	for _, f := range sortedByID(d.files, func(f PackageFile) int64 { return f.ID }) {
		m.Files = append(m.Files, diskFile{
			ID: f.ID, PackageID: f.PackageID, FileName: f.FileName, Size: f.Size, SHA256: f.SHA256, Status: f.Status,
			CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt,
		})
	}
	data, err := json.MarshalIndent(m, "", "\t")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(d.dir, "tmp"), d.metaPath(), append(data, '\n')); err != nil {
		return fmt.Errorf("write registry metadata: %w", err)
	}
	d.dirty = false
	return nil
}

func sortedByID[T any](m map[int64]T, id func(T) int64) []T {
	out := make([]T, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b T) int { return cmp.Compare(id(a), id(b)) })
	return out
}

// writeFileAtomic writes data to a temp file in tmpDir, syncs it and renames
// it over path, so that path holds either its old or its new content.
func writeFileAtomic(tmpDir, path string, data []byte) (err error) {
	f, err := os.CreateTemp(tmpDir, "meta-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes a rename in dir durable. Windows cannot open a directory
// for syncing, and its renames need no such step.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// diskMeta is the layout of meta.json. Its field names are a file format:
// change them only together with diskFormat. Groups came later within
// format 1: a store without them gets them when it is opened.
type diskMeta struct {
	Format        int           `json:"format"`
	LastPackageID int64         `json:"last_package_id"`
	LastFileID    int64         `json:"last_file_id"`
	Projects      []diskProject `json:"projects"`
	Groups        []diskGroup   `json:"groups,omitempty"`
	Packages      []diskPackage `json:"packages"`
	Files         []diskFile    `json:"files"`
}

type diskGroup struct {
	ID   int64  `json:"id"`
	Path string `json:"path"`
}

type diskProject struct {
	ID                    int64  `json:"id"`
	Path                  string `json:"path"`
	Visibility            string `json:"visibility,omitempty"`
	PackageRegistryPublic bool   `json:"package_registry_public,omitempty"`
}

type diskPackage struct {
	ID               int64     `json:"id"`
	ProjectID        int64     `json:"project_id"`
	Name             string    `json:"name"`
	Version          string    `json:"version"`
	Type             string    `json:"type"`
	Status           string    `json:"status"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
	LastDownloadedAt time.Time `json:"last_downloaded_at,omitzero"`
}

type diskFile struct {
	ID        int64     `json:"id"`
	PackageID int64     `json:"package_id"`
	FileName  string    `json:"file_name"`
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// CreateProject implements Store.
func (d *DiskStore) CreateProject(p Project) (Project, error) {
	err := d.change(func() (func(), error) {
		if p.ID == 0 {
			p.ID = nextID(d.projects)
		}
		if _, ok := d.projects[p.ID]; ok {
			return nil, fmt.Errorf("project %d: %w", p.ID, ErrExist)
		}
		for _, q := range d.projects {
			if strings.EqualFold(q.Path, p.Path) {
				return nil, fmt.Errorf("project %q: %w", p.Path, ErrExist)
			}
		}
		d.projects[p.ID] = p
		groups := addParentGroups(d.groups, p.Path)
		return func() {
			delete(d.projects, p.ID)
			for _, id := range groups {
				delete(d.groups, id)
			}
		}, nil
	})
	if err != nil {
		return Project{}, err
	}
	return p, nil
}

// DeleteProject implements Store.
func (d *DiskStore) DeleteProject(id int64) error {
	return d.change(func() (func(), error) {
		p, ok := d.projects[id]
		if !ok {
			return nil, fmt.Errorf("project %d: %w", id, ErrNotExist)
		}
		for _, pkg := range d.packages {
			if pkg.ProjectID == id {
				return nil, fmt.Errorf("project %d holds packages: %w", id, ErrExist)
			}
		}
		delete(d.projects, id)
		removed := map[int64]Group{}
		for _, g := range unusedGroups(d.groups, d.projects, p.Path) {
			removed[g] = d.groups[g]
			delete(d.groups, g)
		}
		return func() {
			d.projects[id] = p
			maps.Copy(d.groups, removed)
		}, nil
	})
}

// Groups implements Store.
func (d *DiskStore) Groups() ([]Group, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return sortedByID(d.groups, func(g Group) int64 { return g.ID }), nil
}

// Project implements Store.
func (d *DiskStore) Project(id int64) (Project, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	p, ok := d.projects[id]
	if !ok {
		return Project{}, fmt.Errorf("project %d: %w", id, ErrNotExist)
	}
	return p, nil
}

// ProjectByPath implements Store.
func (d *DiskStore) ProjectByPath(path string) (Project, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, p := range d.projects {
		if strings.EqualFold(p.Path, path) {
			return p, nil
		}
	}
	return Project{}, fmt.Errorf("project %q: %w", path, ErrNotExist)
}

// Projects implements Store.
func (d *DiskStore) Projects() ([]Project, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return sortedByID(d.projects, func(p Project) int64 { return p.ID }), nil
}

// CreatePackage implements Store.
func (d *DiskStore) CreatePackage(pkg Package, file PackageFile) (Package, PackageFile, error) {
	err := d.change(func() (func(), error) {
		if _, ok := d.projects[pkg.ProjectID]; !ok {
			return nil, fmt.Errorf("project %d: %w", pkg.ProjectID, ErrNotExist)
		}
		lastPkg, lastFile := d.lastPkgID, d.lastFileID
		d.lastPkgID++
		pkg.ID = d.lastPkgID
		d.packages[pkg.ID] = pkg
		d.pkgIndex.add(pkg)
		d.lastFileID++
		file.ID = d.lastFileID
		file.PackageID = pkg.ID
		d.files[file.ID] = file
		d.index.add(file)
		return func() {
			delete(d.packages, pkg.ID)
			d.pkgIndex.remove(pkg)
			delete(d.files, file.ID)
			d.index.remove(file)
			d.lastPkgID, d.lastFileID = lastPkg, lastFile
		}, nil
	})
	if err != nil {
		return Package{}, PackageFile{}, err
	}
	return pkg, file, nil
}

// UpdatePackage implements Store. A change of LastDownloadedAt alone is
// kept in memory until the next write or Close.
func (d *DiskStore) UpdatePackage(pkg Package) error {
	d.mu.Lock()
	old, ok := d.packages[pkg.ID]
	if ok {
		if err := checkPackageUpdate(old, pkg); err != nil {
			d.mu.Unlock()
			return err
		}
	}
	if ok && !d.closed {
		onlyDownload := old
		onlyDownload.LastDownloadedAt = pkg.LastDownloadedAt
		if onlyDownload == pkg {
			d.packages[pkg.ID] = pkg
			d.dirty = true
			d.mu.Unlock()
			return nil
		}
	}
	d.mu.Unlock()
	return d.change(func() (func(), error) {
		old, ok := d.packages[pkg.ID]
		if !ok {
			return nil, fmt.Errorf("package %d: %w", pkg.ID, ErrNotExist)
		}
		d.packages[pkg.ID] = pkg
		return func() { d.packages[pkg.ID] = old }, nil
	})
}

// Package implements Store.
func (d *DiskStore) Package(id int64) (Package, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	p, ok := d.packages[id]
	if !ok {
		return Package{}, fmt.Errorf("package %d: %w", id, ErrNotExist)
	}
	return p, nil
}

// Packages implements Store.
func (d *DiskStore) Packages(projectID int64) ([]Package, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return records(d.pkgIndex.owned(projectID), d.packages), nil
}

// PackagesNamed implements Store.
func (d *DiskStore) PackagesNamed(projectID int64, name string) ([]Package, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return records(d.pkgIndex.named(projectID, name), d.packages), nil
}

// CreateFile implements Store.
func (d *DiskStore) CreateFile(f PackageFile) (PackageFile, error) {
	err := d.change(func() (func(), error) {
		if _, ok := d.packages[f.PackageID]; !ok {
			return nil, fmt.Errorf("package %d: %w", f.PackageID, ErrNotExist)
		}
		last := d.lastFileID
		d.lastFileID++
		f.ID = d.lastFileID
		d.files[f.ID] = f
		d.index.add(f)
		return func() {
			delete(d.files, f.ID)
			d.index.remove(f)
			d.lastFileID = last
		}, nil
	})
	if err != nil {
		return PackageFile{}, err
	}
	return f, nil
}

// UpdateFile implements Store.
func (d *DiskStore) UpdateFile(f PackageFile) error {
	return d.change(func() (func(), error) {
		old, ok := d.files[f.ID]
		if !ok {
			return nil, fmt.Errorf("package file %d: %w", f.ID, ErrNotExist)
		}
		if err := checkUpdate(old, f); err != nil {
			return nil, err
		}
		d.files[f.ID] = f
		return func() { d.files[f.ID] = old }, nil
	})
}

// File implements Store.
func (d *DiskStore) File(id int64) (PackageFile, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	f, ok := d.files[id]
	if !ok {
		return PackageFile{}, fmt.Errorf("package file %d: %w", id, ErrNotExist)
	}
	return f, nil
}

// Files implements Store.
func (d *DiskStore) Files(packageID int64) ([]PackageFile, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return records(d.index.owned(packageID), d.files), nil
}

// FilesNamed implements Store.
func (d *DiskStore) FilesNamed(packageID int64, fileName string) ([]PackageFile, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return records(d.index.named(packageID, fileName), d.files), nil
}

// NewBlob implements Store. The blob is written to a temp file in DIR/tmp;
// Commit requires its key to be the SHA-256 of the bytes, in lowercase hex.
func (d *DiskStore) NewBlob() (BlobWriter, error) {
	d.mu.RLock()
	closed := d.closed
	d.mu.RUnlock()
	if closed {
		return nil, errClosed
	}
	f, err := os.CreateTemp(filepath.Join(d.dir, "tmp"), "blob-*")
	if err != nil {
		return nil, fmt.Errorf("new blob: %w", err)
	}
	return &diskBlobWriter{store: d, f: f, h: sha256.New()}, nil
}

// OpenBlob implements Store.
func (d *DiskStore) OpenBlob(key string) (Blob, error) {
	if !validBlobKey(key) {
		return nil, fmt.Errorf("blob %q: %w", key, ErrNotExist)
	}
	f, err := os.Open(d.blobPath(key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %q: %w", key, ErrNotExist)
	}
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &diskBlob{File: f, size: fi.Size()}, nil
}

// validBlobKey reports whether key is a SHA-256 in lowercase hex, which is
// also what keeps it a single, safe file name.
func validBlobKey(key string) bool {
	if len(key) != sha256.Size*2 {
		return false
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

type diskBlobWriter struct {
	store *DiskStore
	f     *os.File
	h     hash.Hash
	done  bool
}

func (w *diskBlobWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, fmt.Errorf("write to a finished blob")
	}
	n, err := w.f.Write(p)
	w.h.Write(p[:n])
	return n, err
}

// Commit syncs the temp file and renames it to blobs/sha256/key. The key
// must be the SHA-256 of what was written.
func (w *diskBlobWriter) Commit(key string) (err error) {
	if w.done {
		return fmt.Errorf("commit of a finished blob")
	}
	w.done = true
	defer func() {
		if err != nil {
			w.f.Close()
			os.Remove(w.f.Name())
		}
	}()
	if sum := hex.EncodeToString(w.h.Sum(nil)); key != sum {
		return fmt.Errorf("commit blob %q: the content's sha256 is %s", key, sum)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("commit blob %s: %w", key, err)
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("commit blob %s: %w", key, err)
	}
	final := w.store.blobPath(key)
	if _, err := os.Stat(final); err == nil {
		// Content-addressed: the existing blob holds the same bytes.
		os.Remove(w.f.Name())
		return nil
	}
	if err := os.Rename(w.f.Name(), final); err != nil {
		return fmt.Errorf("commit blob %s: %w", key, err)
	}
	if err := syncDir(filepath.Dir(final)); err != nil {
		return fmt.Errorf("commit blob %s: %w", key, err)
	}
	return nil
}

func (w *diskBlobWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	if err := os.Remove(w.f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

type diskBlob struct {
	*os.File
	size int64
}

func (b *diskBlob) Size() int64 { return b.size }
