package server

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var dev = []string{"PRIVATE-TOKEN", "dev-pat"}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestUploadValidation(t *testing.T) {
	f := newSeeded(t, Options{})
	cases := []struct {
		rest   string
		status int
		msg    string // exact "error" body when set
	}{
		{"mypackage/1.3.350-20201230123456/myfile.tar.gz", 201, ""},
		{"mypackage/1.2.3/myfile.tar.gz", 201, ""},
		{"mypackage/1.2.3g/myfile.tar.gz", 201, ""},
		{"mypackage/1.2/myfile.tar.gz", 201, ""},
		{"mypackage/1.2.bananas/myfile.tar.gz", 201, ""},
		{"mypackage/v1.2.4-build/myfile.tar.gz", 201, ""},
		{"mypackage/d50d836eb3de6177ce6c7a5482f27f9c2c84b672/myfile.tar.gz", 201, ""},
		{"My.Pkg_+-1/1.0.0/my+file.tar.gz", 201, ""},
		{"mypackage/1.0.0/my~file.tar.gz", 201, ""},
		{"mypackage/1.0.0/myfile@1.1.tar.gz", 201, ""},
		{"mypackage/..1.2.3/myfile.tar.gz", 400, "package_version is invalid"},
		{"mypackage/1.2..3/myfile.tar.gz", 400, "package_version is invalid"},
		{"mypackage/1.2.3-4/../../myfile.tar.gz", 400, ""},
		{"mypackage/%2e%2e%2f1.2.3/myfile.tar.gz", 400, "package_version is invalid"},
		{"mypackage/1.0%200/myfile.tar.gz", 400, "package_version is invalid"},
		{"mypackage/1.0.0é/myfile.tar.gz", 400, "package_version is invalid"},
		{"my-package/../0.0.1/myfile.tar.gz", 400, "package_version is invalid"},
		{"my-package%2f%2e%2e%2f/0.0.1/myfile.tar.gz", 400, "package_name is invalid"},
		{"../0.0.1/myfile.tar.gz", 400, "package_name should be a valid file path"},
		{"my%20package/0.0.1/myfile.tar.gz", 400, "package_name is invalid"},
		{"mypackage/0.0.1/../.ssh%2fauthorized_keys", 400, "path should be a valid file path, file_name is invalid"},
		{"mypackage/0.0.1/%2e%2e%2f.ssh%2fauthorized_keys", 400, "file_name is invalid"},
		{"mypackage/0.0.1/..", 400, "file_name should be a valid file path"},
		{"mypackage/0.0.1/~myfile.tar.gz", 400, "file_name is invalid"},
		{"mypackage/0.0.1/myfile.tar.gz~", 400, "file_name is invalid"},
		{"mypackage/0.0.1/@myfile.tar.gz", 400, "file_name is invalid"},
		{"mypackage/0.0.1/myfile.tar.gz@", 400, "file_name is invalid"},
		{"mypackage/0.0.1/my%20file.tar.gz", 400, "file_name is invalid"},
		{"mypackage/0.0.1/dir/%252e%252e/f.bin", 400, "path should be a valid file path"},
		{"mypackage/0.0.1/a%2Fb", 400, "file_name is invalid"},
		{"mypackage/0.0.1/myfile.tar.gz?status=processing", 400, "status does not have a valid value"},
		{"mypackage/0.0.1/myfile.tar.gz?select=invalid_value", 400, "select does not have a valid value"},
	}
	for _, c := range cases {
		res := f.put(genericPath("2", c.rest), "data", dev...)
		if res.status != c.status {
			t.Errorf("PUT %s: %d %s, want %d", c.rest, res.status, res.body, c.status)
			continue
		}
		if c.msg != "" {
			if want := `{"error":"` + c.msg + `"}`; string(res.body) != want {
				t.Errorf("PUT %s: body %s, want %s", c.rest, res.body, want)
			}
		}
		if c.status == 400 && !strings.Contains(c.rest, "?") {
			// Downloads validate the same way.
			if res := f.get(genericPath("2", c.rest), dev...); res.status != 400 {
				t.Errorf("GET %s: %d, want 400", c.rest, res.status)
			}
		}
	}
	// Invalid uploads created nothing.
	pkgs, _ := f.srv.Store().Packages(privID)
	for _, p := range pkgs {
		if strings.Contains(p.Version, "..") || strings.Contains(p.Name, "/") {
			t.Errorf("invalid package stored: %+v", p)
		}
	}
}

func TestRouteNotFound(t *testing.T) {
	f := newSeeded(t, Options{})
	for _, p := range []string{
		"/api/v4/projects/2/packages/generic/tool/1.0.0",
		"/api/v4/projects/acme/private/packages", // an unencoded slash
		"/api/v4/nothing",
		"/other",
	} {
		res := f.get(p, dev...)
		if res.status != 404 || string(res.body) != `{"error":"404 Not Found"}` {
			t.Errorf("GET %s: %d %s", p, res.status, res.body)
		}
	}
}

func TestUploadResponses(t *testing.T) {
	now := time.Date(2025, 1, 10, 9, 15, 2, 123e6, time.UTC)
	f := newSeeded(t, Options{Now: func() time.Time { return now }})
	res := f.put(genericPath("2", "tool/1.0.0/a.bin"), "hello", dev...)
	if res.status != 201 || string(res.body) != `{"message":"201 Created"}` {
		t.Fatalf("upload: %d %s", res.status, res.body)
	}
	res = f.put(genericPath("2", "tool/1.0.0/b.bin?select=package_file"), "hello world", dev...)
	if res.status != 200 {
		t.Fatalf("upload with select: %d %s", res.status, res.body)
	}
	var row map[string]any
	res.json(t, &row)
	want := map[string]any{
		"id": 2.0, "package_id": 1.0, "size": 11.0, "file_store": 1.0,
		"file_md5": nil, "file_sha1": nil, "file_name": "b.bin", "file_sha256": sha("hello world"),
		"created_at": "2025-01-10T09:15:02.123Z", "updated_at": "2025-01-10T09:15:02.123Z",
		"verification_retry_at": nil, "verified_at": nil, "verification_failure": nil,
		"verification_retry_count": nil, "verification_checksum": nil, "verification_state": 0.0,
		"verification_started_at": nil, "status": "default", "new_file_path": nil,
	}
	for k, v := range want {
		if got, ok := row[k]; !ok || got != v {
			t.Errorf("select=package_file %s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if u, _ := row["file"].(map[string]any); u == nil || u["url"] == "" {
		t.Errorf("select=package_file file = %v", row["file"])
	}
}

func TestDownloadHeadersAndRange(t *testing.T) {
	f := newSeeded(t, Options{})
	content := strings.Repeat("0123456789", 100)
	f.publish(pubID, "tool", "1.0.0", "tool+x@1.tar.gz", content)

	path := genericPath("1", "tool/1.0.0/tool+x@1.tar.gz")
	res := f.get(path)
	if res.status != 200 || string(res.body) != content {
		t.Fatalf("download: %d, %d bytes", res.status, len(res.body))
	}
	for k, v := range map[string]string{
		"Content-Type":        "application/octet-stream",
		"Content-Length":      "1000",
		"Content-Disposition": `attachment; filename="tool+x%401.tar.gz"; filename*=UTF-8''tool+x%401.tar.gz`,
		"X-Checksum-Sha256":   sha(content),
		"Accept-Ranges":       "bytes",
	} {
		if got := res.header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	res = f.get(path, "Range", "bytes=990-")
	if res.status != http.StatusPartialContent || string(res.body) != "0123456789" {
		t.Errorf("range: %d %q", res.status, res.body)
	}
	res = f.do(http.MethodHead, path, nil)
	if res.status != 200 || len(res.body) != 0 || res.header.Get("Content-Length") != "1000" {
		t.Errorf("HEAD: %d, %d bytes, length %q", res.status, len(res.body), res.header.Get("Content-Length"))
	}
	// Names and versions are exact and case-sensitive.
	for _, p := range []string{"Tool/1.0.0/tool+x@1.tar.gz", "tool/1.0/tool+x@1.tar.gz", "tool/1.0.0/TOOL+x@1.tar.gz", "tool/1.0.0/missing"} {
		if res := f.get(genericPath("1", p)); res.status != 404 || string(res.body) != `{"message":"404 Not found"}` {
			t.Errorf("GET %s: %d %s", p, res.status, res.body)
		}
	}
}

func TestDownloadUpdatesLastDownloadedAt(t *testing.T) {
	now := time.Date(2025, 2, 1, 18, 0, 0, 0, time.UTC)
	f := newSeeded(t, Options{Now: func() time.Time { return now }})
	pf := f.publish(pubID, "tool", "1.0.0", "a.bin", "x")
	if p, _ := f.srv.Store().Package(pf.PackageID); !p.LastDownloadedAt.IsZero() {
		t.Fatal("fresh package already downloaded")
	}
	f.get(genericPath("1", "tool/1.0.0/a.bin"))
	if p, _ := f.srv.Store().Package(pf.PackageID); !p.LastDownloadedAt.Equal(now) {
		t.Errorf("last_downloaded_at = %v", p.LastDownloadedAt)
	}
}

func TestDirectoryPaths(t *testing.T) {
	f := newSeeded(t, Options{})
	res := f.put(genericPath("2", "tool/1.0.0/path/to/my~file.tar.gz?select=package_file"), "nested", dev...)
	var row fileRow
	res.json(t, &row)
	if res.status != 200 || row.FileName != "path%2Fto%2Fmy%7Efile.tar.gz" {
		t.Fatalf("upload with path: %d file_name %q", res.status, row.FileName)
	}
	res = f.get(genericPath("2", "tool/1.0.0/path/to/my~file.tar.gz"), dev...)
	if res.status != 200 || string(res.body) != "nested" {
		t.Errorf("download with literal slashes: %d %q", res.status, res.body)
	}
	// The encoded name is not the way to download it.
	if res := f.get(genericPath("2", "tool/1.0.0/path%2Fto%2Fmy~file.tar.gz"), dev...); res.status != 400 {
		t.Errorf("download with encoded slashes: %d", res.status)
	}
	files := listFiles(t, f, fmt.Sprintf("/api/v4/projects/2/packages/%d/package_files", row.PackageID), dev...)
	if len(files) != 1 || files[0].FileName != "path%2Fto%2Fmy%7Efile.tar.gz" {
		t.Errorf("package_files = %+v", files)
	}
}

func TestStatusParameter(t *testing.T) {
	f := newSeeded(t, Options{})
	f.put(genericPath("2", "tool/1.0.0/a.bin?status=hidden"), "a", dev...)
	pkg, ok, _ := f.srv.livePackage(privID, "tool", "1.0.0")
	if !ok || pkg.Status != StatusHidden {
		t.Fatalf("status=hidden: %+v", pkg)
	}
	// Another upload without status leaves the package hidden...
	f.put(genericPath("2", "tool/1.0.0/b.bin"), "b", dev...)
	if pkg, _, _ = f.srv.livePackage(privID, "tool", "1.0.0"); pkg.Status != StatusHidden {
		t.Errorf("after upload without status: %s", pkg.Status)
	}
	// ...and one with status=default reveals the whole package.
	f.put(genericPath("2", "tool/1.0.0/c.bin?status=default"), "c", dev...)
	if pkg, _, _ = f.srv.livePackage(privID, "tool", "1.0.0"); pkg.Status != StatusDefault {
		t.Errorf("after status=default: %s", pkg.Status)
	}
}

func TestHiddenAndStatusSemantics(t *testing.T) {
	f := newSeeded(t, Options{})
	ids := map[string]int64{}
	for _, st := range statuses {
		pf := f.publish(pubID, "pkg-"+st, "1.0.0", "a.bin", st)
		must(t, f.srv.SetStatus(pubID, "pkg-"+st, "1.0.0", st))
		ids[st] = pf.PackageID
	}
	type want struct {
		listed, single, files, download int
	}
	wants := map[string]want{
		StatusDefault:            {1, 200, 200, 200},
		StatusHidden:             {0, 404, 404, 200},
		StatusProcessing:         {0, 404, 404, 404},
		StatusError:              {1, 404, 200, 404},
		StatusPendingDestruction: {0, 404, 404, 404},
		StatusDeprecated:         {1, 200, 200, 200},
	}
	for st, w := range wants {
		pkgs := listPackages(t, f, "/api/v4/projects/1/packages?package_name=pkg-"+st)
		if len(pkgs) != w.listed {
			t.Errorf("%s: listed %d, want %d", st, len(pkgs), w.listed)
		}
		if pkgs := listPackages(t, f, "/api/v4/projects/1/packages?status="+st); len(pkgs) != 1 {
			t.Errorf("%s: status filter lists %d", st, len(pkgs))
		}
		if res := f.get(fmt.Sprintf("/api/v4/projects/1/packages/%d", ids[st])); res.status != w.single {
			t.Errorf("%s: single GET %d, want %d", st, res.status, w.single)
		}
		if res := f.get(fmt.Sprintf("/api/v4/projects/1/packages/%d/package_files", ids[st])); res.status != w.files {
			t.Errorf("%s: package_files %d, want %d", st, res.status, w.files)
		}
		if res := f.get(genericPath("1", "pkg-"+st+"/1.0.0/a.bin")); res.status != w.download {
			t.Errorf("%s: download %d, want %d", st, res.status, w.download)
		}
	}
	res := f.get(fmt.Sprintf("/api/v4/projects/1/packages/%d", ids[StatusError]))
	if string(res.body) != `{"message":"Package not found"}` {
		t.Errorf("single GET of an error package: %s", res.body)
	}
}

func TestDuplicates(t *testing.T) {
	f := newSeeded(t, Options{})
	path := genericPath("2", "tool/1.0.0/a.bin")
	for _, body := range []string{"first", "second"} {
		if res := f.put(path, body, dev...); res.status != 201 {
			t.Fatalf("upload %q: %d %s", body, res.status, res.body)
		}
	}
	if res := f.get(path, dev...); string(res.body) != "second" {
		t.Errorf("newest duplicate not served: %q", res.body)
	}
	pkg, _, _ := f.srv.livePackage(privID, "tool", "1.0.0")
	files := listFiles(t, f, fmt.Sprintf("/api/v4/projects/2/packages/%d/package_files", pkg.ID), dev...)
	if len(files) != 2 || files[0].FileName != "a.bin" || files[1].FileName != "a.bin" || files[1].ID <= files[0].ID {
		t.Errorf("duplicate records: %+v", files)
	}

	rejected := `{"message":"400 Bad request - Duplicate package is not allowed"}`
	cases := []struct {
		allowed bool
		regex   string
		want    int
	}{
		{true, "", 201},
		{false, "", 400},
		{false, ".*ool", 201},      // matches the name
		{false, "1\\.0\\..*", 201}, // matches the version
		{false, ".*zzz.*", 400},
		{false, "oo", 400}, // anchored: a substring does not match
		{true, ".*ool", 400},
		{true, ".*\\.0", 400},
		{true, ".*zzz.*", 201},
	}
	for i, c := range cases {
		must(t, f.srv.SetDuplicates(privID, c.allowed, c.regex))
		res := f.put(path, "again", dev...)
		if res.status != c.want {
			t.Errorf("allowed=%v regex=%q: %d %s, want %d", c.allowed, c.regex, res.status, res.body, c.want)
		}
		if c.want == 400 && string(res.body) != rejected {
			t.Errorf("allowed=%v regex=%q: body %s", c.allowed, c.regex, res.body)
		}
		// A new file name is never a duplicate.
		if res := f.put(genericPath("2", fmt.Sprintf("tool/1.0.0/new-%d.bin", i)), "x", dev...); res.status != 201 {
			t.Errorf("new file name with allowed=%v regex=%q: %d", c.allowed, c.regex, res.status)
		}
	}
	if err := f.srv.SetDuplicates(privID, true, "("); err == nil {
		t.Error("bad regex accepted")
	}

	g := newSeeded(t, Options{DisallowDuplicates: true})
	g.put(path, "one", dev...)
	if res := g.put(path, "two", dev...); res.status != 400 {
		t.Errorf("Options.DisallowDuplicates: %d", res.status)
	}
}

func TestDeleteFreesVersion(t *testing.T) {
	f := newSeeded(t, Options{})
	maint := []string{"PRIVATE-TOKEN", "maint-pat"}
	path := genericPath("2", "tool/1.0.0/a.bin")
	f.put(path, "old", dev...)
	old, _, _ := f.srv.livePackage(privID, "tool", "1.0.0")
	pkgURL := fmt.Sprintf("/api/v4/projects/2/packages/%d", old.ID)
	if res := f.do(http.MethodDelete, pkgURL, nil, dev...); res.status != 403 {
		t.Errorf("developer delete: %d", res.status)
	}
	if res := f.do(http.MethodDelete, pkgURL, nil, maint...); res.status != 204 || len(res.body) != 0 {
		t.Fatalf("maintainer delete: %d %s", res.status, res.body)
	}
	if res := f.get(path, dev...); res.status != 404 {
		t.Errorf("download after delete: %d", res.status)
	}
	if res := f.do(http.MethodDelete, pkgURL, nil, maint...); res.status != 404 {
		t.Errorf("second delete: %d", res.status)
	}
	// With duplicates disallowed the same file name is accepted again:
	// the deleted package does not count.
	must(t, f.srv.SetDuplicates(privID, false, ""))
	if res := f.put(path, "new", dev...); res.status != 201 {
		t.Fatalf("re-upload after delete: %d %s", res.status, res.body)
	}
	cur, _, _ := f.srv.livePackage(privID, "tool", "1.0.0")
	if cur.ID == old.ID {
		t.Error("re-upload reused the deleted package")
	}
	if res := f.get(path, dev...); string(res.body) != "new" {
		t.Errorf("download after re-upload: %q", res.body)
	}
}

func TestDeletePackageFile(t *testing.T) {
	f := newSeeded(t, Options{})
	maint := []string{"PRIVATE-TOKEN", "maint-pat"}
	a := f.publish(privID, "tool", "1.0.0", "a.bin", "first")
	b := f.publish(privID, "tool", "1.0.0", "a.bin", "second")
	u := func(fid int64) string {
		return fmt.Sprintf("/api/v4/projects/2/packages/%d/package_files/%d", a.PackageID, fid)
	}
	if res := f.do(http.MethodDelete, u(b.ID), nil, maint...); res.status != 204 {
		t.Fatalf("delete file: %d %s", res.status, res.body)
	}
	if res := f.get(genericPath("2", "tool/1.0.0/a.bin"), dev...); string(res.body) != "first" {
		t.Errorf("after deleting the newest duplicate: %q", res.body)
	}
	if res := f.do(http.MethodDelete, u(b.ID), nil, maint...); res.status != 404 || string(res.body) != `{"message":"404 Not Found"}` {
		t.Errorf("deleting it again: %d %s", res.status, res.body)
	}
	if res := f.do(http.MethodDelete, u(999), nil, "PRIVATE-TOKEN", "rep-pat"); res.status != 403 {
		t.Errorf("reporter delete: %d", res.status)
	}
	old := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	if res := f.do(http.MethodDelete, u(a.ID), nil, "PRIVATE-TOKEN", "maint-pat", "If-Unmodified-Since", old); res.status != 412 {
		t.Errorf("If-Unmodified-Since in the past: %d", res.status)
	}
}

func TestMaxFileSize(t *testing.T) {
	f := newSeeded(t, Options{MaxFileSize: 10})
	res := f.put(genericPath("2", "tool/1.0.0/big.bin"), strings.Repeat("x", 11), dev...)
	if res.status != 400 || string(res.body) != `{"message":"400 Bad request - File is too large"}` {
		t.Errorf("too large: %d %s", res.status, res.body)
	}
	if _, ok, _ := f.srv.livePackage(privID, "tool", "1.0.0"); ok {
		t.Error("a rejected first upload created the package")
	}
	if res := f.put(genericPath("2", "tool/1.0.0/ok.bin"), strings.Repeat("x", 10), dev...); res.status != 201 {
		t.Errorf("at the limit: %d", res.status)
	}
	f.srv.SetMaxFileSize(-1)
	if res := f.put(genericPath("2", "tool/1.0.0/big.bin"), strings.Repeat("x", 11), dev...); res.status != 201 {
		t.Errorf("unlimited: %d", res.status)
	}
}

// TestConcurrentFirstUploads pins GitLab's race: while the first upload
// into a new version is still streaming, a second upload into the same
// version fails with 500; once the version exists, uploads append.
func TestConcurrentFirstUploads(t *testing.T) {
	f := newSeeded(t, Options{})
	pr, pw := io.Pipe()
	first := make(chan result, 1)
	go func() {
		first <- f.do(http.MethodPut, genericPath("2", "tool/2.0.0/a.bin"), pr, dev...)
	}()
	pw.Write([]byte("part one, "))
	// The transport has the bytes; wait until the handler has started
	// creating the package, or the second upload could come first.
	for deadline := time.Now().Add(5 * time.Second); ; {
		f.srv.mu.Lock()
		creating := len(f.srv.creating) > 0
		f.srv.mu.Unlock()
		if creating {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first upload never started creating the package")
		}
		time.Sleep(time.Millisecond)
	}

	res := f.put(genericPath("2", "tool/2.0.0/b.bin"), "b", dev...)
	if res.status != 500 || string(res.body) != `{"message":"500 Internal Server Error"}` {
		t.Errorf("concurrent first upload: %d %s", res.status, res.body)
	}
	// Another version is not affected.
	if res := f.put(genericPath("2", "tool/3.0.0/b.bin"), "b", dev...); res.status != 201 {
		t.Errorf("upload into another version: %d", res.status)
	}
	pw.Write([]byte("part two"))
	pw.Close()
	if r := <-first; r.status != 201 {
		t.Fatalf("first upload: %d %s", r.status, r.body)
	}
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = f.put(genericPath("2", fmt.Sprintf("tool/2.0.0/f%d.bin", i)), "x", dev...).status
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != 201 {
			t.Errorf("parallel upload %d into an existing version: %d", i, c)
		}
	}
	if res := f.get(genericPath("2", "tool/2.0.0/a.bin"), dev...); string(res.body) != "part one, part two" {
		t.Errorf("first upload content: %q", res.body)
	}
	if res := f.get(genericPath("2", "tool/2.0.0/b.bin"), dev...); res.status != 404 {
		t.Errorf("the failed upload landed: %d", res.status)
	}
}

func TestPartialUploadInvisible(t *testing.T) {
	// The test waits on the server's own progress, never on time: the
	// store reports each write of the upload's blob, and the access log
	// reports the end of each PUT.
	store := &writeReportingStore{Store: NewMemStore(), wrote: make(chan int, 64)}
	putDone := make(chan struct{}, 8)
	logf := func(format string, args ...any) {
		if strings.HasPrefix(fmt.Sprintf(format, args...), "PUT ") {
			putDone <- struct{}{}
		}
	}
	f := newSeeded(t, Options{Store: store, Logf: logf})
	pr, pw := io.Pipe()
	go func() {
		req, _ := http.NewRequest(http.MethodPut, f.ts.URL+genericPath("2", "tool/1.0.0/a.bin"), pr)
		req.Header.Set("PRIVATE-TOKEN", "dev-pat")
		req.ContentLength = 100
		if resp, err := f.client.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	const part = "only a part"
	pw.Write([]byte(part))
	// The server has stored the part (if it never does, the test hangs
	// until go test's -timeout names this line).
	for n := 0; n < len(part); {
		n = <-store.wrote
	}
	if pkgs := listPackages(t, f, "/api/v4/projects/2/packages", dev...); len(pkgs) != 0 {
		t.Errorf("package visible during upload: %+v", pkgs)
	}
	if res := f.get(genericPath("2", "tool/1.0.0/a.bin"), dev...); res.status != 404 {
		t.Errorf("file downloadable during upload: %d %s", res.status, res.body)
	}
	pw.CloseWithError(io.ErrUnexpectedEOF)
	<-putDone // the aborted upload's handler has returned
	if pkgs := listPackages(t, f, "/api/v4/projects/2/packages", dev...); len(pkgs) != 0 {
		t.Errorf("package visible after an aborted upload: %+v", pkgs)
	}
	// The aborted upload no longer blocks the version.
	if res := f.put(genericPath("2", "tool/1.0.0/a.bin"), "whole", dev...); res.status != 201 {
		t.Errorf("upload after an aborted one: %d %s", res.status, res.body)
	}
}

// writeReportingStore is a Store whose blob writers send, after each
// write, the number of bytes their blob holds so far.
type writeReportingStore struct {
	Store
	wrote chan int
}

func (s *writeReportingStore) NewBlob() (BlobWriter, error) {
	bw, err := s.Store.NewBlob()
	if err != nil {
		return nil, err
	}
	return &reportingBlob{BlobWriter: bw, wrote: s.wrote}, nil
}

type reportingBlob struct {
	BlobWriter
	n     int
	wrote chan int
}

func (b *reportingBlob) Write(p []byte) (int, error) {
	n, err := b.BlobWriter.Write(p)
	b.n += n
	select {
	case b.wrote <- b.n:
	default: // nobody is counting any more
	}
	return n, err
}

func TestProjectByPath(t *testing.T) {
	f := newSeeded(t, Options{})
	f.publish(privID, "tool", "1.0.0", "a.bin", "x")
	for _, id := range []string{"acme%2Fprivate", "ACME%2FPrivate", "acme%2fprivate"} {
		if res := f.get(genericPath(id, "tool/1.0.0/a.bin"), dev...); res.status != 200 {
			t.Errorf("download via %s: %d", id, res.status)
		}
		if res := f.get("/api/v4/projects/"+id+"/packages", dev...); res.status != 200 {
			t.Errorf("list via %s: %d", id, res.status)
		}
	}
	for _, id := range []string{"private", "acme%2Fnothing", "2x"} {
		if res := f.get("/api/v4/projects/"+id+"/packages", dev...); res.status != 404 || string(res.body) != `{"message":"404 Project Not Found"}` {
			t.Errorf("list via %s: %d %s", id, res.status, res.body)
		}
	}
}

func TestAutoCreateProjects(t *testing.T) {
	f := newFixture(t, Options{AutoCreateProjects: true})
	f.srv.AddToken(Token{Value: "tok", Type: TokenPrivate, User: "me"})
	me := []string{"PRIVATE-TOKEN", "tok"}
	// Before its first upload, a project does not exist, to anyone.
	for _, pid := range []string{"42", "team%2Fapp"} {
		if res := f.get("/api/v4/projects/"+pid+"/packages", me...); res.status != 404 || string(res.body) != `{"message":"404 Project Not Found"}` {
			t.Errorf("list of the missing project %s: %d %s", pid, res.status, res.body)
		}
		if res := f.get("/api/v4/projects/" + pid + "/packages"); res.status != 404 {
			t.Errorf("anonymous list of the missing project %s: %d %s", pid, res.status, res.body)
		}
		if res := f.get("/api/v4/projects/"+pid+"/packages/1/package_files", me...); res.status != 404 {
			t.Errorf("files of a package of the missing project %s: %d %s", pid, res.status, res.body)
		}
	}
	if res := f.get("/api/v4/projects/nopath/packages", me...); res.status != 404 {
		t.Errorf("list of a project segment that cannot be created: %d %s", res.status, res.body)
	}
	if ps, _ := f.srv.Store().Projects(); len(ps) != 0 {
		t.Errorf("listing created projects %+v", ps)
	}
	if res := f.put(genericPath("42", "tool/1.0.0/a.bin"), "x"); res.status != 401 {
		t.Errorf("anonymous upload to a new project: %d", res.status)
	}
	if res := f.put(genericPath("42", "tool/1.0.0/a.bin"), "x", me...); res.status != 201 {
		t.Fatalf("upload to a new numeric project: %d %s", res.status, res.body)
	}
	if res := f.put(genericPath("team%2Fapp", "tool/1.0.0/a.bin"), "y", me...); res.status != 201 {
		t.Fatalf("upload to a new project path: %d %s", res.status, res.body)
	}
	p, err := f.srv.Store().ProjectByPath("team/app")
	if err != nil || p.Visibility != Public {
		t.Fatalf("auto-created project: %+v %v", p, err)
	}
	if res := f.get(genericPath("team%2Fapp", "tool/1.0.0/a.bin")); res.status != 200 || string(res.body) != "y" {
		t.Errorf("anonymous download from the new project: %d %q", res.status, res.body)
	}
	if p.ID != 43 {
		t.Errorf("auto-created project ID %d, want the next free one, 43", p.ID)
	}
	if res := f.get(genericPath("44", "tool/1.0.0/a.bin")); res.status != 401 {
		t.Errorf("download from a missing project: %d", res.status)
	}
	f.srv.AddToken(Token{Value: "tok2", Type: TokenPrivate, User: "other"})
	if res := f.put(genericPath("42", "tool/1.0.0/b.bin"), "x", "PRIVATE-TOKEN", "tok2"); res.status != 403 {
		t.Errorf("another user's upload to the new project: %d", res.status)
	}
}

func TestPublishSeeding(t *testing.T) {
	f := newSeeded(t, Options{})
	if _, err := f.srv.Publish(privID, "tool", "1..0", "a.bin", nil, ""); err == nil {
		t.Error("Publish accepted an invalid version")
	}
	if _, err := f.srv.Publish(999, "tool", "1.0.0", "a.bin", nil, ""); err == nil {
		t.Error("Publish accepted a missing project")
	}
	pf, err := f.srv.Publish(privID, "tool", "1.0.0", "dir x/a.bin", []byte("x"), StatusHidden)
	if err != nil {
		t.Fatal(err)
	}
	if pf.FileName != "dir%20x%2Fa.bin" || pf.SHA256 != sha("x") {
		t.Errorf("published file: %+v", pf)
	}
	if err := f.srv.SetStatus(privID, "tool", "9.9.9", StatusError); err == nil {
		t.Error("SetStatus of a missing package succeeded")
	}
	must(t, f.srv.DeletePackage(privID, "tool", "1.0.0"))
	if _, ok, _ := f.srv.livePackage(privID, "tool", "1.0.0"); ok {
		t.Error("DeletePackage left the package live")
	}
}

// listingStore counts the calls of Files and Packages, which copy every
// file of a package and every package of a project.
type listingStore struct {
	Store
	files, packages atomic.Int64
}

func (c *listingStore) Files(packageID int64) ([]PackageFile, error) {
	c.files.Add(1)
	return c.Store.Files(packageID)
}

func (c *listingStore) Packages(projectID int64) ([]Package, error) {
	c.packages.Add(1)
	return c.Store.Packages(projectID)
}

// A download by name and an upload look up the packages and files of
// their name, not every package of the project and every file of the
// package: a registry serving a package of 10,000 files spent most of its
// CPU copying them all for each of the 10,000 downloads.
func TestDownloadLooksUpOnlyFilesOfItsName(t *testing.T) {
	store := &listingStore{Store: NewMemStore()}
	f := newSeeded(t, Options{Store: store, DisallowDuplicates: true})
	dev := []string{"PRIVATE-TOKEN", "dev-pat"}
	for i := range 5 {
		f.publish(privID, "many", "1.0.0", fmt.Sprintf("d/f%d.txt", i), fmt.Sprint("data ", i))
	}
	f.publish(privID, "many", "1.0.0", "d/f3.txt", "data 3, again")
	for i := range 5 {
		want := fmt.Sprint("data ", i)
		if i == 3 {
			want = "data 3, again"
		}
		if res := f.get(genericPath("2", fmt.Sprintf("many/1.0.0/d/f%d.txt", i)), dev...); res.status != 200 || string(res.body) != want {
			t.Errorf("download of f%d: %d %q, want %q", i, res.status, res.body, want)
		}
	}
	if res := f.put(genericPath("2", "many/1.0.0/d/f1.txt"), "dup", dev...); res.status != 400 {
		t.Errorf("duplicate upload: %d %s", res.status, res.body)
	}
	if res := f.put(genericPath("2", "many/1.0.1/new.txt"), "new", dev...); res.status != 201 {
		t.Errorf("upload: %d %s", res.status, res.body)
	}
	if n := store.files.Load(); n != 0 {
		t.Errorf("downloads and uploads listed every file of the package %d times", n)
	}
	if n := store.packages.Load(); n != 0 {
		t.Errorf("downloads and uploads listed every package of the project %d times", n)
	}
	// The listing does list them all (the counter works).
	if res := f.get("/api/v4/projects/2/packages/1/package_files", dev...); res.status != 200 || store.files.Load() == 0 {
		t.Errorf("package_files: %d, Files called %d times", res.status, store.files.Load())
	}
}
