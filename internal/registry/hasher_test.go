package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"net/http"
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
			var n atomic.Int32
			srv, _ := server(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.cutFirst && n.Add(1) == 1 {
					cut(t, w, false)
					return
				}
				w.Write(payload)
			})
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
