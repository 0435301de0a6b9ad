package main

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gpmtool/gpm/internal/server"
)

// Token safety, end to end: a credential never appears in gpm's output
// (errors, -v, --json), is never sent to a host other than the registry's
// own, never goes over plain http to a host that is not loopback, and is
// never written to disk; a .netrc that others can read is warned about.

// secretRecorder is a server that must never see a credential: object
// storage, a host a Link header points to, a proxy. It records every
// request and every header or query value that carries one of the secrets
// or is a credential header.
type secretRecorder struct {
	secrets []string
	handler http.HandlerFunc // answers after recording; nil: 200 with "ok"

	mu       sync.Mutex
	requests int
	leaks    []string
}

func (s *secretRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	for k, vs := range r.Header {
		switch http.CanonicalHeaderKey(k) {
		case "Authorization", "Private-Token", "Job-Token", "Deploy-Token", "Cookie":
			s.leaks = append(s.leaks, fmt.Sprintf("%s %s: header %s", r.Method, r.URL.Path, k))
			continue
		}
		for _, v := range vs {
			for _, sec := range s.secrets {
				if strings.Contains(v, sec) {
					s.leaks = append(s.leaks, fmt.Sprintf("%s %s: header %s carries a token", r.Method, r.URL.Path, k))
				}
			}
		}
	}
	for _, sec := range s.secrets {
		if strings.Contains(r.URL.String(), sec) || strings.Contains(r.URL.String(), url.QueryEscape(sec)) {
			s.leaks = append(s.leaks, fmt.Sprintf("%s %s: the url carries a token", r.Method, r.URL.Path))
		}
	}
	s.mu.Unlock()
	if s.handler != nil {
		s.handler(w, r)
		return
	}
	w.Write([]byte("ok"))
}

func (s *secretRecorder) report() (requests int, leaks []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, append([]string(nil), s.leaks...)
}

// listenOn serves h on a loopback address other than 127.0.0.1, so that it
// is another host to gpm. It falls back to 127.0.0.1 (another port, so
// still another origin) where 127.0.0.2 cannot be bound.
func listenOn(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// checkNoSecret fails if any secret, or its URL-encoded form, is in text.
func checkNoSecret(t *testing.T, what, text string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(text, s) || strings.Contains(text, url.QueryEscape(s)) {
			t.Errorf("%s shows a token:\n%s", what, text)
		}
	}
}

// checkNoSecretOnDisk fails if a file below one of roots holds a secret;
// skip names files that hold it on purpose (a .netrc).
func checkNoSecretOnDisk(t *testing.T, secrets []string, skip map[string]bool, roots ...string) {
	t.Helper()
	files := 0
	for _, root := range roots {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() || skip[p] {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				t.Errorf("reading %s: %v", p, err)
				return nil
			}
			files++
			for _, s := range secrets {
				if bytes.Contains(data, []byte(s)) {
					t.Errorf("%s holds a token", p)
				}
			}
			return nil
		})
	}
	if files == 0 {
		t.Error("no files were scanned")
	}
}

func TestTokenSafety(t *testing.T) {
	t.Parallel()
	const (
		private  = "glpat-PRIVATE-s3cret-0001"
		expired  = "glpat-EXPIRED-s3cret-0002"
		job      = "glcbt-JOB-s3cret-0003"
		deploy   = "gldt-DEPLOY-s3cret-0004"
		oauth    = "OAUTH-s3cret-0005"
		basic    = "glpat-NETRC-s3cret-0006"
		unknown  = "glpat-UNKNOWN-s3cret-0007"
		manifest = "glpat-MANIFEST-s3cret-0008"
	)
	secrets := []string{private, expired, job, deploy, oauth, basic, unknown, manifest}

	srv := server.New(server.Options{})
	storage := &secretRecorder{secrets: secrets, handler: srv.ObjectStorageHandler().ServeHTTP}
	srv.EnableRedirects(listenOn(t, storage))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close) // the subtests run after this function returns
	for _, p := range []server.Project{{ID: 1, Path: "acme/tools", Visibility: server.Private}, {ID: 2, Path: "acme/app", Visibility: server.Private}} {
		if err := srv.AddProject(p); err != nil {
			t.Fatal(err)
		}
	}
	srv.AddMember(1, "alice", server.Developer)
	srv.AddMember(2, "alice", server.Developer)
	srv.AddToken(server.Token{Value: private, Type: server.TokenPrivate, User: "alice"})
	srv.AddToken(server.Token{Value: manifest, Type: server.TokenPrivate, User: "alice"})
	srv.AddToken(server.Token{Value: basic, Type: server.TokenPrivate, User: "alice"})
	srv.AddToken(server.Token{Value: expired, Type: server.TokenPrivate, User: "alice", Expired: true})
	srv.AddToken(server.Token{Value: job, Type: server.TokenJob, User: "alice", ProjectID: 2})
	srv.AddToken(server.Token{Value: deploy, Type: server.TokenDeploy, ProjectID: 1})
	srv.AddToken(server.Token{Value: oauth, Type: server.TokenOAuth, User: "alice"})
	srv.AllowJobToken(1, 2)
	for _, v := range []string{"1.0.0", "1.1.0"} {
		if _, err := srv.Publish(1, "tool", v, "tool.bin", []byte("tool "+v+"\n"), ""); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("outputs and disk", func(t *testing.T) {
		t.Parallel()
		root := t.TempDir()
		dir := filepath.Join(root, "project")
		cache := filepath.Join(root, "cache")
		writeFiles(t, dir, map[string]string{
			"packages.toml": "[packages.tool]\nproject = 1\nversion = \"~1.0\"\n",
			"newer.toml":    "[packages.tool]\nproject = 1\nversion = \"^1\"\n",
			"dist/tool.bin": "tool 2.0.0\n",
		})
		env := func(extra ...string) []string { return hermeticEnv(t, hs.URL, cache, extra...) }
		withToken := env("GPM_TOKEN=" + private)
		runs := []struct {
			env  []string
			args []string
			code int
		}{
			{withToken, []string{"-v", "install"}, 0},
			{withToken, []string{"-v", "--json", "install"}, 0},
			{withToken, []string{"-v", "--json", "verify", "--remote"}, 0},
			{withToken, []string{"-v", "--json", "outdated"}, 0},
			{withToken, []string{"-v", "--json", "list"}, 0},
			{withToken, []string{"-v", "--json", "search", "tool", "--project", "1"}, 0},
			{withToken, []string{"-v", "--json", "search", "tool", "--group", "acme"}, 0},
			{withToken, []string{"-v", "--json", "doctor"}, 0},
			{withToken, []string{"-v", "--json", "publish", "--project", "1", "--package", "tool", "--version", "2.0.0", "dist/tool.bin"}, 0},
			{withToken, []string{"-v", "--json", "--manifest", "newer.toml", "update"}, 0},
			{withToken, []string{"-v", "add", "other", "--project", "1", "--package", "tool"}, 0},
			// Rejected, unknown and job tokens, failing in every way.
			{env("GPM_TOKEN=" + expired), []string{"-v", "--json", "update"}, 5},
			{env("GPM_TOKEN=" + unknown), []string{"-v", "--json", "doctor"}, 5},
			{env("GPM_TOKEN=" + unknown), []string{"-v", "publish", "--project", "1", "--package", "tool", "--version", "3.0.0", "dist/tool.bin"}, 5},
			{env("CI_JOB_TOKEN=" + job), []string{"-v", "--json", "search", "tool", "--group", "acme"}, 5},
			{env("CI_JOB_TOKEN=" + job), []string{"-v", "--json", "doctor"}, 0},
			{env("GPM_TOKEN="+deploy, "GPM_TOKEN_TYPE=deploy"), []string{"-v", "--json", "outdated"}, 5},
			{env("GPM_TOKEN="+oauth, "GPM_TOKEN_TYPE=bearer"), []string{"-v", "--json", "verify", "--remote"}, 0},
			{env("GITLAB_TOKEN=" + private), []string{"-v", "--json", "install", "--frozen"}, 0},
			// Credentials in the registry url are refused without
			// printing them.
			{env("GPM_TOKEN="+private, "CI_SERVER_URL=http://oauth2:"+private+"@"+strings.TrimPrefix(hs.URL, "http://")), []string{"-v", "--json", "outdated"}, 1},
			{withToken, []string{"-v", "--json", "publish", "--registry", "http://user:" + private + "@127.0.0.1:1", "--project", "1", "--package", "tool", "--version", "3.0.0", "dist/tool.bin"}, 1},
		}
		for _, r := range runs {
			p := runGPM(t, dir, r.env, r.args...)
			what := "gpm " + strings.Join(r.args, " ")
			if p.code != r.code {
				t.Errorf("%s: exit %d, want %d:\n%s", what, p.code, r.code, p.stderr)
			}
			checkNoSecret(t, what+": stdout", p.stdout, secrets)
			checkNoSecret(t, what+": stderr", p.stderr, secrets)
		}
		checkNoSecretOnDisk(t, secrets, nil, dir, cache)
		// hermeticEnv's homes are temporary directories of this test.
		checkNoSecretOnDisk(t, secrets, nil, filepath.Dir(filepath.Dir(cache)))
		_, leaks := storage.report()
		for _, l := range leaks {
			t.Errorf("object storage saw a credential: %s", l)
		}
		for _, l := range srv.CredentialLeaks() {
			t.Errorf("object storage saw a credential: %+v", l)
		}
	})

	t.Run("every credential type stays on the registry host", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct {
			name string
			env  []string
			toml string
		}{
			{"private", []string{"GPM_TOKEN=" + private}, ""},
			{"job", []string{"CI_JOB_TOKEN=" + job}, ""},
			{"deploy", []string{"GPM_TOKEN=" + deploy, "GPM_TOKEN_TYPE=deploy"}, ""},
			{"bearer", []string{"GPM_TOKEN=" + oauth, "GPM_TOKEN_TYPE=bearer"}, ""},
			{"manifest", []string{"MY_TOKEN=" + manifest}, "[registry]\ntoken = { env = \"MY_TOKEN\", type = \"private\" }\n\n"},
			{"netrc", []string{"NETRC=NETRC_FILE"}, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				root := t.TempDir()
				dir := filepath.Join(root, "project")
				cache := filepath.Join(root, "cache")
				netrc := filepath.Join(root, "netrc")
				u, _ := url.Parse(hs.URL)
				writeFiles(t, root, map[string]string{"netrc": fmt.Sprintf("machine %s login alice password %s\n", u.Hostname(), basic)})
				os.Chmod(netrc, 0o600)
				// Lock with a private token (deploy tokens cannot list),
				// then install from the lock with the credential under
				// test, every download redirected to object storage.
				writeFiles(t, dir, map[string]string{"packages.toml": tc.toml + "[packages.tool]\nproject = 1\nversion = \"=1.0.0\"\n"})
				mustGPM(t, dir, hermeticEnv(t, hs.URL, cache, "GPM_TOKEN="+private, "MY_TOKEN="+private), "install")
				os.RemoveAll(filepath.Join(dir, "vendor"))
				os.RemoveAll(cache)
				before, old := storage.report()
				extra := strings.Split(strings.ReplaceAll(strings.Join(tc.env, "\x00"), "NETRC_FILE", netrc), "\x00")
				p := mustGPM(t, dir, hermeticEnv(t, hs.URL, cache, extra...), "-v", "install", "--locked")
				after, leaks := storage.report()
				if after == before {
					t.Fatalf("the download did not go through object storage:\n%s", p.stderr)
				}
				for _, l := range leaks[len(old):] {
					t.Errorf("object storage saw a credential: %s", l)
				}
				checkNoSecret(t, "stderr", p.stderr, secrets)
				checkNoSecretOnDisk(t, secrets, map[string]bool{netrc: true}, root)
			})
		}
	})

	t.Run("links and redirects to other hosts", func(t *testing.T) {
		t.Parallel()
		other := &secretRecorder{secrets: secrets}
		otherURL := listenOn(t, other)
		// A registry whose listing points its next page, and whose
		// package_files answer redirects, to another host.
		reg := &hostileRegistry{
			packages: func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("page") == "" {
					w.Header().Set("Link", fmt.Sprintf(`<%s/api/v4/projects/1/packages?page=2&package_name=tool>; rel="next"`, otherURL))
				}
				writeJSONBody(w, []map[string]any{packageRow(1, "tool", "1.0.0")})
			},
			files:    redirectTo(otherURL + "/api/v4/projects/1/packages/1/package_files"),
			download: redirectTo(otherURL + "/tool.bin"),
		}
		rs := httptest.NewServer(reg)
		defer rs.Close()
		root := t.TempDir()
		writeFiles(t, root, map[string]string{"packages.toml": "[packages.tool]\nproject = 1\n"})
		p := runGPM(t, root, hermeticEnv(t, rs.URL, filepath.Join(root, "cache"), "GPM_TOKEN="+private), "-v", "install")
		checkNoSecret(t, "stderr", p.stderr, secrets)
		n, leaks := other.report()
		if n == 0 {
			t.Fatalf("the other host saw no request; the test proves nothing:\n%s", p.stderr)
		}
		for _, l := range leaks {
			t.Errorf("another host saw a credential: %s", l)
		}
		// The registry itself got the token (this is not a vacuous pass).
		if !strings.Contains(p.stderr, "credential: $GPM_TOKEN (private)") {
			t.Errorf("gpm did not use the token:\n%s", p.stderr)
		}
	})

	t.Run("echoed by the server", func(t *testing.T) {
		t.Parallel()
		echo := func(status int) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				fmt.Fprintf(w, `{"message":"you sent %s%s%s"}`, r.Header.Get("Private-Token"), r.Header.Get("Job-Token"), r.Header.Get("Authorization"))
			}
		}
		for _, tc := range []struct {
			name string
			reg  *hostileRegistry
			env  []string
		}{
			{"401 listing", &hostileRegistry{packages: echo(401)}, []string{"GPM_TOKEN=" + private}},
			{"500 listing", &hostileRegistry{packages: echo(500)}, []string{"CI_JOB_TOKEN=" + job}},
			{"403 download", &hostileRegistry{download: echo(403)}, []string{"GPM_TOKEN=" + oauth, "GPM_TOKEN_TYPE=bearer"}},
		} {
			rs := httptest.NewServer(tc.reg)
			root := t.TempDir()
			writeFiles(t, root, map[string]string{"packages.toml": "[packages.tool]\nproject = 1\n"})
			p := runGPM(t, root, hermeticEnv(t, rs.URL, filepath.Join(root, "cache"), tc.env...), "-v", "--json", "install")
			rs.Close()
			if p.code == 0 || !strings.Contains(p.stderr, "you sent") {
				t.Errorf("%s: exit %d; the echo was not shown, so the test proves nothing:\n%s", tc.name, p.code, p.stderr)
			}
			checkNoSecret(t, tc.name+": stderr", p.stderr, secrets)
			checkNoSecret(t, tc.name+": stdout", p.stdout, secrets)
		}
	})

	t.Run("plain http only to loopback", func(t *testing.T) {
		t.Parallel()
		// Any request gpm sends to gitlab.example.com goes through this
		// proxy, which records it.
		proxy := &secretRecorder{secrets: secrets}
		proxyURL := listenOn(t, proxy)
		root := t.TempDir()
		writeFiles(t, root, map[string]string{
			"packages.toml": "[registry]\nurl = \"http://gitlab.example.com\"\n\n[packages.tool]\nproject = 1\n",
			"tool.bin":      "tool\n",
		})
		for _, r := range []struct {
			env  []string
			args []string
		}{
			{[]string{"GPM_TOKEN=" + private}, []string{"install"}},
			{[]string{"CI_JOB_TOKEN=" + job, "CI_SERVER_URL=http://gitlab.example.com"}, []string{"outdated"}},
			{[]string{"GPM_TOKEN=" + private}, []string{"publish", "--registry", "http://gitlab.example.com", "--project", "1", "--package", "tool", "--version", "1.0.0", "tool.bin"}},
			{[]string{"GPM_TOKEN=" + private}, []string{"search", "tool", "--group", "acme", "--registry", "http://10.0.0.1"}},
		} {
			env := hermeticEnv(t, "http://gitlab.example.com", filepath.Join(root, "cache"), append(r.env, "HTTP_PROXY="+proxyURL, "http_proxy="+proxyURL)...)
			p := runGPM(t, root, env, r.args...)
			what := "gpm " + strings.Join(r.args, " ")
			if p.code == 0 || !strings.Contains(p.stderr, "over plain http") {
				t.Errorf("%s: exit %d, want a refusal to send the token over plain http:\n%s", what, p.code, p.stderr)
			}
			checkNoSecret(t, what, p.stderr, secrets)
		}
		if n, _ := proxy.report(); n > 0 {
			t.Errorf("gpm sent %d requests to a plain-http registry with a token", n)
		}
	})

	t.Run("https does not fall back to http", func(t *testing.T) {
		t.Parallel()
		plain := &secretRecorder{secrets: secrets}
		plainURL := listenOn(t, plain)
		reg := &hostileRegistry{download: redirectTo(plainURL + "/tool.bin")}
		ts := httptest.NewTLSServer(reg)
		defer ts.Close()
		root := t.TempDir()
		certFile := filepath.Join(root, "ca.pem")
		if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o644); err != nil {
			t.Fatal(err)
		}
		writeFiles(t, root, map[string]string{"packages.toml": "[packages.tool]\nproject = 1\n"})
		p := runGPM(t, root, hermeticEnv(t, ts.URL, filepath.Join(root, "cache"), "GPM_TOKEN="+private, "SSL_CERT_FILE="+certFile), "install")
		if p.code != 1 || !strings.Contains(p.stderr, "refusing redirect from https to plain http") {
			t.Errorf("exit %d, want 1 refusing the redirect:\n%s", p.code, p.stderr)
		}
		if n, _ := plain.report(); n > 0 {
			t.Errorf("gpm followed a redirect from https to plain http")
		}
		checkNoSecret(t, "stderr", p.stderr, secrets)
	})

	t.Run("netrc readable by others", func(t *testing.T) {
		t.Parallel()
		u, _ := url.Parse(hs.URL)
		for _, tc := range []struct {
			mode os.FileMode
			warn bool
		}{{0o644, true}, {0o640, true}, {0o600, false}, {0o400, false}} {
			root := t.TempDir()
			dir := filepath.Join(root, "project")
			env := hermeticEnv(t, hs.URL, filepath.Join(root, "cache"))
			home := strings.TrimPrefix(env[1], "HOME=")
			netrc := filepath.Join(home, ".netrc")
			if err := os.WriteFile(netrc, []byte(fmt.Sprintf("machine %s\n  login alice\n  password %s\n", u.Hostname(), basic)), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(netrc, tc.mode); err != nil {
				t.Fatal(err)
			}
			// Lock with a private token: basic auth does not work on
			// GitLab's list APIs. Then download with the .netrc.
			writeFiles(t, dir, map[string]string{"packages.toml": "[packages.tool]\nproject = 1\nversion = \"=1.0.0\"\n"})
			mustGPM(t, dir, append(env[:len(env):len(env)], "GPM_TOKEN="+private), "install")
			os.RemoveAll(filepath.Join(dir, "vendor"))
			os.RemoveAll(filepath.Join(root, "cache"))
			p := mustGPM(t, dir, env, "-v", "install", "--locked")
			warning := fmt.Sprintf("gpm: warning: ~/.netrc is readable by other users (mode %04o); run: chmod 600 %s\n", tc.mode, netrc)
			if got := strings.Contains(p.stderr, warning); got != tc.warn {
				t.Errorf("mode %04o: warned %v, want %v:\n%s", tc.mode, got, tc.warn, p.stderr)
			}
			if !strings.Contains(p.stderr, "credential: ~/.netrc entry for "+u.Hostname()) {
				t.Errorf("mode %04o: the .netrc was not used:\n%s", tc.mode, p.stderr)
			}
			checkNoSecret(t, "stderr", p.stderr, secrets)
		}
	})
}
