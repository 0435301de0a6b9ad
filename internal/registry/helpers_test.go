package registry

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// sleeps records the backoff waits of a client without sleeping.
type sleeps struct {
	mu sync.Mutex
	ds []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.ds = append(s.ds, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.ds...)
}

// seen records the requests a test server received.
type seen struct {
	mu   sync.Mutex
	reqs []seenReq
}

type seenReq struct {
	Method, URI string
	Header      http.Header
}

func (s *seen) add(r *http.Request) {
	s.mu.Lock()
	s.reqs = append(s.reqs, seenReq{r.Method, r.RequestURI, r.Header.Clone()})
	s.mu.Unlock()
}

func (s *seen) list() []seenReq {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seenReq(nil), s.reqs...)
}

func (s *seen) count() int { return len(s.list()) }

// server starts an httptest server on 127.0.0.1 that records requests.
func server(t *testing.T, h http.HandlerFunc) (*httptest.Server, *seen) {
	t.Helper()
	rec := &seen{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, rec
}

// client builds a client for srv with recorded, instant backoff.
func client(t *testing.T, baseURL string, opts ...Option) (*Client, *sleeps) {
	t.Helper()
	sl := &sleeps{}
	all := append([]Option{WithRetry(Retry{Sleep: sl.sleep})}, opts...)
	c, err := New(baseURL, all...)
	if err != nil {
		t.Fatalf("New(%q): %v", baseURL, err)
	}
	return c, sl
}

const testToken = "glpat-SECRET-test-token-0123456789"

var privateCred = Credential{Type: TokenPrivate, Token: testToken, Source: "$GPM_TOKEN (private)"}

// credHeaderNames are every header that may carry a credential.
var credHeaderNames = []string{"Private-Token", "Job-Token", "Deploy-Token", "Authorization", "Cookie"}

func hasCredential(h http.Header) []string {
	var found []string
	for _, k := range credHeaderNames {
		if h.Get(k) != "" {
			found = append(found, k)
		}
	}
	return found
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
