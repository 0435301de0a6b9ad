package fetch

import (
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"os"
	"sync"
	"sync/atomic"
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
//
// A writing pipe (newWritingPipe) goes further, for a large download: the
// body is read straight into its chunks (Fill), each chunk is hashed and
// then written to the pipe's files by goroutines of their own, so the
// goroutine that receives does nothing else, and writing a second copy of
// the file (for the vendor directory, next to the cache blob) overlaps the
// download instead of following it.

// hashChunkSize is the unit handed to the hashing goroutine. It is small
// enough for a chunk to stay in a core's cache between the copy into it
// and the hash of it, and large enough that handing it over costs nothing
// next to hashing it.
const hashChunkSize = 256 << 10

// hashQueue is how many full chunks may wait for the hasher, and as many
// for each writer of a writing pipe.
const hashQueue = 4

// pipeMin is the size below which a pipe hashes on the writer's goroutine.
// Most files are small, and several download at once, which already keeps
// the cores busy; a pipe of their own would only cost a goroutine and
// chunks of fresh memory for each (page faults are what a small download
// spends most of its CPU on, in a VM). A file that grows past pipeMin moves
// to the hashing goroutine with the hash computed so far.
const pipeMin = 1 << 20

var hashChunks = sync.Pool{New: func() any { b := make([]byte, 0, hashChunkSize); return &b }}

func putChunk(b *[]byte) {
	*b = (*b)[:0]
	hashChunks.Put(b)
}

// pipeMsg is a chunk to hash (and write), or with b nil a request: the sum
// so far, or with reset set, to start over. The hasher sets sum on a sum
// request it passes on to the writers, and each writer adds its error.
type pipeMsg struct {
	b     *[]byte
	reset bool
	sum   [sha256.Size]byte
	errs  []error // each writer's, on a request
}

// pipeReply answers a sum or reset request: the sum, and for a writing
// pipe the error of each of its files so far (or of the reset).
type pipeReply struct {
	sum  [sha256.Size]byte
	errs []error
}

// hashPipe is a SHA-256 computed on a goroutine of its own once more than
// pipeMin bytes were written, or from the first byte for a writing pipe.
// Write never keeps the slice it is given. Sum waits for the hasher (and
// the writers) to catch up. Close must be called to end the goroutines; a
// hashPipe is not safe for concurrent use.
type hashPipe struct {
	h       hash.Hash // the hash, while the pipe hashes inline
	work    chan pipeMsg
	replies chan pipeReply
	done    chan struct{} // closed when the last goroutine ended
	cur     *[]byte       // the chunk being filled, or nil
	n       int64
	closed  bool

	// A writing pipe's files, each written by a goroutine of its own
	// (write) once the hasher is done with a chunk; writes feeds the
	// first.
	files  []*os.File
	writes chan pipeMsg
	// failed holds the error of files[0] as soon as its writer sees one,
	// for Write and Fill to stop at; errs are the files' errors as of the
	// last Sum or Reset.
	failed atomic.Pointer[error]
	errs   []error
}

func newHashPipe() *hashPipe {
	return &hashPipe{h: sha256.New()}
}

// newWritingPipe returns a pipe that also writes everything written to it
// to each of files, after hashing it, each file on a goroutine of its own
// (one writer for all would do as much as the hasher, twice over, and
// fall behind). An error writing files[0] fails the pipe's Write and Fill
// (files[0] is the one that matters); the others only record theirs (Err).
func newWritingPipe(files ...*os.File) *hashPipe {
	p := &hashPipe{h: sha256.New(), files: files, writes: make(chan pipeMsg, hashQueue)}
	p.start()
	in := p.writes
	for i := range files {
		var out chan pipeMsg
		if i < len(files)-1 {
			out = make(chan pipeMsg, hashQueue)
		}
		go p.write(i, in, out)
		in = out
	}
	return p
}

// start moves the hash to a goroutine of its own.
func (p *hashPipe) start() {
	p.work, p.replies, p.done = make(chan pipeMsg, hashQueue), make(chan pipeReply), make(chan struct{})
	go p.run(p.h)
	p.h = nil
}

// run is the hashing goroutine. Without writers it answers requests
// itself; with them, it passes every message on, in order.
func (p *hashPipe) run(h hash.Hash) {
	for m := range p.work {
		switch {
		case m.b != nil:
			h.Write(*m.b)
		case m.reset:
			h.Reset()
		default:
			h.Sum(m.sum[:0])
		}
		if p.writes != nil {
			p.writes <- m
			continue
		}
		switch {
		case m.b != nil:
			putChunk(m.b)
		default:
			p.replies <- pipeReply{sum: m.sum}
		}
	}
	if p.writes != nil {
		close(p.writes)
		return
	}
	close(p.done)
}

// write is the goroutine that writes a writing pipe's file i: it takes
// each message from in once the hasher (or the writer of file i-1) is done
// with it, and passes it on to out, or when i is the last file, returns
// the chunk or answers the request. After the file failed, nothing more is
// written to it until a reset.
func (p *hashPipe) write(i int, in <-chan pipeMsg, out chan<- pipeMsg) {
	f := p.files[i]
	var err error
	for m := range in {
		switch {
		case m.b != nil:
			if err == nil {
				if _, err = f.Write(*m.b); err != nil && i == 0 {
					p.fail(err)
				}
			}
		case m.reset:
			err = truncate(f)
			if i == 0 {
				p.fail(err)
			}
			m.errs = append(m.errs, err)
		default:
			m.errs = append(m.errs, err)
		}
		switch {
		case out != nil:
			out <- m
		case m.b != nil:
			putChunk(m.b)
		default:
			p.replies <- pipeReply{sum: m.sum, errs: m.errs}
		}
	}
	if out != nil {
		close(out)
		return
	}
	close(p.done)
}

// truncate empties f and rewinds it.
func truncate(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.Seek(0, io.SeekStart)
	return err
}

// fail records err (nil after a reset) as the error of a writing pipe's
// first file.
func (p *hashPipe) fail(err error) {
	if err == nil {
		p.failed.Store(nil)
		return
	}
	p.failed.Store(&err)
}

// failure returns the error of a writing pipe's first file, once its
// writer has seen one.
func (p *hashPipe) failure() error {
	if e := p.failed.Load(); e != nil {
		return *e
	}
	return nil
}

// Write hashes b, or queues a copy of it for hashing (and writing). Only
// a writing pipe fails, once its first file did.
func (p *hashPipe) Write(b []byte) (int, error) {
	if err := p.failure(); err != nil {
		return 0, err
	}
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

// Fill reads once from r straight into the chunk being filled, sparing
// Write's copy (registry.Filler). It is for writing pipes, which hash on
// their goroutine from the first byte.
func (p *hashPipe) Fill(r io.Reader) (n int, rerr, werr error) {
	if err := p.failure(); err != nil {
		return 0, nil, err
	}
	if p.work == nil {
		return 0, nil, errors.New("fill of a pipe that hashes inline")
	}
	if p.cur == nil {
		p.cur = hashChunks.Get().(*[]byte)
	}
	c := *p.cur
	n, rerr = r.Read(c[len(c):cap(c)])
	*p.cur = c[:len(c)+n]
	p.n += int64(n)
	if len(*p.cur) == cap(*p.cur) {
		p.flush()
	}
	return n, rerr, nil
}

// flush hands the chunk being filled to the hasher.
func (p *hashPipe) flush() {
	if p.cur != nil && len(*p.cur) > 0 {
		p.work <- pipeMsg{b: p.cur}
		p.cur = nil
	}
}

// Sum returns the SHA-256 of everything written since the pipe was made or
// last Reset, once the hasher has caught up; a writing pipe has then
// written all of it to its files (see Err).
func (p *hashPipe) Sum() [sha256.Size]byte {
	var s [sha256.Size]byte
	if p.h != nil {
		p.h.Sum(s[:0])
		return s
	}
	p.flush()
	p.work <- pipeMsg{}
	r := <-p.replies
	p.errs = r.errs
	return r.sum
}

// Err returns the error of a writing pipe's file i as of the last Sum or
// Reset: nil when all that was written reached it.
func (p *hashPipe) Err(i int) error {
	if i < len(p.errs) {
		return p.errs[i]
	}
	return nil
}

// Size returns how many bytes were written since the pipe was made or last
// Reset.
func (p *hashPipe) Size() int64 { return p.n }

// Reset starts the hash over; a writing pipe empties its files, once it
// has written what it was given, and returns the first file's error.
func (p *hashPipe) Reset() error {
	p.n = 0
	if p.h != nil {
		p.h.Reset()
		return nil
	}
	if p.cur != nil {
		*p.cur = (*p.cur)[:0]
	}
	p.work <- pipeMsg{reset: true}
	r := <-p.replies
	p.errs = r.errs
	return p.Err(0)
}

// Close ends the pipe's goroutines and waits for them, so that a writing
// pipe no longer touches its files. It is safe to call more than once; the
// pipe cannot be used afterwards.
func (p *hashPipe) Close() {
	if p.closed {
		return
	}
	p.closed = true
	if p.work == nil {
		return
	}
	if p.cur != nil {
		putChunk(p.cur)
		p.cur = nil
	}
	close(p.work)
	<-p.done
}
