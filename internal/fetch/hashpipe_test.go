package fetch

import (
	"bytes"
	"crypto/sha256"
	"math/rand/v2"
	"os"
	"testing"
	"testing/iotest"
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

// TestWritingPipe: a writing pipe writes to each of its files exactly
// what it hashed, however it is fed (Write, Fill), also after a Reset
// that comes while chunks still wait for the writer; Sum returns only once
// the files have all of it.
func TestWritingPipe(t *testing.T) {
	data := make([]byte, hashChunkSize*(2*hashQueue+3)+777)
	rand.NewChaCha8([32]byte{3}).Read(data)
	dir := t.TempDir()
	for _, fill := range []bool{false, true} {
		a, b := tempFileIn(t, dir), tempFileIn(t, dir)
		p := newWritingPipe(a, b)
		p.Write(data[:3*hashChunkSize+5])
		if err := p.Reset(); err != nil {
			t.Fatal(err)
		}
		if fill {
			r := iotest.OneByteReader(bytes.NewReader(data[:1000]))
			for {
				_, rerr, werr := p.Fill(r)
				if werr != nil {
					t.Fatal(werr)
				}
				if rerr != nil {
					break
				}
			}
			r2 := bytes.NewReader(data[1000:])
			for {
				if _, rerr, _ := p.Fill(r2); rerr != nil {
					break
				}
			}
		} else {
			for i := 0; i < len(data); i += 100000 {
				if _, err := p.Write(data[i:min(i+100000, len(data))]); err != nil {
					t.Fatal(err)
				}
			}
		}
		if got := p.Sum(); got != sha256.Sum256(data) {
			t.Errorf("fill %v: sum %x, want %x", fill, got, sha256.Sum256(data))
		}
		for i, f := range []*os.File{a, b} {
			got, err := os.ReadFile(f.Name())
			if err != nil || !bytes.Equal(got, data) || p.Err(i) != nil {
				t.Errorf("fill %v: file %d holds %d bytes (%v, %v), want the %d written", fill, i, len(got), err, p.Err(i), len(data))
			}
		}
		p.Close()
		p.Close()
	}
}

// TestWritingPipeFailures: a failure to write the first file stops Write
// and Fill and shows in Err(0); a failure to write another file is only
// recorded, in its Err.
func TestWritingPipeFailures(t *testing.T) {
	dir := t.TempDir()
	good := tempFileIn(t, dir)
	bad, err := os.Open(tempFileIn(t, dir).Name()) // read-only: writes fail
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	chunk := make([]byte, hashChunkSize)

	p := newWritingPipe(good, bad)
	for range 3 {
		if _, err := p.Write(chunk); err != nil {
			t.Fatalf("a failing second file failed Write: %v", err)
		}
	}
	p.Sum()
	if p.Err(0) != nil || p.Err(1) == nil {
		t.Errorf("Err = %v, %v; want nil and the second file's", p.Err(0), p.Err(1))
	}
	p.Close()

	q := newWritingPipe(bad, good)
	defer q.Close()
	var werr error
	for i := 0; i < 10*hashQueue && werr == nil; i++ {
		_, werr = q.Write(chunk)
	}
	if werr == nil {
		t.Fatal("Write went on after the first file failed")
	}
	if _, _, err := q.Fill(bytes.NewReader(chunk)); err == nil {
		t.Error("Fill went on after the first file failed")
	}
	q.Sum()
	if q.Err(0) == nil {
		t.Error("Err(0) = nil after the first file failed")
	}
}

func tempFileIn(t *testing.T, dir string) *os.File {
	t.Helper()
	f, err := os.CreateTemp(dir, "pipe-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
