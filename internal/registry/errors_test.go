package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gpmtool/gpm/internal/hint"
)

func TestErrorMessage(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"message":"404 Project Not Found"}`, "404 Project Not Found"},
		{`{"message":{"name":["is invalid"],"version":["can't be blank"]}}`, `{"name":["is invalid"],"version":["can't be blank"]}`},
		{`{"error":"package_version is invalid"}`, "package_version is invalid"},
		{`{"error":"invalid_token","error_description":"Token is expired. You can either do re-authorization or token refresh."}`,
			"invalid_token: Token is expired. You can either do re-authorization or token refresh."},
		{`{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api"}`,
			"insufficient_scope: The request requires higher privileges than provided by the access token."},
		{"Retry later\n", "Retry later"},
		{"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>", "502 Bad Gateway"},
		{"<html><body>no title</body></html>", ""},
		{"line1\r\nline2\x1b[31mred\x00", "line1 line2 [31mred"},
		{`{"message":null,"error":"x"}`, "x"},
		{`{"other":1}`, `{"other":1}`},
		{"", ""},
		{"\xff\xfebad utf8", "bad utf8"},
		{strings.Repeat("a", 500), strings.Repeat("a", 200) + "..."},
	}
	for _, tt := range tests {
		if got := errorMessage([]byte(tt.body)); got != tt.want {
			t.Errorf("errorMessage(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

func TestHTTPErrorIs(t *testing.T) {
	tests := []struct {
		e    HTTPError
		is   []error
		isnt []error
	}{
		{HTTPError{Status: 401}, []error{ErrUnauthorized}, []error{ErrNotFound, ErrTransient}},
		{HTTPError{Status: 403}, []error{ErrUnauthorized}, []error{ErrNotFound}},
		{HTTPError{Status: 403, Storage: true}, nil, []error{ErrUnauthorized}},
		{HTTPError{Status: 404}, []error{ErrNotFound}, []error{ErrUnauthorized}},
		{HTTPError{Status: 400, Message: "400 Bad request - Duplicate package is not allowed"}, []error{ErrDuplicate}, []error{ErrTooLarge, ErrTransient}},
		{HTTPError{Status: 400, Message: "400 Bad request - File is too large"}, []error{ErrTooLarge}, []error{ErrDuplicate}},
		{HTTPError{Status: 400, Message: "package_version is invalid"}, nil, []error{ErrDuplicate, ErrTooLarge}},
		{HTTPError{Status: 413}, []error{ErrTooLarge}, nil},
		{HTTPError{Status: 429}, []error{ErrTransient}, nil},
		{HTTPError{Status: 502}, []error{ErrTransient}, nil},
	}
	for _, tt := range tests {
		err := fmt.Errorf("wrapped: %w", &tt.e)
		for _, s := range tt.is {
			if !errors.Is(err, s) {
				t.Errorf("%d %q: not %v", tt.e.Status, tt.e.Message, s)
			}
		}
		for _, s := range tt.isnt {
			if errors.Is(err, s) {
				t.Errorf("%d %q: is %v", tt.e.Status, tt.e.Message, s)
			}
		}
	}
}

// TestHints answers each failure class from a real server and checks the
// hint that reaches internal/hint.
func TestHints(t *testing.T) {
	deploy := Credential{Type: TokenDeploy, Token: "dtok", Source: "$GPM_TOKEN (deploy)"}
	job := Credential{Type: TokenJob, Token: "jtok", Source: "$CI_JOB_TOKEN (job)"}
	basic := Credential{Type: TokenBasic, Username: "u", Token: "btok", Source: "~/.netrc entry for 127.0.0.1"}
	anon := Credential{Source: "anonymous"}
	tests := []struct {
		name   string
		cred   Credential
		op     string
		status int
		body   string
		want   []string
	}{
		{"401 token", privateCred, OpList, 401, `{"error":"invalid_token","error_description":"Token is expired."}`,
			[]string{"expired, revoked or mistyped", "create a new one", "$GPM_TOKEN (private)"}},
		{"401 anonymous", anon, OpDownload, 401, `{"message":"401 Unauthorized"}`, []string{"set GPM_TOKEN"}},
		{"401 job", job, OpDownload, 401, `{"message":"401 Unauthorized"}`, []string{"only while its job runs"}},
		{"401 basic", basic, OpDownload, 401, `{"message":"401 Unauthorized"}`, []string{"must be a personal, project or group access token"}},
		{"403 read", privateCred, OpList, 403, `{"message":"403 Forbidden"}`, []string{"Reporter", "$GPM_TOKEN (private)"}},
		{"403 publish", privateCred, OpUpload, 403, `{"message":"403 Forbidden"}`, []string{"Developer", "scope api", "write_package_registry"}},
		{"403 protected", privateCred, OpUpload, 403, `{"message":"403 Forbidden - Package protected."}`, []string{"protection rule"}},
		{"403 scope", privateCred, OpUpload, 403, `{"error":"insufficient_scope"}`, []string{"lacks a required scope"}},
		{"403 job allowlist", job, OpList, 403, `{"message":"403 Forbidden - Authentication by CI/CD job token not allowed from a/b to c/d."}`,
			[]string{"Settings > CI/CD > Job token permissions", `GitLab said: "403 Forbidden - Authentication by CI/CD job token not allowed from a/b to c/d."`}},
		{"404 token", privateCred, OpList, 404, `{"message":"404 Project Not Found"}`, []string{"hidden from the caller", "at least Reporter"}},
		{"404 job", job, OpDownload, 404, `{"message":"404 Not Found"}`, []string{"job-token allowlist", "case-sensitive"}},
		{"404 deploy list", deploy, OpList, 404, `{"message":"404 Project Not Found"}`, []string{"ignores deploy tokens", "gpm install --locked"}},
		{"404 basic list", basic, OpList, 404, `{"message":"404 Project Not Found"}`, []string{"hidden from the caller", "~/.netrc"}},
		{"404 anonymous", anon, OpList, 404, `{"message":"404 Project Not Found"}`, []string{"anonymous callers", "GPM_TOKEN"}},
		{"400 duplicate", privateCred, OpUpload, 400, `{"message":"400 Bad request - Duplicate package is not allowed"}`, []string{"do not allow duplicate"}},
		{"400 too large", privateCred, OpUpload, 400, `{"message":"400 Bad request - File is too large"}`, []string{"5 GiB"}},
		{"400 invalid version", privateCred, OpUpload, 400, `{"error":"package_version is invalid"}`, []string{"X.Y.Z"}},
		{"405 upload", privateCred, OpUpload, 405, ``, []string{"numeric project ID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(tt.status)
				fmt.Fprint(w, tt.body)
			})
			c, _ := client(t, srv.URL, WithCredential(tt.cred))
			ctx := context.Background()
			ref := FileRef{"1", "tool", "1.0.0", "f.bin"}
			var err error
			switch tt.op {
			case OpList:
				_, err = c.ListPackages(ctx, "1", "tool")
			case OpDownload:
				_, err = c.Download(ctx, ref, Expect{Size: -1}, io.Discard)
			case OpUpload:
				_, err = c.Upload(ctx, ref, strings.NewReader("x"), 1, UploadOptions{})
			}
			var he *HTTPError
			if !errors.As(err, &he) || he.Status != tt.status || he.Op != tt.op || he.TokenType != tt.cred.Type {
				t.Fatalf("err = %#v", err)
			}
			hints := strings.Join(hint.Of(err), "\n")
			for _, w := range tt.want {
				if !strings.Contains(hints, w) {
					t.Errorf("hints lack %q:\n%s", w, hints)
				}
			}
			if tt.cred.Token != "" && (strings.Contains(hints, tt.cred.Token) || strings.Contains(err.Error(), tt.cred.Token)) {
				t.Errorf("token leaked")
			}
		})
	}
}

func TestHTTPErrorText(t *testing.T) {
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(403)
		// A server that echoes the token back must not make us print it.
		fmt.Fprintf(w, `{"message":"403 Forbidden - token %s\u001b[2J is not allowed"}`, r.Header.Get("Private-Token"))
	})
	c, _ := client(t, srv.URL, WithCredential(privateCred))
	_, err := c.ListPackages(context.Background(), "g/p", "tool")
	msg := err.Error()
	if strings.Contains(msg, testToken) || strings.Contains(msg, "\x1b") {
		t.Errorf("error leaks the token or control characters: %q", msg)
	}
	want := "GET " + srv.URL + "/api/v4/projects/g%2Fp/packages?package_name=tool&package_type=generic&per_page=100: 403 Forbidden: 403 Forbidden - token REDACTED [2J is not allowed"
	if msg != want {
		t.Errorf("error text\n\t%s\nwant\n\t%s", msg, want)
	}

	e404 := &HTTPError{Method: "GET", URL: "https://gitlab.example.com/x", Status: 404, Message: "404 Not Found"}
	if got := e404.Error(); got != "GET https://gitlab.example.com/x: 404 Not Found (not found, or not visible to this credential)" {
		t.Errorf("404 text = %q", got)
	}
}

// TestHTTPErrorTokenAtCut: a token that the server echoes where the
// message is cut short must not leave its first characters behind.
func TestHTTPErrorTokenAtCut(t *testing.T) {
	for _, pad := range []int{maxMessageLen - 10, maxMessageLen - 20, maxMessageLen - 30} {
		t.Run(fmt.Sprint(pad), func(t *testing.T) {
			srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(403)
				fmt.Fprintf(w, `{"message":"%s%s is not allowed"}`, strings.Repeat("x", pad), r.Header.Get("Private-Token"))
			})
			c, _ := client(t, srv.URL, WithCredential(privateCred))
			_, err := c.ListPackages(context.Background(), "g/p", "tool")
			if err == nil {
				t.Fatal("no error")
			}
			if msg := err.Error(); strings.Contains(msg, testToken[:8]) {
				t.Errorf("error leaks the start of the token: %q", msg)
			}
		})
	}
}

func TestStorageErrors(t *testing.T) {
	storage, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(403)
		fmt.Fprint(w, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>")
	})
	reg, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, storage.URL+"/o?X-Amz-Signature=secret-sig&X-Amz-Expires=600", http.StatusFound)
	})
	c, _ := client(t, reg.URL, WithCredential(privateCred))
	_, err := c.Download(context.Background(), FileRef{"1", "p", "1", "f"}, Expect{Size: -1}, io.Discard)
	var he *HTTPError
	if !errors.As(err, &he) || !he.Storage || he.TokenType != "" {
		t.Fatalf("err = %#v", err)
	}
	if errors.Is(err, ErrUnauthorized) {
		t.Error("a storage 403 is not the user's access problem")
	}
	if strings.Contains(err.Error(), "secret-sig") {
		t.Errorf("signed url leaked: %v", err)
	}
	if h := strings.Join(hint.Of(err), " "); !strings.Contains(h, "signed download link") {
		t.Errorf("hints = %q", h)
	}
}

func TestTransientAndIntegrityText(t *testing.T) {
	te := &TransientError{Attempts: 3, Err: &HTTPError{Method: "GET", URL: "https://gitlab.example.com/x", Status: 503}}
	if got := te.Error(); got != "giving up after 3 attempts: GET https://gitlab.example.com/x: 503 Service Unavailable" {
		t.Errorf("TransientError = %q", got)
	}
	if !te.Temporary() || len(te.Hints()) == 0 {
		t.Error("TransientError lacks Temporary or Hints")
	}
	ref := FileRef{"1", "tool", "1.0.0", "a.bin"}
	tests := []struct {
		e    IntegrityError
		want string
		is   error
	}{
		{IntegrityError{Ref: ref, WantSize: 10, GotSize: 4}, "tool@1.0.0/a.bin: size mismatch: want 10 bytes, got 4", ErrSizeMismatch},
		{IntegrityError{Ref: ref, WantSize: 10, GotSize: 11}, "tool@1.0.0/a.bin: size mismatch: want 10 bytes, got more than 10", ErrSizeMismatch},
		{IntegrityError{Ref: ref, WantSize: 10, GotSize: 10, WantSHA256: "aa", GotSHA256: "bb"}, "tool@1.0.0/a.bin: checksum mismatch:\n\twant sha256 aa\n\tgot  sha256 bb", ErrChecksumMismatch},
		{IntegrityError{Ref: ref, WantSize: -1, GotSize: 10, WantSHA256: "aa", GotSHA256: "bb"}, "tool@1.0.0/a.bin: checksum mismatch:\n\twant sha256 aa\n\tgot  sha256 bb", ErrChecksumMismatch},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if !errors.Is(&tt.e, tt.is) {
			t.Errorf("%q is not %v", tt.want, tt.is)
		}
	}
}
