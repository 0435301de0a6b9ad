package registry

import "context"

// Limiter bounds the requests in flight across the clients that share it
// (one per registry of a manifest): at most n listing requests and, apart
// from them, at most n transfers (downloads, file checks). Each attempt of
// a request holds a slot, so waiting for a retry holds none. Listings and
// downloads have slots of their own so that an install resolving some
// packages while it downloads others does both at full speed, as --jobs
// promises for each; a listing never waits behind queued downloads. Make
// one with NewLimiter; a nil *Limiter limits nothing.
type Limiter struct {
	listings, transfers chan struct{}
}

// NewLimiter returns a Limiter of n slots for listings and n for transfers
// (1 each when n < 1).
func NewLimiter(n int) *Limiter {
	n = max(n, 1)
	return &Limiter{listings: make(chan struct{}, n), transfers: make(chan struct{}, n)}
}

// acquire takes a slot of the listing or transfer kind, waiting for one
// until ctx is done, and returns the function that gives it back.
func (l *Limiter) acquire(ctx context.Context, listing bool) (release func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	slots := l.transfers
	if listing {
		slots = l.listings
	}
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
