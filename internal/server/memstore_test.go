package server

import (
	"errors"
	"io"
	"testing"
)

func TestMemStoreBlobs(t *testing.T) {
	m := NewMemStore()
	w, err := m.NewBlob()
	must(t, err)
	w.Write([]byte("hello "))
	if _, err := m.OpenBlob("k"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("uncommitted blob visible: %v", err)
	}
	w.Write([]byte("world"))
	must(t, w.Commit("k"))
	if _, err := w.Write([]byte("more")); err == nil {
		t.Error("write after commit succeeded")
	}
	b, err := m.OpenBlob("k")
	must(t, err)
	got, _ := io.ReadAll(b)
	if string(got) != "hello world" || b.Size() != 11 {
		t.Errorf("blob %q size %d", got, b.Size())
	}
	// An aborted blob never appears; committing a taken key keeps the
	// first blob.
	a, _ := m.NewBlob()
	a.Write([]byte("partial"))
	must(t, a.Abort())
	if _, err := m.OpenBlob("partial"); !errors.Is(err, ErrNotExist) {
		t.Error("aborted blob visible")
	}
	c, _ := m.NewBlob()
	c.Write([]byte("other"))
	must(t, c.Commit("k"))
	b, _ = m.OpenBlob("k")
	if got, _ := io.ReadAll(b); string(got) != "hello world" {
		t.Errorf("blob replaced: %q", got)
	}
}

func TestMemStoreMetadata(t *testing.T) {
	m := NewMemStore()
	p, err := m.CreateProject(Project{Path: "a/b"})
	if err != nil || p.ID != 1 {
		t.Fatalf("auto ID: %+v %v", p, err)
	}
	if _, err := m.CreateProject(Project{ID: 7, Path: "A/B"}); !errors.Is(err, ErrExist) {
		t.Errorf("duplicate path ignoring case: %v", err)
	}
	if _, err := m.CreateProject(Project{ID: 1, Path: "c/d"}); !errors.Is(err, ErrExist) {
		t.Errorf("duplicate ID: %v", err)
	}
	if q, err := m.ProjectByPath("A/b"); err != nil || q.ID != 1 {
		t.Errorf("ProjectByPath: %+v %v", q, err)
	}
	if _, _, err := m.CreatePackage(Package{ProjectID: 99}, PackageFile{}); !errors.Is(err, ErrNotExist) {
		t.Errorf("package in a missing project: %v", err)
	}
	pkg, f, err := m.CreatePackage(Package{ProjectID: 1, Name: "n"}, PackageFile{FileName: "x"})
	must(t, err)
	if f.PackageID != pkg.ID {
		t.Errorf("first file's package %d, want %d", f.PackageID, pkg.ID)
	}
	g, err := m.CreateFile(PackageFile{PackageID: pkg.ID, FileName: "y"})
	must(t, err)
	files, _ := m.Files(pkg.ID)
	if len(files) != 2 || files[0].ID != f.ID || files[1].ID != g.ID {
		t.Errorf("files %+v", files)
	}
	if _, err := m.CreateFile(PackageFile{PackageID: 99}); !errors.Is(err, ErrNotExist) {
		t.Errorf("file of a missing package: %v", err)
	}
	if err := m.UpdatePackage(Package{ID: 99}); !errors.Is(err, ErrNotExist) {
		t.Errorf("update of a missing package: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
