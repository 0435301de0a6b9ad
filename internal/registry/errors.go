package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors that callers branch on with errors.Is.
var (
	// ErrUnauthorized matches a 401 or 403 answer from the registry.
	ErrUnauthorized = errors.New("access denied")
	// ErrNoCredential matches a credential that is needed but missing: a
	// token variable that packages.toml names and that is unset. Like a
	// refused one, it is an access problem (exit 5).
	ErrNoCredential = errors.New("no credential")
	// ErrNotFound matches a 404 answer. GitLab also answers 404 when a
	// project is hidden from the caller, so this may mean "no access".
	ErrNotFound = errors.New("not found")
	// ErrHiddenProject matches GitLab's project- or group-level 404 ("404
	// Project Not Found"), which it answers both for a project that does
	// not exist and for one hidden from the caller: an access problem
	// until proven otherwise. Such an error matches ErrNotFound too.
	ErrHiddenProject = errors.New("project not found or hidden")
	// ErrDuplicate matches GitLab's 400 "Duplicate package is not allowed".
	ErrDuplicate = errors.New("duplicate package file")
	// ErrTooLarge matches GitLab's 400 "File is too large" (and a proxy's 413).
	ErrTooLarge = errors.New("file too large")
	// ErrTransient matches a failure that may succeed when tried again later:
	// 408, 429, 5xx, connection resets, and truncated or stalled bodies.
	ErrTransient = errors.New("transient failure")
	// ErrChecksumMismatch matches an *IntegrityError whose SHA-256 differs.
	ErrChecksumMismatch = errors.New("checksum mismatch")
	// ErrSizeMismatch matches an *IntegrityError whose size differs.
	ErrSizeMismatch = errors.New("size mismatch")
	// ErrRedirectRefused matches a redirect the client refused to follow:
	// https to http, a non-http(s) scheme, a method change on upload, or a loop.
	ErrRedirectRefused = errors.New("redirect refused")
	// ErrInsecure matches a refusal to send credentials over plain http to a
	// host that is not loopback.
	ErrInsecure = errors.New("refusing to send credentials over plain http")
	// ErrUnsafeName matches a file name from the server that is not safe to
	// use as a path (absolute, "..", control characters, too long).
	ErrUnsafeName = errors.New("unsafe file name")
	// ErrSetting matches an environment setting gpm cannot use, such as
	// GPM_TOKEN_TYPE=secret or GPM_READ_TIMEOUT=30 (no unit).
	ErrSetting = errors.New("invalid setting")
)

// noCredentialError is a needed credential that is missing; it matches
// ErrNoCredential.
type noCredentialError struct{ msg string }

func (e *noCredentialError) Error() string        { return e.msg }
func (e *noCredentialError) Is(target error) bool { return target == ErrNoCredential }

// settingError is an invalid environment setting; it matches ErrSetting.
type settingError struct{ msg string }

func (e *settingError) Error() string        { return e.msg }
func (e *settingError) Is(target error) bool { return target == ErrSetting }

// Operation kinds recorded in HTTPError.Op; hints depend on them.
const (
	OpList     = "list"     // package and package-file listing APIs
	OpDownload = "download" // generic package download (and CheckFile)
	OpUpload   = "upload"   // generic package upload
)

// Limits on what the client reads from a server.
const (
	maxJSONBody   = 32 << 20 // a listing page larger than this is refused
	maxErrorBody  = 64 << 10 // bytes of an error body read for its message
	maxMessageLen = 200      // characters of a server message shown
)

// HTTPError is an unexpected HTTP status from the registry or from the object
// storage a download was redirected to. Its URL is redacted and its Message is
// sanitized, so it is safe to print. It never holds a token.
type HTTPError struct {
	Method string
	// URL is the URL that answered, without userinfo and with token-like
	// query values replaced by "REDACTED".
	URL    string
	Status int
	// Message is what the server said (JSON "message", or "error" and
	// "error_description", or plain text), stripped of control characters
	// and cut to about 200 characters.
	Message string
	// Op is OpList, OpDownload or OpUpload.
	Op string
	// TokenType is the credential type sent ("" when anonymous or when the
	// answer came from another host, which never receives credentials).
	TokenType string
	// Source describes where the credential came from, e.g. "$GPM_TOKEN
	// (private)" or "anonymous".
	Source string
	// Storage reports that the answer came from a host the registry
	// redirected to (object storage), not from the registry itself.
	Storage bool
	// RetryAfter is the server's Retry-After delay, 0 when absent.
	RetryAfter time.Duration
}

// Error implements error.
func (e *HTTPError) Error() string {
	status := fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s", e.Method, e.URL, strings.TrimSpace(status))
	if e.Status == http.StatusNotFound && !e.Storage {
		b.WriteString(" (not found, or not visible to this credential)")
	}
	if m := e.Message; m != "" && !strings.EqualFold(m, strings.TrimSpace(status)) {
		fmt.Fprintf(&b, ": %s", m)
	}
	return b.String()
}

// Is maps status codes to the sentinel errors.
func (e *HTTPError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return !e.Storage && (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden)
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrHiddenProject:
		return e.Status == http.StatusNotFound && !e.Storage && hiddenMessage(e.Message)
	case ErrDuplicate:
		return e.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Message), "duplicate")
	case ErrTooLarge:
		return e.Status == http.StatusRequestEntityTooLarge ||
			e.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Message), "too large")
	case ErrTransient:
		return retryableStatus(e.Status)
	}
	return false
}

// hiddenMessage reports GitLab's project- and group-level 404 messages.
func hiddenMessage(msg string) bool {
	msg = strings.ToLower(msg)
	return strings.Contains(msg, "project not found") || strings.Contains(msg, "group not found")
}

// Hints returns what the user can do about the error; internal/hint reads it.
func (e *HTTPError) Hints() []string {
	msg := strings.ToLower(e.Message)
	used := "the request used " + e.credName()
	var h []string
	if e.Storage {
		switch e.Status {
		case http.StatusUnauthorized, http.StatusForbidden:
			return []string{"the object storage GitLab redirected to refused the signed download link (it may have expired); run the command again to get a fresh link, or ask the GitLab administrator to check the object storage settings"}
		case http.StatusNotFound:
			return []string{"GitLab redirected to object storage, which does not have the file; ask the GitLab administrator to check the package storage"}
		}
		return nil
	}
	switch e.Status {
	case http.StatusUnauthorized:
		switch e.TokenType {
		case "":
			h = append(h, "no credentials were sent; set GPM_TOKEN to a personal, project or group access token (scope read_api to install, api to publish), or name a token in packages.toml with token = { env = \"VAR\", type = \"private\" }")
		case TokenJob:
			h = append(h, "GitLab rejected the CI job token ("+e.Source+"): a job token is valid only while its job runs")
		case TokenBasic:
			h = append(h, "GitLab rejected the password of the "+e.Source+": it must be a personal, project or group access token (scope read_api to install, api to publish) that has not expired; account passwords do not work")
		default:
			h = append(h, "GitLab rejected the token from "+e.Source+": it is expired, revoked or mistyped; create a new one (User settings > Access tokens, scope read_api to install, api to publish) and update the variable")
		}
	case http.StatusForbidden:
		switch {
		case strings.Contains(msg, "job token") || e.TokenType == TokenJob && e.Op != OpUpload:
			h = append(h, "the publisher project does not allow this project's CI job token: add this project or its group under the publisher's Settings > CI/CD > Job token permissions; the user who started the pipeline also needs at least the Reporter role there")
			if e.Message != "" {
				h = append(h, fmt.Sprintf("GitLab said: %q", e.Message))
			}
		case strings.Contains(msg, "insufficient_scope") || strings.Contains(msg, "scope"):
			h = append(h, "the token lacks a required scope: use read_api (or api) to install and api to publish; deploy tokens need read_package_registry or write_package_registry")
		case strings.Contains(msg, "protected"):
			h = append(h, "a package protection rule in the project covers this package name and requires a higher role to publish it")
		case e.Op == OpUpload:
			h = append(h, "publishing needs at least the Developer role in the project and a token with scope api (deploy tokens: write_package_registry)")
		default:
			h = append(h, "reading packages needs at least the Reporter role in the project and a token with scope read_api or api")
		}
		h = append(h, used)
	case http.StatusNotFound:
		switch {
		case e.TokenType == TokenDeploy && e.Op == OpList:
			h = append(h, "GitLab ignores deploy tokens on the package list APIs and answers as to an anonymous caller; deploy tokens only work for downloads: commit packages.lock and use gpm install --locked, or use a personal, project or group access token")
		case e.TokenType == TokenJob:
			h = append(h, "with a CI job token, a 404 is usually the publisher project's job-token allowlist: add this project under the publisher's Settings > CI/CD > Job token permissions; the user who started the pipeline also needs at least the Reporter role there")
		case e.TokenType == "":
			h = append(h, "GitLab answers 404 to anonymous callers for private projects: set GPM_TOKEN to an access token with scope read_api")
		default:
			h = append(h, "GitLab answers 404 when the project is hidden from the caller: check the project ID or path and that the token's user is at least Reporter in it")
		}
		if e.Op == OpDownload || e.Op == OpUpload {
			h = append(h, "package names are case-sensitive: check the package name, version and file name")
		}
		h = append(h, used)
	case http.StatusBadRequest:
		switch {
		case strings.Contains(msg, "duplicate"):
			h = append(h, "the group's package settings do not allow duplicate files for this package name or version: publish a new version, or change Settings > Packages and registries > Duplicate packages in the group")
		case strings.Contains(msg, "too large"):
			h = append(h, "the file exceeds the instance's generic package size limit (5 GiB by default); an administrator can raise generic_packages_max_file_size in the plan limits")
		case strings.Contains(msg, "invalid"):
			h = append(h, "GitLab rejected the package name, version or file name: names use letters, digits, '.', '_', '-', '+'; versions must not contain '..' or '/', and GitLab before 13.11 accepts only X.Y.Z versions")
		}
	case http.StatusRequestEntityTooLarge:
		h = append(h, "a proxy in front of GitLab refused the upload size; ask the administrator to raise its body size limit")
	case http.StatusTooManyRequests:
		h = append(h, "GitLab is rate limiting requests: lower --jobs or try again later")
	case http.StatusMethodNotAllowed:
		if e.Op == OpUpload {
			h = append(h, "GitLab answers 405 to uploads addressed by a project's old path after a rename or transfer: use the numeric project ID")
		}
	}
	return h
}

func (e *HTTPError) credName() string {
	if e.Source != "" {
		return e.Source
	}
	return "no credentials"
}

// IntegrityError reports a download whose size or SHA-256 differs from what
// was expected. It is a security error: the bytes must not be used.
type IntegrityError struct {
	// Ref is the file that was downloaded.
	Ref FileRef
	// WantSize and GotSize are byte counts; GotSize > WantSize means the
	// body was longer than expected (the client stopped reading at
	// WantSize+1). WantSize is -1 when only the hash was checked.
	WantSize, GotSize int64
	// WantSHA256 and GotSHA256 are lowercase hex; empty when only the size
	// was checked.
	WantSHA256, GotSHA256 string
}

// Error implements error.
func (e *IntegrityError) Error() string {
	if e.sizeMismatch() {
		if e.GotSize > e.WantSize {
			return fmt.Sprintf("%s: size mismatch: want %d bytes, got more than %d", e.Ref, e.WantSize, e.WantSize)
		}
		return fmt.Sprintf("%s: size mismatch: want %d bytes, got %d", e.Ref, e.WantSize, e.GotSize)
	}
	return fmt.Sprintf("%s: checksum mismatch:\n\twant sha256 %s\n\tgot  sha256 %s", e.Ref, e.WantSHA256, e.GotSHA256)
}

func (e *IntegrityError) sizeMismatch() bool { return e.WantSize >= 0 && e.GotSize != e.WantSize }

// Is matches ErrSizeMismatch or ErrChecksumMismatch.
func (e *IntegrityError) Is(target error) bool {
	switch target {
	case ErrSizeMismatch:
		return e.sizeMismatch()
	case ErrChecksumMismatch:
		return !e.sizeMismatch()
	}
	return false
}

// Hints explains what a mismatch means.
func (e *IntegrityError) Hints() []string {
	return []string{"the registry served different bytes than the ones recorded: the file may have been replaced or re-uploaded under the same name, or tampered with; nothing was installed. If the change is expected, update the lock (gpm update)"}
}

// TransientError is a failure that may succeed when tried again: the client
// gave up after Attempts tries (uploads are tried once), or could not retry
// because bytes were already written to a destination without Reset.
// errors.Is(err, ErrTransient) is true; Unwrap gives the last failure.
type TransientError struct {
	Attempts int
	Err      error
}

// Error implements error.
func (e *TransientError) Error() string {
	if e.Attempts > 1 {
		return fmt.Sprintf("giving up after %d attempts: %v", e.Attempts, e.Err)
	}
	return e.Err.Error()
}

// Unwrap returns the last failure.
func (e *TransientError) Unwrap() error { return e.Err }

// Is matches ErrTransient.
func (e *TransientError) Is(target error) bool { return target == ErrTransient }

// Temporary reports true: the failure may go away.
func (e *TransientError) Temporary() bool { return true }

// Hints suggests trying again.
func (e *TransientError) Hints() []string {
	return []string{"the registry or the network failed temporarily; try again later"}
}

// newHTTPError reads at most maxErrorBody bytes of resp's body for the
// server's message. It does not close the body.
func (c *Client) newHTTPError(resp *http.Response, op string) *HTTPError {
	e := &HTTPError{
		Method: resp.Request.Method,
		URL:    c.redact(resp.Request.URL),
		Status: resp.StatusCode,
		Op:     op,
	}
	if sameOrigin(resp.Request.URL, c.api) {
		e.TokenType = c.cred.Type
		e.Source = c.cred.String()
	} else {
		e.Storage = true
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	// Scrub before the message is cut short, or an echoed token that
	// straddles the cut leaves its first characters behind; and after, for
	// one that JSON escapes spelled differently.
	e.Message = c.scrub(errorMessage([]byte(c.scrub(string(body)))))
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			e.RetryAfter = d
		}
	}
	return e
}

// errorMessage extracts what a server said from an error body: GitLab's
// {"message": ...}, Grape's and OAuth's {"error": ..., "error_description":
// ...}, the title of an HTML page, or plain text. The result is sanitized.
func errorMessage(body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return ""
	}
	if body[0] == '{' {
		var m struct {
			Message json.RawMessage `json:"message"`
			Error   json.RawMessage `json:"error"`
			Desc    json.RawMessage `json:"error_description"`
		}
		if json.Unmarshal(body, &m) == nil {
			var parts []string
			for _, raw := range []json.RawMessage{m.Message, m.Error, m.Desc} {
				if s := jsonText(raw); s != "" {
					parts = append(parts, s)
				}
			}
			if len(parts) > 0 {
				return sanitize(strings.Join(parts, ": "))
			}
		}
	}
	if body[0] == '<' {
		lower := bytes.ToLower(body)
		i := bytes.Index(lower, []byte("<title>"))
		j := bytes.Index(lower, []byte("</title>"))
		if i >= 0 && j > i {
			return sanitize(string(body[i+len("<title>") : j]))
		}
		return ""
	}
	return sanitize(string(body))
}

// jsonText renders a JSON value as text: strings as themselves, objects and
// arrays (GitLab's validation messages) compactly, null as "".
func jsonText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) == nil {
		return buf.String()
	}
	return string(raw)
}

// sanitize makes server text safe for a terminal: invalid UTF-8 and control
// characters become spaces, runs of spaces collapse, and the result is cut
// to maxMessageLen characters.
func sanitize(s string) string {
	var b strings.Builder
	space := false
	n := 0
	for _, r := range strings.ToValidUTF8(s, " ") {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == utf8.RuneError || unicode.Is(unicode.Cf, r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
			n++
		}
		space = false
		if n >= maxMessageLen {
			b.WriteString("...")
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
