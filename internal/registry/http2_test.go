package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// protoRecorder records the protocol version of every response its base
// transport returns.
type protoRecorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	got  []int
}

func (p *protoRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := p.base.RoundTrip(req)
	if err == nil {
		p.mu.Lock()
		p.got = append(p.got, resp.ProtoMajor)
		p.mu.Unlock()
	}
	return resp, err
}

func (p *protoRecorder) protos() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.got...)
}

// tlsServer starts an httptest TLS server, speaking HTTP/2 when h2 is set.
func tlsServer(tb testing.TB, h2 bool, h http.HandlerFunc) *httptest.Server {
	tb.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = h2
	srv.StartTLS()
	tb.Cleanup(srv.Close)
	return srv
}

// trustingTransport is the production transport (newTransport) that also
// trusts srv's self-signed certificate, and nothing else besides the
// system roots it would trust anyway.
func trustingTransport(tb testing.TB, srv *httptest.Server, jobs int) *http.Transport {
	tb.Helper()
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	pool.AddCert(srv.Certificate())
	tr := newTransport(jobs)
	cfg := tr.TLSClientConfig
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg = cfg.Clone()
	cfg.RootCAs = pool
	tr.TLSClientConfig = cfg
	return tr
}

// The production transport dials and sets timeouts of its own, which turns
// off Go's automatic HTTP/2 unless it asks for it: a TLS registry that
// speaks HTTP/2 must get it, for listings and downloads alike.
func TestTransportNegotiatesHTTP2OverTLS(t *testing.T) {
	body := []byte("payload")
	sum := sha256.Sum256(body)
	var mu sync.Mutex
	var serverProtos []int
	srv := tlsServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		serverProtos = append(serverProtos, r.ProtoMajor)
		mu.Unlock()
		if r.URL.Query().Has("per_page") {
			pager(t, rows(3, "tool"), true, nil)(w, r)
			return
		}
		w.Write(body)
	})
	rec := &protoRecorder{base: trustingTransport(t, srv, 8)}
	c, _ := client(t, srv.URL, WithTransport(rec), WithCredential(privateCred))

	pkgs, err := c.ListPackages(context.Background(), "12", "tool")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 3 {
		t.Fatalf("listed %d packages, want 3", len(pkgs))
	}
	var dst bytes.Buffer
	if _, err := c.Download(context.Background(), FileRef{"12", "tool", "1.0.0", "f"}, Expect{Size: int64(len(body)), SHA256: hex.EncodeToString(sum[:])}, &dst); err != nil {
		t.Fatal(err)
	}
	got := rec.protos()
	if len(got) != 2 {
		t.Fatalf("%d responses, want 2 (one listing, one download)", len(got))
	}
	for i, what := range []string{"listing", "download"} {
		if got[i] != 2 {
			t.Errorf("%s: response ProtoMajor = %d, want 2", what, got[i])
		}
		if serverProtos[i] != 2 {
			t.Errorf("%s: server saw HTTP/%d, want HTTP/2", what, serverProtos[i])
		}
	}
}

// BenchmarkParallelDownloadsH2vsH1 downloads 48 small files with the
// production transport from a TLS server that answers each request after
// 25 ms (a distant registry), once speaking HTTP/1.1 and once HTTP/2, at
// the default 8 jobs and at 16. Each iteration is a fresh client, as each
// gpm run is, so connection and TLS setup count.
func BenchmarkParallelDownloadsH2vsH1(b *testing.B) {
	const files = 48
	const latency = 25 * time.Millisecond
	body := bytes.Repeat([]byte("x"), 16<<10)
	sum := sha256.Sum256(body)
	want := Expect{Size: int64(len(body)), SHA256: hex.EncodeToString(sum[:])}
	for _, proto := range []struct {
		name string
		h2   bool
	}{{"http1", false}, {"http2", true}} {
		srv := tlsServer(b, proto.h2, func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(latency)
			w.Write(body)
		})
		for _, jobs := range []int{8, 16} {
			b.Run(fmt.Sprintf("%s/jobs=%d", proto.name, jobs), func(b *testing.B) {
				for b.Loop() {
					tr := trustingTransport(b, srv, jobs)
					rec := &protoRecorder{base: tr}
					c, err := New(srv.URL, WithTransport(rec), WithJobs(jobs))
					if err != nil {
						b.Fatal(err)
					}
					sem := make(chan struct{}, jobs)
					errs := make(chan error, files)
					var wg sync.WaitGroup
					for i := range files {
						wg.Add(1)
						sem <- struct{}{}
						go func() {
							defer wg.Done()
							defer func() { <-sem }()
							_, err := c.Download(context.Background(), FileRef{"1", "p", "1.0.0", fmt.Sprintf("f%d", i)}, want, io.Discard)
							errs <- err
						}()
					}
					wg.Wait()
					close(errs)
					for err := range errs {
						if err != nil {
							b.Fatal(err)
						}
					}
					tr.CloseIdleConnections()
					wantMajor := 1
					if proto.h2 {
						wantMajor = 2
					}
					for _, m := range rec.protos() {
						if m != wantMajor {
							b.Fatalf("response over HTTP/%d, want HTTP/%d", m, wantMajor)
						}
					}
				}
			})
		}
	}
}
