package fetch

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// copyCase copies a blob holding data into a new file and verifies the copy
// against want (the locked content).
func copyCase(t *testing.T, data, want []byte) (got []byte, head []byte, err error) {
	t.Helper()
	dir := t.TempDir()
	srcPath := filepath.Join(dir, "blob")
	if err := os.WriteFile(srcPath, data, 0o444); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(srcPath)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(filepath.Join(dir, "copy"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	head, err = copyVerified(context.Background(), dst, src, sum(want), int64(len(want)), "f.bin", srcPath)
	got, rerr := os.ReadFile(dst.Name())
	if rerr != nil {
		t.Fatal(rerr)
	}
	return got, head, err
}

// TestCopyVerified: a copy of a blob that matches the lock is the blob, and
// its head is the blob's first bytes; a blob that differs, grew or shrank
// fails with a *cacheBlobError that says what was read, never more than
// one byte past the locked size.
func TestCopyVerified(t *testing.T) {
	big := make([]byte, 3*kernelChunkForTest()+copyChunk+17)
	rand.NewChaCha8([32]byte{3}).Read(big)
	copy(big, "#!/bin/sh\n")
	for _, tt := range []struct {
		name     string
		data     []byte // the blob
		want     []byte // locked
		gotSize  int64  // of a mismatch; -1: none
		wantHead string
	}{
		{"empty", nil, nil, -1, ""},
		{"small", []byte("ab"), []byte("ab"), -1, "ab"},
		{"large", big, big, -1, "#!/b"},
		{"same size, other bytes", sameSize(big), big, int64(len(big)), ""},
		{"grew", append(bytes.Clone(big), bytes.Repeat([]byte("x"), 5*copyChunk)...), big, int64(len(big)) + 1, ""},
		{"shrank", big[:len(big)-1], big, int64(len(big)) - 1, ""},
		{"empty but locked with content", nil, []byte("x"), 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, head, err := copyCase(t, tt.data, tt.want)
			if tt.gotSize < 0 {
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, tt.want) {
					t.Errorf("copy differs from the blob (%d bytes, want %d)", len(got), len(tt.want))
				}
				if string(head) != tt.wantHead {
					t.Errorf("head %q, want %q", head, tt.wantHead)
				}
				return
			}
			var be *cacheBlobError
			if !errors.As(err, &be) {
				t.Fatalf("err = %v, want a *cacheBlobError", err)
			}
			read := tt.data[:min(int64(len(tt.data)), int64(len(tt.want))+1)]
			if be.gotSize != tt.gotSize || be.gotSHA != sum(read) || be.wantSHA != sum(tt.want) || be.path == "" || be.file != "f.bin" {
				t.Errorf("error %+v, want got size %d and the hash of the first %d bytes", be, tt.gotSize, len(read))
			}
			if len(got) > len(tt.want)+1 {
				t.Errorf("%d bytes copied, want at most %d", len(got), len(tt.want)+1)
			}
		})
	}
}

// TestCopyVerifiedCancelled: a cancelled install stops the copy and its
// verification, and reports the cancellation, not a mismatch.
func TestCopyVerifiedCancelled(t *testing.T) {
	dir := t.TempDir()
	data := bytes.Repeat([]byte("x"), 4*copyChunk)
	src, err := os.Create(filepath.Join(dir, "blob"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := src.Write(data); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Seek(0, 0); err != nil {
		t.Fatal(err)
	}
	dst, err := os.Create(filepath.Join(dir, "copy"))
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := copyVerified(ctx, dst, src, sum(data), int64(len(data)), "f.bin", src.Name()); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
