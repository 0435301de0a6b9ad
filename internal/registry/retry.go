package registry

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// Retry is the policy for retrying idempotent requests (listings and
// downloads; uploads are never retried by the client).
type Retry struct {
	// MaxAttempts is the total number of tries, the first included
	// (default 4; 1 disables retries).
	MaxAttempts int
	// Base is the backoff before the second try; each further wait doubles,
	// with full jitter (default 500ms).
	Base time.Duration
	// Max caps one backoff (default 30s).
	Max time.Duration
	// MaxRetryAfter caps a server's Retry-After (default 60s).
	MaxRetryAfter time.Duration
	// Sleep waits d or until ctx is done, returning ctx.Err() then. Tests
	// set it to record waits without sleeping. Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (r Retry) withDefaults() Retry {
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 4
	}
	if r.Base <= 0 {
		r.Base = 500 * time.Millisecond
	}
	if r.Max <= 0 {
		r.Max = 30 * time.Second
	}
	if r.MaxRetryAfter <= 0 {
		r.MaxRetryAfter = 60 * time.Second
	}
	if r.Sleep == nil {
		r.Sleep = sleepCtx
	}
	return r
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// backoff is the wait before try n+1: the server's Retry-After when given
// (capped), else full jitter over Base*2^(n-1), capped at Max.
func (r Retry) backoff(n int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, r.MaxRetryAfter)
	}
	ceil := r.Base
	for i := 1; i < n && ceil < r.Max; i++ {
		ceil *= 2
	}
	ceil = min(ceil, r.Max)
	return time.Duration(rand.Int64N(int64(ceil) + 1))
}

// retryableStatus reports the HTTP statuses worth another try.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// classify reports whether err is worth another try and the server's
// requested delay. It is the one place that decides what is transient.
func classify(err error) (retry bool, after time.Duration) {
	var p *permanent
	if errors.As(err, &p) {
		return false, 0
	}
	var te *TransientError
	if errors.As(err, &te) {
		// Already given up on (e.g. bytes written without Reset).
		return false, 0
	}
	var ie *IntegrityError
	if errors.As(err, &ie) {
		// Retried once by Download itself, which marks it.
		var once *retryOnce
		return errors.As(err, &once), 0
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return retryableStatus(he.Status), he.RetryAfter
	}
	return transientNetError(err), 0
}

// transientNetError reports connection resets, refusals, truncated and
// stalled bodies, and timeouts.
func transientNetError(err error) bool {
	var stall *stallError
	var sendStall *sendStallError
	if errors.As(err, &stall) || errors.As(err, &sendStall) {
		return true
	}
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, ErrRedirectRefused) || errors.Is(err, ErrInsecure) {
		return false
	}
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH):
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsTimeout || dns.IsTemporary
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	// HTTP/2 stream and connection failures have no exported type.
	msg := err.Error()
	return strings.Contains(msg, "http2: server sent GOAWAY") ||
		strings.Contains(msg, "stream error") ||
		strings.Contains(msg, "connection reset by peer") ||
		strings.Contains(msg, "server closed idle connection")
}

// permanent marks an error that must not be retried whatever its class
// (a failed write to the destination, a failed Reset).
type permanent struct{ error }

func (p *permanent) Unwrap() error { return p.error }

// retryOnce marks an error that may be retried although its class is
// normally final (an integrity mismatch: maybe a corrupted transfer).
type retryOnce struct{ error }

func (r *retryOnce) Unwrap() error { return r.error }

// do runs attempt until it succeeds, fails for good, the attempts are
// used up, or ctx is done. Only idempotent operations go through it.
// Exhausted transient failures come back as *TransientError.
func (c *Client) do(ctx context.Context, what string, attempt func(n int) error) error {
	return c.doAs(ctx, what, false, attempt)
}

// doAs is do for a listing (listing true) or a transfer: they take slots
// of their own kind of the client's Limiter.
func (c *Client) doAs(ctx context.Context, what string, listing bool, attempt func(n int) error) error {
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := c.attempt(ctx, n, listing, attempt)
		if err == nil {
			return nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		retry, after := classify(err)
		if !retry {
			return unmark(err)
		}
		if n >= c.retry.MaxAttempts {
			var ie *IntegrityError
			if errors.As(err, &ie) {
				return unmark(err)
			}
			return &TransientError{Attempts: n, Err: unmark(err)}
		}
		d := c.retry.backoff(n, after)
		c.log("retrying %s in %v (attempt %d of %d failed: %v)", what, d.Round(time.Millisecond), n, c.retry.MaxAttempts, err)
		if err := c.retry.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

// attempt runs one attempt of a request in one of the client's slots, if it
// has a Limiter.
func (c *Client) attempt(ctx context.Context, n int, listing bool, attempt func(n int) error) error {
	release, err := c.slots.acquire(ctx, listing)
	if err != nil {
		return err
	}
	defer release()
	return attempt(n)
}

// unmark removes the retry markers from the top of err.
func unmark(err error) error {
	for {
		switch m := err.(type) {
		case *permanent:
			err = m.error
		case *retryOnce:
			err = m.error
		default:
			return err
		}
	}
}

// parseRetryAfter parses a Retry-After value: delay-seconds or an HTTP-date
// (relative to now). A date in the past gives 0. It reports false for
// anything else. Very large values are clamped, not wrapped.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		var secs int64
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			if secs < 1<<32 {
				secs = secs*10 + int64(c-'0')
			}
		}
		return time.Duration(min(secs, 1<<32)) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return d, true
}
