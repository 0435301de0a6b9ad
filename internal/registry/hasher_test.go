package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// hashingBuffer is a destination that hashes what it stores, like fetch's
// cache files; lie, when set, is what it reports instead of its hash.
type hashingBuffer struct {
	bytes.Buffer
	h      hash.Hash
	lie    string
	resets int
}

func newHashingBuffer() *hashingBuffer { return &hashingBuffer{h: sha256.New()} }

func (b *hashingBuffer) Write(p []byte) (int, error) {
	b.h.Write(p)
	return b.Buffer.Write(p)
}

func (b *hashingBuffer) SHA256() string {
	if b.lie != "" {
		return b.lie
	}
	return hex.EncodeToString(b.h.Sum(nil))
}

func (b *hashingBuffer) Reset() error {
	b.Buffer.Reset()
	b.h.Reset()
	b.resets++
	return nil
}

// payloadServer serves payload, breaking the first transfer halfway when
// cutFirst is set.
func payloadServer(t *testing.T, cutFirst bool) (*httptest.Server, *seen) {
	var n atomic.Int32
	return server(t, func(w http.ResponseWriter, r *http.Request) {
		if cutFirst && n.Add(1) == 1 {
			cut(t, w, false)
			return
		}
		w.Write(payload)
	})
}

// TestDownloadUsesDestinationHash: a Hasher destination's hash is the one
// Download checks and returns, also after a retried transfer.
func TestDownloadUsesDestinationHash(t *testing.T) {
	ref := FileRef{"12", "tool", "1.0.0", "tool.bin"}
	want := Expect{Size: int64(len(payload)), SHA256: sum(payload)}
	tests := []struct {
		name     string
		cutFirst bool   // the first transfer breaks halfway
		lie      string // the destination reports this hash
		wantErr  bool
	}{
		{"honest", false, "", false},
		{"after a retry", true, "", false},
		{"upper-case hex", false, strings.ToUpper(sum(payload)), false},
		// Only the destination's hash is checked: a wrong one is a
		// mismatch although the bytes are right.
		{"wrong hash", false, sum([]byte("other")), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := payloadServer(t, tt.cutFirst)
			c, _ := client(t, srv.URL, WithCredential(privateCred))
			dst := newHashingBuffer()
			dst.lie = tt.lie
			res, err := c.Download(context.Background(), ref, want, dst)
			var ie *IntegrityError
			if tt.wantErr {
				if !errors.As(err, &ie) || ie.GotSHA256 != tt.lie {
					t.Fatalf("Download = %+v, %v; want an integrity error reporting %s", res, err, tt.lie)
				}
				return
			}
			if err != nil || res.SHA256 != sum(payload) || !bytes.Equal(dst.Bytes(), payload) {
				t.Fatalf("Download = %+v, %v (%d bytes)", res, err, dst.Len())
			}
			if tt.cutFirst != (dst.resets == 1) {
				t.Errorf("resets = %d", dst.resets)
			}
		})
	}
}

// fillingBuffer is a hashing destination that reads the body itself
// (Filler), a little at a time; Write must not be used. failAt, when set,
// makes the fill that would store byte failAt fail.
type fillingBuffer struct {
	*hashingBuffer
	t      *testing.T
	fills  int
	failAt int
}

func (b *fillingBuffer) Write(p []byte) (int, error) {
	b.t.Error("Write called on a Filler")
	return b.hashingBuffer.Write(p)
}

func (b *fillingBuffer) Fill(r io.Reader) (int, error, error) {
	var buf [1000]byte
	n, err := r.Read(buf[:])
	if b.failAt > 0 && b.Len()+n > b.failAt {
		return 0, nil, errors.New("disk full")
	}
	b.fills++
	b.hashingBuffer.Write(buf[:n])
	return n, err, nil
}

// TestDownloadFillsFiller: a destination that hashes and reads the body
// itself gets all of it through Fill, also after a retried transfer; its
// write failure ends the download at once, as a failed Write does, and is
// not retried.
func TestDownloadFillsFiller(t *testing.T) {
	ref := FileRef{"12", "tool", "1.0.0", "tool.bin"}
	want := Expect{Size: int64(len(payload)), SHA256: sum(payload)}
	for _, tt := range []struct {
		name     string
		cutFirst bool
		failAt   int
	}{
		{"whole", false, 0},
		{"after a retry", true, 0},
		{"destination fails", false, 5000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, reqs := payloadServer(t, tt.cutFirst)
			c, _ := client(t, srv.URL, WithCredential(privateCred))
			dst := &fillingBuffer{hashingBuffer: newHashingBuffer(), t: t, failAt: tt.failAt}
			res, err := c.Download(context.Background(), ref, want, dst)
			if tt.failAt > 0 {
				if err == nil || !strings.Contains(err.Error(), "writing: disk full") || reqs.count() != 1 {
					t.Fatalf("Download = %+v, %v after %d requests; want one request and the write error", res, err, reqs.count())
				}
				return
			}
			if err != nil || res.SHA256 != sum(payload) || !bytes.Equal(dst.Bytes(), payload) {
				t.Fatalf("Download = %+v, %v (%d bytes)", res, err, dst.Len())
			}
			if dst.fills < len(payload)/1000 {
				t.Errorf("%d fills for %d bytes", dst.fills, len(payload))
			}
			if tt.cutFirst != (dst.resets == 1) {
				t.Errorf("resets = %d", dst.resets)
			}
		})
	}
}
