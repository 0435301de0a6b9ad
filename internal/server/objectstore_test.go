package server

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// newObjectStorage serves the object-storage handler on a second loopback
// host (127.0.0.2, which Linux routes to lo), or on "localhost" when that
// address is not available, so that it is another host for HTTP clients.
func newObjectStorage(t *testing.T, s *Server) string {
	t.Helper()
	ts := httptest.NewUnstartedServer(s.ObjectStorageHandler())
	if l, err := net.Listen("tcp", "127.0.0.2:0"); err == nil {
		ts.Listener.Close()
		ts.Listener = l
		ts.Start()
		t.Cleanup(ts.Close)
		return ts.URL
	}
	ts.Start()
	t.Cleanup(ts.Close)
	return strings.Replace(ts.URL, "127.0.0.1", "localhost", 1)
}

func TestRedirectMode(t *testing.T) {
	now := time.Date(2025, 3, 22, 21, 37, 30, 0, time.UTC)
	clock := now
	f := newSeeded(t, Options{Now: func() time.Time { return clock }})
	content := strings.Repeat("abcdefghij", 50)
	f.publish(privID, "tool", "1.0.0", "dir/tool.tar.gz", content)
	objURL := newObjectStorage(t, f.srv)
	f.srv.EnableRedirects(objURL)

	res := f.get(genericPath("2", "tool/1.0.0/dir/tool.tar.gz"), dev...)
	if res.status != http.StatusFound {
		t.Fatalf("download in object-storage mode: %d %s", res.status, res.body)
	}
	if res.header.Get("X-Checksum-Sha256") != "" {
		t.Error("redirect carries X-Checksum-SHA256")
	}
	loc := res.header.Get("Location")
	u, err := url.Parse(loc)
	if err != nil || !strings.HasPrefix(loc, objURL+"/") || u.Query().Get("X-Signature") == "" || u.Query().Get("X-Expires") == "" {
		t.Fatalf("Location %q", loc)
	}

	// Go's client follows the redirect and forwards custom headers such as
	// PRIVATE-TOKEN to the other host; the object store records them.
	follow := &http.Client{}
	req, _ := http.NewRequest(http.MethodGet, f.ts.URL+genericPath("2", "tool/1.0.0/dir/tool.tar.gz"), nil)
	req.Header.Set("PRIVATE-TOKEN", "dev-pat")
	resp, err := follow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != content {
		t.Fatalf("followed download: %d %q", resp.StatusCode, b)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename="dir%252Ftool.tar.gz"`) {
		t.Errorf("object Content-Disposition %q", cd)
	}
	leaks := f.srv.CredentialLeaks()
	if len(leaks) != 1 || leaks[0].Header != "Private-Token" || leaks[0].Method != http.MethodGet {
		t.Errorf("leaks = %+v", leaks)
	}

	cases := []struct {
		name   string
		mod    func(*http.Request)
		status int
	}{
		{"plain", func(*http.Request) {}, 200},
		{"range", func(r *http.Request) { r.Header.Set("Range", "bytes=0-9") }, 206},
		{"head", func(r *http.Request) { r.Method = http.MethodHead }, 200},
		{"authorization", func(r *http.Request) { r.Header.Set("Authorization", "Bearer dev-pat") }, 400},
		{"job token", func(r *http.Request) { r.Header.Set("JOB-TOKEN", "job-same") }, 200},
		{"bad signature", func(r *http.Request) {
			q := r.URL.Query()
			q.Set("X-Signature", strings.Repeat("0", 64))
			r.URL.RawQuery = q.Encode()
		}, 403},
		{"other content type", func(r *http.Request) {
			q := r.URL.Query()
			q.Set("response-content-type", "text/html")
			r.URL.RawQuery = q.Encode()
		}, 403},
		{"other file", func(r *http.Request) {
			r.URL.Path = strings.Replace(r.URL.Path, "tool.tar", "toolx.tar", 1)
			r.URL.RawPath = ""
		}, 403},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(http.MethodGet, loc, nil)
		c.mod(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.status)
		}
	}
	var kinds []string
	for _, l := range f.srv.CredentialLeaks() {
		kinds = append(kinds, l.Header)
	}
	if strings.Join(kinds, ",") != "Private-Token,Authorization,Job-Token" {
		t.Errorf("recorded leaks %v", kinds)
	}

	f.srv.ClearCredentialLeaks()
	if n := len(f.srv.CredentialLeaks()); n != 0 {
		t.Errorf("%d leaks after ClearCredentialLeaks", n)
	}

	// Signed URLs expire; a fresh redirect works again.
	clock = now.Add(11 * time.Minute)
	resp, err = http.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("expired URL: %d", resp.StatusCode)
	}
	res = f.get(genericPath("2", "tool/1.0.0/dir/tool.tar.gz"), dev...)
	resp, err = http.Get(res.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("fresh URL: %d", resp.StatusCode)
	}

	// select=package_file reports object storage.
	res = f.put(genericPath("2", "tool/1.0.0/b.bin?select=package_file"), "b", dev...)
	var row fileRow
	res.json(t, &row)
	if row.FileStore != 2 || !strings.HasPrefix(row.File["url"], objURL) {
		t.Errorf("select=package_file in object-storage mode: %+v", row)
	}

	counts := f.srv.Counts()
	if counts[KindObjectStorage] != len(cases)+3 {
		t.Errorf("object_storage count %d", counts[KindObjectStorage])
	}
	f.srv.EnableRedirects("")
	if res := f.get(genericPath("2", "tool/1.0.0/dir/tool.tar.gz"), dev...); res.status != 200 {
		t.Errorf("after turning redirects off: %d", res.status)
	}
}
