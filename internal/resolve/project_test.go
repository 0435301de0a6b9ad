package resolve

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gpmtool/gpm/internal/lock"
	"github.com/gpmtool/gpm/internal/registry"
)

// projectSource adds a whole-project listing to the fake: every row, in
// pages of 100, complete when there are at most maxPages of them.
type projectSource struct {
	*fakeSource
	incomplete bool // answer "changed while read" whatever the size
	err        error
}

func (s *projectSource) ListProjectPackages(ctx context.Context, project string, maxPages int) ([]registry.Package, bool, error) {
	defer s.enter(fmt.Sprintf("project:%s:%d", project, maxPages))()
	if s.err != nil {
		return nil, false, s.err
	}
	if s.incomplete || (len(s.rows)+99)/100 > maxPages {
		return nil, false, nil
	}
	return slices.Clone(s.rows), true, nil
}

func TestResolveListsSharedProjectOnce(t *testing.T) {
	tests := []struct {
		name       string
		entries    int
		extra      int // rows of other packages in the project
		incomplete bool
		wantProj   int // whole-project listings
		wantList   int // per-entry listings
	}{
		{name: "one entry: listed on its own", entries: 1, wantList: 1},
		{name: "entries share the project", entries: 5, wantProj: 1},
		{name: "project longer than the entries' own listings", entries: 2, extra: 300, wantProj: 1, wantList: 2},
		{name: "project changed while listed", entries: 5, incomplete: true, wantProj: 1, wantList: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake()
			src := &projectSource{fakeSource: fake, incomplete: tt.incomplete}
			var reqs []Request
			for i := range tt.entries {
				name := fmt.Sprintf("tool-%d", i)
				fake.add(row(int64(10*i+1), name, "1.0.0"), pf(int64(10*i+1), name+"-1.bin"))
				fake.add(row(int64(10*i+2), name, "1.1.0"), pf(int64(10*i+2), name+"-2.bin"))
				fake.add(rowS(int64(10*i+3), name, "1.2.0", "error"))
				reqs = append(reqs, Request{Pkg: mpkg(t, name, "^1"), Source: src})
			}
			for i := range tt.extra {
				fake.add(row(int64(100000+i), fmt.Sprintf("other-%d", i), "1.0.0"))
			}
			got, err := Resolve(context.Background(), reqs, Options{Jobs: 4})
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range got {
				if p.Version != "1.1.0" || p.Files[0].Name != fmt.Sprintf("tool-%d-2.bin", i) {
					t.Errorf("entry %d: %s %+v", i, p.Version, p.Files)
				}
			}
			if n := fake.count("project:"); n != tt.wantProj {
				t.Errorf("%d whole-project listings, want %d", n, tt.wantProj)
			}
			// Read once, and all but its last page again, a listing of
			// (entries+1)/2 pages costs at most a request per entry.
			if limit := (tt.entries + 1) / 2; tt.wantProj > 0 && fake.count(fmt.Sprintf("project:%s:%d", project, limit)) != 1 {
				t.Errorf("the project listing was not limited to %d pages: %v", limit, fake.calls)
			}
			if n := fake.count("list:"); n != tt.wantList {
				t.Errorf("%d per-entry listings, want %d", n, tt.wantList)
			}
			if n := fake.count("files:"); n != tt.entries {
				t.Errorf("%d file listings, want %d", n, tt.entries)
			}
		})
	}
}

// TestResolveProjectListingMatchesPerEntry: a whole-project listing gives
// the lock that listing entry by entry gives, and the same errors (a
// status that cannot be installed, a name that differs in case, found
// without a search request).
func TestResolveProjectListingMatchesPerEntry(t *testing.T) {
	fake := newFake()
	fake.add(row(1, "alpha", "1.0.0"), pf(1, "a.bin"))
	fake.add(row(2, "alpha", "2.0.0"), pf(2, "a2.bin"))
	fake.add(row(3, "alpha-extra", "1.5.0"), pf(3, "x.bin"))
	fake.add(rowS(4, "beta", "1.0.0", "error"))
	fake.add(row(5, "Gamma", "1.0.0"), pf(5, "g.bin"))
	mk := func(src Source) []Request {
		return []Request{
			{Pkg: mpkg(t, "alpha", "^1"), Source: src},
			{Pkg: mpkg(t, "alpha-extra", "*"), Source: src},
			{Pkg: mpkg(t, "beta", "*"), Source: src},
			{Pkg: mpkg(t, "gamma", "*"), Source: src},
		}
	}
	_, perEntry := Resolve(context.Background(), mk(searchSource{fake}), Options{Jobs: 2})
	fake.calls = map[string]int{}
	_, whole := Resolve(context.Background(), mk(&projectSource{fakeSource: fake}), Options{Jobs: 2})
	if perEntry == nil || whole == nil {
		t.Fatalf("errors: %v / %v", perEntry, whole)
	}
	if perEntry.Error() != whole.Error() {
		t.Errorf("per entry:\n%v\nwhole project:\n%v", perEntry, whole)
	}
	if n := fake.count("all:") + fake.count("list:"); n != 0 {
		t.Errorf("%d more listings after the whole-project one: %v", n, fake.calls)
	}

	okReqs := mk(&projectSource{fakeSource: fake})[:2]
	got, err := Resolve(context.Background(), okReqs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := Resolve(context.Background(), mk(fake)[:2], Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("whole project: %+v\nper entry: %+v", got, want)
	}
}

func TestResolveProjectListingError(t *testing.T) {
	fake := newFake()
	denied := fmt.Errorf("listing: %w", registry.ErrUnauthorized)
	src := &projectSource{fakeSource: fake, err: denied}
	reqs := []Request{{Pkg: mpkg(t, "a", "*"), Source: src}, {Pkg: mpkg(t, "b", "*"), Source: src}}
	_, err := Resolve(context.Background(), reqs, Options{})
	var e *Error
	if !errors.Is(err, registry.ErrUnauthorized) || !errors.As(err, &e) {
		t.Fatalf("err = %v", err)
	}
	for _, name := range []string{"a", "b"} {
		if !strings.Contains(err.Error(), name+": ") {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	if n := fake.count("project:"); n != 1 {
		t.Errorf("%d whole-project listings, want 1", n)
	}
}

// TestResolvedCallback: each entry is handed over as soon as it resolves,
// once, the way it ends up in the result; failed entries are not.
func TestResolvedCallback(t *testing.T) {
	src := newFake()
	var reqs []Request
	for i := range 6 {
		name := fmt.Sprintf("p%d", i)
		if i != 3 {
			src.add(row(int64(i+1), name, "1.0.0"), pf(int64(i+1), "f"))
		}
		reqs = append(reqs, Request{Pkg: mpkg(t, name, "*"), Source: src})
	}
	var mu sync.Mutex
	seen := map[string]lock.Package{}
	_, err := Resolve(context.Background(), reqs, Options{Jobs: 3, Resolved: func(p lock.Package) {
		mu.Lock()
		defer mu.Unlock()
		if _, dup := seen[p.Name]; dup {
			t.Errorf("%s handed over twice", p.Name)
		}
		seen[p.Name] = p
	}})
	if err == nil {
		t.Fatal("p3 has no version, yet Resolve succeeded")
	}
	if len(seen) != 5 {
		t.Errorf("handed over %d entries, want 5", len(seen))
	}
	if _, ok := seen["p3"]; ok {
		t.Error("the failed entry was handed over")
	}
	ok, err := Resolve(context.Background(), slices.Delete(slices.Clone(reqs), 3, 4), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ok {
		if !reflect.DeepEqual(seen[p.Name], p) {
			t.Errorf("%s: handed over %+v, resolved %+v", p.Name, seen[p.Name], p)
		}
	}
}
