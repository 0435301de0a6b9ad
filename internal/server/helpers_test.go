package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Seeded projects of the standard fixture.
const (
	pubID   = 1 // acme/public, public
	privID  = 2 // acme/private, private
	ciID    = 3 // ci/runner, private: the source of allowlisted job tokens
	otherID = 4 // ci/other, private: the source of blocked job tokens
	intID   = 5 // acme/internal, internal
)

type fixture struct {
	t   *testing.T
	srv *Server
	ts  *httptest.Server
	// client does not follow redirects, so tests see 302s.
	client *http.Client
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	srv := New(opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return &fixture{
		t: t, srv: srv, ts: ts,
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
}

// newSeeded returns a fixture with projects, members and tokens:
//
//	dev-pat      dev, Developer of public and private (and ci/runner)
//	ro-pat       dev, scope read_api
//	rep-pat      rep, Reporter of private
//	guest-pat    guest, Guest of public and private
//	maint-pat    maint, Maintainer of public and private
//	out-pat      out, member of nothing
//	expired-pat  dev, expired
//	oauth        dev, OAuth token
//	job-same     job of private, user dev
//	job-pub      job of public, user out (not a member)
//	job-out      job of private, user out (not a member)
//	job-allowed  job of ci/runner (allowlisted by private and public), user dev
//	job-blocked  job of ci/other (not allowlisted), user dev
//	job-done     job of private, finished
//	deploy-rw/ro/wo  deploy tokens of private
//	deploy-pub   deploy token of public
func newSeeded(t *testing.T, opts Options) *fixture {
	t.Helper()
	f := newFixture(t, opts)
	s := f.srv
	for _, p := range []Project{
		{ID: pubID, Path: "acme/public", Visibility: Public},
		{ID: privID, Path: "acme/private", Visibility: Private},
		{ID: ciID, Path: "ci/runner", Visibility: Private},
		{ID: otherID, Path: "ci/other", Visibility: Private},
		{ID: intID, Path: "acme/internal", Visibility: Internal},
	} {
		must(t, s.AddProject(p))
	}
	for _, pid := range []int64{pubID, privID, ciID, otherID} {
		s.AddMember(pid, "dev", Developer)
	}
	s.AddMember(privID, "rep", Reporter)
	s.AddMember(pubID, "guest", Guest)
	s.AddMember(privID, "guest", Guest)
	s.AddMember(pubID, "maint", Maintainer)
	s.AddMember(privID, "maint", Maintainer)
	s.AddUser("out")
	for _, tk := range []Token{
		{Value: "dev-pat", Type: TokenPrivate, User: "dev"},
		{Value: "ro-pat", Type: TokenPrivate, User: "dev", Scopes: []string{ScopeReadAPI}},
		{Value: "rep-pat", Type: TokenPrivate, User: "rep"},
		{Value: "guest-pat", Type: TokenPrivate, User: "guest"},
		{Value: "maint-pat", Type: TokenPrivate, User: "maint"},
		{Value: "out-pat", Type: TokenPrivate, User: "out"},
		{Value: "expired-pat", Type: TokenPrivate, User: "dev", Expired: true},
		{Value: "oauth", Type: TokenOAuth, User: "dev"},
		{Value: "job-same", Type: TokenJob, User: "dev", ProjectID: privID},
		{Value: "job-pub", Type: TokenJob, User: "out", ProjectID: pubID},
		{Value: "job-out", Type: TokenJob, User: "out", ProjectID: privID},
		{Value: "job-allowed", Type: TokenJob, User: "dev", ProjectID: ciID},
		{Value: "job-blocked", Type: TokenJob, User: "dev", ProjectID: otherID},
		{Value: "job-done", Type: TokenJob, User: "dev", ProjectID: privID, Expired: true},
		{Value: "deploy-rw", Type: TokenDeploy, ProjectID: privID},
		{Value: "deploy-ro", Type: TokenDeploy, ProjectID: privID, Scopes: []string{ScopeReadPackageRegistry}},
		{Value: "deploy-wo", Type: TokenDeploy, ProjectID: privID, Scopes: []string{ScopeWritePackageRegistry}},
		{Value: "deploy-pub", Type: TokenDeploy, ProjectID: pubID},
	} {
		s.AddToken(tk)
	}
	s.AllowJobToken(privID, ciID)
	s.AllowJobToken(pubID, ciID)
	return f
}

// result is a finished response.
type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a request; hdr holds header name/value pairs, where the name
// "basic" sets basic auth from "user:password".
func (f *fixture) do(method, path string, body io.Reader, hdr ...string) result {
	f.t.Helper()
	req, err := http.NewRequest(method, f.ts.URL+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "basic" {
			u, p, _ := strings.Cut(hdr[i+1], ":")
			req.SetBasicAuth(u, p)
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.client.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return result{resp.StatusCode, resp.Header, b}
}

func (f *fixture) get(path string, hdr ...string) result {
	f.t.Helper()
	return f.do(http.MethodGet, path, nil, hdr...)
}

func (f *fixture) put(path, body string, hdr ...string) result {
	f.t.Helper()
	return f.do(http.MethodPut, path, strings.NewReader(body), hdr...)
}

func (f *fixture) publish(pid int64, name, version, file, data string) PackageFile {
	f.t.Helper()
	pf, err := f.srv.Publish(pid, name, version, file, []byte(data), "")
	if err != nil {
		f.t.Fatal(err)
	}
	return pf
}

func genericPath(pid, rest string) string {
	return "/api/v4/projects/" + pid + "/packages/generic/" + rest
}
