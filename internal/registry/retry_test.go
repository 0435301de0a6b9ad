package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// statusSeq answers with the given statuses in turn, then 200 "[]".
func statusSeq(codes ...int) (http.HandlerFunc, *atomic.Int32) {
	var n atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i < len(codes) {
			w.WriteHeader(codes[i])
			fmt.Fprint(w, `{"message":"boom"}`)
			return
		}
		fmt.Fprint(w, "[]")
	}, &n
}

func TestRetryStatuses(t *testing.T) {
	tests := []struct {
		status   int
		attempts int32
		ok       bool
	}{
		{408, 2, true}, {429, 2, true}, {500, 2, true}, {502, 2, true}, {503, 2, true}, {504, 2, true},
		{400, 1, false}, {401, 1, false}, {403, 1, false}, {404, 1, false}, {405, 1, false}, {501, 1, false},
	}
	for _, tt := range tests {
		h, n := statusSeq(tt.status)
		srv, _ := server(t, h)
		c, sl := client(t, srv.URL)
		_, err := c.ListAllPackages(context.Background(), "1", "")
		if (err == nil) != tt.ok {
			t.Errorf("%d: err = %v", tt.status, err)
		}
		if n.Load() != tt.attempts {
			t.Errorf("%d: %d attempts, want %d", tt.status, n.Load(), tt.attempts)
		}
		if got := len(sl.all()); got != int(tt.attempts)-1 {
			t.Errorf("%d: %d backoffs", tt.status, got)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	date := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name, header string
		min, max     time.Duration
	}{
		{"seconds", "7", 7 * time.Second, 7 * time.Second},
		{"http date", date, 28 * time.Second, 30 * time.Second},
		{"capped", "3600", 60 * time.Second, 60 * time.Second},
		{"garbage uses backoff", "soon", 0, 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					w.Header().Set("Retry-After", tt.header)
					w.WriteHeader(http.StatusTooManyRequests)
					fmt.Fprint(w, "Retry later\n")
					return
				}
				fmt.Fprint(w, "[]")
			})
			c, sl := client(t, srv.URL)
			if _, err := c.ListAllPackages(context.Background(), "1", ""); err != nil {
				t.Fatal(err)
			}
			ds := sl.all()
			if len(ds) != 1 || ds[0] < tt.min || ds[0] > tt.max {
				t.Errorf("waited %v, want one wait in [%v, %v]", ds, tt.min, tt.max)
			}
		})
	}
}

func TestRetryExhausted(t *testing.T) {
	h, n := statusSeq(503, 503, 503, 503, 503)
	srv, _ := server(t, h)
	c, sl := client(t, srv.URL)
	_, err := c.ListAllPackages(context.Background(), "1", "")
	if !errors.Is(err, ErrTransient) {
		t.Fatalf("err = %v, want ErrTransient", err)
	}
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 503 || he.Message != "boom" {
		t.Errorf("last error = %#v", he)
	}
	var te *TransientError
	if !errors.As(err, &te) || te.Attempts != 4 || !strings.Contains(err.Error(), "after 4 attempts") {
		t.Errorf("err = %v", err)
	}
	if n.Load() != 4 || len(sl.all()) != 3 {
		t.Errorf("%d attempts, %d waits", n.Load(), len(sl.all()))
	}
}

func TestRetryMaxAttemptsOption(t *testing.T) {
	h, n := statusSeq(500, 500, 500)
	srv, _ := server(t, h)
	c, err := New(srv.URL, WithRetry(Retry{MaxAttempts: 2, Sleep: (&sleeps{}).sleep}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListAllPackages(context.Background(), "1", ""); !errors.Is(err, ErrTransient) || n.Load() != 2 {
		t.Errorf("err = %v after %d attempts", err, n.Load())
	}
}

// flakyTransport fails the first calls with errs, then uses the default
// transport.
type flakyTransport struct {
	errs  []error
	calls atomic.Int32
}

func (f *flakyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	i := int(f.calls.Add(1)) - 1
	if i < len(f.errs) {
		return nil, f.errs[i]
	}
	return http.DefaultTransport.RoundTrip(r)
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestRetryNetworkErrors(t *testing.T) {
	opErr := func(e error) error {
		return &net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: e}}
	}
	tests := []struct {
		name     string
		err      error
		attempts int32
		ok       bool
	}{
		{"reset", opErr(syscall.ECONNRESET), 2, true},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}, 2, true},
		{"unexpected EOF", io.ErrUnexpectedEOF, 2, true},
		{"EOF before headers", io.EOF, 2, true},
		{"timeout", timeoutErr{}, 2, true},
		{"dns not found", &net.DNSError{Err: "no such host", Name: "gitlab.example.com", IsNotFound: true}, 1, false},
		{"tls", errors.New("tls: failed to verify certificate"), 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "[]") })
			ft := &flakyTransport{errs: []error{tt.err}}
			c, _ := client(t, srv.URL, WithTransport(ft), WithCredential(privateCred))
			_, err := c.ListAllPackages(context.Background(), "1", "")
			if (err == nil) != tt.ok {
				t.Errorf("err = %v", err)
			}
			if ft.calls.Load() != tt.attempts {
				t.Errorf("%d attempts, want %d", ft.calls.Load(), tt.attempts)
			}
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	h, _ := statusSeq(503, 503, 503)
	srv, _ := server(t, h)
	// Real sleeps, long backoff: only cancellation can end the wait quickly.
	c, err := New(srv.URL, WithRetry(Retry{Base: time.Minute, Max: time.Minute}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	start := time.Now()
	_, err = c.ListAllPackages(ctx, "1", "")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("returned after %v", d)
	}
}

func TestCancelledBeforeStart(t *testing.T) {
	srv, rec := server(t, func(w http.ResponseWriter, r *http.Request) {})
	c, _ := client(t, srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.ListAllPackages(ctx, "1", ""); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
	if _, err := c.Download(ctx, FileRef{"1", "p", "1", "f"}, Expect{Size: -1}, io.Discard); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
	if _, err := c.Upload(ctx, FileRef{"1", "p", "1", "f"}, strings.NewReader("x"), 1, UploadOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
	if rec.count() != 0 {
		t.Errorf("%d requests after cancel", rec.count())
	}
}

func TestCancelDuringRetriedRequestIsNotRetried(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int32
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		cancel()
		w.WriteHeader(503)
	})
	c, _ := client(t, srv.URL)
	if _, err := c.ListAllPackages(ctx, "1", ""); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
	if n.Load() != 1 {
		t.Errorf("%d attempts", n.Load())
	}
}

func TestBackoffJitter(t *testing.T) {
	r := Retry{}.withDefaults()
	tests := []struct {
		n       int
		ceiling time.Duration
	}{
		{1, 500 * time.Millisecond}, {2, time.Second}, {3, 2 * time.Second}, {8, 30 * time.Second}, {60, 30 * time.Second},
	}
	for _, tt := range tests {
		var maxSeen time.Duration
		for range 200 {
			d := r.backoff(tt.n, 0)
			if d < 0 || d > tt.ceiling {
				t.Fatalf("backoff(%d) = %v, outside [0, %v]", tt.n, d, tt.ceiling)
			}
			maxSeen = max(maxSeen, d)
		}
		if maxSeen < tt.ceiling/4 {
			t.Errorf("backoff(%d) never above %v: no jitter spread", tt.n, maxSeen)
		}
	}
	if d := r.backoff(1, 5*time.Second); d != 5*time.Second {
		t.Errorf("Retry-After 5s gave %v", d)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"120", 2 * time.Minute, true},
		{" 5 ", 5 * time.Second, true},
		{"Fri, 10 Jan 2025 12:00:30 GMT", 30 * time.Second, true},
		{"Friday, 10-Jan-25 12:01:00 GMT", time.Minute, true},
		{"Fri Jan 10 12:00:10 2025", 10 * time.Second, true},
		{"Fri, 10 Jan 2025 11:00:00 GMT", 0, true},
		{"99999999999999999999999", 1 << 32 * time.Second, true},
		{"", 0, false},
		{"-5", 0, false},
		{"+5", 0, false},
		{"1.5", 0, false},
		{"5s", 0, false},
		{"tomorrow", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
