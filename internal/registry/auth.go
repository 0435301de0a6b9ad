package registry

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/gpmtool/gpm/internal/hint"
)

// Credential types. Each is sent in its own header; see Credential.
const (
	TokenPrivate = "private" // PRIVATE-TOKEN: personal, project and group access tokens
	TokenJob     = "job"     // JOB-TOKEN: CI job token
	TokenDeploy  = "deploy"  // Deploy-Token
	TokenBearer  = "bearer"  // Authorization: Bearer (OAuth)
	TokenBasic   = "basic"   // Authorization: Basic (from .netrc)
)

// Credential is what the client sends to authenticate. The zero value is
// anonymous. Its String method never shows the token, and the token is not
// marshalled to JSON.
type Credential struct {
	// Type is one of the Token* constants, or "" for anonymous.
	Type string
	// Token is the secret. Never print it.
	Token string `json:"-"`
	// Username is the basic-auth login; only for TokenBasic.
	Username string
	// Source says where the credential came from, for humans:
	// "$GPM_TOKEN (private)", "~/.netrc entry for gitlab.example.com",
	// "anonymous".
	Source string
}

// String describes the credential without its token.
func (c Credential) String() string {
	switch {
	case c.Source != "":
		return c.Source
	case c.Anonymous():
		return "anonymous"
	}
	return c.Type + " token"
}

// GoString keeps %#v from printing the token.
func (c Credential) GoString() string {
	return fmt.Sprintf("registry.Credential{Type: %q, Source: %q}", c.Type, c.String())
}

// Anonymous reports whether the credential sends nothing.
func (c Credential) Anonymous() bool { return c.Type == "" }

func (c Credential) validate() error {
	switch c.Type {
	case "":
		return nil
	case TokenPrivate, TokenJob, TokenDeploy, TokenBearer, TokenBasic:
		if c.Token == "" {
			return fmt.Errorf("credential %s has an empty token", c.String())
		}
		return nil
	}
	return fmt.Errorf("credential %s: unknown token type %q (want private, job, deploy, bearer or basic)", c.String(), c.Type)
}

// apply sets the credential's header on h for a request to path. A .netrc
// credential goes as basic auth to the generic download and upload routes,
// the only ones where GitLab accepts it, and as a token header to the rest
// of the API (the listing routes), where GitLab ignores basic auth: the
// password of a .netrc entry for GitLab is an access token (a job token
// under the login gitlab-ci-token).
func (c Credential) apply(h http.Header, path string) {
	if c.Type == TokenBasic && !strings.Contains(path, "/packages/generic/") {
		if c.Username == "gitlab-ci-token" {
			h.Set("JOB-TOKEN", c.Token)
		} else {
			h.Set("PRIVATE-TOKEN", c.Token)
		}
		return
	}
	switch c.Type {
	case TokenPrivate:
		h.Set("PRIVATE-TOKEN", c.Token)
	case TokenJob:
		h.Set("JOB-TOKEN", c.Token)
	case TokenDeploy:
		h.Set("Deploy-Token", c.Token)
	case TokenBearer:
		h.Set("Authorization", "Bearer "+c.Token)
	case TokenBasic:
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Token)))
	}
}

// credentialHeaders are removed from any request leaving the registry's host.
var credentialHeaders = []string{"PRIVATE-TOKEN", "JOB-TOKEN", "Deploy-Token", "Authorization", "Cookie", "Proxy-Authorization"}

func stripCredentials(h http.Header) {
	for _, k := range credentialHeaders {
		h.Del(k)
	}
}

// TokenSpec is the manifest's `token = { env = "VAR", type = "private" }`.
type TokenSpec struct {
	// Env names the environment variable holding the token.
	Env string
	// Type is private (default when empty), job, deploy or bearer.
	Type string
}

// ResolveCredential picks the credential for the registry at
// apiOrInstanceURL. The first match wins:
//
//  1. spec, the manifest's token reference: its variable must be set;
//  2. $GPM_TOKEN, typed by $GPM_TOKEN_TYPE (default private), for the
//     default registry only;
//  3. $GITLAB_TOKEN (private), for the default registry only;
//  4. $CI_JOB_TOKEN, only when the registry is the CI instance: its scheme,
//     host and port equal those of $CI_SERVER_URL;
//  5. a .netrc entry for the host ($NETRC, else ~/.netrc; on Windows
//     %USERPROFILE%\_netrc), sent as basic auth on the generic download
//     and upload routes and as a token header on the API (see apply);
//  6. anonymous.
//
// defaultRegistry says whether the registry is the manifest's [registry]
// (or a command's --registry) rather than one of [registries.*]: the
// environment tokens are bound to it, so a token meant for one instance
// never reaches another.
//
// getenv is os.Getenv when nil. The warnings are for the user (an insecure
// .netrc, an unused CI_JOB_TOKEN); they never contain a token.
func ResolveCredential(apiOrInstanceURL string, spec *TokenSpec, defaultRegistry bool, getenv func(string) string) (Credential, []string, error) {
	return resolveCredential(apiOrInstanceURL, spec, defaultRegistry, getenv, runtime.GOOS)
}

// resolveCredential is ResolveCredential for the operating system goos,
// which decides the .netrc file's name and whether its mode means anything.
func resolveCredential(apiOrInstanceURL string, spec *TokenSpec, defaultRegistry bool, getenv func(string) string, goos string) (Credential, []string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	reg, err := parseBase(apiOrInstanceURL)
	if err != nil {
		return Credential{}, nil, err
	}
	var warnings []string

	if spec != nil {
		typ := spec.Type
		if typ == "" {
			typ = TokenPrivate
		}
		if !tokenTypeFromEnv(typ) {
			return Credential{}, nil, fmt.Errorf("manifest token env %q: type %q is not one of private, job, deploy, bearer", spec.Env, spec.Type)
		}
		if spec.Env == "" {
			return Credential{}, nil, errors.New("manifest token has no env variable name")
		}
		tok := getenv(spec.Env)
		if tok == "" {
			return Credential{}, nil, hint.Wrap(
				&noCredentialError{fmt.Sprintf("environment variable %q named by the token in packages.toml is not set", spec.Env)},
				fmt.Sprintf("export %s=<your %s token>, or remove the token from packages.toml to use GPM_TOKEN", spec.Env, typ))
		}
		return Credential{Type: typ, Token: tok, Source: fmt.Sprintf("manifest token env %s (%s)", spec.Env, typ)}, nil, nil
	}

	if tok := getenv("GPM_TOKEN"); tok != "" && defaultRegistry {
		typ := getenv("GPM_TOKEN_TYPE")
		if typ == "" {
			typ = TokenPrivate
		}
		if !tokenTypeFromEnv(typ) {
			return Credential{}, nil, hint.Wrap(
				&settingError{fmt.Sprintf("GPM_TOKEN_TYPE %q is not one of private, job, deploy, bearer", typ)},
				"set GPM_TOKEN_TYPE=private for personal, project and group access tokens, or unset it")
		}
		return Credential{Type: typ, Token: tok, Source: fmt.Sprintf("$GPM_TOKEN (%s)", typ)}, nil, nil
	}

	if tok := getenv("GITLAB_TOKEN"); tok != "" && defaultRegistry {
		return Credential{Type: TokenPrivate, Token: tok, Source: "$GITLAB_TOKEN (private)"}, nil, nil
	}

	if tok := getenv("CI_JOB_TOKEN"); tok != "" {
		ci, err := url.Parse(getenv("CI_SERVER_URL"))
		if err == nil && ci.Host != "" && origin(ci) == origin(reg) {
			return Credential{Type: TokenJob, Token: tok, Source: "$CI_JOB_TOKEN (job)"}, nil, nil
		}
		warnings = append(warnings, fmt.Sprintf("CI_JOB_TOKEN is set but not used: the registry %s is not this pipeline's GitLab instance (CI_SERVER_URL); set GPM_TOKEN for it", origin(reg)))
	}

	cred, w, err := netrcCredential(reg, getenv, goos)
	warnings = append(warnings, w...)
	if err != nil {
		return Credential{}, warnings, err
	}
	if !cred.Anonymous() {
		return cred, warnings, nil
	}
	return Credential{Source: "anonymous"}, warnings, nil
}

// tokenTypeFromEnv reports whether typ may be named by the manifest or
// GPM_TOKEN_TYPE. Basic auth needs a username and comes only from .netrc.
func tokenTypeFromEnv(typ string) bool {
	switch typ {
	case TokenPrivate, TokenJob, TokenDeploy, TokenBearer:
		return true
	}
	return false
}

// netrcCredential looks up reg's host in the .netrc file: $NETRC, else
// ~/.netrc ($HOME); on Windows, as curl and the go command do there,
// _netrc (then .netrc) in %USERPROFILE% when $HOME is unset. A missing file
// is not an error. Only where file modes mean something (not on Windows) is
// a file that other users can read warned about.
func netrcCredential(reg *url.URL, getenv func(string) string, goos string) (Credential, []string, error) {
	path := getenv("NETRC")
	display := path
	var data []byte
	var err error
	if path != "" {
		data, err = os.ReadFile(path)
	} else {
		home := getenv("HOME")
		if home == "" && goos == "windows" {
			home = getenv("USERPROFILE")
		}
		if home == "" {
			return Credential{}, nil, nil
		}
		names := []string{".netrc"}
		if goos == "windows" {
			names = []string{"_netrc", ".netrc"}
		}
		for _, name := range names {
			path, display = filepath.Join(home, name), "~/"+name
			if data, err = os.ReadFile(path); !errors.Is(err, fs.ErrNotExist) {
				break
			}
		}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return Credential{}, nil, nil
	}
	if err != nil {
		return Credential{}, nil, fmt.Errorf("reading %s: %w", display, err)
	}
	host := reg.Hostname()
	login, password, ok := lookupNetrc(string(data), host, reg.Host)
	if !ok || password == "" {
		return Credential{}, nil, nil
	}
	var warnings []string
	if fi, err := os.Stat(path); err == nil && goos != "windows" && fi.Mode().Perm()&0o077 != 0 {
		warnings = append(warnings, fmt.Sprintf("%s is readable by other users (mode %04o); run: chmod 600 %s", display, fi.Mode().Perm(), path))
	}
	return Credential{Type: TokenBasic, Username: login, Token: password, Source: fmt.Sprintf("%s entry for %s", display, host)}, warnings, nil
}

type netrcEntry struct {
	machine, login, password string
	isDefault                bool
}

// parseNetrc reads the machine, default, login and password tokens of a
// .netrc file, skipping comment lines and macdef bodies, the way curl and
// the go command do. Tokens are separated by any white space, newlines
// included ("machine" may end a line and its host begin the next), and may
// be double-quoted with backslash escapes, as curl reads them.
func parseNetrc(data string) []netrcEntry {
	var (
		entries []netrcEntry
		cur     *netrcEntry
		inMacro bool
		key     string // the keyword whose value comes next
	)
	sc := bufio.NewScanner(strings.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if inMacro {
			if strings.TrimSpace(line) == "" {
				inMacro = false
			}
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, tok := range netrcTokens(line) {
			if key != "" {
				switch key {
				case "machine":
					entries = append(entries, netrcEntry{machine: tok})
					cur = &entries[len(entries)-1]
				case "login", "password":
					if cur != nil {
						if key == "login" {
							cur.login = tok
						} else {
							cur.password = tok
						}
					}
				}
				key = ""
				continue
			}
			switch tok {
			case "machine", "login", "password", "account":
				key = tok
			case "default":
				entries = append(entries, netrcEntry{isDefault: true})
				cur = &entries[len(entries)-1]
			case "macdef":
				inMacro = true
			}
			if inMacro {
				break
			}
		}
	}
	return entries
}

// netrcTokens splits a .netrc line into tokens: runs of non-space, or
// double-quoted strings in which a backslash escapes the next character.
func netrcTokens(line string) []string {
	var out []string
	for i := 0; i < len(line); {
		if line[i] == ' ' || line[i] == '\t' || line[i] == '\r' {
			i++
			continue
		}
		var b strings.Builder
		if line[i] == '"' {
			for i++; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) {
					i++
				}
				b.WriteByte(line[i])
			}
			i++ // the closing quote
		} else {
			for ; i < len(line) && line[i] != ' ' && line[i] != '\t' && line[i] != '\r'; i++ {
				b.WriteByte(line[i])
			}
		}
		out = append(out, b.String())
	}
	return out
}

// lookupNetrc returns the first entry for host (or host:port), falling back
// to a default entry.
func lookupNetrc(data, host, hostPort string) (login, password string, ok bool) {
	entries := parseNetrc(data)
	for _, e := range entries {
		if !e.isDefault && (strings.EqualFold(e.machine, host) || strings.EqualFold(e.machine, hostPort)) {
			return e.login, e.password, true
		}
	}
	for _, e := range entries {
		if e.isDefault {
			return e.login, e.password, true
		}
	}
	return "", "", false
}
