package registry

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gpmtool/gpm/internal/hint"
)

// A registry that cannot be reached says what to check: a host name that
// does not resolve, a server that takes the connection and never answers.
func TestUnreachableHints(t *testing.T) {
	dns := &requestError{method: "GET", url: "https://gitlab.exmaple.com/api/v4/projects/1/packages",
		err: &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "gitlab.exmaple.com", IsNotFound: true}}}
	if h := strings.Join(hint.Of(dns), "\n"); !strings.Contains(h, `"gitlab.exmaple.com" does not resolve`) || !strings.Contains(h, "[registry] url") {
		t.Errorf("DNS failure hints = %q", h)
	}

	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	c, _ := client(t, srv.URL, WithTransport(newTransportWith(1, 50*time.Millisecond)), WithRetry(Retry{MaxAttempts: 2, Sleep: func(context.Context, time.Duration) error { return nil }}))
	_, err := c.ListPackages(context.Background(), "1", "tool")
	if err == nil {
		t.Fatal("a silent server answered")
	}
	if h := strings.Join(hint.Of(err), "\n"); !strings.Contains(h, "accepted the connection but sent no answer") {
		t.Errorf("silent server: %v; hints = %q", err, h)
	}
}
