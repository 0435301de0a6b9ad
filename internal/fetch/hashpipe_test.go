package fetch

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"testing"
)

// TestHashPipe: the pipe's sum is the SHA-256 of what was written, however
// it is cut into writes (within a chunk, across chunks, larger than the
// queue), after a Reset, and when asked for more than once.
func TestHashPipe(t *testing.T) {
	data := make([]byte, hashChunkSize*(hashQueue+3)+12345)
	rand.NewChaCha8([32]byte{1}).Read(data)
	for _, step := range []int{1, 4096, hashChunkSize - 1, hashChunkSize, hashChunkSize + 1, len(data)} {
		if step == 1 && testing.Short() {
			continue
		}
		p := newHashPipe()
		// Something written before a Reset is not in the sum.
		p.Write(data[:hashChunkSize+7])
		p.Reset()
		for i := 0; i < len(data); i += step {
			p.Write(data[i:min(i+step, len(data))])
			if i == 0 && p.Sum() != sha256.Sum256(data[:min(step, len(data))]) {
				t.Errorf("step %d: sum of the first write is wrong", step)
			}
		}
		if got := p.Sum(); got != sha256.Sum256(data) {
			t.Errorf("step %d: sum %x, want %x", step, got, sha256.Sum256(data))
		}
		if p.Size() != int64(len(data)) {
			t.Errorf("step %d: size %d, want %d", step, p.Size(), len(data))
		}
		p.Close()
		p.Close()
	}
	p := newHashPipe()
	defer p.Close()
	if got := p.Sum(); got != sha256.Sum256(nil) {
		t.Errorf("empty: %x", got)
	}
}

// TestHashPipeKeepsNoSlice: Write copies what it is given, so a caller may
// reuse its buffer at once, as io.Writer requires.
func TestHashPipeKeepsNoSlice(t *testing.T) {
	p := newHashPipe()
	defer p.Close()
	buf := bytes.Repeat([]byte{'a'}, 4000)
	var want []byte
	for i := range 600 { // 2.4 MB: past pipeMin, so most of it is piped
		for j := range buf {
			buf[j] = byte(i)
		}
		p.Write(buf)
		want = append(want, buf...)
	}
	if got := p.Sum(); got != sha256.Sum256(want) {
		t.Errorf("sum %x, want %x", got, sha256.Sum256(want))
	}
}

// TestHashPipeInlineBelowPipeMin: up to pipeMin bytes are hashed on the
// writer's goroutine, with no chunk and no goroutine of their own; the
// write that goes past it moves the hash, with what it holds so far, to
// the hashing goroutine.
func TestHashPipeInlineBelowPipeMin(t *testing.T) {
	data := make([]byte, pipeMin+hashChunkSize/2)
	rand.NewChaCha8([32]byte{2}).Read(data)
	p := newHashPipe()
	defer p.Close()
	p.Write(data[:pipeMin/2])
	p.Write(data[pipeMin/2 : pipeMin])
	if p.work != nil || p.cur != nil {
		t.Fatal("a pipe of pipeMin bytes started hashing on a goroutine")
	}
	if got := p.Sum(); got != sha256.Sum256(data[:pipeMin]) {
		t.Errorf("inline sum %x, want %x", got, sha256.Sum256(data[:pipeMin]))
	}
	p.Write(data[pipeMin:])
	if p.work == nil {
		t.Fatal("a pipe past pipeMin still hashes inline")
	}
	if got := p.Sum(); got != sha256.Sum256(data) {
		t.Errorf("sum after the move %x, want %x", got, sha256.Sum256(data))
	}
	// A small pipe that is closed without a sum leaks nothing and can be
	// closed again.
	q := newHashPipe()
	q.Write(data[:10])
	q.Close()
	q.Close()
}
