package fetch

import (
	"crypto/sha256"
	"hash"
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

// pipeMin is the size below which a pipe hashes on the writer's goroutine.
// Most files are small, and several download at once, which already keeps
// the cores busy; a pipe of their own would only cost a goroutine and
// chunks of fresh memory for each (page faults are what a small download
// spends most of its CPU on, in a VM). A file that grows past pipeMin moves
// to the hashing goroutine with the hash computed so far.
const pipeMin = 1 << 20

var hashChunks = sync.Pool{New: func() any { b := make([]byte, 0, hashChunkSize); return &b }}

// pipeMsg is a chunk to hash, or with b nil a request: the sum so far, or
// with reset set, to start over.
type pipeMsg struct {
	b     *[]byte
	reset bool
}

// hashPipe is a SHA-256 computed on a goroutine of its own once more than
// pipeMin bytes were written. Write never fails and never keeps the slice
// it is given. Sum waits for the hasher to catch up. Close must be called
// to end the goroutine; a hashPipe is not safe for concurrent use.
type hashPipe struct {
	h      hash.Hash // the hash, while the pipe hashes inline
	work   chan pipeMsg
	sums   chan [sha256.Size]byte
	cur    *[]byte // the chunk being filled, or nil
	n      int64
	closed bool
}

func newHashPipe() *hashPipe {
	return &hashPipe{h: sha256.New()}
}

// start moves the hash to a goroutine of its own.
func (p *hashPipe) start() {
	p.work, p.sums = make(chan pipeMsg, hashQueue), make(chan [sha256.Size]byte)
	go p.run(p.h)
	p.h = nil
}

// run is the hashing goroutine.
func (p *hashPipe) run(h hash.Hash) {
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

// Write hashes b, or queues a copy of it for hashing.
func (p *hashPipe) Write(b []byte) (int, error) {
	n := len(b)
	p.n += int64(n)
	if p.h != nil {
		if p.n <= pipeMin {
			p.h.Write(b)
			return n, nil
		}
		p.start()
	}
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
	var s [sha256.Size]byte
	if p.h != nil {
		p.h.Sum(s[:0])
		return s
	}
	p.flush()
	p.work <- pipeMsg{}
	return <-p.sums
}

// Size returns how many bytes were written since the pipe was made or last
// Reset.
func (p *hashPipe) Size() int64 { return p.n }

// Reset starts the hash over.
func (p *hashPipe) Reset() {
	p.n = 0
	if p.h != nil {
		p.h.Reset()
		return
	}
	if p.cur != nil {
		*p.cur = (*p.cur)[:0]
	}
	p.work <- pipeMsg{reset: true}
}

// Close ends the hashing goroutine. It is safe to call more than once; the
// pipe cannot be used afterwards.
func (p *hashPipe) Close() {
	if p.closed {
		return
	}
	p.closed = true
	if p.h != nil {
		return
	}
	if p.cur != nil {
		*p.cur = (*p.cur)[:0]
		hashChunks.Put(p.cur)
		p.cur = nil
	}
	close(p.work)
}
