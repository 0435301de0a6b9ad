package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// testReadTimeout is the read timeout of these tests: short, so that a
// stall costs little, yet far above the time a loopback read takes.
const testReadTimeout = 100 * time.Millisecond

// stall sends status, the headers already set and part of the body, then
// nothing until the client goes away. So that a client without a read
// timeout fails the test instead of hanging it, the stall ends after a few
// seconds and the rest of the body follows.
func stall(w http.ResponseWriter, r *http.Request, status int, part, rest []byte) {
	w.WriteHeader(status)
	w.Write(part)
	http.NewResponseController(w).Flush()
	select {
	case <-r.Context().Done():
		return
	case <-time.After(3 * time.Second):
	}
	w.Write(rest)
}

// stallClient is a client with the test read timeout and recorded backoff.
func stallClient(t *testing.T, baseURL string, opts ...Option) (*Client, *sleeps) {
	t.Helper()
	return client(t, baseURL, append([]Option{WithReadTimeout(testReadTimeout)}, opts...)...)
}

func wantStall(t *testing.T, err error, attempts int) {
	t.Helper()
	if err == nil {
		t.Fatal("no error, want the stall")
	}
	if !errors.Is(err, ErrTransient) {
		t.Errorf("err = %v, want ErrTransient", err)
	}
	var te *TransientError
	if !errors.As(err, &te) || te.Attempts != attempts {
		t.Errorf("err = %#v, want a TransientError after %d attempts", err, attempts)
	}
	if msg := "no data from the server for " + testReadTimeout.String(); !strings.Contains(err.Error(), msg) {
		t.Errorf("err = %v, want it to say %q", err, msg)
	}
	var se *stallError
	if !errors.As(err, &se) || !strings.Contains(strings.Join(se.Hints(), " "), "GPM_READ_TIMEOUT") {
		t.Errorf("err = %v, want a stall hint naming GPM_READ_TIMEOUT", err)
	}
}

func TestListingStallIsRetried(t *testing.T) {
	page, _ := json.Marshal(rows(3, "tool"))
	var n atomic.Int32
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(page)))
		if n.Add(1) == 1 {
			stall(w, r, http.StatusOK, page[:10], page[10:])
			return
		}
		w.Write(page)
	})
	c, sl := stallClient(t, srv.URL)
	pkgs, err := c.ListPackages(context.Background(), "1", "tool")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 3 || n.Load() != 2 || len(sl.all()) != 1 {
		t.Errorf("%d packages after %d requests and %d waits; want 3, 2, 1", len(pkgs), n.Load(), len(sl.all()))
	}
}

func TestListingStallEveryTime(t *testing.T) {
	page, _ := json.Marshal(rows(3, "tool"))
	var n atomic.Int32
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		stall(w, r, http.StatusOK, page[:10], page[10:])
	})
	c, _ := stallClient(t, srv.URL, WithRetry(Retry{MaxAttempts: 3, Sleep: (&sleeps{}).sleep}))
	_, err := c.ListPackages(context.Background(), "1", "tool")
	wantStall(t, err, 3)
	if !strings.Contains(err.Error(), "giving up after 3 attempts: GET "+srv.URL+"/api/v4/projects/1/packages") {
		t.Errorf("err = %v, want it to name the attempts and the request", err)
	}
	if n.Load() != 3 {
		t.Errorf("%d requests, want 3", n.Load())
	}
}

// TestErrorBodyStall: a 503 whose message never comes does not hang the
// client; the status is what counts, and it is retried. (The client reads
// an error body for its message and ignores a failure to read it, so only
// a deadline far beyond the read timeout tells a stall from a hang here.)
func TestErrorBodyStall(t *testing.T) {
	var n atomic.Int32
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"message":`))
			http.NewResponseController(w).Flush()
			<-r.Context().Done()
			return
		}
		w.Write(payload)
	})
	c, _ := stallClient(t, srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 50*testReadTimeout)
	defer cancel()
	if _, err := c.Download(ctx, FileRef{"1", "p", "1", "f"}, Expect{Size: int64(len(payload)), SHA256: sum(payload)}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 2 {
		t.Errorf("%d requests, want 2", n.Load())
	}
}

// TestDownloadStallRestarts: a download that stops midway is abandoned and
// tried again from the start, with the destination reset.
func TestDownloadStallRestarts(t *testing.T) {
	var sn atomic.Int32
	storage, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
		if sn.Add(1) == 1 {
			stall(w, r, http.StatusOK, payload[:len(payload)/2], payload[len(payload)/2:])
			return
		}
		w.Write(payload)
	})
	// Through a redirect, as to object storage: the stall is on the
	// second hop, and the retry goes back to the registry.
	reg, regSeen := server(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, fmt.Sprintf("%s/obj?sig=%d", storage.URL, sn.Load()), http.StatusFound)
	})
	c, sl := stallClient(t, reg.URL, WithCredential(privateCred))
	dst := &resetBuffer{}
	res, err := c.Download(context.Background(), FileRef{"1", "p", "1", "f"}, Expect{Size: int64(len(payload)), SHA256: sum(payload)}, dst)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dst.Bytes(), payload) || res.SHA256 != sum(payload) {
		t.Errorf("downloaded %d bytes, want the payload once", dst.Len())
	}
	if sn.Load() != 2 || regSeen.count() != 2 || dst.resets != 1 || len(sl.all()) != 1 {
		t.Errorf("storage %d, registry %d requests, %d resets, %d waits; want 2, 2, 1, 1", sn.Load(), regSeen.count(), dst.resets, len(sl.all()))
	}
}

func TestDownloadStallEveryTime(t *testing.T) {
	var n atomic.Int32
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
		stall(w, r, http.StatusOK, payload[:1000], payload[1000:])
	})
	c, _ := stallClient(t, srv.URL, WithRetry(Retry{MaxAttempts: 2, Sleep: (&sleeps{}).sleep}))
	dst := &resetBuffer{}
	_, err := c.Download(context.Background(), FileRef{"1", "p", "1", "f"}, Expect{Size: int64(len(payload)), SHA256: sum(payload)}, dst)
	wantStall(t, err, 2)
	if !strings.Contains(err.Error(), "giving up after 2 attempts: GET "+srv.URL+"/api/v4/projects/1/packages/generic/p/1/f: reading body: no data from the server") {
		t.Errorf("err = %v", err)
	}
	if n.Load() != 2 || dst.resets != 1 {
		t.Errorf("%d requests, %d resets; want 2, 1", n.Load(), dst.resets)
	}
}

// TestDownloadStallNoReset: once bytes reached a destination that cannot
// start over, a stall ends the download at once, still as transient.
func TestDownloadStallNoReset(t *testing.T) {
	var n atomic.Int32
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
		stall(w, r, http.StatusOK, payload[:1000], payload[1000:])
	})
	c, _ := stallClient(t, srv.URL)
	_, err := c.Download(context.Background(), FileRef{"1", "p", "1", "f"}, Expect{Size: int64(len(payload))}, &countingWriter{})
	wantStall(t, err, 1)
	if n.Load() != 1 {
		t.Errorf("%d requests, want 1", n.Load())
	}
}

// TestUploadResponseStall: an upload whose answer stops arriving is a
// transient failure (the caller checks whether the file landed), not a hang.
func TestUploadResponseStall(t *testing.T) {
	var n atomic.Int32
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		io.Copy(io.Discard, r.Body)
		stall(w, r, http.StatusOK, []byte(`{"id":`), []byte(`1,"package_id":1,"file_name":"f","size":3}`))
	})
	c, _ := stallClient(t, srv.URL, WithCredential(privateCred))
	_, err := c.Upload(context.Background(), FileRef{"1", "tool", "1", "f"}, strings.NewReader("abc"), 3, UploadOptions{})
	wantStall(t, err, 1)
	if n.Load() != 1 {
		t.Errorf("%d requests, want 1", n.Load())
	}
}

// slowWriter takes its time over each write.
type slowWriter struct {
	bytes.Buffer
	d time.Duration
}

func (w *slowWriter) Write(p []byte) (int, error) { time.Sleep(w.d); return w.Buffer.Write(p) }

// TestReadTimeoutCountsOnlySilence: time the caller spends on what it read
// is not silence from the server, however long it is.
func TestReadTimeoutCountsOnlySilence(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 4<<10)
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < len(body); i += 1 << 10 {
			w.Write(body[i : i+1<<10])
			http.NewResponseController(w).Flush()
		}
	})
	c, _ := client(t, srv.URL, WithReadTimeout(20*time.Millisecond))
	dst := &slowWriter{d: 60 * time.Millisecond}
	if _, err := c.Download(context.Background(), FileRef{"1", "p", "1", "f"}, Expect{Size: int64(len(body))}, dst); err != nil {
		t.Fatal(err)
	}
	if dst.Len() != len(body) {
		t.Errorf("got %d bytes, want %d", dst.Len(), len(body))
	}
}

func TestWithReadTimeoutDefault(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second} {
		c, _ := client(t, "http://127.0.0.1:1", WithReadTimeout(d))
		if c.readTimeout != DefaultReadTimeout {
			t.Errorf("WithReadTimeout(%v): %v, want %v", d, c.readTimeout, DefaultReadTimeout)
		}
	}
	if DefaultReadTimeout > 30*time.Second {
		t.Errorf("DefaultReadTimeout = %v; the design allows at most 30s of silence", DefaultReadTimeout)
	}
}

// TestReadTimeoutKeepsConnections: closing a body that was read to the end
// releases its request's context without closing the connection, so
// requests one after another share one connection.
func TestReadTimeoutKeepsConnections(t *testing.T) {
	page, _ := json.Marshal(rows(3, "tool"))
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.Contains(r.URL.Path, "/generic/p/1/missing"):
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"message":"404 Not Found"}`))
		case strings.Contains(r.URL.Path, "/generic/"):
			w.Write(payload)
		default:
			w.Write(page)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	c, _ := client(t, srv.URL)
	ctx := context.Background()
	for range 3 {
		if _, err := c.Download(ctx, FileRef{"1", "p", "1", "f"}, Expect{Size: int64(len(payload)), SHA256: sum(payload)}, io.Discard); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ListPackages(ctx, "1", "tool"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Download(ctx, FileRef{"1", "p", "1", "missing"}, Expect{Size: -1}, io.Discard); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 9 requests one after another, want 1", n)
	}
}
