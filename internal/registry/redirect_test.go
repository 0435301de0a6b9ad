package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// TestRedirectStripsCredentials: GitLab redirects downloads to object
// storage on another host; no credential may follow, whatever its type,
// whether the other host differs by port or by name.
func TestRedirectStripsCredentials(t *testing.T) {
	payload := []byte("object storage bytes")
	storage, storageSeen := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write(payload)
	})
	storagePort := storage.Listener.Addr().String()[strings.LastIndex(storage.Listener.Addr().String(), ":"):]
	creds := []Credential{
		{Type: TokenPrivate, Token: "tok-private"},
		{Type: TokenJob, Token: "tok-job"},
		{Type: TokenDeploy, Token: "tok-deploy"},
		{Type: TokenBearer, Token: "tok-bearer"},
		{Type: TokenBasic, Username: "u", Token: "tok-basic"},
	}
	targets := []struct{ name, base string }{
		{"other port", storage.URL},
		{"other name", "http://localhost" + storagePort},
	}
	for _, target := range targets {
		for _, cred := range creds {
			t.Run(target.name+"/"+cred.Type, func(t *testing.T) {
				reg, regSeen := server(t, func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Set-Cookie", "session=abc")
					http.Redirect(w, r, target.base+"/bucket/obj?X-Amz-Signature=sig", http.StatusFound)
				})
				c, _ := client(t, reg.URL, WithCredential(cred))
				before := storageSeen.count()
				var buf bytes.Buffer
				res, err := c.Download(context.Background(), FileRef{"1", "p", "1.0.0", "f.bin"}, Expect{Size: int64(len(payload)), SHA256: sum(payload)}, &buf)
				if err != nil {
					t.Fatal(err)
				}
				if res.SHA256 != sum(payload) || buf.String() != string(payload) {
					t.Fatalf("downloaded %q", buf.String())
				}
				if got := hasCredential(regSeen.list()[0].Header); len(got) != 1 {
					t.Errorf("registry saw credential headers %v, want exactly one", got)
				}
				sreqs := storageSeen.list()[before:]
				if len(sreqs) != 1 {
					t.Fatalf("storage saw %d requests", len(sreqs))
				}
				if got := hasCredential(sreqs[0].Header); len(got) != 0 {
					t.Errorf("storage saw credential headers %v", got)
				}
				for k, vs := range sreqs[0].Header {
					for _, v := range vs {
						if strings.Contains(v, cred.Token) {
							t.Errorf("storage saw the token in header %s", k)
						}
					}
				}
			})
		}
	}
}

func TestRedirectSameOriginKeepsCredential(t *testing.T) {
	srv, rec := server(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			http.Redirect(w, r, "/files/blob", http.StatusFound)
			return
		}
		w.Write([]byte("ok"))
	})
	c, _ := client(t, srv.URL, WithCredential(privateCred))
	if _, err := c.Download(context.Background(), FileRef{"1", "p", "1", "f"}, Expect{Size: 2}, io.Discard); err != nil {
		t.Fatal(err)
	}
	for _, r := range rec.list() {
		if r.Header.Get("Private-Token") != testToken {
			t.Errorf("%s lacked the credential on the registry's own host", r.URI)
		}
	}
}

func TestRedirectHTTPSToHTTPRefused(t *testing.T) {
	plain, plainSeen := server(t, func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("x")) })
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/obj", http.StatusFound)
	}))
	defer tlsSrv.Close()
	c, _ := client(t, tlsSrv.URL, WithTransport(tlsSrv.Client().Transport), WithCredential(privateCred))
	_, err := c.Download(context.Background(), FileRef{"1", "p", "1", "f"}, Expect{Size: 1}, io.Discard)
	if !errors.Is(err, ErrRedirectRefused) {
		t.Fatalf("err = %v, want ErrRedirectRefused", err)
	}
	if !strings.Contains(err.Error(), "plain http") {
		t.Errorf("err = %v", err)
	}
	if plainSeen.count() != 0 {
		t.Errorf("the http server was contacted")
	}
	if errors.Is(err, ErrTransient) {
		t.Errorf("a refused redirect is not transient: %v", err)
	}
}

func TestRedirectNonHTTPSchemeRefused(t *testing.T) {
	for _, loc := range []string{"file:///etc/passwd", "ftp://storage.example.com/x", "gopher://x/"} {
		srv, rec := server(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", loc)
			w.WriteHeader(http.StatusFound)
		})
		c, _ := client(t, srv.URL)
		_, err := c.Download(context.Background(), FileRef{"1", "p", "1", "f"}, Expect{Size: -1}, io.Discard)
		if !errors.Is(err, ErrRedirectRefused) {
			t.Errorf("redirect to %s: err = %v, want ErrRedirectRefused", loc, err)
		}
		if rec.count() != 1 {
			t.Errorf("redirect to %s: %d requests, want 1 (no retry)", loc, rec.count())
		}
	}
}

func TestRedirectLoop(t *testing.T) {
	srv, rec := server(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path+"x", http.StatusFound)
	})
	c, _ := client(t, srv.URL)
	_, err := c.Download(context.Background(), FileRef{"1", "p", "1", "f"}, Expect{Size: -1}, io.Discard)
	if !errors.Is(err, ErrRedirectRefused) || !strings.Contains(err.Error(), "redirect loop") {
		t.Fatalf("err = %v", err)
	}
	if n := rec.count(); n != maxRedirects {
		t.Errorf("%d requests, want %d", n, maxRedirects)
	}
}

func TestUploadRedirectToGETRefused(t *testing.T) {
	srv, rec := server(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	})
	c, _ := client(t, srv.URL, WithCredential(privateCred))
	_, err := c.Upload(context.Background(), FileRef{"1", "p", "1", "f"}, strings.NewReader("abc"), 3, UploadOptions{})
	if !errors.Is(err, ErrRedirectRefused) {
		t.Fatalf("err = %v", err)
	}
	if rec.count() != 1 {
		t.Errorf("%d requests, want 1", rec.count())
	}
}

// Object storage behind the registry's own host (MinIO under /minio, say)
// gets a presigned URL: it carries its own authority, and S3 refuses a
// request with a second one ("Only one auth mechanism allowed"), so the
// credential stays off that hop, whatever its type.
func TestRedirectToSameOriginPresignedURL(t *testing.T) {
	var storage http.Header
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			http.Redirect(w, r, "/minio/bucket/obj?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc", http.StatusFound)
			return
		}
		storage = r.Header.Clone()
		if r.Header.Get("Authorization") != "" {
			http.Error(w, "Only one auth mechanism allowed", http.StatusBadRequest)
			return
		}
		w.Write([]byte("ok"))
	})
	for _, cred := range []Credential{privateCred, {Type: TokenBearer, Token: "oauth-secret"}, {Type: TokenBasic, Username: "u", Token: "netrc-secret"}} {
		c, _ := client(t, srv.URL, WithCredential(cred))
		if _, err := c.Download(context.Background(), FileRef{"1", "p", "1", "f"}, Expect{Size: 2}, io.Discard); err != nil {
			t.Errorf("%s: %v", cred.Type, err)
		}
		for _, h := range credentialHeaders {
			if storage.Get(h) != "" {
				t.Errorf("%s: the presigned hop got %s", cred.Type, h)
			}
		}
	}
}
