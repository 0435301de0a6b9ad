package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Expect is what a download must match. Set Size to -1 when it is not
// known: the zero Expect expects an empty file.
type Expect struct {
	// Size in bytes; -1 when unknown. When known the client never reads
	// more than Size+1 bytes.
	Size int64
	// SHA256 is hex; "" when unknown.
	SHA256 string
}

// Result is what was downloaded.
type Result struct {
	Size int64
	// SHA256 is lowercase hex.
	SHA256 string
}

// Resetter is implemented by download destinations that can discard what
// was written (truncate a temp file), which lets Download retry a transfer
// that failed midway.
type Resetter interface{ Reset() error }

// Hasher is implemented by download destinations that compute the SHA-256
// of what is written to them, as fetch's cache files do to check what they
// store on their own. Download then checks their hash instead of computing
// the same one a second time. SHA256 returns the lowercase hex SHA-256 of
// the bytes written since the destination was created or last Reset.
type Hasher interface{ SHA256() string }

// Filler is implemented by download destinations that read the body into
// buffers of their own, as fetch does for a large file that it hashes and
// writes on other goroutines: the bytes then reach them without a copy
// through Download's buffer. Fill reads from r once, as one Read does, and
// keeps what it read; rerr is what that Read returned, werr why the
// destination could not take the bytes (nothing more is read after one).
// Download uses Fill only when dst is a Hasher too, since it sees none of
// the bytes.
type Filler interface {
	Fill(r io.Reader) (n int, rerr, werr error)
}

// Downloads are copied through pooled buffers: large ones for large files,
// where fewer system calls count, and small ones for the rest, since
// several download at once and every buffer is fresh memory to fault in
// (the cost that dominates a small download's CPU in a VM).
const (
	copyBufSize      = 256 << 10
	smallCopyBufSize = 64 << 10
	// smallCopyMax is the largest known size copied through a small buffer.
	smallCopyMax = 1 << 20
)

var (
	bufPool      = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}
	smallBufPool = sync.Pool{New: func() any { b := make([]byte, smallCopyBufSize); return &b }}
)

// Download streams the file f into dst, hashing it, and checks its size and
// SHA-256 against want. Redirects (to object storage) are followed without
// credentials.
//
// Failed attempts (408, 429, 5xx, resets, truncated bodies, bodies silent
// for the read timeout) are retried from the start, always through the
// registry URL since signed redirect URLs expire; once bytes reached dst
// that needs dst to implement Resetter, otherwise the failure is returned
// as a *TransientError. A size or
// checksum mismatch is retried once (a corrupted transfer) and then
// returned as an *IntegrityError. When want.SHA256 is empty and the registry
// itself answered with X-Checksum-SHA256, the body is checked against it.
// When dst is a Hasher its hash is the one checked and returned.
func (c *Client) Download(ctx context.Context, f FileRef, want Expect, dst io.Writer) (Result, error) {
	u, err := c.genericURL(f, nil)
	if err != nil {
		return Result{}, err
	}
	want.SHA256 = strings.ToLower(want.SHA256)
	if want.SHA256 != "" && !isSHA256(want.SHA256) {
		return Result{}, fmt.Errorf("download %s: invalid expected sha256 %q", f, want.SHA256)
	}
	if want.Size < -1 {
		want.Size = -1
	}
	d := &download{c: c, f: f, u: u, want: want, dst: dst}
	d.resetter, d.canReset = dst.(Resetter)
	d.hasher, _ = dst.(Hasher)
	if d.hasher != nil {
		d.filler, _ = dst.(Filler)
	}
	var res Result
	err = c.do(ctx, "GET "+c.redact(u), func(n int) error {
		var err error
		res, err = d.attempt(ctx, n)
		return err
	})
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

// download is one Download, across its attempts.
type download struct {
	c        *Client
	f        FileRef
	u        *url.URL
	want     Expect
	dst      io.Writer
	resetter Resetter
	canReset bool
	hasher   Hasher // dst hashes what it is given; nil when it does not
	filler   Filler // dst reads the body itself; only when it hashes

	dirty    bool // dst holds bytes of a failed attempt
	mismatch bool // an integrity mismatch was already retried
}

// integrity returns an integrity mismatch, marked to be retried once: a
// corrupted transfer is worth one more try, a second mismatch is final, and
// so is one whose bytes cannot be taken back from dst.
func (d *download) integrity(ie *IntegrityError) error {
	if d.mismatch || d.dirty && !d.canReset {
		return ie
	}
	d.mismatch = true
	return &retryOnce{ie}
}

// attempt is try n of the download: it resets dst after a failed try,
// streams the body into it while hashing, and checks size and checksum.
func (d *download) attempt(ctx context.Context, n int) (Result, error) {
	if d.dirty {
		if err := d.resetter.Reset(); err != nil {
			return Result{}, &permanent{fmt.Errorf("download %s: resetting destination: %w", d.f, err)}
		}
		d.dirty = false
	}
	req, err := newRequest(ctx, http.MethodGet, d.u, nil)
	if err != nil {
		return Result{}, err
	}
	resp, err := d.c.send(d.c.hc, req)
	if err != nil {
		return Result{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Result{}, d.c.newHTTPError(resp, OpDownload)
	}
	want := d.want
	if want.Size >= 0 && resp.ContentLength >= 0 && resp.ContentLength != want.Size {
		return Result{}, d.integrity(&IntegrityError{Ref: d.f, WantSize: want.Size, GotSize: resp.ContentLength})
	}
	var body io.Reader = resp.Body
	if want.Size >= 0 {
		body = io.LimitReader(resp.Body, want.Size+1)
	}
	var h hash.Hash
	if d.hasher == nil {
		h = sha256.New()
	}
	size := want.Size
	if size < 0 {
		size = resp.ContentLength
	}
	var written int64
	var rerr, werr error
	if d.filler != nil {
		written, rerr, werr = fill(d.filler, body)
	} else {
		written, rerr, werr = copyHashed(d.dst, h, body, size)
	}
	if written > 0 {
		d.dirty = true
	}
	if werr != nil {
		return Result{}, &permanent{fmt.Errorf("download %s: writing: %w", d.f, werr)}
	}
	if rerr != nil {
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		e := &requestError{method: http.MethodGet, url: d.c.redact(resp.Request.URL), err: rerr, msg: "reading body: " + d.c.scrub(rerr.Error())}
		if d.dirty && !d.canReset && transientNetError(rerr) {
			return Result{}, &TransientError{Attempts: n, Err: e}
		}
		return Result{}, e
	}
	if want.Size >= 0 && written != want.Size {
		return Result{}, d.integrity(&IntegrityError{Ref: d.f, WantSize: want.Size, GotSize: written})
	}
	var sum string
	if d.hasher != nil {
		sum = strings.ToLower(d.hasher.SHA256())
	} else {
		sum = hex.EncodeToString(h.Sum(nil))
	}
	if expect := d.expected(resp); expect != "" && sum != expect {
		return Result{}, d.integrity(&IntegrityError{Ref: d.f, WantSize: want.Size, GotSize: written, WantSHA256: expect, GotSHA256: sum})
	}
	return Result{Size: written, SHA256: sum}, nil
}

// expected is the SHA-256 the body must have: the caller's, else the one
// GitLab sends with a download it serves itself (never one from another
// host, such as object storage after a redirect).
func (d *download) expected(resp *http.Response) string {
	if d.want.SHA256 != "" {
		return d.want.SHA256
	}
	if sameOrigin(resp.Request.URL, d.c.api) {
		if hs := strings.ToLower(strings.TrimSpace(resp.Header.Get("X-Checksum-SHA256"))); isSHA256(hs) {
			return hs
		}
	}
	return ""
}

// copyHashed copies r to dst and h (unless nil) through a pooled buffer
// chosen by size (-1 when unknown), telling read failures from write
// failures.
func copyHashed(dst io.Writer, h hash.Hash, r io.Reader, size int64) (written int64, rerr, werr error) {
	pool := &bufPool
	if size >= 0 && size <= smallCopyMax {
		pool = &smallBufPool
	}
	bp := pool.Get().(*[]byte)
	defer pool.Put(bp)
	buf := *bp
	for {
		nr, er := r.Read(buf)
		if nr > 0 {
			if h != nil {
				h.Write(buf[:nr])
			}
			nw, ew := dst.Write(buf[:nr])
			if nw < 0 || nw > nr {
				nw = 0
				if ew == nil {
					ew = fmt.Errorf("invalid write result")
				}
			}
			written += int64(nw)
			if ew != nil {
				return written, nil, ew
			}
			if nw != nr {
				return written, nil, io.ErrShortWrite
			}
		}
		if er == io.EOF {
			return written, nil, nil
		}
		if er != nil {
			return written, er, nil
		}
	}
}

// fill has dst read r to its end.
func fill(dst Filler, r io.Reader) (written int64, rerr, werr error) {
	for {
		n, er, ew := dst.Fill(r)
		if n < 0 {
			n = 0
			if ew == nil {
				ew = fmt.Errorf("invalid fill result")
			}
		}
		written += int64(n)
		if ew != nil {
			return written, nil, ew
		}
		if er == io.EOF {
			return written, nil, nil
		}
		if er != nil {
			return written, er, nil
		}
	}
}

// CheckResult is what CheckFile learned about a file.
type CheckResult struct {
	// Status is 200, or 302/303/307 when GitLab redirected to object
	// storage.
	Status int
	// Redirected reports a redirect to object storage; the file exists.
	Redirected bool
	// SHA256 is GitLab's X-Checksum-SHA256 header (lowercase hex), "" when
	// not sent (older GitLab, or redirects).
	SHA256 string
	// Size is the Content-Length of a 200, -1 when unknown.
	Size int64
}

// CheckFile checks that the registry serves f without downloading it: it
// sends a GET (never HEAD: object storage may reject a redirected HEAD),
// does not follow a 302/303/307 to object storage, and closes a 200's body
// unread. A missing or inaccessible file is an *HTTPError.
func (c *Client) CheckFile(ctx context.Context, f FileRef) (CheckResult, error) {
	u, err := c.genericURL(f, nil)
	if err != nil {
		return CheckResult{}, err
	}
	var res CheckResult
	err = c.do(ctx, "GET "+c.redact(u), func(int) error {
		req, err := newRequest(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		resp, err := c.send(c.noFollow, req)
		if err != nil {
			return err
		}
		res = CheckResult{Status: resp.StatusCode, Size: -1}
		if hs := strings.ToLower(strings.TrimSpace(resp.Header.Get("X-Checksum-SHA256"))); isSHA256(hs) && sameOrigin(resp.Request.URL, c.api) {
			res.SHA256 = hs
		}
		switch resp.StatusCode {
		case http.StatusOK:
			res.Size = resp.ContentLength
			resp.Body.Close()
			return nil
		case http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect:
			res.Redirected = true
			drain(resp.Body)
			return nil
		}
		defer resp.Body.Close()
		return c.newHTTPError(resp, OpDownload)
	})
	if err != nil {
		return CheckResult{}, err
	}
	return res, nil
}
