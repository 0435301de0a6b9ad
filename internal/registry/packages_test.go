package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

type pkgRow struct {
	ID          int64   `json:"id"`
	Name        string  `json:"name"`
	Version     *string `json:"version"`
	PackageType string  `json:"package_type"`
	Status      string  `json:"status"`
	CreatedAt   string  `json:"created_at"`
}

func rows(n int, name string) []pkgRow {
	out := make([]pkgRow, n)
	for i := range out {
		v := fmt.Sprintf("1.%d.0", i)
		out[i] = pkgRow{ID: int64(i + 1), Name: name, Version: &v, PackageType: "generic", Status: "default", CreatedAt: "2025-01-10T09:15:02.123Z"}
	}
	return out
}

// pager serves items in pages of per_page (max 100), announcing the next
// page with X-Next-Page and/or a Link header built by link.
func pager[T any](t *testing.T, items []T, xNext bool, link func(r *http.Request, next int) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
		if per <= 0 {
			per = 20
		}
		per = min(per, 100)
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if page <= 0 {
			page = 1
		}
		lo := min((page-1)*per, len(items))
		hi := min(lo+per, len(items))
		next := ""
		if hi < len(items) {
			next = strconv.Itoa(page + 1)
		}
		if xNext {
			w.Header().Set("X-Next-Page", next)
		}
		if link != nil && next != "" {
			w.Header().Set("Link", link(r, page+1))
		}
		w.Header().Set("X-Total", strconv.Itoa(len(items)))
		json.NewEncoder(w).Encode(items[lo:hi])
	}
}

func TestListPackagesPaginationXNextPage(t *testing.T) {
	srv, rec := server(t, pager(t, rows(250, "tool"), true, nil))
	c, _ := client(t, srv.URL, WithCredential(privateCred))
	pkgs, err := c.ListPackages(context.Background(), "12", "tool")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 250 {
		t.Fatalf("got %d packages, want 250", len(pkgs))
	}
	if rec.count() != 3 {
		t.Errorf("%d requests, want 3", rec.count())
	}
	for i, r := range rec.list() {
		if r.Header.Get("Private-Token") != testToken {
			t.Errorf("page %d lacked the credential", i+1)
		}
		if !strings.Contains(r.URI, "per_page=100") {
			t.Errorf("page %d: %s", i+1, r.URI)
		}
	}
	p := pkgs[249]
	if p.ID != 250 || p.Version != "1.249.0" || p.ProjectID != 12 || p.CreatedAt.IsZero() {
		t.Errorf("last package = %+v", p)
	}
}

// TestListPackagesPaginationLinkOnly: GitLab builds Link URLs from its
// external URL, which may name another host and port. The client follows
// the page on the registry it was given and never contacts the other host.
func TestListPackagesPaginationLinkOnly(t *testing.T) {
	other, otherSeen := server(t, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the Link host was contacted: %s", r.RequestURI)
		fmt.Fprint(w, "[]")
	})
	link := func(r *http.Request, next int) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(next))
		return fmt.Sprintf(`<%s/ext-root%s?%s>; rel="next", <%s/x?page=1>; rel="first"`, other.URL, r.URL.Path, q.Encode(), other.URL)
	}
	srv, rec := server(t, pager(t, rows(230, "tool"), false, link))
	c, _ := client(t, srv.URL, WithCredential(privateCred))
	pkgs, err := c.ListPackages(context.Background(), "group/proj", "tool")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 230 || rec.count() != 3 {
		t.Fatalf("got %d packages in %d requests, want 230 in 3", len(pkgs), rec.count())
	}
	if otherSeen.count() != 0 {
		t.Errorf("other host saw %d requests", otherSeen.count())
	}
	for _, r := range rec.list() {
		if !strings.HasPrefix(r.URI, "/api/v4/projects/group%2Fproj/packages?") {
			t.Errorf("page requested at %s", r.URI)
		}
	}
	if pkgs[0].ProjectPath != "group/proj" {
		t.Errorf("ProjectPath = %q", pkgs[0].ProjectPath)
	}
}

func TestPaginationLoopAndCap(t *testing.T) {
	t.Run("same page twice", func(t *testing.T) {
		srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Next-Page", "1")
			fmt.Fprint(w, "[]")
		})
		c, _ := client(t, srv.URL)
		if _, err := c.ListAllPackages(context.Background(), "1", ""); err == nil || !strings.Contains(err.Error(), "pagination loop") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("page cap", func(t *testing.T) {
		srv, rec := server(t, func(w http.ResponseWriter, r *http.Request) {
			p, _ := strconv.Atoi(r.URL.Query().Get("page"))
			w.Header().Set("X-Next-Page", strconv.Itoa(max(p, 1)+1))
			fmt.Fprint(w, "[]")
		})
		c, _ := client(t, srv.URL)
		_, err := c.ListAllPackages(context.Background(), "1", "")
		if err == nil || !strings.Contains(err.Error(), "more than 1000 pages") {
			t.Fatalf("err = %v", err)
		}
		if rec.count() != maxPages {
			t.Errorf("%d requests, want %d", rec.count(), maxPages)
		}
	})
	t.Run("bad X-Next-Page", func(t *testing.T) {
		srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Next-Page", "two")
			fmt.Fprint(w, "[]")
		})
		c, _ := client(t, srv.URL)
		if _, err := c.ListAllPackages(context.Background(), "1", ""); err == nil || !strings.Contains(err.Error(), "X-Next-Page") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestListPackagesFilters(t *testing.T) {
	v := func(s string) *string { return &s }
	// What GitLab's fuzzy, case-insensitive search returns for "tool".
	body := []pkgRow{
		{1, "tool", v("1.0.0"), "generic", "default", ""},
		{2, "Tool", v("1.1.0"), "generic", "default", ""},
		{3, "tool-extra", v("1.2.0"), "generic", "default", ""},
		{4, "libtool", v("1.3.0"), "generic", "default", ""},
		{5, "tool", v("1.4.0"), "generic", "error", ""},
		{6, "tool", v("1.5.0"), "generic", "processing", ""},
		{7, "tool", v("1.6.0"), "generic", "pending_destruction", ""},
		{8, "tool", v("1.7.0"), "generic", "hidden", ""},
		{9, "tool", v("1.8.0"), "generic", "deprecated", ""},
		{10, "tool", v("1.9.0"), "npm", "default", ""},
		{11, "tool", nil, "generic", "default", ""},
	}
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) { json.NewEncoder(w).Encode(body) })
	c, _ := client(t, srv.URL)
	pkgs, err := c.ListPackages(context.Background(), "12", "tool")
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, p := range pkgs {
		ids = append(ids, p.ID)
	}
	if fmt.Sprint(ids) != "[1 9]" {
		t.Errorf("kept ids %v, want [1 9]", ids)
	}
	all, err := c.ListAllPackages(context.Background(), "12", "tool")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(body) {
		t.Errorf("ListAllPackages kept %d of %d", len(all), len(body))
	}
	if _, err := c.ListPackages(context.Background(), "12", ""); err == nil {
		t.Error("ListPackages with an empty name succeeded")
	}
}

func TestListGroupPackages(t *testing.T) {
	srv, rec := server(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `[{"id":42,"name":"mytool","version":"1.4.0","package_type":"generic","status":"default",
			"_links":{"web_path":"/acme/tools/-/packages/42"},"created_at":"2025-01-10T09:15:02.123Z",
			"last_downloaded_at":"2025-02-01T18:00:00.000Z","tags":[],"pipeline":{"id":1,"user":{"id":7}},"pipelines":[],
			"project_id":24,"project_path":"acme/tools"},
			{"id":43,"name":"mytool","version":"1.5.0","package_type":"generic","status":"error","created_at":null,"last_downloaded_at":null,"project_id":25,"project_path":null}]`)
	})
	c, _ := client(t, srv.URL)
	pkgs, err := c.ListGroupPackages(context.Background(), "acme", "mytool")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 2 {
		t.Fatalf("got %d", len(pkgs))
	}
	want := time.Date(2025, 2, 1, 18, 0, 0, 0, time.UTC)
	if p := pkgs[0]; p.ProjectID != 24 || p.ProjectPath != "acme/tools" || p.LastDownloadedAt == nil || !p.LastDownloadedAt.Equal(want) {
		t.Errorf("pkgs[0] = %+v", p)
	}
	if p := pkgs[1]; p.LastDownloadedAt != nil || !p.CreatedAt.IsZero() || p.Status != "error" {
		t.Errorf("pkgs[1] = %+v", p)
	}
	if uri := rec.list()[0].URI; !strings.Contains(uri, "/groups/acme/packages?") || !strings.Contains(uri, "exclude_subgroups=false") {
		t.Errorf("requested %s", uri)
	}
}

func TestListPackageFiles(t *testing.T) {
	type fileRow struct {
		ID       int64   `json:"id"`
		PkgID    int64   `json:"package_id"`
		FileName string  `json:"file_name"`
		Size     int64   `json:"size"`
		MD5      *string `json:"file_md5"`
		SHA256   string  `json:"file_sha256"`
	}
	var files []fileRow
	for i := range 130 {
		files = append(files, fileRow{ID: int64(100 + i), PkgID: 7, FileName: fmt.Sprintf("dir%%2Fsub%%2Ff%d.bin", i), Size: int64(i), SHA256: strings.Repeat("AB", 32)})
	}
	srv, rec := server(t, pager(t, files, true, nil))
	c, _ := client(t, srv.URL)
	got, err := c.ListPackageFiles(context.Background(), "12", 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 130 || rec.count() != 2 {
		t.Fatalf("got %d files in %d requests", len(got), rec.count())
	}
	if f := got[129]; f.FileName != "dir/sub/f129.bin" || f.ID != 229 || f.PackageID != 7 || f.Size != 129 || f.SHA256 != strings.Repeat("ab", 32) {
		t.Errorf("last file = %+v", f)
	}
}

func TestListPackageFilesRejectsHostileNames(t *testing.T) {
	names := []struct{ raw, shown string }{
		{"../../etc/passwd", `"../../etc/passwd"`},
		{"..%2F..%2Fetc%2Fpasswd", `"../../etc/passwd"`},
		{"%2Fetc%2Fpasswd", `"/etc/passwd"`},
		{"/etc/passwd", `"/etc/passwd"`},
		{"a%00b", `"a\x00b"`},
		{"a\\b", `"a\\b"`},
		{"a%5Cb", `"a\\b"`},
		{"a%0Ab", `"a\nb"`},
		{"a%1Bb", `"a\x1bb"`},
		{"a%2F%2Fb", `"a//b"`},
		{".", `"."`},
		{"dir%2F.%2Fx", `"dir/./x"`},
		{"", `""`},
		{"bad%zz", `"bad%zz"`},
		{strings.Repeat("x", 1025), `"xxxxxxxx`},
	}
	for _, tt := range names {
		name := tt.raw
		srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode([]map[string]any{{"id": 1, "package_id": 2, "file_name": "ok.bin", "size": 1}, {"id": 2, "package_id": 2, "file_name": name, "size": 1}})
		})
		c, _ := client(t, srv.URL)
		_, err := c.ListPackageFiles(context.Background(), "12", 2)
		if !errors.Is(err, ErrUnsafeName) {
			t.Errorf("name %q: err = %v, want ErrUnsafeName", name, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.shown) {
			t.Errorf("name %q: error %v does not name it", name, err)
		}
		if strings.ContainsAny(err.Error(), "\x00\n\x1b") {
			t.Errorf("error carries raw control characters: %q", err)
		}
	}
}

func TestDecodeLenient(t *testing.T) {
	pkgs, err := decodePackages([]byte(`[{"id":1,"name":"a","version":null,"package_type":"generic","status":"default","created_at":"not a time","unknown":{"x":[1,2]}}]`))
	if err != nil || len(pkgs) != 1 || pkgs[0].Version != "" || !pkgs[0].CreatedAt.IsZero() {
		t.Errorf("decodePackages = %+v, %v", pkgs, err)
	}
	for _, bad := range []string{`{"message":"x"}`, `null`, ``, `[1]`, `[{"id":"x"}]`, `[{"id":1,"name":"a\u0000"}]`, `[{"id":1,"name":"a","version":"../x"}]`} {
		if _, err := decodePackages([]byte(bad)); err == nil {
			t.Errorf("decodePackages(%q) succeeded", bad)
		}
	}
	files, err := decodePackageFiles([]byte(`[{"id":1,"package_id":2,"file_name":"f","size":3,"file_md5":null,"file_sha1":null,"file_sha256":null,"pipelines":[]}]`))
	if err != nil || len(files) != 1 || files[0].SHA256 != "" {
		t.Errorf("decodePackageFiles = %+v, %v", files, err)
	}
	for _, bad := range []string{`[{"id":1,"file_name":"f","file_sha256":"zz"}]`, `[{"id":1,"file_name":"f","size":-1}]`} {
		if _, err := decodePackageFiles([]byte(bad)); err == nil {
			t.Errorf("decodePackageFiles(%q) succeeded", bad)
		}
	}
}

func TestListJSONBodyLimit(t *testing.T) {
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("["))
		chunk := []byte(strings.Repeat(`{"id":1},`, 1<<14))
		for written := 0; written <= maxJSONBody; written += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	c, _ := client(t, srv.URL)
	if _, err := c.ListAllPackages(context.Background(), "1", ""); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseLinkNext(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{`<https://gitlab.example.com/api/v4/projects/1/packages?page=2&per_page=100>; rel="next"`, "https://gitlab.example.com/api/v4/projects/1/packages?page=2&per_page=100", true},
		{`<https://h/x?page=1>; rel="prev", <https://h/x?page=3>; rel="next", <https://h/x?page=1>; rel="first", <https://h/x?page=9>; rel="last"`, "https://h/x?page=3", true},
		{`<https://h/x?page=1>; rel="first"`, "", false},
		{`<https://h/x?a=1,2>; rel=next`, "https://h/x?a=1,2", true},
		{`<https://h/x>; title="a, b; c"; rel="next"`, "https://h/x", true},
		{`<https://h/x>; rel="last next"`, "https://h/x", true},
		{`<https://h/x>; REL="Next"`, "https://h/x", true},
		{`<https://h/x>; rel="nextish"`, "", false},
		{`<https://h/x?page=2>;rel=next`, "https://h/x?page=2", true},
		{`https://h/x; rel="next"`, "", false},
		{`<https://h/x; rel="next"`, "", false},
		{`<>; rel="next"`, "", false},
		{`<https://h/a> junk, <https://h/b>; rel="next"`, "https://h/b", true},
		{``, "", false},
		{`<https://h/x>; rel="prev"; rel="next"`, "https://h/x", true},
		{`<https://h/x>; title="unterminated, rel=\"next\"`, "", false},
	}
	for _, tt := range tests {
		got, ok := parseLinkNext(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseLinkNext(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// fileRows returns n package_files rows.
func fileRows(n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"id": i + 1, "package_id": 7, "file_name": fmt.Sprintf("f%04d.txt", i), "size": 1,
			"file_sha256": strings.Repeat("a", 64), "created_at": "2025-01-10T09:15:02.123Z"}
	}
	return out
}

// totalPager serves rows in pages of 100 with X-Next-Page and
// X-Total-Pages, the latter computed from announced rows (which may differ
// from len(items): the list changed while it was read).
func totalPager(items []map[string]any, announced int, page2 func()) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		page, lo, hi := servePage(w, r, len(items))
		if page == 2 && page2 != nil {
			page2()
		}
		w.Header().Set("X-Total-Pages", strconv.Itoa((announced+99)/100))
		json.NewEncoder(w).Encode(items[lo:hi])
	}
}

// servePage reads the page a request asks for, returns the bounds of its
// rows among n in pages of 100, and sets X-Next-Page as GitLab does.
func servePage(w http.ResponseWriter, r *http.Request, n int) (page, lo, hi int) {
	page, _ = strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	lo = min((page-1)*100, n)
	hi = min(lo+100, n)
	next := ""
	if hi < n {
		next = strconv.Itoa(page + 1)
	}
	w.Header().Set("X-Next-Page", next)
	return page, lo, hi
}

// A listing whose first page announces X-Total-Pages requests the pages
// after it at once, not each after the one before: a package of 10,000
// files is 100 pages, 2.5 s of round trips at 25 ms when read in turn.
func TestPaginationRequestsPagesAhead(t *testing.T) {
	var mu sync.Mutex
	requested := map[string]bool{}
	last := make(chan struct{})
	items := fileRows(450)
	srv, rec := server(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		p := r.URL.Query().Get("page")
		if p == "5" && !requested[p] {
			close(last)
		}
		requested[p] = true
		mu.Unlock()
		totalPager(items, len(items), func() {
			// Page 2 is answered only once page 5 was asked for too.
			select {
			case <-last:
			case <-time.After(10 * time.Second):
				t.Error("page 2 was requested alone: the pages after it were not requested ahead")
			}
		})(w, r)
	})
	c, _ := client(t, srv.URL, WithJobs(4))
	files, err := c.ListPackageFiles(context.Background(), "12", 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 450 || rec.count() != 5 {
		t.Fatalf("got %d files in %d requests, want 450 in 5", len(files), rec.count())
	}
	for i, f := range files {
		if f.ID != int64(i+1) {
			t.Fatalf("file %d has ID %d: pages out of order", i, f.ID)
		}
	}
}

// The walk still follows X-Next-Page: pages announced but gone are
// dropped, and pages added meanwhile are read.
func TestPaginationAheadFollowsTheLinks(t *testing.T) {
	for _, tc := range []struct {
		name            string
		rows, announced int
		requests        int
		// abandoned is how many of the requests are pages requested
		// ahead and never read: the walk cancels them when it ends, so
		// they may or may not have reached the server.
		abandoned int
	}{
		{"list grew", 450, 250, 5, 0},   // 3 announced, pages 4 and 5 read in turn
		{"list shrank", 250, 450, 5, 2}, // 5 announced and requested, 3 read
		{"one page", 80, 80, 1, 0},
		{"two pages", 150, 150, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, rec := server(t, totalPager(fileRows(tc.rows), tc.announced, nil))
			c, _ := client(t, srv.URL)
			files, err := c.ListPackageFiles(context.Background(), "12", 7)
			if err != nil {
				t.Fatal(err)
			}
			if n := rec.count(); len(files) != tc.rows || n > tc.requests || n < tc.requests-tc.abandoned {
				t.Fatalf("got %d files in %d requests, want %d in %d to %d", len(files), n, tc.rows, tc.requests-tc.abandoned, tc.requests)
			}
			for i, f := range files {
				if f.ID != int64(i+1) {
					t.Fatalf("file %d has ID %d", i, f.ID)
				}
			}
		})
	}
}

// A page requested ahead that fails fails the listing, as it would have
// when read in turn (after the same retries).
func TestPaginationAheadError(t *testing.T) {
	items := fileRows(450)
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "4" {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"message":"403 Forbidden"}`)
			return
		}
		totalPager(items, len(items), nil)(w, r)
	})
	c, _ := client(t, srv.URL)
	if _, err := c.ListPackageFiles(context.Background(), "12", 7); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("err = %v, want the 403 of page 4", err)
	}
}

// A row deleted while a listing is read moves a row of a later page onto a
// page already read. The later page's X-Total shows it, and the listing is
// read again rather than returned without that row; one that never holds
// still is an error.
func TestPaginationRereadsAListingThatChanged(t *testing.T) {
	for _, tc := range []struct {
		name    string
		changes int // how many times a row is deleted, each once page 1 was served
		wantErr bool
	}{
		{name: "changed once", changes: 1},
		{name: "keeps changing", changes: 3, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			items := rows(150, "tool")
			changes := 0
			srv, rec := server(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				countingPager(items, true, nil)(w, r)
				if r.URL.Query().Get("page") == "" && changes < tc.changes {
					changes++
					items = append(slices.Clone(items[:4]), items[5:]...)
				}
			})
			c, _ := client(t, srv.URL, WithCredential(privateCred))
			got, err := c.ListPackages(context.Background(), "12", "tool")
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), "the listing changed while it was read, 3 times; try again") {
					t.Fatalf("err = %v, want the listing to have changed 3 times", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			want := len(items)
			mu.Unlock()
			if len(got) != want || !slices.ContainsFunc(got, func(p Package) bool { return p.ID == 101 }) {
				t.Fatalf("got %d rows (row 101 there: %v), want %d with row 101", len(got), slices.ContainsFunc(got, func(p Package) bool { return p.ID == 101 }), want)
			}
			if n := rec.count(); n != 4 {
				t.Errorf("%d requests, want 4 (two pages, then both again)", n)
			}
		})
	}
}

// A listing that is not a JSON array is described, not quoted: a body that
// echoes the request could hold the token, and a quote cut at some length
// could not be scrubbed of it.
func TestUnexpectedListingBodyNotQuoted(t *testing.T) {
	for body, want := range map[string]string{
		`"glpat-SECRETSECRETSECRET"`:     "got text of 26 bytes",
		`{"token":"glpat-SECRETSECRET"}`: "got a JSON object of 30 bytes",
		"<html>glpat-SECRETSECRET":       "got HTML or XML",
		"":                               "got an empty body",
	} {
		_, err := decodeArray([]byte(body))
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("decodeArray(%q) = %v, want an error with %q and no part of the body", body, err, want)
		}
	}
}
