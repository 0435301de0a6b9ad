package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// resetBuffer is a download destination that can start over, like a temp
// file that is truncated.
type resetBuffer struct {
	bytes.Buffer
	resets int
}

func (b *resetBuffer) Reset() error { b.Buffer.Reset(); b.resets++; return nil }

// limitedWriter counts what reaches it.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

var payload = bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB

// cut answers with a Content-Length for the whole payload but sends only
// half of it, then closes the connection (with RST when rst is set).
func cut(t *testing.T, w http.ResponseWriter, rst bool) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(payload))
	buf.Write(payload[:len(payload)/2])
	buf.Flush()
	if tc, ok := conn.(*net.TCPConn); ok && rst {
		tc.SetLinger(0)
	}
	conn.Close()
}

func TestDownload(t *testing.T) {
	srv, rec := server(t, func(w http.ResponseWriter, r *http.Request) { w.Write(payload) })
	c, _ := client(t, srv.URL, WithCredential(privateCred))
	var buf bytes.Buffer
	res, err := c.Download(context.Background(), FileRef{"12", "tool", "1.0.0", "tool.bin"}, Expect{Size: int64(len(payload)), SHA256: strings.ToUpper(sum(payload))}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if res.Size != int64(len(payload)) || res.SHA256 != sum(payload) || !bytes.Equal(buf.Bytes(), payload) {
		t.Errorf("res = %+v, %d bytes", res, buf.Len())
	}
	if r := rec.list()[0]; r.Method != http.MethodGet || r.URI != "/api/v4/projects/12/packages/generic/tool/1.0.0/tool.bin" {
		t.Errorf("request %s %s", r.Method, r.URI)
	}
	// Unknown size and hash: whatever arrives is hashed.
	res, err = c.Download(context.Background(), FileRef{"12", "tool", "1.0.0", "tool.bin"}, Expect{Size: -1}, io.Discard)
	if err != nil || res.SHA256 != sum(payload) {
		t.Errorf("res = %+v, err = %v", res, err)
	}
}

func TestDownloadRetryRestartsWithReset(t *testing.T) {
	for _, rst := range []bool{false, true} {
		t.Run("rst="+strconv.FormatBool(rst), func(t *testing.T) {
			var n atomic.Int32
			srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					cut(t, w, rst)
					return
				}
				w.Write(payload)
			})
			c, sl := client(t, srv.URL)
			dst := &resetBuffer{}
			res, err := c.Download(context.Background(), FileRef{"1", "p", "1", "f"}, Expect{Size: int64(len(payload)), SHA256: sum(payload)}, dst)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(dst.Bytes(), payload) || res.SHA256 != sum(payload) {
				t.Errorf("downloaded %d bytes, want the full payload", dst.Len())
			}
			if n.Load() != 2 || dst.resets != 1 || len(sl.all()) != 1 {
				t.Errorf("%d attempts, %d resets, %d waits; want 2, 1, 1", n.Load(), dst.resets, len(sl.all()))
			}
		})
	}
}

func TestDownloadNoResetNoRetryAfterBytes(t *testing.T) {
	var n atomic.Int32
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		cut(t, w, false)
	})
	c, _ := client(t, srv.URL)
	_, err := c.Download(context.Background(), FileRef{"1", "p", "1", "f"}, Expect{Size: int64(len(payload))}, &countingWriter{})
	if !errors.Is(err, ErrTransient) {
		t.Fatalf("err = %v, want ErrTransient", err)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want it to wrap io.ErrUnexpectedEOF", err)
	}
	if n.Load() != 1 {
		t.Errorf("%d attempts, want 1", n.Load())
	}
}

func TestDownloadRetriesBeforeBytesWithoutReset(t *testing.T) {
	h, n := statusSeq(502, 429)
	srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Load() >= 2 {
			n.Add(1)
			w.Write(payload)
			return
		}
		h(w, r)
	})
	c, _ := client(t, srv.URL)
	cw := &countingWriter{}
	if _, err := c.Download(context.Background(), FileRef{"1", "p", "1", "f"}, Expect{Size: int64(len(payload))}, cw); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 3 || cw.n != int64(len(payload)) {
		t.Errorf("%d attempts, %d bytes", n.Load(), cw.n)
	}
}

// TestDownloadRetryGoesBackToRegistry: signed storage URLs expire, so a
// retry starts again at the registry URL.
func TestDownloadRetryGoesBackToRegistry(t *testing.T) {
	var sn atomic.Int32
	storage, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		if sn.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write(payload)
	})
	reg, regSeen := server(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, fmt.Sprintf("%s/obj?sig=%d", storage.URL, sn.Load()), http.StatusFound)
	})
	c, _ := client(t, reg.URL, WithCredential(privateCred))
	if _, err := c.Download(context.Background(), FileRef{"1", "p", "1", "f"}, Expect{Size: int64(len(payload)), SHA256: sum(payload)}, &resetBuffer{}); err != nil {
		t.Fatal(err)
	}
	if regSeen.count() != 2 || sn.Load() != 2 {
		t.Errorf("registry saw %d, storage %d requests; want 2 and 2", regSeen.count(), sn.Load())
	}
}

func TestDownloadIntegrity(t *testing.T) {
	other := bytes.Repeat([]byte("x"), len(payload))
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		want     Expect
		is       error
		attempts int32
		maxBytes int64
	}{
		{"checksum mismatch retried once",
			func(w http.ResponseWriter, r *http.Request) { w.Write(other) },
			Expect{Size: int64(len(payload)), SHA256: sum(payload)}, ErrChecksumMismatch, 2, -1},
		{"checksum mismatch with unknown size",
			func(w http.ResponseWriter, r *http.Request) { w.Write(other) },
			Expect{Size: -1, SHA256: sum(payload)}, ErrChecksumMismatch, 2, -1},
		{"Content-Length differs: body not read",
			func(w http.ResponseWriter, r *http.Request) { w.Write(payload[:100]) },
			Expect{Size: int64(len(payload))}, ErrSizeMismatch, 2, 0},
		{"longer body without length: stop at size+1",
			func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Transfer-Encoding", "chunked")
				for range 8 {
					w.Write(payload)
					w.(http.Flusher).Flush()
				}
			},
			Expect{Size: 1000}, ErrSizeMismatch, 2, 1001},
		{"short body without length",
			func(w http.ResponseWriter, r *http.Request) {
				w.(http.Flusher).Flush()
				w.Write(payload[:10])
			},
			Expect{Size: int64(len(payload))}, ErrSizeMismatch, 2, 10},
		{"X-Checksum-SHA256 from the registry checked when no hash is expected",
			func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Checksum-SHA256", sum(payload))
				w.Write(other)
			},
			Expect{Size: -1}, ErrChecksumMismatch, 2, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) { n.Add(1); tt.handler(w, r) })
			c, _ := client(t, srv.URL)
			dst := &resetBuffer{}
			_, err := c.Download(context.Background(), FileRef{"1", "tool", "1.0.0", "f.bin"}, tt.want, dst)
			if !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
			var ie *IntegrityError
			if !errors.As(err, &ie) || ie.Ref.String() != "tool@1.0.0/f.bin" {
				t.Errorf("err = %#v", err)
			}
			if errors.Is(err, ErrTransient) {
				t.Errorf("integrity error reported as transient")
			}
			if !strings.Contains(err.Error(), "tool@1.0.0/f.bin") {
				t.Errorf("error %q does not name the file", err)
			}
			if tt.is == ErrChecksumMismatch && (!strings.Contains(err.Error(), sum(payload)) || !strings.Contains(err.Error(), sum(other))) {
				t.Errorf("error %q lacks both hashes", err)
			}
			if n.Load() != tt.attempts {
				t.Errorf("%d attempts, want %d", n.Load(), tt.attempts)
			}
			if tt.maxBytes >= 0 && int64(dst.Len()) > tt.maxBytes {
				t.Errorf("wrote %d bytes, want at most %d", dst.Len(), tt.maxBytes)
			}
		})
	}
}

func TestDownloadIgnoresStorageChecksumHeader(t *testing.T) {
	storage, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Checksum-SHA256", strings.Repeat("0", 64))
		w.Write(payload)
	})
	reg, _ := server(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, storage.URL+"/o", http.StatusFound) })
	c, _ := client(t, reg.URL)
	if _, err := c.Download(context.Background(), FileRef{"1", "p", "1", "f"}, Expect{Size: -1}, io.Discard); err != nil {
		t.Errorf("err = %v", err)
	}
}

func TestDownloadErrors(t *testing.T) {
	t.Run("write failure is final", func(t *testing.T) {
		srv, rec := server(t, func(w http.ResponseWriter, r *http.Request) { w.Write(payload) })
		c, _ := client(t, srv.URL)
		_, err := c.Download(context.Background(), FileRef{"1", "p", "1", "f"}, Expect{Size: -1}, failWriter{})
		if err == nil || !strings.Contains(err.Error(), "disk full") || rec.count() != 1 {
			t.Errorf("err = %v after %d requests", err, rec.count())
		}
	})
	t.Run("404", func(t *testing.T) {
		srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(404)
			fmt.Fprint(w, `{"message":"404 Package Not Found"}`)
		})
		c, _ := client(t, srv.URL, WithCredential(privateCred))
		_, err := c.Download(context.Background(), FileRef{"1", "p", "1", "f"}, Expect{Size: -1}, io.Discard)
		var he *HTTPError
		if !errors.Is(err, ErrNotFound) || !errors.As(err, &he) || he.Op != OpDownload || he.TokenType != TokenPrivate {
			t.Errorf("err = %#v", err)
		}
	})
	t.Run("bad expected hash", func(t *testing.T) {
		c, _ := client(t, "https://gitlab.example.com")
		if _, err := c.Download(context.Background(), FileRef{"1", "p", "1", "f"}, Expect{Size: -1, SHA256: "abc"}, io.Discard); err == nil {
			t.Error("accepted a bad expected sha256")
		}
	})
	t.Run("reset failure is final", func(t *testing.T) {
		var n atomic.Int32
		srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) { n.Add(1); cut(t, w, false) })
		c, _ := client(t, srv.URL)
		_, err := c.Download(context.Background(), FileRef{"1", "p", "1", "f"}, Expect{Size: -1}, &brokenReset{})
		if err == nil || !strings.Contains(err.Error(), "resetting destination") || n.Load() != 1 {
			t.Errorf("err = %v after %d attempts", err, n.Load())
		}
	})
}

type failWriter struct{}

func (failWriter) Write(p []byte) (int, error) { return 0, errors.New("disk full") }

type brokenReset struct{ countingWriter }

func (*brokenReset) Reset() error { return errors.New("cannot truncate") }

func TestCheckFile(t *testing.T) {
	storage, storageSeen := server(t, func(w http.ResponseWriter, r *http.Request) { w.Write(payload) })
	sha := sum(payload)
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    CheckResult
		is      error
	}{
		{"redirect to storage", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, storage.URL+"/o?X-Amz-Signature=s", http.StatusFound)
		}, CheckResult{Status: 302, Redirected: true, Size: -1}, nil},
		{"307", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, storage.URL+"/o", http.StatusTemporaryRedirect)
		}, CheckResult{Status: 307, Redirected: true, Size: -1}, nil},
		{"served directly with checksum", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Checksum-SHA256", sha)
			w.Header().Set("Content-Length", strconv.Itoa(len(payload)*64))
			for range 64 {
				if _, err := w.Write(payload); err != nil {
					return
				}
			}
		}, CheckResult{Status: 200, SHA256: sha, Size: int64(len(payload)) * 64}, nil},
		{"404", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }, CheckResult{}, ErrNotFound},
		{"403", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(403) }, CheckResult{}, ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, rec := server(t, tt.handler)
			c, _ := client(t, srv.URL, WithCredential(privateCred))
			got, err := c.CheckFile(context.Background(), FileRef{"1", "p", "1.0", "f.bin"})
			if tt.is != nil {
				if !errors.Is(err, tt.is) {
					t.Fatalf("err = %v, want %v", err, tt.is)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if m := rec.list()[0].Method; m != http.MethodGet {
				t.Errorf("method %s, want GET (never HEAD)", m)
			}
		})
	}
	if storageSeen.count() != 0 {
		t.Errorf("CheckFile followed a redirect to storage (%d requests)", storageSeen.count())
	}
}
