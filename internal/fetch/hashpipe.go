package fetch

import (
	"crypto/sha256"
	"sync"
)

// Hashing on a second core.
//
// SHA-256 runs at about the speed a download arrives or a file is copied
// (on the reference machine of BENCHMARKS.md: 0.75 s of CPU per GiB, as
// much as writing that GiB), so a goroutine that receives, writes and
// hashes a large file does three things one after the other that two cores
// could share. A hashPipe takes what is written to it, copies it into
// pooled chunks and hashes them on a goroutine of its own: the writer only
// pays the copy, and waits only when the hasher is more than hashQueue
// chunks behind, which bounds the memory of one pipe to a few chunks
// however large the file.

// hashChunkSize is the unit handed to the hashing goroutine. It is small
// enough for a chunk to stay in a core's cache between the copy into it
// and the hash of it, and large enough that handing it over costs nothing
// next to hashing it.
const hashChunkSize = 256 << 10

// hashQueue is how many full chunks may wait for the hasher.
const hashQueue = 4

var hashChunks = sync.Pool{New: func() any { b := make([]byte, 0, hashChunkSize); return &b }}

// pipeMsg is a chunk to hash, or with b nil a request: the sum so far, or
// with reset set, to start over.
type pipeMsg struct {
	b     *[]byte
	reset bool
}

// hashPipe is a SHA-256 computed on a goroutine of its own. Write never
// fails and never keeps the slice it is given. Sum waits for the hasher to
// catch up. Close must be called to end the goroutine; a hashPipe is not
// safe for concurrent use.
type hashPipe struct {
	work   chan pipeMsg
	sums   chan [sha256.Size]byte
	cur    *[]byte // the chunk being filled, or nil
	n      int64
	closed bool
}

func newHashPipe() *hashPipe {
	p := &hashPipe{work: make(chan pipeMsg, hashQueue), sums: make(chan [sha256.Size]byte)}
	go p.run()
	return p
}

// run is the hashing goroutine.
func (p *hashPipe) run() {
	h := sha256.New()
	for m := range p.work {
		switch {
		case m.b != nil:
			h.Write(*m.b)
			*m.b = (*m.b)[:0]
			hashChunks.Put(m.b)
		case m.reset:
			h.Reset()
		default:
			var s [sha256.Size]byte
			h.Sum(s[:0])
			p.sums <- s
		}
	}
}

// Write queues a copy of b for hashing.
func (p *hashPipe) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		if p.cur == nil {
			p.cur = hashChunks.Get().(*[]byte)
		}
		c := *p.cur
		k := copy(c[len(c):cap(c)], b)
		*p.cur = c[:len(c)+k]
		b = b[k:]
		if len(*p.cur) == cap(*p.cur) {
			p.flush()
		}
	}
	p.n += int64(n)
	return n, nil
}

// flush hands the chunk being filled to the hasher.
func (p *hashPipe) flush() {
	if p.cur != nil && len(*p.cur) > 0 {
		p.work <- pipeMsg{b: p.cur}
		p.cur = nil
	}
}

// Sum returns the SHA-256 of everything written since the pipe was made or
// last Reset, once the hasher has caught up.
func (p *hashPipe) Sum() [sha256.Size]byte {
	p.flush()
	p.work <- pipeMsg{}
	return <-p.sums
}

// Size returns how many bytes were written since the pipe was made or last
// Reset.
func (p *hashPipe) Size() int64 { return p.n }

// Reset starts the hash over.
func (p *hashPipe) Reset() {
	if p.cur != nil {
		*p.cur = (*p.cur)[:0]
	}
	p.work <- pipeMsg{reset: true}
	p.n = 0
}

// Close ends the hashing goroutine. It is safe to call more than once; the
// pipe cannot be used afterwards.
func (p *hashPipe) Close() {
	if p.closed {
		return
	}
	p.closed = true
	if p.cur != nil {
		*p.cur = (*p.cur)[:0]
		hashChunks.Put(p.cur)
		p.cur = nil
	}
	close(p.work)
}
