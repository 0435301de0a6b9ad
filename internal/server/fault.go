package server

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Fault kinds.
const (
	// FaultStatus answers Status (default 500) with GitLab's body for it:
	// plain text "Retry later\n" for 429, {"message":"<code> <text>"}
	// otherwise; RetryAfter, when set, adds Retry-After in seconds.
	FaultStatus = "status"
	// FaultResetBefore resets the connection before any response.
	FaultResetBefore = "reset_before"
	// FaultResetDuring sends the headers and After bytes of the body
	// (default: half of Content-Length), then resets the connection.
	FaultResetDuring = "reset_during"
	// FaultTruncate sends the headers, whose Content-Length promises the
	// whole body, and After bytes of it (default: half), then closes the
	// connection cleanly.
	FaultTruncate = "truncate"
	// FaultCorrupt flips bytes of the body (every 1024th byte, starting
	// with the first), keeping its length and headers.
	FaultCorrupt = "corrupt"
	// FaultSlow waits Delay (default 10ms) before the headers and before
	// every 1024 bytes of the body.
	FaultSlow = "slow"
	// FaultStall sends the headers and After bytes of the body (default:
	// half of Content-Length), then nothing: for Delay when it is set,
	// after which the rest follows, else until the client goes away.
	FaultStall = "stall"
	// FaultRetryAfterSeconds answers Status (default 429) with
	// "Retry-After: <seconds>" from RetryAfter.
	FaultRetryAfterSeconds = "retry_after_seconds"
	// FaultRetryAfterDate is FaultRetryAfterSeconds with an HTTP date.
	FaultRetryAfterDate = "retry_after_date"
)

// Fault makes matching requests fail. Faults apply to API requests and
// object-storage requests alike, after they are counted and before latency.
// Each request takes the first matching fault that has uses left. The
// handler still runs for reset_during, truncate, corrupt, slow and stall,
// so an upload hit by them has landed although its client saw an error.
type Fault struct {
	// Method matches the request method; empty matches any.
	Method string
	// Path matches a request whose path (escaped or decoded) contains it,
	// or, failing that, matches it as a regular expression. Empty matches
	// any path.
	Path string
	// Kind is one of the Fault* constants.
	Kind string
	// Status overrides the status of FaultStatus and the Retry-After kinds.
	Status int
	// RetryAfter is the delay announced by the Retry-After kinds.
	RetryAfter time.Duration
	// Times is how many requests the fault hits: -1 for all of them, 0 for
	// one.
	Times int
	// After is how many body bytes reset_during, truncate and stall send;
	// 0 means half of the Content-Length.
	After int64
	// Delay is the pause of FaultSlow, and of FaultStall (0: until the
	// client goes away).
	Delay time.Duration
}

type faultState struct {
	Fault
	re   *regexp.Regexp
	left int
}

// AddFault installs a fault. It fails for an unknown kind.
func (s *Server) AddFault(f Fault) error {
	switch f.Kind {
	case FaultStatus, FaultResetBefore, FaultResetDuring, FaultTruncate, FaultCorrupt, FaultSlow,
		FaultStall, FaultRetryAfterSeconds, FaultRetryAfterDate:
	default:
		return fmt.Errorf("unknown fault kind %q", f.Kind)
	}
	st := &faultState{Fault: f, left: f.Times}
	if st.left == 0 {
		st.left = 1
	}
	if f.Path != "" {
		st.re, _ = regexp.Compile(f.Path) // a plain substring need not be a regexp
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, st)
	return nil
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

func (f *faultState) matches(r *http.Request) bool {
	if f.Method != "" && !strings.EqualFold(f.Method, r.Method) {
		return false
	}
	if f.Path == "" {
		return true
	}
	esc, dec := r.URL.EscapedPath(), r.URL.Path
	if strings.Contains(esc, f.Path) || strings.Contains(dec, f.Path) {
		return true
	}
	return f.re != nil && (f.re.MatchString(esc) || f.re.MatchString(dec))
}

// takeFault returns the fault for r and uses it up once.
func (s *Server) takeFault(r *http.Request) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.left != 0 && f.matches(r) {
			if f.left > 0 {
				f.left--
			}
			cp := f.Fault
			return &cp
		}
	}
	return nil
}

// applyFault applies the fault matching r, if any. done reports that the
// request has been answered (or its connection dropped); otherwise the
// returned writer wraps w with the fault's body behaviour.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, bool) {
	f := s.takeFault(r)
	if f == nil {
		return w, false
	}
	switch f.Kind {
	case FaultResetBefore:
		if conn := hijack(w); conn != nil {
			reset(conn)
		}
		return w, true
	case FaultStatus, FaultRetryAfterSeconds, FaultRetryAfterDate:
		io.Copy(io.Discard, r.Body) // as a buffering proxy would
		status := f.Status
		if status == 0 {
			status = http.StatusInternalServerError
			if f.Kind != FaultStatus {
				status = http.StatusTooManyRequests
			}
		}
		switch {
		case f.Kind == FaultRetryAfterDate:
			w.Header().Set("Retry-After", time.Now().Add(f.RetryAfter).UTC().Format(http.TimeFormat))
		case f.Kind == FaultRetryAfterSeconds || f.RetryAfter > 0:
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
		}
		if status == http.StatusTooManyRequests {
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Length", "12")
			w.WriteHeader(status)
			io.WriteString(w, "Retry later\n")
			return w, true
		}
		writeJSON(w, status, message(fmt.Sprintf("%d %s", status, http.StatusText(status))))
		return w, true
	case FaultSlow:
		delay := f.Delay
		if delay <= 0 {
			delay = 10 * time.Millisecond
		}
		if !sleep(r.Context(), delay) {
			return w, true
		}
		return &faultWriter{ResponseWriter: w, kind: f.Kind, delay: delay, req: r}, false
	}
	return &faultWriter{ResponseWriter: w, kind: f.Kind, after: f.After, delay: f.Delay, req: r}, false
}

// faultWriter damages a response body as it is written.
type faultWriter struct {
	http.ResponseWriter
	kind    string
	after   int64 // body bytes to send before cutting; 0: half
	delay   time.Duration
	req     *http.Request
	written int64
	cut     bool
	stalled bool // the stall has happened; the rest goes through
}

var errCut = errors.New("connection cut by fault")

func (w *faultWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *faultWriter) WriteHeader(code int) {
	if w.after == 0 && (w.kind == FaultResetDuring || w.kind == FaultTruncate || w.kind == FaultStall) {
		n, _ := strconv.ParseInt(w.Header().Get("Content-Length"), 10, 64)
		w.after = n / 2
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *faultWriter) Write(p []byte) (int, error) {
	if w.cut {
		return 0, errCut
	}
	switch w.kind {
	case FaultCorrupt:
		q := append([]byte(nil), p...)
		for i := range q {
			if (w.written+int64(i))%1024 == 0 {
				q[i] ^= 0xff
			}
		}
		n, err := w.ResponseWriter.Write(q)
		w.written += int64(n)
		return n, err
	case FaultSlow:
		total := 0
		for len(p) > 0 {
			chunk := p[:min(len(p), 1024)]
			if total > 0 && !sleep(w.req.Context(), w.delay) {
				return total, w.req.Context().Err()
			}
			n, err := w.ResponseWriter.Write(chunk)
			total += n
			if err != nil {
				return total, err
			}
			http.NewResponseController(w.ResponseWriter).Flush()
			p = p[n:]
		}
		return total, nil
	case FaultStall:
		room := w.after - w.written
		if w.stalled || int64(len(p)) <= room {
			n, err := w.ResponseWriter.Write(p)
			w.written += int64(n)
			return n, err
		}
		n, err := w.ResponseWriter.Write(p[:max(room, 0)])
		w.written += int64(n)
		if err != nil {
			return n, err
		}
		http.NewResponseController(w.ResponseWriter).Flush()
		w.stalled = true
		if w.delay <= 0 {
			<-w.req.Context().Done()
			w.cut = true
			return n, errCut
		}
		if !sleep(w.req.Context(), w.delay) {
			w.cut = true
			return n, errCut
		}
		m, err := w.ResponseWriter.Write(p[n:])
		w.written += int64(m)
		return n + m, err
	case FaultResetDuring, FaultTruncate:
		room := w.after - w.written
		if int64(len(p)) <= room {
			n, err := w.ResponseWriter.Write(p)
			w.written += int64(n)
			return n, err
		}
		n, _ := w.ResponseWriter.Write(p[:max(room, 0)])
		w.written += int64(n)
		w.cut = true
		http.NewResponseController(w.ResponseWriter).Flush()
		if conn := hijack(w.ResponseWriter); conn != nil {
			if w.kind == FaultResetDuring {
				reset(conn)
			} else {
				conn.Close()
			}
		}
		return n, errCut
	}
	return w.ResponseWriter.Write(p)
}

// hijack takes over the connection of w, or returns nil when it cannot.
func hijack(w http.ResponseWriter) net.Conn {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil
	}
	return conn
}

// reset closes conn with an RST instead of a FIN.
func reset(conn net.Conn) {
	type netConner interface{ NetConn() net.Conn }
	c := conn
	if nc, ok := c.(netConner); ok {
		c = nc.NetConn()
	}
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}
