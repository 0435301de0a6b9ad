package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// creds are the credential variants of the auth matrix, as header pairs.
var creds = map[string][]string{
	"anonymous":      nil,
	"invalid pat":    {"PRIVATE-TOKEN", "nope"},
	"expired pat":    {"PRIVATE-TOKEN", "expired-pat"},
	"dev pat":        {"PRIVATE-TOKEN", "dev-pat"},
	"dev pat param":  nil, // ?private_token=dev-pat
	"dev bearer":     {"Authorization", "Bearer dev-pat"},
	"oauth bearer":   {"Authorization", "Bearer oauth"},
	"oauth as pat":   {"PRIVATE-TOKEN", "oauth"},
	"junk bearer":    {"Authorization", "Bearer junk"},
	"read_api pat":   {"PRIVATE-TOKEN", "ro-pat"},
	"reporter pat":   {"PRIVATE-TOKEN", "rep-pat"},
	"guest pat":      {"PRIVATE-TOKEN", "guest-pat"},
	"maintainer pat": {"PRIVATE-TOKEN", "maint-pat"},
	"outsider pat":   {"PRIVATE-TOKEN", "out-pat"},
	"basic dev pat":  {"basic", "anyone:dev-pat"},
	"basic invalid":  {"basic", "someone:wrong"},
	"basic job":      {"basic", "gitlab-ci-token:job-same"},
	"job same":       {"JOB-TOKEN", "job-same"},
	"job param":      nil, // ?job_token=job-same
	"job bearer":     {"Authorization", "Bearer job-same"},
	"job pub":        {"JOB-TOKEN", "job-pub"},
	"job outsider":   {"JOB-TOKEN", "job-out"},
	"job allowed":    {"JOB-TOKEN", "job-allowed"},
	"job blocked":    {"JOB-TOKEN", "job-blocked"},
	"job finished":   {"JOB-TOKEN", "job-done"},
	"job invalid":    {"JOB-TOKEN", "nope"},
	"deploy rw":      {"Deploy-Token", "deploy-rw"},
	"deploy ro":      {"DEPLOY-TOKEN", "deploy-ro"},
	"deploy wo":      {"Deploy-Token", "deploy-wo"},
	"deploy bearer":  {"Authorization", "Bearer deploy-rw"},
	"deploy basic":   {"basic", "deployer:deploy-rw"},
	"deploy other":   {"Deploy-Token", "deploy-pub"},
	"deploy invalid": {"Deploy-Token", "nope"},
}

func credQuery(cred string) string {
	switch cred {
	case "dev pat param":
		return "?private_token=dev-pat"
	case "job param":
		return "?job_token=job-same"
	}
	return ""
}

type authCase struct {
	cred   string
	status int
}

// check runs one request per case and compares the status.
func checkMatrix(t *testing.T, f *fixture, method, path string, cases []authCase, body func() string) {
	t.Helper()
	for _, c := range cases {
		hdr, ok := creds[c.cred]
		if !ok && credQuery(c.cred) == "" {
			t.Fatalf("unknown credential %q", c.cred)
		}
		p := path + credQuery(c.cred)
		var b string
		if body != nil {
			b = body()
		}
		res := f.do(method, p, strings.NewReader(b), hdr...)
		if res.status != c.status {
			t.Errorf("%s %s as %s: status %d, want %d (body %s)", method, path, c.cred, res.status, c.status, res.body)
		}
	}
}

func TestDownloadAuthMatrix(t *testing.T) {
	f := newSeeded(t, Options{})
	f.publish(pubID, "tool", "1.0.0", "a.bin", "public bytes")
	f.publish(privID, "tool", "1.0.0", "a.bin", "private bytes")
	f.publish(intID, "tool", "1.0.0", "a.bin", "internal bytes")

	t.Run("private", func(t *testing.T) {
		checkMatrix(t, f, http.MethodGet, genericPath("2", "tool/1.0.0/a.bin"), []authCase{
			{"anonymous", 401},
			{"invalid pat", 401},
			{"expired pat", 401},
			{"dev pat", 200},
			{"dev pat param", 200},
			{"dev bearer", 200},
			{"oauth bearer", 200},
			{"oauth as pat", 401},
			{"junk bearer", 401},
			{"read_api pat", 200},
			{"reporter pat", 200},
			{"guest pat", 403},
			{"maintainer pat", 200},
			{"outsider pat", 404},
			{"basic dev pat", 200},
			{"basic invalid", 401},
			{"basic job", 200},
			{"job same", 200},
			{"job param", 200},
			{"job bearer", 200},
			{"job outsider", 404},
			{"job allowed", 200},
			{"job blocked", 404},
			{"job finished", 401},
			{"job invalid", 401},
			{"deploy rw", 200},
			{"deploy ro", 200},
			{"deploy wo", 200},
			{"deploy bearer", 200},
			{"deploy basic", 200},
			{"deploy other", 404},
			{"deploy invalid", 401},
		}, nil)
	})
	t.Run("public", func(t *testing.T) {
		checkMatrix(t, f, http.MethodGet, genericPath("1", "tool/1.0.0/a.bin"), []authCase{
			{"anonymous", 200},
			{"invalid pat", 401},
			{"expired pat", 401},
			{"job invalid", 401},
			{"basic invalid", 200},
			{"guest pat", 200},
			{"outsider pat", 200},
			{"job pub", 200},
			{"job blocked", 200},
			{"deploy rw", 200},
			{"deploy invalid", 200},
		}, nil)
	})
	t.Run("internal", func(t *testing.T) {
		checkMatrix(t, f, http.MethodGet, genericPath("5", "tool/1.0.0/a.bin"), []authCase{
			{"anonymous", 401},
			{"outsider pat", 200},
			{"job blocked", 200},
			{"deploy rw", 404},
		}, nil)
	})
}

func TestDownloadAuthHeaders(t *testing.T) {
	f := newSeeded(t, Options{})
	f.publish(privID, "tool", "1.0.0", "a.bin", "x")
	res := f.get(genericPath("2", "tool/1.0.0/a.bin"))
	if got := res.header.Get("WWW-Authenticate"); got != `Basic realm="GitLab Packages Registry"` {
		t.Errorf("anonymous WWW-Authenticate = %q", got)
	}
	if string(res.body) != `{"message":"401 Unauthorized"}` {
		t.Errorf("anonymous body = %s", res.body)
	}
	res = f.get(genericPath("2", "tool/1.0.0/a.bin"), "PRIVATE-TOKEN", "expired-pat")
	want := `{"error":"invalid_token","error_description":"Token is expired. You can either do re-authorization or token refresh."}`
	if string(res.body) != want {
		t.Errorf("expired body = %s, want %s", res.body, want)
	}
	res = f.get(genericPath("2", "tool/1.0.0/a.bin"), "PRIVATE-TOKEN", "out-pat")
	if string(res.body) != `{"message":"404 Not Found"}` {
		t.Errorf("non-member body = %s", res.body)
	}
	res = f.get(genericPath("2", "tool/1.0.0/a.bin"), "PRIVATE-TOKEN", "guest-pat")
	if string(res.body) != `{"message":"403 Forbidden"}` {
		t.Errorf("guest body = %s", res.body)
	}
	// An unknown project hides behind 401 for anonymous callers.
	if res := f.get(genericPath("999", "tool/1.0.0/a.bin")); res.status != 401 {
		t.Errorf("unknown project, anonymous: %d", res.status)
	}
	if res := f.get(genericPath("999", "tool/1.0.0/a.bin"), "PRIVATE-TOKEN", "dev-pat"); res.status != 404 {
		t.Errorf("unknown project, authenticated: %d", res.status)
	}
}

func TestUploadAuthMatrix(t *testing.T) {
	f := newSeeded(t, Options{})
	n := 0
	body := func() string { n++; return fmt.Sprint("content ", n) }
	t.Run("private", func(t *testing.T) {
		checkMatrix(t, f, http.MethodPut, genericPath("2", "tool/1.0.0/a.bin"), []authCase{
			{"anonymous", 401},
			{"invalid pat", 401},
			{"expired pat", 401},
			{"dev pat", 201}, // the first upload creates the package
			{"dev pat param", 201},
			{"dev bearer", 201},
			{"oauth bearer", 201},
			{"read_api pat", 403},
			{"reporter pat", 403},
			{"guest pat", 403},
			{"maintainer pat", 201},
			{"outsider pat", 404},
			{"basic dev pat", 201},
			{"basic invalid", 401},
			{"basic job", 401}, // gitlab-ci-token basic auth is not enabled on PUT
			{"job same", 201},
			{"job param", 201},
			{"job bearer", 201},
			{"job outsider", 404},
			{"job allowed", 201},
			{"job blocked", 404},
			{"job finished", 401},
			{"deploy rw", 201},
			{"deploy wo", 201},
			{"deploy ro", 403},
			{"deploy bearer", 201},
			{"deploy basic", 201},
			{"deploy other", 404},
			{"deploy invalid", 401},
		}, body)
	})
	t.Run("public", func(t *testing.T) {
		checkMatrix(t, f, http.MethodPut, genericPath("1", "tool/1.0.0/a.bin"), []authCase{
			{"anonymous", 401},
			{"dev pat", 201},
			{"guest pat", 403},
			{"outsider pat", 403},
			{"job pub", 403},
			{"job blocked", 404},
			{"job allowed", 201},
			{"deploy rw", 403}, // a deploy token of another project
			{"deploy other", 201},
		}, body)
	})
}

func TestUploadAuthBodies(t *testing.T) {
	f := newSeeded(t, Options{})
	res := f.put(genericPath("2", "tool/1.0.0/a.bin"), "x")
	if res.status != 401 || res.header.Get("WWW-Authenticate") != `Basic realm="GitLab Packages Registry"` {
		t.Errorf("anonymous upload: %d %q", res.status, res.header.Get("WWW-Authenticate"))
	}
	res = f.put(genericPath("2", "tool/1.0.0/a.bin"), "x", "PRIVATE-TOKEN", "ro-pat")
	var e map[string]string
	res.json(t, &e)
	if res.status != 403 || e["error"] != "insufficient_scope" {
		t.Errorf("read_api upload: %d %s", res.status, res.body)
	}
	res = f.put(genericPath("2", "tool/1.0.0/a.bin"), "x", "PRIVATE-TOKEN", "rep-pat")
	if string(res.body) != `{"message":"403 Forbidden"}` {
		t.Errorf("reporter upload body = %s", res.body)
	}
}

func TestListAuthMatrix(t *testing.T) {
	f := newSeeded(t, Options{})
	f.publish(pubID, "tool", "1.0.0", "a.bin", "x")
	f.publish(privID, "tool", "1.0.0", "a.bin", "x")
	t.Run("private", func(t *testing.T) {
		checkMatrix(t, f, http.MethodGet, "/api/v4/projects/2/packages", []authCase{
			{"anonymous", 404},
			{"invalid pat", 401},
			{"expired pat", 401},
			{"dev pat", 200},
			{"dev pat param", 200},
			{"dev bearer", 200},
			{"oauth bearer", 200},
			{"read_api pat", 200},
			{"reporter pat", 200},
			{"guest pat", 403},
			{"outsider pat", 404},
			{"basic dev pat", 404}, // basic auth is not a credential here
			{"basic job", 404},
			{"job same", 200},
			{"job param", 200},
			{"job bearer", 200},
			{"job outsider", 403},
			{"job allowed", 200},
			{"job blocked", 403},
			{"job finished", 401},
			{"deploy rw", 404}, // deploy tokens are ignored here
			{"deploy bearer", 401},
		}, nil)
	})
	t.Run("public", func(t *testing.T) {
		checkMatrix(t, f, http.MethodGet, "/api/v4/projects/1/packages", []authCase{
			{"anonymous", 200},
			{"invalid pat", 401},
			{"guest pat", 200},
			{"outsider pat", 200},
			{"deploy rw", 200},
			{"job blocked", 403},
			{"job allowed", 200},
		}, nil)
	})
	t.Run("package_files on public with a blocked job token", func(t *testing.T) {
		pkgs := listPackages(t, f, "/api/v4/projects/1/packages")
		checkMatrix(t, f, http.MethodGet, fmt.Sprintf("/api/v4/projects/1/packages/%d/package_files", pkgs[0].ID), []authCase{
			{"job blocked", 200},
			{"anonymous", 200},
		}, nil)
	})
}

func TestListAuthBodies(t *testing.T) {
	f := newSeeded(t, Options{})
	cases := []struct {
		path string
		hdr  []string
		want string
	}{
		{"/api/v4/projects/2/packages", nil, `{"message":"404 Project Not Found"}`},
		{"/api/v4/projects/999/packages", []string{"PRIVATE-TOKEN", "dev-pat"}, `{"message":"404 Project Not Found"}`},
		{"/api/v4/projects/2/packages", []string{"JOB-TOKEN", "job-blocked"},
			`{"message":"403 Forbidden - Authentication by CI/CD job token not allowed from other to private."}`},
		{"/api/v4/projects/2/packages", []string{"PRIVATE-TOKEN", "guest-pat"}, `{"message":"403 Forbidden"}`},
		{"/api/v4/projects/2/packages", []string{"PRIVATE-TOKEN", "nope"}, `{"message":"401 Unauthorized"}`},
	}
	for _, c := range cases {
		res := f.get(c.path, c.hdr...)
		if string(res.body) != c.want {
			t.Errorf("GET %s %v: %d %s, want %s", c.path, c.hdr, res.status, res.body, c.want)
		}
		if res.header.Get("WWW-Authenticate") != "" {
			t.Errorf("GET %s %v: WWW-Authenticate %q on a non-generic route", c.path, c.hdr, res.header.Get("WWW-Authenticate"))
		}
	}
}

func TestJobTokenAllowlistOff(t *testing.T) {
	f := newSeeded(t, Options{})
	f.publish(privID, "tool", "1.0.0", "a.bin", "x")
	path := genericPath("2", "tool/1.0.0/a.bin")
	if res := f.get(path, "JOB-TOKEN", "job-blocked"); res.status != 404 {
		t.Fatalf("blocked job token: %d", res.status)
	}
	f.srv.SetJobTokenAllowlist(privID, false)
	if res := f.get(path, "JOB-TOKEN", "job-blocked"); res.status != 200 {
		t.Errorf("job token with the allowlist off: %d", res.status)
	}
}

func TestRevokedToken(t *testing.T) {
	f := newSeeded(t, Options{})
	f.srv.AddToken(Token{Value: "revoked", Type: TokenPrivate, User: "dev", Revoked: true})
	res := f.get("/api/v4/projects/1/packages", "PRIVATE-TOKEN", "revoked")
	var e map[string]string
	res.json(t, &e)
	if res.status != 401 || e["error"] != "invalid_token" || !strings.Contains(e["error_description"], "revoked") {
		t.Errorf("revoked token: %d %s", res.status, res.body)
	}
}
