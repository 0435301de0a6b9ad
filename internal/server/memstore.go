package server

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// MemStore is a Store that keeps everything in memory. The zero value is not
// usable; call NewMemStore.
type MemStore struct {
	mu         sync.RWMutex
	projects   map[int64]Project
	groups     map[int64]Group
	packages   map[int64]Package
	pkgIndex   pkgIndex
	files      map[int64]PackageFile
	index      fileIndex
	blobs      map[string][]byte
	lastPkgID  int64
	lastFileID int64
}

// NewMemStore returns an empty in-memory Store.
func NewMemStore() *MemStore {
	return &MemStore{
		projects: map[int64]Project{},
		groups:   map[int64]Group{},
		packages: map[int64]Package{},
		pkgIndex: newPkgIndex(),
		files:    map[int64]PackageFile{},
		index:    newFileIndex(),
		blobs:    map[string][]byte{},
	}
}

var _ Store = (*MemStore)(nil)

// CreateProject implements Store.
func (m *MemStore) CreateProject(p Project) (Project, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p.ID == 0 {
		p.ID = nextID(m.projects)
	}
	if _, ok := m.projects[p.ID]; ok {
		return Project{}, fmt.Errorf("project %d: %w", p.ID, ErrExist)
	}
	for _, q := range m.projects {
		if strings.EqualFold(q.Path, p.Path) {
			return Project{}, fmt.Errorf("project %q: %w", p.Path, ErrExist)
		}
	}
	m.projects[p.ID] = p
	addParentGroups(m.groups, p.Path)
	return p, nil
}

// DeleteProject implements Store.
func (m *MemStore) DeleteProject(id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.projects[id]
	if !ok {
		return fmt.Errorf("project %d: %w", id, ErrNotExist)
	}
	for _, pkg := range m.packages {
		if pkg.ProjectID == id {
			return fmt.Errorf("project %d holds packages: %w", id, ErrExist)
		}
	}
	delete(m.projects, id)
	for _, g := range unusedGroups(m.groups, m.projects, p.Path) {
		delete(m.groups, g)
	}
	return nil
}

// Groups implements Store.
func (m *MemStore) Groups() ([]Group, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]Group, 0, len(m.groups))
	for _, g := range m.groups {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b Group) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// Project implements Store.
func (m *MemStore) Project(id int64) (Project, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, ok := m.projects[id]
	if !ok {
		return Project{}, fmt.Errorf("project %d: %w", id, ErrNotExist)
	}
	return p, nil
}

// ProjectByPath implements Store.
func (m *MemStore) ProjectByPath(path string) (Project, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, p := range m.projects {
		if strings.EqualFold(p.Path, path) {
			return p, nil
		}
	}
	return Project{}, fmt.Errorf("project %q: %w", path, ErrNotExist)
}

// Projects implements Store.
func (m *MemStore) Projects() ([]Project, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]Project, 0, len(m.projects))
	for _, p := range m.projects {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Project) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// CreatePackage implements Store.
func (m *MemStore) CreatePackage(pkg Package, file PackageFile) (Package, PackageFile, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.projects[pkg.ProjectID]; !ok {
		return Package{}, PackageFile{}, fmt.Errorf("project %d: %w", pkg.ProjectID, ErrNotExist)
	}
	m.lastPkgID++
	pkg.ID = m.lastPkgID
	m.packages[pkg.ID] = pkg
	m.pkgIndex.add(pkg)
	m.lastFileID++
	file.ID = m.lastFileID
	file.PackageID = pkg.ID
	m.files[file.ID] = file
	m.index.add(file)
	return pkg, file, nil
}

// UpdatePackage implements Store.
func (m *MemStore) UpdatePackage(pkg Package) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.packages[pkg.ID]
	if !ok {
		return fmt.Errorf("package %d: %w", pkg.ID, ErrNotExist)
	}
	if err := checkPackageUpdate(old, pkg); err != nil {
		return err
	}
	m.packages[pkg.ID] = pkg
	return nil
}

// Package implements Store.
func (m *MemStore) Package(id int64) (Package, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, ok := m.packages[id]
	if !ok {
		return Package{}, fmt.Errorf("package %d: %w", id, ErrNotExist)
	}
	return p, nil
}

// Packages implements Store.
func (m *MemStore) Packages(projectID int64) ([]Package, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return records(m.pkgIndex.owned(projectID), m.packages), nil
}

// PackagesNamed implements Store.
func (m *MemStore) PackagesNamed(projectID int64, name string) ([]Package, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return records(m.pkgIndex.named(projectID, name), m.packages), nil
}

// CreateFile implements Store.
func (m *MemStore) CreateFile(f PackageFile) (PackageFile, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.packages[f.PackageID]; !ok {
		return PackageFile{}, fmt.Errorf("package %d: %w", f.PackageID, ErrNotExist)
	}
	m.lastFileID++
	f.ID = m.lastFileID
	m.files[f.ID] = f
	m.index.add(f)
	return f, nil
}

// UpdateFile implements Store.
func (m *MemStore) UpdateFile(f PackageFile) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.files[f.ID]
	if !ok {
		return fmt.Errorf("package file %d: %w", f.ID, ErrNotExist)
	}
	if err := checkUpdate(old, f); err != nil {
		return err
	}
	m.files[f.ID] = f
	return nil
}

// File implements Store.
func (m *MemStore) File(id int64) (PackageFile, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	f, ok := m.files[id]
	if !ok {
		return PackageFile{}, fmt.Errorf("package file %d: %w", id, ErrNotExist)
	}
	return f, nil
}

// Files implements Store.
func (m *MemStore) Files(packageID int64) ([]PackageFile, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return records(m.index.owned(packageID), m.files), nil
}

// FilesNamed implements Store.
func (m *MemStore) FilesNamed(packageID int64, fileName string) ([]PackageFile, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return records(m.index.named(packageID, fileName), m.files), nil
}

// NewBlob implements Store.
func (m *MemStore) NewBlob() (BlobWriter, error) {
	return &memBlobWriter{store: m}, nil
}

// OpenBlob implements Store.
func (m *MemStore) OpenBlob(key string) (Blob, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	b, ok := m.blobs[key]
	if !ok {
		return nil, fmt.Errorf("blob %q: %w", key, ErrNotExist)
	}
	return &memBlob{Reader: bytes.NewReader(b), size: int64(len(b))}, nil
}

type memBlobWriter struct {
	store *MemStore
	buf   bytes.Buffer
	done  bool
}

func (w *memBlobWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, fmt.Errorf("write to a finished blob")
	}
	return w.buf.Write(p)
}

func (w *memBlobWriter) Commit(key string) error {
	if w.done {
		return fmt.Errorf("commit of a finished blob")
	}
	w.done = true
	w.store.mu.Lock()
	defer w.store.mu.Unlock()
	if _, ok := w.store.blobs[key]; !ok {
		w.store.blobs[key] = bytes.Clone(w.buf.Bytes())
	}
	w.buf = bytes.Buffer{}
	return nil
}

func (w *memBlobWriter) Abort() error {
	w.done = true
	w.buf = bytes.Buffer{}
	return nil
}

type memBlob struct {
	*bytes.Reader
	size int64
}

func (b *memBlob) Close() error { return nil }
func (b *memBlob) Size() int64  { return b.size }
