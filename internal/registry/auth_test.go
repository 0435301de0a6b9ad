package registry

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpmtool/gpm/internal/hint"
)

func TestResolveCredential(t *testing.T) {
	dir := t.TempDir()
	netrc := filepath.Join(dir, "netrc")
	if err := os.WriteFile(netrc, []byte("machine gitlab.example.com login alice password netrc-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, ".netrc"), []byte("machine other.example.com login x password y\ndefault login dflt password home-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	winHome := t.TempDir()
	if err := os.WriteFile(filepath.Join(winHome, "_netrc"), []byte("machine gitlab.example.com login win password win-secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const reg = "https://gitlab.example.com"
	tests := []struct {
		name     string
		url      string
		spec     *TokenSpec
		named    bool // one of [registries.*], not the default registry
		goos     string
		env      map[string]string
		want     Credential
		wantErr  string
		wantHint string
	}{
		{name: "anonymous", url: reg, want: Credential{Source: "anonymous"}},
		{name: "spec wins over everything",
			spec: &TokenSpec{Env: "MY_TOKEN", Type: "deploy"},
			env:  map[string]string{"MY_TOKEN": "m", "GPM_TOKEN": "g", "GITLAB_TOKEN": "l", "CI_JOB_TOKEN": "j", "CI_SERVER_URL": reg, "NETRC": netrc},
			want: Credential{Type: TokenDeploy, Token: "m", Source: "manifest token env MY_TOKEN (deploy)"}},
		{name: "spec type defaults to private",
			spec: &TokenSpec{Env: "MY_TOKEN"}, env: map[string]string{"MY_TOKEN": "m"},
			want: Credential{Type: TokenPrivate, Token: "m", Source: "manifest token env MY_TOKEN (private)"}},
		{name: "spec env unset is an error",
			spec: &TokenSpec{Env: "MY_TOKEN"}, env: map[string]string{"GPM_TOKEN": "g"},
			wantErr: `"MY_TOKEN"`, wantHint: "export MY_TOKEN="},
		{name: "spec env empty is an error",
			spec: &TokenSpec{Env: "MY_TOKEN", Type: "job"}, env: map[string]string{"MY_TOKEN": ""},
			wantErr: "not set", wantHint: "export MY_TOKEN="},
		{name: "spec bad type", spec: &TokenSpec{Env: "MY_TOKEN", Type: "basic"}, env: map[string]string{"MY_TOKEN": "m"},
			wantErr: `type "basic"`},
		{name: "GPM_TOKEN default private",
			env:  map[string]string{"GPM_TOKEN": "g", "GITLAB_TOKEN": "l"},
			want: Credential{Type: TokenPrivate, Token: "g", Source: "$GPM_TOKEN (private)"}},
		{name: "GPM_TOKEN_TYPE bearer",
			env:  map[string]string{"GPM_TOKEN": "g", "GPM_TOKEN_TYPE": "bearer"},
			want: Credential{Type: TokenBearer, Token: "g", Source: "$GPM_TOKEN (bearer)"}},
		{name: "GPM_TOKEN_TYPE invalid",
			env:     map[string]string{"GPM_TOKEN": "g", "GPM_TOKEN_TYPE": "oauth"},
			wantErr: `GPM_TOKEN_TYPE "oauth"`, wantHint: "GPM_TOKEN_TYPE=private"},
		{name: "GITLAB_TOKEN",
			env:  map[string]string{"GITLAB_TOKEN": "l", "CI_JOB_TOKEN": "j", "CI_SERVER_URL": reg},
			want: Credential{Type: TokenPrivate, Token: "l", Source: "$GITLAB_TOKEN (private)"}},
		{name: "CI_JOB_TOKEN on the CI instance",
			env:  map[string]string{"CI_JOB_TOKEN": "j", "CI_SERVER_URL": reg, "NETRC": netrc},
			want: Credential{Type: TokenJob, Token: "j", Source: "$CI_JOB_TOKEN (job)"}},
		{name: "CI_JOB_TOKEN matches explicit default port and api root",
			url:  "https://GITLAB.example.com:443/api/v4",
			env:  map[string]string{"CI_JOB_TOKEN": "j", "CI_SERVER_URL": "https://gitlab.example.com"},
			want: Credential{Type: TokenJob, Token: "j", Source: "$CI_JOB_TOKEN (job)"}},
		{name: "CI_JOB_TOKEN other host falls through to netrc",
			env:  map[string]string{"CI_JOB_TOKEN": "j", "CI_SERVER_URL": "https://ci.example.com", "NETRC": netrc},
			want: Credential{Type: TokenBasic, Username: "alice", Token: "netrc-secret", Source: netrc + " entry for gitlab.example.com"}},
		{name: "CI_JOB_TOKEN other port",
			env:  map[string]string{"CI_JOB_TOKEN": "j", "CI_SERVER_URL": "https://gitlab.example.com:8443"},
			want: Credential{Source: "anonymous"}},
		{name: "CI_JOB_TOKEN other scheme",
			env:  map[string]string{"CI_JOB_TOKEN": "j", "CI_SERVER_URL": "http://gitlab.example.com"},
			want: Credential{Source: "anonymous"}},
		{name: "CI_JOB_TOKEN without CI_SERVER_URL",
			env:  map[string]string{"CI_JOB_TOKEN": "j"},
			want: Credential{Source: "anonymous"}},
		{name: "HOME netrc default entry",
			env:  map[string]string{"HOME": home},
			want: Credential{Type: TokenBasic, Username: "dflt", Token: "home-secret", Source: "~/.netrc entry for gitlab.example.com"}},
		{name: "HOME netrc machine entry",
			url:  "https://other.example.com",
			env:  map[string]string{"HOME": home},
			want: Credential{Type: TokenBasic, Username: "x", Token: "y", Source: "~/.netrc entry for other.example.com"}},
		{name: "NETRC missing file is anonymous",
			env:  map[string]string{"NETRC": filepath.Join(dir, "nope")},
			want: Credential{Source: "anonymous"}},
		{name: "bad url", url: "ftp://x", wantErr: "scheme"},
		// The environment tokens belong to the default registry: a named
		// one gets its own token, its .netrc entry, or nothing.
		{name: "GPM_TOKEN not sent to a named registry", named: true,
			env:  map[string]string{"GPM_TOKEN": "g", "GITLAB_TOKEN": "l", "NETRC": netrc},
			want: Credential{Type: TokenBasic, Username: "alice", Token: "netrc-secret", Source: netrc + " entry for gitlab.example.com"}},
		{name: "GITLAB_TOKEN not sent to a named registry", named: true,
			env:  map[string]string{"GITLAB_TOKEN": "l"},
			want: Credential{Source: "anonymous"}},
		{name: "named registry with its own token", named: true,
			spec: &TokenSpec{Env: "P"}, env: map[string]string{"P": "p", "GPM_TOKEN": "g"},
			want: Credential{Type: TokenPrivate, Token: "p", Source: "manifest token env P (private)"}},
		{name: "CI_JOB_TOKEN to a named registry on the CI instance", named: true,
			env:  map[string]string{"CI_JOB_TOKEN": "j", "CI_SERVER_URL": reg, "GPM_TOKEN": "g"},
			want: Credential{Type: TokenJob, Token: "j", Source: "$CI_JOB_TOKEN (job)"}},
		// Windows: _netrc in %USERPROFILE% when HOME is unset.
		{name: "windows USERPROFILE _netrc", goos: "windows",
			env:  map[string]string{"USERPROFILE": winHome},
			want: Credential{Type: TokenBasic, Username: "win", Token: "win-secret", Source: "~/_netrc entry for gitlab.example.com"}},
		{name: "windows falls back to .netrc", goos: "windows",
			env:  map[string]string{"USERPROFILE": home},
			want: Credential{Type: TokenBasic, Username: "dflt", Token: "home-secret", Source: "~/.netrc entry for gitlab.example.com"}},
		{name: "USERPROFILE is not read elsewhere", goos: "linux",
			env:  map[string]string{"USERPROFILE": winHome},
			want: Credential{Source: "anonymous"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.url
			if u == "" {
				u = reg
			}
			getenv := func(k string) string { return tt.env[k] }
			goos := tt.goos
			if goos == "" {
				goos = "linux"
			}
			got, _, err := resolveCredential(u, tt.spec, !tt.named, getenv, goos)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				if tt.wantHint != "" && !strings.Contains(strings.Join(hint.Of(err), "\n"), tt.wantHint) {
					t.Errorf("hints %q lack %q", hint.Of(err), tt.wantHint)
				}
				for k, v := range tt.env {
					if strings.HasSuffix(k, "TOKEN") && v != "" && strings.Contains(err.Error(), "\""+v+"\"") {
						t.Errorf("error %v contains a secret value", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %#v (token match %v), want %#v", got, got.Token == tt.want.Token, tt.want)
			}
		})
	}
}

func TestResolveCredentialWarnings(t *testing.T) {
	dir := t.TempDir()
	netrc := filepath.Join(dir, "netrc")
	if err := os.WriteFile(netrc, []byte("machine gitlab.example.com login a password p\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(netrc, 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"NETRC": netrc, "CI_JOB_TOKEN": "j", "CI_SERVER_URL": "https://ci.example.com"}
	cred, warnings, err := ResolveCredential("https://gitlab.example.com", nil, true, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cred.Type != TokenBasic {
		t.Fatalf("cred = %s", cred)
	}
	all := strings.Join(warnings, "\n")
	if !strings.Contains(all, "readable by other users") || !strings.Contains(all, "chmod 600") {
		t.Errorf("no permission warning in %q", all)
	}
	if !strings.Contains(all, "CI_JOB_TOKEN is set but not used") {
		t.Errorf("no CI_JOB_TOKEN warning in %q", all)
	}
	if strings.Contains(all, "p\n") || strings.Contains(all, " j ") {
		t.Errorf("warnings leak a secret: %q", all)
	}

	// A private file gives no permission warning.
	os.Chmod(netrc, 0o600)
	_, warnings, _ = ResolveCredential("https://gitlab.example.com", nil, true, func(k string) string {
		if k == "NETRC" {
			return netrc
		}
		return ""
	})
	if len(warnings) != 0 {
		t.Errorf("warnings for a 0600 netrc: %q", warnings)
	}

	// On Windows file modes say nothing about who can read the file: a
	// warning there could never be silenced.
	os.Chmod(netrc, 0o644)
	_, warnings, _ = resolveCredential("https://gitlab.example.com", nil, true, func(k string) string {
		if k == "NETRC" {
			return netrc
		}
		return ""
	}, "windows")
	if len(warnings) != 0 {
		t.Errorf("windows: warnings for a netrc: %q", warnings)
	}
}

// A .netrc password is an access token: basic auth on the generic routes,
// where GitLab takes it, and a token header on the listing API, where GitLab
// ignores basic auth.
func TestNetrcCredentialHeaders(t *testing.T) {
	tests := []struct {
		user, path, header, want string
	}{
		{"alice", "/api/v4/projects/1/packages/generic/tool/1.0.0/tool.bin", "Authorization", "Basic YWxpY2U6c2VjcmV0"},
		{"alice", "/api/v4/projects/1/packages", "PRIVATE-TOKEN", "secret"},
		{"alice", "/api/v4/projects/1/packages/7/package_files", "PRIVATE-TOKEN", "secret"},
		{"alice", "/api/v4/groups/acme/packages", "PRIVATE-TOKEN", "secret"},
		{"gitlab-ci-token", "/api/v4/projects/1/packages", "JOB-TOKEN", "secret"},
	}
	for _, tt := range tests {
		h := http.Header{}
		Credential{Type: TokenBasic, Username: tt.user, Token: "secret"}.apply(h, tt.path)
		if got := h.Get(tt.header); got != tt.want {
			t.Errorf("%s %s: %s = %q, want %q (headers %v)", tt.user, tt.path, tt.header, got, tt.want, h)
		}
		if len(h) != 1 {
			t.Errorf("%s %s: %d headers, want 1: %v", tt.user, tt.path, len(h), h)
		}
	}
}

func TestParseNetrc(t *testing.T) {
	const data = `# comment line is ignored as unknown tokens
machine a.example.com
  login alice
  password pa
macdef init
  login mallory password evil
  machine b.example.com

machine b.example.com login bob password pb account acct
machine c.example.com:8443 login carol password pc
default login dan password pd
`
	tests := []struct {
		host, hostPort, login, pw string
	}{
		{"a.example.com", "a.example.com", "alice", "pa"},
		{"B.example.com", "B.example.com", "bob", "pb"},
		{"c.example.com", "c.example.com:8443", "carol", "pc"},
		{"z.example.com", "z.example.com", "dan", "pd"},
	}
	for _, tt := range tests {
		login, pw, ok := lookupNetrc(data, tt.host, tt.hostPort)
		if !ok || login != tt.login || pw != tt.pw {
			t.Errorf("lookupNetrc(%q) = %q, %q, %v; want %q, %q", tt.host, login, pw, ok, tt.login, tt.pw)
		}
	}
	if _, _, ok := lookupNetrc("machine x login a password b\n", "y", "y"); ok {
		t.Error("found an entry for a host not in the file")
	}
}

// A .netrc is a stream of tokens, not of lines: a keyword's value may be on
// the next line. Read line by line, the password of the second machine
// below went to the first one, a token meant for one instance sent to
// another. Values may be double-quoted, with backslash escapes, as curl
// reads them.
func TestParseNetrcTokensAcrossLines(t *testing.T) {
	const data = `machine gitlab.example.com login a password tokA
machine
evil.example.com login b password
tokB
machine q.example.com login "a b" password "to\"k en"
`
	for _, tt := range []struct{ host, login, pw string }{
		{"gitlab.example.com", "a", "tokA"},
		{"evil.example.com", "b", "tokB"},
		{"q.example.com", "a b", `to"k en`},
	} {
		login, pw, ok := lookupNetrc(data, tt.host, tt.host)
		if !ok || login != tt.login || pw != tt.pw {
			t.Errorf("lookupNetrc(%q) = %q, %q, %v; want %q, %q", tt.host, login, pw, ok, tt.login, tt.pw)
		}
	}
}
