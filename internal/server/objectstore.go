package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// credentialHeaders are the request headers that carry GitLab credentials
// and must never reach object storage.
var credentialHeaders = []string{"Private-Token", "Job-Token", "Deploy-Token", "Authorization", "Cookie"}

// CredentialLeak records a credential header that reached the object-storage
// handler. The header's value is not kept.
type CredentialLeak struct {
	Header string // canonical header name, e.g. "Private-Token"
	Method string
	Path   string
}

// EnableRedirects turns on object-storage mode: downloads answer 302 to
// signed, expiring URLs under baseURL (e.g. "http://127.0.0.2:9000"), which
// ObjectStorageHandler must serve. An empty baseURL turns the mode off.
func (s *Server) EnableRedirects(baseURL string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objectURL = strings.TrimSuffix(baseURL, "/")
}

func (s *Server) objectStorageURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.objectURL
}

// CredentialLeaks returns the credential headers the object-storage handler
// has seen, oldest first.
func (s *Server) CredentialLeaks() []CredentialLeak {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CredentialLeak(nil), s.leaks...)
}

// ClearCredentialLeaks forgets the recorded credential leaks.
func (s *Server) ClearCredentialLeaks() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leaks = nil
}

// signedURL returns a presigned object-storage URL for f, like the signed
// GCS or S3 URLs GitLab redirects to.
func (s *Server) signedURL(base string, f PackageFile) string {
	path := "/packages/" + f.SHA256 + "/" + f.FileName
	exp := strconv.FormatInt(s.now().Add(s.opts.RedirectTTL).Unix(), 10)
	disp := contentDisposition(f.FileName)
	q := url.Values{}
	q.Set("X-Expires", exp)
	q.Set("response-content-disposition", disp)
	q.Set("response-content-type", "application/octet-stream")
	q.Set("X-Signature", s.sign(path, exp, disp, "application/octet-stream"))
	return base + "/packages/" + f.SHA256 + "/" + url.PathEscape(f.FileName) + "?" + q.Encode()
}

// sign signs what a signed URL decides: the object, the expiry, and the
// headers of the response (as S3 and GCS sign response-* parameters), so
// that no one holding the URL can have a file served as text/html.
func (s *Server) sign(path, exp, disp, ctype string) string {
	m := hmac.New(sha256.New, s.signKey)
	m.Write([]byte(path + "\n" + exp + "\n" + disp + "\n" + ctype))
	return hex.EncodeToString(m.Sum(nil))
}

// ObjectStorageHandler returns the handler of the object-storage host that
// downloads redirect to in object-storage mode. Serve it on another host
// than the API (e.g. 127.0.0.2 next to 127.0.0.1) so that clients treat it
// as a different origin. It checks the URL's signature and expiry, serves
// the blob with Range support, and records every credential header it sees
// (see CredentialLeaks); like S3 it refuses a request that carries an
// Authorization header next to a presigned query.
func (s *Server) ObjectStorageHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.count(KindObjectStorage)
		start := time.Now()
		lw := &logWriter{ResponseWriter: w}
		defer func() {
			if s.opts.Logf != nil {
				s.opts.Logf("object-storage %s %s %d %dB %s", r.Method, r.URL.EscapedPath(), lw.status(), lw.n, time.Since(start).Round(time.Microsecond))
			}
		}()
		w, done := s.applyFault(lw, r)
		if done {
			return
		}
		s.serveObject(w, r)
	})
}

func (s *Server) serveObject(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	for _, h := range credentialHeaders {
		if _, ok := r.Header[h]; ok {
			s.leaks = append(s.leaks, CredentialLeak{Header: h, Method: r.Method, Path: r.URL.EscapedPath()})
		}
	}
	s.mu.Unlock()

	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s3Error(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "The specified method is not allowed against this resource.")
		return
	}
	if r.Header.Get("Authorization") != "" {
		s3Error(w, http.StatusBadRequest, "InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified")
		return
	}
	q := r.URL.Query()
	path := r.URL.Path // signed decoded, whatever escaping a client applies
	exp, disp := q.Get("X-Expires"), q.Get("response-content-disposition")
	want := s.sign(path, exp, disp, q.Get("response-content-type"))
	if !hmac.Equal([]byte(want), []byte(q.Get("X-Signature"))) {
		s3Error(w, http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
		return
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || s.now().Unix() > n {
		s3Error(w, http.StatusForbidden, "AccessDenied", "Request has expired")
		return
	}
	rest, _ := strings.CutPrefix(path, "/packages/")
	key, _, _ := strings.Cut(rest, "/")
	b, err := s.store.OpenBlob(key)
	if err != nil {
		s3Error(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return
	}
	defer b.Close()
	h := w.Header()
	h.Set("Content-Type", q.Get("response-content-type"))
	if disp != "" {
		h.Set("Content-Disposition", disp)
	}
	h.Set("ETag", `"`+key[:min(32, len(key))]+`"`)
	http.ServeContent(bulkWriter{w}, r, "", time.Time{}, b)
}

// s3Error writes an S3-style XML error.
func s3Error(w http.ResponseWriter, status int, code, msg string) {
	body := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		"<Error><Code>" + code + "</Code><Message>" + msg + "</Message></Error>"
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write([]byte(body))
}
