package registry

import (
	"context"
	"slices"
	"sync"
)

// Limiter bounds the requests in flight across the clients that share it:
// each attempt of a request holds one of its slots, so waiting for a retry
// holds none. Listings go before downloads when both wait for a slot: an
// install that resolves while it downloads then knows its whole lock
// early, and stages packages while the last files still arrive, instead
// of waiting for a listing queued behind every download. Make one with
// NewLimiter; a nil *Limiter limits nothing.
type Limiter struct {
	mu        sync.Mutex
	free      int
	listings  []chan struct{} // waiting, first come first served
	transfers []chan struct{}
}

// NewLimiter returns a Limiter of n slots (1 when n < 1).
func NewLimiter(n int) *Limiter { return &Limiter{free: max(n, 1)} }

// acquire takes a slot, waiting for one (listings ahead of transfers) until
// ctx is done.
func (l *Limiter) acquire(ctx context.Context, listing bool) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	if l.free > 0 {
		l.free--
		l.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	q := &l.transfers
	if listing {
		q = &l.listings
	}
	*q = append(*q, ch)
	l.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		if i := slices.Index(*q, ch); i >= 0 {
			*q = slices.Delete(*q, i, i+1)
			l.mu.Unlock()
			return ctx.Err()
		}
		l.mu.Unlock()
		l.release() // granted as ctx ended: pass it on
		return ctx.Err()
	}
}

// release returns a slot: to the first waiting listing, else to the first
// waiting transfer, else to the pool.
func (l *Limiter) release() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, q := range []*[]chan struct{}{&l.listings, &l.transfers} {
		if len(*q) > 0 {
			close((*q)[0])
			*q = (*q)[1:]
			return
		}
	}
	l.free++
}
