package server

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// Groups are addressed by numeric ID as well as by path, with IDs that stay
// what they were across restarts, and that stores written before groups
// had IDs get when opened.
func TestGroupsByID(t *testing.T) {
	dir := t.TempDir()
	d, err := NewDiskStore(dir)
	must(t, err)
	f := serveLike(t, Options{Store: d})
	for _, pid := range []string{"acme%2Ftools%2Fcli", "acme%2Fweb", "7"} {
		if res := f.put(genericPath(pid, "tool/1.0.0/a.bin"), pid, rw...); res.status != 201 {
			t.Fatalf("publish to %s: %d %s", pid, res.status, res.body)
		}
	}
	want := map[string]int{"acme": 2, "acme%2Ftools": 1, "local": 1, "1": 2, "2": 1, "3": 1}
	check := func(f *fixture) {
		t.Helper()
		for seg, n := range want {
			if got := listPackages(t, f, "/api/v4/groups/"+seg+"/packages", ro...); len(got) != n {
				t.Errorf("group %s holds %d packages, want %d", seg, len(got), n)
			}
		}
		if res := f.get("/api/v4/groups/4/packages", ro...); res.status != 404 || string(res.body) != `{"message":"404 Group Not Found"}` {
			t.Errorf("group 4: %d %s", res.status, res.body)
		}
	}
	check(f)
	gs, _ := d.Groups()
	if fmt.Sprint(gs) != "[{1 acme } {2 acme/tools } {3 local }]" {
		t.Errorf("stored groups %v", gs)
	}
	must(t, d.Close())
	check(serveLike(t, Options{Store: openDisk(t, dir)}))

	// A store written before groups were stored gets them when opened,
	// and keeps them.
	old := t.TempDir()
	must(t, os.WriteFile(filepath.Join(old, "meta.json"), []byte(`{"format":1,"projects":[{"id":5,"path":"b/x"},{"id":9,"path":"a/y/z"}]}`), 0o666))
	d = openDisk(t, old)
	gs, _ = d.Groups()
	if fmt.Sprint(gs) != "[{1 b } {2 a } {3 a/y }]" {
		t.Errorf("groups of an older store %v", gs)
	}
	must(t, d.Close())
	d = openDisk(t, old)
	if gs2, _ := d.Groups(); fmt.Sprint(gs2) != fmt.Sprint(gs) {
		t.Errorf("groups after reopening %v, want %v", gs2, gs)
	}
}

// No sequence of accepted requests leaves a store that cannot start: a
// project created at the largest ID does not make the next one wrap around
// to a negative ID.
func TestProjectIDOverflowRestarts(t *testing.T) {
	dir := t.TempDir()
	d, err := NewDiskStore(dir)
	must(t, err)
	f := serveLike(t, Options{Store: d})
	top := fmt.Sprint(int64(math.MaxInt64))
	for _, pid := range []string{top, "acme%2Fnext"} {
		if res := f.put(genericPath(pid, "tool/1.0.0/a.bin"), pid, rw...); res.status != 201 {
			t.Fatalf("publish to %s: %d %s", pid, res.status, res.body)
		}
	}
	must(t, d.Close())

	d, err = NewDiskStore(dir)
	if err != nil {
		t.Fatalf("the store does not start again: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	f = serveLike(t, Options{Store: d})
	if res := f.put(genericPath("acme%2Fthird", "tool/1.0.0/a.bin"), "third", rw...); res.status != 201 {
		t.Fatalf("publish to a third project after the restart: %d %s", res.status, res.body)
	}
	ps, _ := d.Projects()
	if fmt.Sprint(ps) != fmt.Sprintf("[{1 acme/next public false} {2 acme/third public false} {%s local/project-%s public false}]", top, top) {
		t.Errorf("projects after a restart: %v", ps)
	}
	for _, pid := range []string{top, "acme%2Fnext", "1"} {
		if res := f.get(genericPath(pid, "tool/1.0.0/a.bin"), ro...); res.status != 200 {
			t.Errorf("download from %s after a restart: %d %s", pid, res.status, res.body)
		}
	}
}

// TestStoreNextID holds both stores to IDs that never wrap around.
func TestStoreNextID(t *testing.T) {
	for name, s := range map[string]Store{"mem": NewMemStore(), "disk": openDisk(t, t.TempDir())} {
		for _, p := range []Project{{ID: math.MaxInt64, Path: "a/top"}, {ID: 1, Path: "a/one"}} {
			if _, err := s.CreateProject(p); err != nil {
				t.Fatal(err)
			}
		}
		for _, want := range []int64{2, 3} {
			if p, err := s.CreateProject(Project{Path: fmt.Sprintf("a/p%d", want)}); err != nil || p.ID != want {
				t.Errorf("%s: next ID after the largest: %+v %v, want %d", name, p, err, want)
			}
		}
	}
}

// Blobs left by a crash between committing an upload's blob and writing
// its metadata are removed when the store is opened; referenced ones stay.
func TestDiskStoreRemovesOrphanBlobs(t *testing.T) {
	dir := t.TempDir()
	d, err := NewDiskStore(dir)
	must(t, err)
	_, _, files := seedDisk(t, d)
	orphan := writeBlob(t, d, "committed, never recorded")
	must(t, os.WriteFile(filepath.Join(dir, "blobs", "sha256", "README"), []byte("not a blob"), 0o666))
	d.unlock() // crash

	d = openDisk(t, dir)
	if _, err := d.OpenBlob(orphan); !errors.Is(err, ErrNotExist) {
		t.Errorf("orphan blob after reopening: %v", err)
	}
	for _, f := range files {
		if got := readBlob(t, d, f.SHA256); sum(got) != f.SHA256 {
			t.Errorf("blob of file %d: %q", f.ID, got)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "blobs", "sha256", "README")); err != nil {
		t.Errorf("a file that is not a blob was removed: %v", err)
	}
}
