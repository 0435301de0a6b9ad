package server

import (
	"fmt"
	"math"
	"testing"
)

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
