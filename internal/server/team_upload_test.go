package server

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A project that does not exist is 404 on every read, to every caller;
// only a publish creates it.
func TestMissingProjectNotFound(t *testing.T) {
	f := serveLike(t, Options{})
	for _, pid := range []string{"42", "team%2Fapp", "nopath"} {
		for _, path := range []string{"/packages", "/packages/1", "/packages/1/package_files", "/packages/1/package_files/1/download"} {
			res := f.get("/api/v4/projects/"+pid+path, ro...)
			if res.status != 404 || string(res.body) != `{"message":"404 Project Not Found"}` {
				t.Errorf("read token, %s%s: %d %s", pid, path, res.status, res.body)
			}
		}
		if res := f.get(genericPath(pid, "tool/1.0.0/a.bin"), ro...); res.status != 404 {
			t.Errorf("read token, download from %s: %d %s", pid, res.status, res.body)
		}
	}
	// A caller who may publish, and so create it, gets the same 404.
	if res := f.get("/api/v4/projects/team%2Fapp/packages", rw...); res.status != 404 || string(res.body) != `{"message":"404 Project Not Found"}` {
		t.Errorf("full token, list of a missing project: %d %s", res.status, res.body)
	}
	if res := f.get("/api/v4/projects/team%2F..%2Fapp/packages", rw...); res.status != 404 {
		t.Errorf("full token, list of a project that cannot exist: %d %s", res.status, res.body)
	}
	if res := f.get("/api/v4/groups/team/packages", rw...); res.status != 404 {
		t.Errorf("group of a missing project: %d %s", res.status, res.body)
	}
	if ps, _ := f.srv.Store().Projects(); len(ps) != 0 {
		t.Errorf("reads created projects: %+v", ps)
	}
	if res := f.put(genericPath("team%2Fapp", "tool/1.0.0/a.bin"), "x", rw...); res.status != 201 {
		t.Fatalf("publish: %d %s", res.status, res.body)
	}
	if pkgs := listPackages(t, f, "/api/v4/projects/team%2Fapp/packages", ro...); len(pkgs) != 1 {
		t.Errorf("list after the publish: %+v", pkgs)
	}
}

// countingStore counts the blobs an upload starts, to prove that a refused
// upload stores nothing.
type countingStore struct {
	*MemStore
	blobs atomic.Int32
}

func (c *countingStore) NewBlob() (BlobWriter, error) {
	c.blobs.Add(1)
	return c.MemStore.NewBlob()
}

// endless is a body without a length: after max bytes it waits for stop
// (or gives up after 10 s), so a server that keeps reading never answers.
type endless struct {
	n, max int
	stop   chan struct{}
}

func (e *endless) Read(p []byte) (int, error) {
	if e.n >= e.max {
		select {
		case <-e.stop:
		case <-time.After(10 * time.Second):
		}
		return 0, errors.New("the server kept reading past the limit")
	}
	n := min(len(p), e.max-e.n)
	for i := range p[:n] {
		p[i] = 'x'
	}
	e.n += n
	return n, nil
}

func TestMaxFileSizeStoresNothing(t *testing.T) {
	store := &countingStore{MemStore: NewMemStore()}
	f := serveLike(t, Options{Store: store, MaxFileSize: 10})
	tooLarge := `{"message":"400 Bad request - File is too large"}`
	// A Content-Length over the limit: refused before the body is read,
	// into a new project (which is not created) or an existing one.
	for _, pid := range []string{"acme%2Fnew", "acme%2Ftools"} {
		if pid == "acme%2Ftools" {
			if res := f.put(genericPath(pid, "tool/1.0.0/ok.bin"), strings.Repeat("x", 10), rw...); res.status != 201 {
				t.Fatalf("at the limit: %d %s", res.status, res.body)
			}
		}
		before := store.blobs.Load()
		res := f.put(genericPath(pid, "tool/1.0.1/big.bin"), strings.Repeat("x", 11), rw...)
		if res.status != 400 || string(res.body) != tooLarge {
			t.Errorf("Content-Length over the limit into %s: %d %s", pid, res.status, res.body)
		}
		if n := store.blobs.Load() - before; n != 0 {
			t.Errorf("Content-Length over the limit into %s started %d blobs", pid, n)
		}
	}
	if _, err := store.ProjectByPath("acme/new"); !errors.Is(err, ErrNotExist) {
		t.Errorf("a refused upload created its project: %v", err)
	}
	// Without Content-Length, the body is cut at the limit.
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	req, err := http.NewRequest(http.MethodPut, f.ts.URL+genericPath("acme%2Ftools", "tool/1.0.2/chunked.bin"), &endless{max: 1 << 20, stop: stop})
	must(t, err)
	req.Header.Set("PRIVATE-TOKEN", "rw")
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatalf("chunked upload over the limit: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || string(body) != tooLarge {
		t.Errorf("chunked upload over the limit: %d %s", resp.StatusCode, body)
	}
	for _, v := range []string{"1.0.1", "1.0.2"} {
		if _, ok, _ := f.srv.livePackage(1, "tool", v); ok {
			t.Errorf("a refused upload created tool@%s", v)
		}
	}

	// A chunked upload cut at the limit into a new project creates no
	// project, and no group for it: a consumer who mistypes that project
	// still gets 404.
	if res := f.do(http.MethodPut, genericPath("neworg%2Fsub%2Fnew", "tool/1.0.0/chunked.bin"), &endless{max: 1 << 20, stop: stop}, rw...); res.status != 400 || string(res.body) != tooLarge {
		t.Errorf("chunked upload over the limit into a new project: %d %s", res.status, res.body)
	}
	if _, err := store.ProjectByPath("neworg/sub/new"); !errors.Is(err, ErrNotExist) {
		t.Errorf("a failed upload created its project: %v", err)
	}
	if groups, _ := store.Groups(); slices.ContainsFunc(groups, func(g Group) bool { return strings.HasPrefix(g.Path, "neworg") }) {
		t.Errorf("a failed upload left groups: %v", groups)
	}
	if res := f.get("/api/v4/projects/neworg%2Fsub%2Fnew/packages", rw...); res.status != 404 {
		t.Errorf("listing the project a failed upload named: %d %s", res.status, res.body)
	}
	if res := f.put(genericPath("neworg%2Fsub%2Fnew", "tool/1.0.0/ok.bin"), "fine", rw...); res.status != 201 {
		t.Errorf("a good upload after it: %d %s", res.status, res.body)
	}
}

// A body that stops arriving is abandoned after the idle timeout with 408
// and nothing stored; one that keeps arriving, however slowly, is not cut.
func TestUploadIdleTimeout(t *testing.T) {
	f := serveLike(t, Options{UploadIdleTimeout: 300 * time.Millisecond})

	pr, pw := io.Pipe()
	// A server that waits for ever gets an aborted body after 10 s.
	time.AfterFunc(10*time.Second, func() { pw.CloseWithError(errors.New("the server waited for ever")) })
	req, err := http.NewRequest(http.MethodPut, f.ts.URL+genericPath("acme%2Ftools", "tool/1.0.0/stalled.bin"), pr)
	must(t, err)
	req.ContentLength = 100
	req.Header.Set("PRIVATE-TOKEN", "rw")
	go pw.Write([]byte("ten bytes!")) // and then nothing
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatalf("stalled upload: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || string(body) != `{"message":"408 Request Timeout"}` {
		t.Errorf("stalled upload: %d %s", resp.StatusCode, body)
	}
	if _, ok, _ := f.srv.livePackage(1, "tool", "1.0.0"); ok {
		t.Error("the stalled upload created its package")
	}

	// Thirty chunks 20 ms apart take twice the idle timeout in all.
	pr, pw = io.Pipe()
	go func() {
		for range 30 {
			time.Sleep(20 * time.Millisecond)
			pw.Write([]byte("0123456789"))
		}
		pw.Close()
	}()
	req, err = http.NewRequest(http.MethodPut, f.ts.URL+genericPath("acme%2Ftools", "tool/1.0.0/slow.bin"), pr)
	must(t, err)
	req.Header.Set("PRIVATE-TOKEN", "rw")
	resp, err = f.client.Do(req)
	if err != nil {
		t.Fatalf("slow upload: %v", err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Errorf("slow but steady upload: %d %s", resp.StatusCode, body)
	}
	// The connection serves the next request without the old deadline.
	time.Sleep(400 * time.Millisecond)
	if res := f.get(genericPath("acme%2Ftools", "tool/1.0.0/slow.bin"), rw...); res.status != 200 || len(res.body) != 300 {
		t.Errorf("download after the slow upload: %d, %d bytes", res.status, len(res.body))
	}
}

func TestProjectPathRules(t *testing.T) {
	f := serveLike(t, Options{})
	for _, tc := range []struct {
		pid  string
		want string // "" for accepted
	}{
		{"acme%2Ftools", ""},
		{"Acme.Corp%2Fsub_group%2Fmy-tool.v2", ""},
		{"a%2F.hidden", ""},
		{"acme%2Ftool%0Aname", "can contain only"},
		{"acme%2Ftool%09", "can contain only"},
		{"acme%2Ftool%7F", "can contain only"},
		{"acme%2Ftool%20x", "can contain only"},
		{"acme%2Ft%C3%B6%C3%B6l", "can contain only"},
		{"acme%2F..%2Ftools", "'.' or '..'"},
		{"acme%2F..", "'.' or '..'"},
		{"..%2Ftools", "'.' or '..'"},
		{"acme%2F.", "'.' or '..'"},
		{"acme%2F%2Ftools", "empty segment"},
		{"%2Facme%2Ftools", "empty segment"},
		{"acme%2Ftools%2F", "empty segment"},
		{"acme%2F-tools", "starts with '-'"},
		{"acme%2Ftools.git", "'.git' or '.atom'"},
		{"acme.atom%2Ftools", "'.git' or '.atom'"},
		{"acme.%2Ftools", "group that ends in '.'"},
		{"acme%2F" + strings.Repeat("x", 256), "longer than 255"},
		{strings.Repeat("g%2F", 21) + "p", "more than 20 levels"},
	} {
		res := f.put(genericPath(tc.pid, "tool/1.0.0/a.bin"), "x", rw...)
		switch {
		case tc.want == "" && res.status != 201:
			t.Errorf("%s: %d %s, want 201", tc.pid, res.status, res.body)
		case tc.want != "" && (res.status != 400 || !strings.Contains(string(res.body), `"400 Bad request - Project path `) || !strings.Contains(string(res.body), tc.want)):
			t.Errorf("%s: %d %s, want 400 with %q", tc.pid, res.status, res.body, tc.want)
		}
	}
	if ps, _ := f.srv.Store().Projects(); len(ps) != 3 {
		t.Errorf("projects %+v, want only the three valid ones", ps)
	}
}
