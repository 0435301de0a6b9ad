package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gpmtool/gpm/internal/hint"
)

func TestNewNormalisesBaseURL(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"https://gitlab.example.com", "https://gitlab.example.com/api/v4"},
		{"https://gitlab.example.com/", "https://gitlab.example.com/api/v4"},
		{"https://gitlab.example.com/api/v4", "https://gitlab.example.com/api/v4"},
		{"https://gitlab.example.com/api/v4/", "https://gitlab.example.com/api/v4"},
		{"https://host.example.com/gitlab", "https://host.example.com/gitlab/api/v4"},
		{"https://host.example.com/gitlab/api/v4", "https://host.example.com/gitlab/api/v4"},
		{"HTTPS://GitLab.Example.com:8443", "https://gitlab.example.com:8443/api/v4"},
		{"  https://gitlab.example.com  ", "https://gitlab.example.com/api/v4"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/api/v4"},
	}
	for _, tt := range tests {
		c, err := New(tt.in)
		if err != nil {
			t.Errorf("New(%q): %v", tt.in, err)
			continue
		}
		if got := c.APIURL(); got != tt.want {
			t.Errorf("New(%q).APIURL() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNewRejectsBadURLs(t *testing.T) {
	tests := []struct{ in, wantErr string }{
		{"ftp://gitlab.example.com", "scheme"},
		{"gitlab.example.com", "scheme"},
		{"https://", "no host"},
		{"https://user:hunter2@gitlab.example.com", "credentials in the url"},
		{"https://gitlab.example.com/?private_token=abc", "query"},
		{"https://gitlab.example.com/#frag", "fragment"},
		{"://bad", "invalid registry url"},
	}
	for _, tt := range tests {
		_, err := New(tt.in)
		if err == nil {
			t.Errorf("New(%q) succeeded", tt.in)
			continue
		}
		if !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("New(%q) = %v, want it to mention %q", tt.in, err, tt.wantErr)
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "private_token=abc") {
			t.Errorf("New(%q) leaks a secret: %v", tt.in, err)
		}
	}
}

func TestNewPlainHTTPCredentials(t *testing.T) {
	tests := []struct {
		url   string
		cred  Credential
		allow bool
	}{
		{"http://gitlab.example.com", privateCred, false},
		{"http://10.0.0.5:8080", Credential{Type: TokenJob, Token: "x-job"}, false},
		{"http://gitlab.example.com", Credential{Type: TokenBasic, Username: "u", Token: "pw"}, false},
		{"http://gitlab.example.com", Credential{}, true}, // anonymous is fine
		{"https://gitlab.example.com", privateCred, true},
		{"http://127.0.0.1:8080", privateCred, true},
		{"http://127.9.8.7", privateCred, true},
		{"http://localhost:3000", privateCred, true},
		{"http://[::1]:3000", privateCred, true},
		{"http://localhost.example.com", privateCred, false},
	}
	for _, tt := range tests {
		_, err := New(tt.url, WithCredential(tt.cred))
		if tt.allow && err != nil {
			t.Errorf("New(%q, %s) = %v, want success", tt.url, tt.cred, err)
		}
		if !tt.allow {
			if !errors.Is(err, ErrInsecure) {
				t.Errorf("New(%q, %s) = %v, want ErrInsecure", tt.url, tt.cred, err)
				continue
			}
			if strings.Contains(err.Error(), tt.cred.Token) {
				t.Errorf("error leaks the token: %v", err)
			}
			if h := strings.Join(hint.Of(err), "\n"); !strings.Contains(h, "https://") {
				t.Errorf("hints %q do not suggest https", h)
			}
		}
	}
}

func TestNewRejectsBadCredential(t *testing.T) {
	for _, c := range []Credential{{Type: "cookie", Token: "x"}, {Type: TokenPrivate}} {
		if _, err := New("https://gitlab.example.com", WithCredential(c)); err == nil {
			t.Errorf("New with credential %#v succeeded", c)
		}
	}
}

func TestCredentialHeaders(t *testing.T) {
	tests := []struct {
		cred       Credential
		header     string
		wantHeader string
	}{
		{Credential{Type: TokenPrivate, Token: "tok-p"}, "Private-Token", "tok-p"},
		{Credential{Type: TokenJob, Token: "tok-j"}, "Job-Token", "tok-j"},
		{Credential{Type: TokenDeploy, Token: "tok-d"}, "Deploy-Token", "tok-d"},
		{Credential{Type: TokenBearer, Token: "tok-b"}, "Authorization", "Bearer tok-b"},
		// A .netrc credential on the listing API: GitLab ignores basic
		// auth there, so its password goes as an access token.
		{Credential{Type: TokenBasic, Username: "alice", Token: "tok-n"}, "Private-Token", "tok-n"},
		{Credential{}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.cred.Type, func(t *testing.T) {
			srv, rec := server(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "[]") })
			c, _ := client(t, srv.URL, WithCredential(tt.cred), WithUserAgent("gpm/test"))
			if _, err := c.ListPackages(context.Background(), "12", "tool"); err != nil {
				t.Fatal(err)
			}
			h := rec.list()[0].Header
			got := hasCredential(h)
			if tt.header == "" {
				if len(got) != 0 {
					t.Fatalf("anonymous request carried %v", got)
				}
			} else {
				if len(got) != 1 || got[0] != tt.header {
					t.Fatalf("credential headers = %v, want only %s", got, tt.header)
				}
				if v := h.Get(tt.header); v != tt.wantHeader {
					t.Fatalf("%s = %q, want %q", tt.header, v, tt.wantHeader)
				}
			}
			if ua := h.Get("User-Agent"); ua != "gpm/test" {
				t.Errorf("User-Agent = %q", ua)
			}
		})
	}
}

func TestDefaultUserAgent(t *testing.T) {
	srv, rec := server(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "[]") })
	c, _ := client(t, srv.URL)
	if _, err := c.ListAllPackages(context.Background(), "1", ""); err != nil {
		t.Fatal(err)
	}
	if ua := rec.list()[0].Header.Get("User-Agent"); ua != DefaultUserAgent {
		t.Errorf("User-Agent = %q, want %q", ua, DefaultUserAgent)
	}
}

func TestCredentialNeverPrintsToken(t *testing.T) {
	creds := []Credential{
		privateCred,
		{Type: TokenBasic, Username: "bob", Token: testToken},
		{Type: TokenJob, Token: testToken},
	}
	for _, c := range creds {
		js, _ := json.Marshal(c)
		for _, s := range []string{
			fmt.Sprint(c), fmt.Sprintf("%v", &c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c),
			fmt.Sprintf("%s", c), c.String(), string(js),
		} {
			if strings.Contains(s, testToken) {
				t.Errorf("credential printed its token: %s", s)
			}
		}
	}
	if got := (Credential{}).String(); got != "anonymous" {
		t.Errorf("zero Credential.String() = %q", got)
	}
}

func TestRequestPaths(t *testing.T) {
	srv, rec := server(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/generic/") {
			w.Write([]byte("x"))
			return
		}
		fmt.Fprint(w, "[]")
	})
	c, _ := client(t, srv.URL+"/gitlab/")
	ctx := context.Background()
	tests := []struct {
		call func() error
		want string
	}{
		{func() error { _, err := c.ListPackages(ctx, "group/sub/proj", "my tool+x"); return err },
			"/gitlab/api/v4/projects/group%2Fsub%2Fproj/packages?package_name=my+tool%2Bx&package_type=generic&per_page=100"},
		{func() error { _, err := c.ListPackageFiles(ctx, "42", 7); return err },
			"/gitlab/api/v4/projects/42/packages/7/package_files?per_page=100"},
		{func() error { _, err := c.ListGroupPackages(ctx, "acme/tools", "cli"); return err },
			"/gitlab/api/v4/groups/acme%2Ftools/packages?exclude_subgroups=false&package_name=cli&package_type=generic&per_page=100"},
		{func() error { _, err := c.ListAllPackages(ctx, "42", ""); return err },
			"/gitlab/api/v4/projects/42/packages?package_type=generic&per_page=100"},
		{func() error {
			_, err := c.Download(ctx, FileRef{"group/proj", "na+me", "1.0.0+build", "dir/sub/file~1@x y.bin"}, Expect{Size: -1}, new(strings.Builder))
			return err
		}, "/gitlab/api/v4/projects/group%2Fproj/packages/generic/na+me/1.0.0+build/dir/sub/file~1@x%20y.bin"},
	}
	for i, tt := range tests {
		before := rec.count()
		if err := tt.call(); err != nil {
			t.Errorf("call %d: %v", i, err)
			continue
		}
		if got := rec.list()[before].URI; got != tt.want {
			t.Errorf("call %d requested\n\t%s\nwant\n\t%s", i, got, tt.want)
		}
	}
}

func TestInvalidRefsMakeNoRequest(t *testing.T) {
	srv, rec := server(t, func(w http.ResponseWriter, r *http.Request) { t.Errorf("unexpected request %s", r.RequestURI) })
	c, _ := client(t, srv.URL)
	ctx := context.Background()
	refs := []FileRef{
		{"", "p", "1", "f"},
		{"..", "p", "1", "f"},
		{"a//b", "p", "1", "f"},
		{"/a/b", "p", "1", "f"},
		{"1", "", "1", "f"},
		{"1", "a/b", "1", "f"},
		{"1", "..", "1", "f"},
		{"1", "p", "1/../2", "f"},
		{"1", "p", "", "f"},
		{"1", "p", "1", ""},
		{"1", "p", "1", "../etc/passwd"},
		{"1", "p", "1", "/abs"},
		{"1", "p", "1", "a//b"},
		{"1", "p", "1", "a\\b"},
		{"1", "p", "1", "a\x00b"},
		{"1", "p", "1", "a\nb"},
	}
	for _, f := range refs {
		if _, err := c.Download(ctx, f, Expect{Size: -1}, new(strings.Builder)); err == nil {
			t.Errorf("Download(%+v) succeeded", f)
		}
		if _, err := c.CheckFile(ctx, f); err == nil {
			t.Errorf("CheckFile(%+v) succeeded", f)
		}
		if _, err := c.Upload(ctx, f, strings.NewReader("x"), 1, UploadOptions{}); err == nil {
			t.Errorf("Upload(%+v) succeeded", f)
		}
	}
	if rec.count() != 0 {
		t.Errorf("%d requests made", rec.count())
	}
}

func TestLogfRedactsAndOmitsHeaders(t *testing.T) {
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "" {
			w.Header().Set("Link", `<`+"http://"+r.Host+r.URL.Path+`?page=2&private_token=leak>; rel="next"`)
		}
		fmt.Fprint(w, "[]")
	})
	var mu sync.Mutex
	var lines []string
	c, _ := client(t, srv.URL, WithCredential(privateCred), WithLogf(func(f string, a ...any) {
		mu.Lock()
		lines = append(lines, fmt.Sprintf(f, a...))
		mu.Unlock()
	}))
	if _, err := c.ListAllPackages(context.Background(), "5", ""); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 {
		t.Fatalf("logged %d lines, want 2: %q", len(lines), lines)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "GET http://127.0.0.1") || !strings.Contains(l, ": 200 (") {
			t.Errorf("log line %q lacks method, url or status", l)
		}
		if strings.Contains(l, testToken) || strings.Contains(l, "leak") || strings.Contains(l, "PRIVATE") {
			t.Errorf("log line %q leaks a secret or a header", l)
		}
	}
}

func TestRedactURL(t *testing.T) {
	c, _ := client(t, "https://gitlab.example.com")
	tests := []struct{ in, want string }{
		{"https://gitlab.example.com/api/v4/projects/1/packages?page=2&private_token=abc",
			"https://gitlab.example.com/api/v4/projects/1/packages?page=2&private_token=REDACTED"},
		{"https://gitlab.example.com/x?job_token=abc&per_page=100",
			"https://gitlab.example.com/x?job_token=REDACTED&per_page=100"},
		{"https://user:pw@gitlab.example.com/x", "https://gitlab.example.com/x"},
		{"https://storage.example.com/b/o?X-Amz-Signature=s&response-content-type=x",
			"https://storage.example.com/b/o?X-Amz-Signature=REDACTED&response-content-type=REDACTED"},
	}
	for _, tt := range tests {
		u := mustParse(t, tt.in)
		if got := c.redact(u); got != tt.want {
			t.Errorf("redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestImports keeps registry free of the packages above it.
func TestImports(t *testing.T) {
	forbidden := []string{"internal/manifest", "internal/lock", "internal/fetch", "internal/resolve", "internal/server", "cmd/"}
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			for _, bad := range forbidden {
				if strings.Contains(imp.Path.Value, "gpmtool/gpm/"+bad) {
					t.Errorf("%s imports %s", name, imp.Path.Value)
				}
			}
		}
	}
}
