package server

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func listPackages(t *testing.T, f *fixture, path string, hdr ...string) []packageEntity {
	t.Helper()
	res := f.get(path, hdr...)
	if res.status != 200 {
		t.Fatalf("GET %s: %d %s", path, res.status, res.body)
	}
	var out []packageEntity
	res.json(t, &out)
	return out
}

func listFiles(t *testing.T, f *fixture, path string, hdr ...string) []fileEntity {
	t.Helper()
	res := f.get(path, hdr...)
	if res.status != 200 {
		t.Fatalf("GET %s: %d %s", path, res.status, res.body)
	}
	var out []fileEntity
	res.json(t, &out)
	return out
}

func names(pkgs []packageEntity) []string {
	var out []string
	for _, p := range pkgs {
		out = append(out, p.Name+"@"+p.Version)
	}
	return out
}

// tick returns a clock that advances one second per call, so that
// created_at orders are distinct.
func tick() func() time.Time {
	t := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(time.Second); return t }
}

func TestListFiltersAndOrder(t *testing.T) {
	f := newSeeded(t, Options{Now: tick()})
	for _, nv := range [][2]string{
		{"foo", "1.9.0"}, {"foo", "1.10.0"}, {"foo-bar", "1.0.0"}, {"libfoo", "2.0.0"},
		{"FOO", "0.1.0"}, {"bar", "1.0.0"}, {"MyTool", "1.0.0"}, {"mytool", "1.0.0"},
	} {
		f.publish(pubID, nv[0], nv[1], "a.bin", nv[0]+nv[1])
	}
	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{"foo@1.9.0", "foo@1.10.0", "foo-bar@1.0.0", "libfoo@2.0.0", "FOO@0.1.0", "bar@1.0.0", "MyTool@1.0.0", "mytool@1.0.0"}},
		{"package_name=foo", []string{"foo@1.9.0", "foo@1.10.0", "foo-bar@1.0.0", "libfoo@2.0.0", "FOO@0.1.0"}},
		{"package_name=mytool", []string{"MyTool@1.0.0", "mytool@1.0.0"}},
		{"package_name=fo+ba", []string{"foo-bar@1.0.0"}}, // terms are ANDed
		{"package_name=%22o-b%22", []string{"foo-bar@1.0.0"}},
		{"package_name=%25", nil}, // LIKE wildcards are literal
		{"package_name=foo&package_version=1.10.0", []string{"foo@1.10.0"}},
		{"package_name=foo&package_version=1.10", nil},
		{"package_name=foo&order_by=version", []string{"FOO@0.1.0", "foo-bar@1.0.0", "foo@1.10.0", "foo@1.9.0", "libfoo@2.0.0"}},
		{"package_name=foo&order_by=version&sort=desc", []string{"libfoo@2.0.0", "foo@1.9.0", "foo@1.10.0", "foo-bar@1.0.0", "FOO@0.1.0"}},
		{"package_name=foo&order_by=name", []string{"FOO@0.1.0", "foo@1.9.0", "foo@1.10.0", "foo-bar@1.0.0", "libfoo@2.0.0"}},
		{"package_name=foo&sort=desc", []string{"FOO@0.1.0", "libfoo@2.0.0", "foo-bar@1.0.0", "foo@1.10.0", "foo@1.9.0"}},
		{"package_name=foo&order_by=type", []string{"foo@1.9.0", "foo@1.10.0", "foo-bar@1.0.0", "libfoo@2.0.0", "FOO@0.1.0"}},
		{"package_type=generic&package_name=bar", []string{"foo-bar@1.0.0", "bar@1.0.0"}},
		{"package_type=npm", nil},
		{"include_versionless=true&package_name=bar", []string{"foo-bar@1.0.0", "bar@1.0.0"}},
	}
	for _, c := range cases {
		got := names(listPackages(t, f, "/api/v4/projects/1/packages?"+c.query))
		if !slices.Equal(got, c.want) {
			t.Errorf("?%s = %v, want %v", c.query, got, c.want)
		}
	}
	bad := map[string]string{
		"order_by=size":            "order_by does not have a valid value",
		"sort=up":                  "sort does not have a valid value",
		"package_type=zip":         "package_type does not have a valid value",
		"status=gone":              "status does not have a valid value",
		"include_versionless=mayb": "include_versionless is invalid",
		"per_page=0":               "per_page has a value not allowed",
		"per_page=x":               "per_page is invalid",
		"per_page=-1":              "per_page does not have a valid value",
		"page=0":                   "page does not have a valid value",
		"page=two":                 "page is invalid",
		"page=two&sort=up":         "page is invalid, sort does not have a valid value",
	}
	for q, msg := range bad {
		res := f.get("/api/v4/projects/1/packages?" + q)
		if res.status != 400 || string(res.body) != `{"error":"`+msg+`"}` {
			t.Errorf("?%s: %d %s, want 400 %s", q, res.status, res.body, msg)
		}
	}
}

func TestPackageEntity(t *testing.T) {
	now := time.Date(2025, 1, 10, 9, 15, 2, 123e6, time.UTC)
	f := newSeeded(t, Options{Now: func() time.Time { return now }, ExternalURL: "https://gitlab.example.com/"})
	pf := f.publish(privID, "mytool", "1.4.0", "a.bin", "x")
	f.publish(privID, "mytool", "1.3.0", "a.bin", "x")
	res := f.get("/api/v4/projects/2/packages?package_version=1.4.0", "PRIVATE-TOKEN", "maint-pat")
	want := fmt.Sprintf(`[{"id":%d,"name":"mytool","version":"1.4.0","package_type":"generic","status":"default",`+
		`"_links":{"web_path":"/acme/private/-/packages/%d","delete_api_path":"https://gitlab.example.com/api/v4/projects/2/packages/%d"},`+
		`"created_at":"2025-01-10T09:15:02.123Z","last_downloaded_at":null,"tags":[]}]`, pf.PackageID, pf.PackageID, pf.PackageID)
	if string(res.body) != want {
		t.Errorf("list entity:\n got %s\nwant %s", res.body, want)
	}
	// Without destroy permission there is no delete_api_path.
	pkgs := listPackages(t, f, "/api/v4/projects/2/packages", dev...)
	if pkgs[0].Links.DeleteAPIPath != "" || pkgs[0].Links.WebPath == "" {
		t.Errorf("developer links: %+v", pkgs[0].Links)
	}
	res = f.get(fmt.Sprintf("/api/v4/projects/2/packages/%d", pf.PackageID), dev...)
	var one packageEntity
	res.json(t, &one)
	if one.Versions == nil || len(*one.Versions) != 1 || (*one.Versions)[0].Version != "1.3.0" {
		t.Errorf("single package versions: %s", res.body)
	}
	if res := f.get("/api/v4/projects/2/packages/99999", dev...); res.status != 404 || string(res.body) != `{"message":"404 Not found"}` {
		t.Errorf("missing package: %d %s", res.status, res.body)
	}
	if res := f.get("/api/v4/projects/2/packages/abc", dev...); res.status != 400 {
		t.Errorf("non-numeric package id: %d", res.status)
	}
	// A package of another project is not found through this one.
	if res := f.get(fmt.Sprintf("/api/v4/projects/1/packages/%d", pf.PackageID)); res.status != 404 {
		t.Errorf("package via another project: %d", res.status)
	}
}

func TestPackageFilesList(t *testing.T) {
	f := newSeeded(t, Options{Now: tick()})
	var ids []int64
	for _, n := range []string{"c.bin", "a.bin", "b.bin"} {
		ids = append(ids, f.publish(privID, "tool", "1.0.0", n, n).ID)
	}
	maint := []string{"PRIVATE-TOKEN", "maint-pat"}
	pkg := f.publish(privID, "tool", "1.0.0", "gone.bin", "x")
	if res := f.do("DELETE", fmt.Sprintf("/api/v4/projects/2/packages/%d/package_files/%d", pkg.PackageID, pkg.ID), nil, maint...); res.status != 204 {
		t.Fatalf("delete file: %d", res.status)
	}
	base := fmt.Sprintf("/api/v4/projects/2/packages/%d/package_files", pkg.PackageID)
	cases := []struct {
		query string
		want  []string
	}{
		{"", []string{"c.bin", "a.bin", "b.bin"}},
		{"?order_by=file_name", []string{"a.bin", "b.bin", "c.bin"}},
		{"?order_by=file_name&sort=desc", []string{"c.bin", "b.bin", "a.bin"}},
		{"?order_by=created_at&sort=desc", []string{"b.bin", "a.bin", "c.bin"}},
		{"?sort=desc&per_page=2&page=2", []string{"c.bin"}},
	}
	for _, c := range cases {
		var got []string
		for _, fe := range listFiles(t, f, base+c.query, dev...) {
			got = append(got, fe.FileName)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s = %v, want %v", c.query, got, c.want)
		}
	}
	res := f.get(base+"?order_by=id&per_page=1", dev...)
	want := fmt.Sprintf(`[{"id":%d,"package_id":%d,"created_at":"2025-01-01T00:00:01.000Z","file_name":"c.bin","size":5,"file_md5":null,"file_sha1":null,"file_sha256":"%s"}]`,
		ids[0], pkg.PackageID, sha("c.bin"))
	if string(res.body) != want {
		t.Errorf("file entity:\n got %s\nwant %s", res.body, want)
	}
	if res := f.get(base+"?order_by=size", dev...); res.status != 400 {
		t.Errorf("bad order_by: %d", res.status)
	}
	// Deploy tokens are ignored on this API: anonymous on a private
	// project.
	if res := f.get(base, "Deploy-Token", "deploy-rw"); res.status != 404 {
		t.Errorf("deploy token on package_files: %d", res.status)
	}
}

func TestPaginationHeaders(t *testing.T) {
	f := newSeeded(t, Options{Now: tick(), ExternalURL: "https://gitlab.example.com"})
	for i := range 205 {
		f.publish(pubID, fmt.Sprintf("pkg%03d", i), "1.0.0", "a.bin", "x")
	}
	type page struct {
		query                         string
		n                             int
		first                         string
		xpage, next, prev, total, tps string
		rels                          []string
	}
	cases := []page{
		{"", 20, "pkg000", "1", "2", "", "205", "11", []string{"next", "first", "last"}},
		{"?per_page=100", 100, "pkg000", "1", "2", "", "205", "3", []string{"next", "first", "last"}},
		{"?per_page=500&page=2", 100, "pkg100", "2", "3", "1", "205", "3", []string{"prev", "next", "first", "last"}},
		{"?per_page=100&page=3", 5, "pkg200", "3", "", "2", "205", "3", []string{"prev", "first", "last"}},
		{"?per_page=100&page=9", 0, "", "9", "", "8", "205", "3", []string{"prev", "first", "last"}},
	}
	for _, c := range cases {
		res := f.get("/api/v4/projects/1/packages" + c.query)
		var got []packageEntity
		res.json(t, &got)
		if len(got) != c.n || (c.n > 0 && got[0].Name != c.first) {
			t.Errorf("%s: %d items starting %v", c.query, len(got), names(got[:min(1, len(got))]))
		}
		h := res.header
		for k, v := range map[string]string{"X-Page": c.xpage, "X-Next-Page": c.next, "X-Prev-Page": c.prev, "X-Total": c.total, "X-Total-Pages": c.tps} {
			if vs, ok := h[k]; !ok || vs[0] != v {
				t.Errorf("%s: %s = %q (present %v), want %q", c.query, k, h.Get(k), ok, v)
			}
		}
		links := parseLinks(t, h.Get("Link"))
		var rels []string
		for _, l := range links {
			rels = append(rels, l.rel)
		}
		if !slices.Equal(rels, c.rels) {
			t.Errorf("%s: Link rels %v, want %v", c.query, rels, c.rels)
		}
	}

	// Following rel="next" from the first page visits every package once,
	// on the external host, keeping other parameters.
	seen := map[string]bool{}
	next := "/api/v4/projects/1/packages?per_page=100&package_type=generic"
	for next != "" {
		res := f.get(next)
		var got []packageEntity
		res.json(t, &got)
		for _, p := range got {
			if seen[p.Name] {
				t.Fatalf("%s listed twice", p.Name)
			}
			seen[p.Name] = true
		}
		next = ""
		for _, l := range parseLinks(t, res.header.Get("Link")) {
			if l.rel != "next" {
				continue
			}
			u, err := url.Parse(l.url)
			if err != nil || u.Host != "gitlab.example.com" || u.Query().Get("package_type") != "generic" {
				t.Fatalf("next link %q", l.url)
			}
			next = u.RequestURI()
		}
	}
	if len(seen) != 205 {
		t.Errorf("walked %d packages, want 205", len(seen))
	}
}

func TestLinkUsesRequestHostByDefault(t *testing.T) {
	f := newSeeded(t, Options{})
	res := f.get("/api/v4/projects/1/packages?package_name=x%20y")
	links := parseLinks(t, res.header.Get("Link"))
	want := f.ts.URL + "/api/v4/projects/1/packages?package_name=x+y&page=1&per_page=20"
	if len(links) != 2 || links[0].url != want || links[0].rel != "first" || links[1].rel != "last" {
		t.Errorf("Link = %q, want first %s", res.header.Get("Link"), want)
	}
}

type link struct{ url, rel string }

func parseLinks(t *testing.T, h string) []link {
	t.Helper()
	var out []link
	for _, part := range strings.Split(h, ", ") {
		u, rel, ok := strings.Cut(part, ">; rel=")
		if !ok || !strings.HasPrefix(u, "<") {
			t.Fatalf("bad Link part %q", part)
		}
		out = append(out, link{u[1:], strings.Trim(rel, `"`)})
	}
	return out
}

func TestPaginationWithoutCounts(t *testing.T) {
	f := newSeeded(t, Options{})
	store := f.srv.Store()
	now := time.Now()
	for i := range countLimit + 1 {
		if _, _, err := store.CreatePackage(
			Package{ProjectID: pubID, Name: "p" + strconv.Itoa(i), Version: "1.0.0", Type: "generic", Status: StatusDefault, CreatedAt: now},
			PackageFile{FileName: "a", Status: StatusDefault, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	res := f.get("/api/v4/projects/1/packages?per_page=100&page=101")
	for _, k := range []string{"X-Total", "X-Total-Pages"} {
		if _, ok := res.header[k]; ok {
			t.Errorf("%s present above %d rows", k, countLimit)
		}
	}
	if res.header.Get("X-Next-Page") != "" || strings.Contains(res.header.Get("Link"), `rel="last"`) {
		t.Errorf("last page headers: next %q link %q", res.header.Get("X-Next-Page"), res.header.Get("Link"))
	}
	var got []packageEntity
	res.json(t, &got)
	if len(got) != 1 {
		t.Errorf("last page holds %d", len(got))
	}
	res = f.get("/api/v4/projects/1/packages?per_page=100")
	if res.header.Get("X-Next-Page") != "2" || !strings.Contains(res.header.Get("Link"), `rel="next"`) {
		t.Errorf("first page: next %q", res.header.Get("X-Next-Page"))
	}
}

func TestGroupList(t *testing.T) {
	f := newSeeded(t, Options{Now: tick()})
	must(t, f.srv.AddProject(Project{ID: 10, Path: "acme/sub/deep", Visibility: Public}))
	must(t, f.srv.AddGroup(Group{ID: 100, Path: "acme", Visibility: Public}))
	f.publish(pubID, "tool", "1.0.0", "a.bin", "x")
	f.publish(privID, "tool", "2.0.0", "a.bin", "x")
	f.publish(10, "tool", "3.0.0", "a.bin", "x")
	f.publish(ciID, "tool", "4.0.0", "a.bin", "x")

	cases := []struct {
		path string
		hdr  []string
		want []string
	}{
		{"/api/v4/groups/acme/packages", nil, []string{"tool@1.0.0", "tool@3.0.0"}},
		{"/api/v4/groups/100/packages", dev, []string{"tool@1.0.0", "tool@2.0.0", "tool@3.0.0"}},
		{"/api/v4/groups/acme/packages?exclude_subgroups=true", dev, []string{"tool@1.0.0", "tool@2.0.0"}},
		{"/api/v4/groups/acme%2Fsub/packages", nil, []string{"tool@3.0.0"}},
		{"/api/v4/groups/acme/packages?order_by=project_path", dev, []string{"tool@2.0.0", "tool@1.0.0", "tool@3.0.0"}},
		{"/api/v4/groups/acme/packages", []string{"JOB-TOKEN", "job-same"}, []string{"tool@1.0.0", "tool@3.0.0"}},
		{"/api/v4/groups/acme/packages", []string{"PRIVATE-TOKEN", "guest-pat"}, []string{"tool@1.0.0", "tool@3.0.0"}},
	}
	for _, c := range cases {
		got := names(listPackages(t, f, c.path, c.hdr...))
		if !slices.Equal(got, c.want) {
			t.Errorf("%s %v = %v, want %v", c.path, c.hdr, got, c.want)
		}
	}
	pkgs := listPackages(t, f, "/api/v4/groups/acme/packages?package_version=3.0.0")
	if len(pkgs) != 1 || pkgs[0].ProjectID == nil || *pkgs[0].ProjectID != 10 || *pkgs[0].ProjectPath != "acme/sub/deep" {
		t.Errorf("group entity: %+v", pkgs)
	}
	for _, c := range []struct {
		path   string
		hdr    []string
		status int
	}{
		{"/api/v4/groups/ci/packages", nil, 404},
		{"/api/v4/groups/ci/packages", []string{"JOB-TOKEN", "job-same"}, 404}, // job tokens are not credentials here
		{"/api/v4/groups/ci/packages", dev, 200},
		{"/api/v4/groups/ci/packages", []string{"PRIVATE-TOKEN", "nope"}, 401},
		{"/api/v4/groups/nothing/packages", dev, 404},
		{"/api/v4/groups/999/packages", dev, 404},
	} {
		res := f.get(c.path, c.hdr...)
		if res.status != c.status {
			t.Errorf("%s %v: %d %s, want %d", c.path, c.hdr, res.status, res.body, c.status)
		}
		if c.status == 404 && string(res.body) != `{"message":"404 Group Not Found"}` {
			t.Errorf("%s: body %s", c.path, res.body)
		}
	}
}
