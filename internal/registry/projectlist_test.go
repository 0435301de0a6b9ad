package registry

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingPager serves items 100 per page with X-Next-Page, X-Total and
// X-Total-Pages; total, when set, overrides the X-Total of a page.
func countingPager(items []pkgRow, counts bool, total func(page int) int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		page, lo, hi := servePage(w, r, len(items))
		if counts {
			n := len(items)
			if total != nil {
				n = total(page)
			}
			w.Header().Set("X-Total", strconv.Itoa(n))
			w.Header().Set("X-Total-Pages", strconv.Itoa((n+99)/100))
		}
		json.NewEncoder(w).Encode(items[lo:hi])
	}
}

func mixedRows(n int) []pkgRow {
	out := rows(n, "x")
	for i := range out {
		out[i].Name = "tool-" + strconv.Itoa(i%7)
	}
	return out
}

func TestListProjectPackages(t *testing.T) {
	tests := []struct {
		name     string
		rows     int
		counts   bool
		total    func(page int) int
		maxPages int
		wantOK   bool
		wantReqs int
	}{
		{name: "one page is a snapshot", rows: 60, counts: false, maxPages: 1, wantOK: true, wantReqs: 1},
		{name: "every page, and every page but the last again", rows: 250, counts: true, maxPages: 3, wantOK: true, wantReqs: 5},
		{name: "too many pages: one request, then per package", rows: 250, counts: true, maxPages: 2, wantOK: false, wantReqs: 1},
		{name: "no count (over 10,000 rows)", rows: 250, counts: false, maxPages: 10, wantOK: false, wantReqs: 1},
		{name: "a page counts differently: the listing moved", rows: 250, counts: true, maxPages: 3, wantOK: false, wantReqs: -1, // the other page may be cancelled
			total: func(page int) int {
				if page == 3 {
					return 249
				}
				return 250
			}},
		{name: "fewer distinct rows than counted", rows: 250, counts: true, maxPages: 5, wantOK: false, wantReqs: 3,
			total: func(int) int { return 251 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := server(t, countingPager(mixedRows(tt.rows), tt.counts, tt.total))
			c, _ := client(t, srv.URL, WithCredential(privateCred))
			got, ok, err := c.ListProjectPackages(context.Background(), "12", tt.maxPages)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.wantOK {
				t.Fatalf("complete = %v, want %v", ok, tt.wantOK)
			}
			if tt.wantReqs >= 0 && rec.count() != tt.wantReqs {
				t.Errorf("%d requests, want %d", rec.count(), tt.wantReqs)
			}
			for _, r := range rec.list() {
				if strings.Contains(r.URI, "package_name") || !strings.Contains(r.URI, "package_type=generic") || !strings.Contains(r.URI, "per_page=100") {
					t.Errorf("request %s", r.URI)
				}
			}
			if !ok {
				if got != nil {
					t.Errorf("incomplete listing returned %d rows", len(got))
				}
				return
			}
			if len(got) != tt.rows {
				t.Fatalf("got %d rows, want %d", len(got), tt.rows)
			}
			ids := map[int64]bool{}
			for _, p := range got {
				ids[p.ID] = true
				if p.ProjectID != 12 {
					t.Errorf("row %d: project %d", p.ID, p.ProjectID)
				}
			}
			if len(ids) != tt.rows {
				t.Errorf("%d distinct rows, want %d", len(ids), tt.rows)
			}
			if n := len(Installable(got, "tool-3")); n != (tt.rows+3)/7 {
				t.Errorf("Installable(tool-3) = %d rows, want %d", n, (tt.rows+3)/7)
			}
		})
	}
}

// TestListProjectPackagesShift: a deletion and a publish together keep the
// count but move a row from one page onto one already read. The listing is
// reported incomplete, whenever they land, unless every page was read after
// them or only the last page moved.
func TestListProjectPackagesShift(t *testing.T) {
	tests := []struct {
		name   string
		after  int // the change lands once this many pages were served
		del    int // index of the row deleted
		wantOK bool
	}{
		{name: "between page 1 and the others", after: 1, del: 4},
		{name: "between the first reading and the second", after: 3, del: 4},
		{name: "while the pages are read again", after: 4, del: 150},
		{name: "before anything was read", after: 0, del: 4, wantOK: true},
		{name: "on the last page only, before it was read", after: 1, del: 240, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			items := mixedRows(250)
			served := 0
			change := func() {
				items = append(slices.Clone(items[:tt.del]), items[tt.del+1:]...)
				v := "9.9.9"
				items = append(items, pkgRow{ID: 1000, Name: "tool-new", Version: &v, PackageType: "generic", Status: "default", CreatedAt: "2025-02-10T09:15:02.123Z"})
			}
			if tt.after == 0 {
				change()
			}
			srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				countingPager(items, true, nil)(w, r)
				if served++; served == tt.after {
					change()
				}
			})
			c, _ := client(t, srv.URL, WithCredential(privateCred), WithJobs(1))
			got, ok, err := c.ListProjectPackages(context.Background(), "12", 5)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.wantOK {
				t.Fatalf("complete = %v, want %v (%d rows)", ok, tt.wantOK, len(got))
			}
			if !ok {
				return
			}
			mu.Lock()
			want := items
			mu.Unlock()
			if len(got) != len(want) {
				t.Fatalf("got %d rows, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i].ID != want[i].ID {
					t.Fatalf("row %d: ID %d, want %d", i, got[i].ID, want[i].ID)
				}
			}
		})
	}
}

func TestListProjectPackagesError(t *testing.T) {
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"message":"404 Project Not Found"}`))
	})
	c, _ := client(t, srv.URL, WithCredential(privateCred))
	_, _, err := c.ListProjectPackages(context.Background(), "12", 5)
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 404 || he.Op != OpList {
		t.Fatalf("err = %v", err)
	}
}

// TestLimiterBoundsClients: two clients sharing a Limiter of 3 never have
// more than 3 requests in flight between them.
func TestLimiterBoundsClients(t *testing.T) {
	var inFlight, peak atomic.Int32
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		inFlight.Add(-1)
		w.Write([]byte("[]"))
	})
	l := NewLimiter(3)
	a, _ := client(t, srv.URL, WithCredential(privateCred), WithLimiter(l))
	b, _ := client(t, srv.URL, WithCredential(privateCred), WithLimiter(l))
	var wg sync.WaitGroup
	for i := range 24 {
		c := a
		if i%2 == 1 {
			c = b
		}
		wg.Go(func() {
			if _, err := c.ListPackages(context.Background(), "12", "tool"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p > 3 {
		t.Errorf("peak requests in flight = %d, want at most 3", p)
	}
}

// TestLimiterKinds: listings and transfers have slots of their own: a
// listing never waits for downloads, a transfer waits for a transfer, and
// a waiter whose context ends gives up without a slot.
func TestLimiterKinds(t *testing.T) {
	l := NewLimiter(1)
	ctx := context.Background()
	releaseT, err := l.acquire(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	releaseL, err := l.acquire(ctx, true)
	if err != nil {
		t.Fatalf("a listing waited for a transfer: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := l.acquire(short, false); err == nil {
		t.Fatal("two transfers in flight with one slot")
	}
	got := make(chan error)
	go func() {
		release, err := l.acquire(ctx, false)
		if err == nil {
			release()
		}
		got <- err
	}()
	releaseT()
	if err := <-got; err != nil {
		t.Fatalf("a freed transfer slot was not taken: %v", err)
	}
	releaseL()
	if len(l.listings) != 0 || len(l.transfers) != 0 {
		t.Errorf("slots held at the end: %d listings, %d transfers", len(l.listings), len(l.transfers))
	}
}
