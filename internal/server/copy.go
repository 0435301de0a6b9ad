package server

import (
	"io"
	"net/http"
	"sync"
)

// Files move through the registry in pieces of copyBufSize.
//
// io.Copy moves 32 KiB at a time: a download of 1 GiB cost 32,768 reads of
// the blob and as many writes to the connection, 0.53-0.60 s of CPU in the
// VM of BENCHMARKS.md; through 256 KiB it costs 0.34-0.40 s. On one
// machine, as in `make bench` and `gpm serve` beside its users, that CPU is
// taken from the clients. Sending with sendfile (the connection's ReadFrom)
// was slower still on that VM's loopback; see BENCHMARKS.md. A transfer
// holds its buffer while it runs, so a thousand slow downloads at once hold
// 256 MiB (32 MiB through io.Copy); gpm serve, a small registry, does not
// cap the transfers in flight.
const copyBufSize = 256 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// copyBuffered copies r to w through a pooled buffer of copyBufSize, never
// through w's ReadFrom or r's WriteTo, which would pick their own sizes.
func copyBuffered(w io.Writer, r io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	return io.CopyBuffer(struct{ io.Writer }{w}, struct{ io.Reader }{r}, *bp)
}

// bulkWriter is the ResponseWriter given to http.ServeContent, whose copy
// of the content (io.CopyN) goes through the writer's ReadFrom: this one
// copies through copyBuffered.
type bulkWriter struct{ http.ResponseWriter }

func (w bulkWriter) ReadFrom(r io.Reader) (int64, error) { return copyBuffered(w.ResponseWriter, r) }

func (w bulkWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
