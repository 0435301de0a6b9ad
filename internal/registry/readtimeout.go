package registry

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// DefaultReadTimeout is how long a response body may stay silent before the
// client abandons it, when WithReadTimeout is not given.
const DefaultReadTimeout = 30 * time.Second

// stallError is a response body abandoned because no byte of it arrived for
// the read timeout: a server (or a proxy) that sent its headers and then
// stopped. It is transient: the request is retried.
type stallError struct{ d time.Duration }

func (e *stallError) Error() string {
	return fmt.Sprintf("no data from the server for %v", e.d)
}

// Hints says what the timeout is and how to change it.
func (e *stallError) Hints() []string {
	return []string{fmt.Sprintf("the server sent the response headers and then nothing for %v, so gpm gave up on it; if the registry or a proxy in front of it is known to pause longer, raise GPM_READ_TIMEOUT (e.g. GPM_READ_TIMEOUT=2m)", e.d)}
}

// idleBody abandons a response body that delivers nothing for timeout: a
// timer runs while a Read waits for the network (not while the caller works
// on what it read), and when it fires it cancels the request's context,
// which makes the waiting Read fail on any transport; that Read and every
// later one then return a *stallError. Close stops the timer and releases
// the context.
type idleBody struct {
	rc      io.ReadCloser
	timeout time.Duration
	cancel  context.CancelFunc
	timer   *time.Timer
	stalled atomic.Bool
}

func newIdleBody(rc io.ReadCloser, timeout time.Duration, cancel context.CancelFunc) *idleBody {
	b := &idleBody{rc: rc, timeout: timeout, cancel: cancel}
	b.timer = time.AfterFunc(timeout, func() {
		b.stalled.Store(true)
		cancel()
	})
	b.timer.Stop()
	return b
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.stalled.Load() {
		return 0, &stallError{b.timeout}
	}
	b.timer.Reset(b.timeout)
	n, err := b.rc.Read(p)
	b.timer.Stop()
	if err != nil && err != io.EOF && b.stalled.Load() {
		return n, &stallError{b.timeout}
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.rc.Close()
	b.cancel()
	return err
}

// sendBody is a request body that must keep being read: the transport reads
// it as it sends, so a server that stops reading an upload blocks the
// transport's write, and nothing else times out (the response header
// timeout starts only once the body is sent). When no read comes for the
// read timeout between the first read and the end of the body, it cancels
// the request. (Connecting has timeouts of its own.)
type sendBody struct {
	rc      io.ReadCloser
	timer   *time.Timer
	timeout time.Duration
	stalled atomic.Bool
}

func newSendBody(rc io.ReadCloser, timeout time.Duration, cancel context.CancelFunc) *sendBody {
	b := &sendBody{rc: rc, timeout: timeout}
	b.timer = time.AfterFunc(timeout, func() {
		b.stalled.Store(true)
		cancel()
	})
	b.timer.Stop()
	return b
}

func (b *sendBody) Read(p []byte) (int, error) {
	b.timer.Reset(b.timeout)
	n, err := b.rc.Read(p)
	if err != nil {
		b.timer.Stop() // the body is sent (or failed): the response's timeouts take over
	}
	return n, err
}

func (b *sendBody) Close() error {
	b.timer.Stop()
	return b.rc.Close()
}

// sendStallError is an upload the server stopped reading for the read
// timeout. It is transient: whether to retry is the caller's (an upload
// checks first whether the file landed).
type sendStallError struct{ d time.Duration }

func (e *sendStallError) Error() string {
	return fmt.Sprintf("the server stopped reading the upload for %v", e.d)
}

// Hints says what the timeout is and how to change it.
func (e *sendStallError) Hints() []string {
	return []string{fmt.Sprintf("the server took no more of the upload for %v, so gpm gave up on it; if the registry or a proxy in front of it is known to pause longer, raise GPM_READ_TIMEOUT (e.g. GPM_READ_TIMEOUT=2m)", e.d)}
}
