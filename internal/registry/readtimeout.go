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
