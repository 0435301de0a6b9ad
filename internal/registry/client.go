// Package registry is gpm's client for GitLab's Generic Package Registry API:
// credentials, listing with pagination, streaming verified downloads,
// uploads, retries and GitLab's error answers turned into errors that say
// what to do.
//
// One Client is built per GitLab instance and shared by all goroutines. It
// sends credentials only to the instance's own scheme, host and port, strips
// them from redirects elsewhere (GitLab redirects downloads to object
// storage), and retries idempotent requests in one place (retry.go).
//
// The package knows nothing of manifests, locks or vendor directories.
package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultUserAgent is sent when WithUserAgent is not given.
const DefaultUserAgent = "gpm/dev"

// maxRedirects bounds a redirect chain.
const maxRedirects = 10

// Client talks to one GitLab instance. It is safe for concurrent use.
type Client struct {
	api       *url.URL // API root, ending in /api/v4, no trailing slash
	cred      Credential
	userAgent string
	retry     Retry
	logf      func(format string, args ...any)
	// readTimeout is the silence after which a response body is
	// abandoned (see idleBody).
	readTimeout time.Duration

	// slots, when set, bounds the requests in flight across every client
	// sharing it.
	slots *Limiter

	hc       *http.Client // follows redirects safely
	noFollow *http.Client // stops at 302/303/307, for CheckFile
	// ahead bounds the listing pages requested ahead of the one being
	// read (see paginate, ListProjectPackages), across all listings of
	// the client: --jobs.
	ahead chan struct{}
}

type options struct {
	cred        Credential
	userAgent   string
	jobs        int
	retry       Retry
	transport   http.RoundTripper
	logf        func(format string, args ...any)
	readTimeout time.Duration
	slots       *Limiter
}

// Option configures a Client.
type Option func(*options)

// WithCredential sets the credential sent to the registry's own host.
func WithCredential(c Credential) Option { return func(o *options) { o.cred = c } }

// WithUserAgent sets the User-Agent header (default DefaultUserAgent).
func WithUserAgent(ua string) Option { return func(o *options) { o.userAgent = ua } }

// WithJobs sizes the connection pool so n parallel downloads keep their
// connections alive between requests.
func WithJobs(n int) Option { return func(o *options) { o.jobs = n } }

// WithLimiter makes the client take a slot of l for every request attempt,
// so that clients sharing l (one per registry of a manifest) have at most
// --jobs listings and --jobs transfers in flight between them.
func WithLimiter(l *Limiter) Option { return func(o *options) { o.slots = l } }

// WithRetry sets the retry policy; zero fields take their defaults.
func WithRetry(r Retry) Option { return func(o *options) { o.retry = r } }

// WithReadTimeout sets how long a response body may deliver nothing before
// the client abandons it and, for listings and downloads, retries (default
// DefaultReadTimeout; d <= 0 keeps the default). Only waiting for the
// network counts, not the time a caller spends on what it read.
func WithReadTimeout(d time.Duration) Option { return func(o *options) { o.readTimeout = d } }

// WithTransport replaces the network transport, for tests. The client still
// adds credentials, the User-Agent and logging around it.
func WithTransport(rt http.RoundTripper) Option { return func(o *options) { o.transport = rt } }

// WithLogf logs each HTTP exchange (method, redacted URL, status, duration;
// never headers) and each retry, for -v.
func WithLogf(logf func(format string, args ...any)) Option {
	return func(o *options) { o.logf = logf }
}

// New returns a client for the GitLab instance at baseURL, which is an
// instance URL ("https://gitlab.example.com", "https://host/gitlab") or its
// API root (ending in "/api/v4"). It refuses to send a credential over plain
// http unless the host is loopback.
func New(baseURL string, opts ...Option) (*Client, error) {
	o := options{userAgent: DefaultUserAgent, jobs: 8}
	for _, opt := range opts {
		opt(&o)
	}
	api, err := parseBase(baseURL)
	if err != nil {
		return nil, err
	}
	if err := o.cred.validate(); err != nil {
		return nil, err
	}
	if !o.cred.Anonymous() && api.Scheme == "http" && !isLoopback(api.Hostname()) {
		return nil, &insecureError{url: redactURL(api, true), cred: o.cred.String()}
	}
	if o.jobs < 1 {
		o.jobs = 1
	}
	if o.userAgent == "" {
		o.userAgent = DefaultUserAgent
	}
	if o.readTimeout <= 0 {
		o.readTimeout = DefaultReadTimeout
	}
	c := &Client{
		api:       api,
		cred:      o.cred,
		userAgent: o.userAgent,
		retry:     o.retry.withDefaults(),
		logf:      o.logf,

		readTimeout: o.readTimeout,
		slots:       o.slots,
		ahead:       make(chan struct{}, o.jobs),
	}
	base := o.transport
	if base == nil {
		base = newTransport(o.jobs)
	}
	rt := &clientTransport{c: c, base: base}
	c.hc = &http.Client{Transport: rt, CheckRedirect: c.checkRedirect}
	c.noFollow = &http.Client{Transport: rt, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.Response != nil {
			switch req.Response.StatusCode {
			case http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect:
				return http.ErrUseLastResponse
			}
		}
		return c.checkRedirect(req, via)
	}}
	return c, nil
}

// newTransport builds the production transport: bounded dial, TLS and
// response-header waits, keep-alive, HTTP/2, and no overall timeout, so that
// large downloads are limited only by their context and by the read timeout
// on silent bodies that clientTransport adds.
func newTransport(jobs int) *http.Transport {
	return newTransportWith(jobs, responseHeaderTimeout)
}

// responseHeaderTimeout is how long a request may wait for the status line
// once it is sent: a GitLab that took the connection and says nothing.
const responseHeaderTimeout = 60 * time.Second

func newTransportWith(jobs int, headerTimeout time.Duration) *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: headerTimeout,
		ExpectContinueTimeout: 2 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          4 * jobs,
		MaxIdleConnsPerHost:   jobs,
		// Headroom above jobs: a connection whose body was abandoned is
		// closed asynchronously and must not block the next request.
		MaxConnsPerHost: 2 * jobs,
	}
}

// APIURL returns the API root, e.g. "https://gitlab.example.com/api/v4".
func (c *Client) APIURL() string { return c.api.String() }

// Credential returns the credential the client sends. Print it with String.
func (c *Client) Credential() Credential { return c.cred }

type insecureError struct{ url, cred string }

func (e *insecureError) Error() string {
	return fmt.Sprintf("refusing to send %s to %s over plain http", e.cred, e.url)
}
func (e *insecureError) Is(target error) bool { return target == ErrInsecure }
func (e *insecureError) Hints() []string {
	return []string{"use an https:// registry url; plain http is only allowed to localhost"}
}

// parseBase normalises an instance URL or API root to the API root.
func parseBase(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid registry url: %w", errors.Unwrap(err))
	}
	switch u.Scheme {
	case "http", "https":
	default:
		return nil, fmt.Errorf("invalid registry url %q: scheme must be https or http", redactURL(u, true))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("invalid registry url %q: no host", redactURL(u, true))
	}
	if u.User != nil {
		return nil, fmt.Errorf("invalid registry url %q: credentials in the url are not allowed; use GPM_TOKEN or .netrc", redactURL(u, true))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("invalid registry url %q: must not have a query or fragment", redactURL(u, true))
	}
	p := strings.TrimRight(u.EscapedPath(), "/")
	if !strings.HasSuffix(p, "/api/v4") {
		p += "/api/v4"
	}
	api, err := url.Parse(u.Scheme + "://" + u.Host + p)
	if err != nil {
		return nil, fmt.Errorf("invalid registry url %q: %w", redactURL(u, true), errors.Unwrap(err))
	}
	api.Scheme = strings.ToLower(api.Scheme)
	api.Host = strings.ToLower(api.Host)
	return api, nil
}

// origin is scheme://host:port with the default port made explicit.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

func sameOrigin(a, b *url.URL) bool { return origin(a) == origin(b) }

// isLoopback reports whether host is localhost, 127.0.0.0/8 or ::1.
func isLoopback(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sensitiveParam reports whether a query parameter may carry a secret:
// GitLab tokens and object-storage signatures.
func sensitiveParam(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"token", "signature", "credential", "secret", "password", "key", "auth", "sig"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// redactURL removes userinfo and replaces secret-looking query values with
// "REDACTED"; with all set, every query value is replaced.
func redactURL(u *url.URL, all bool) string {
	if u == nil {
		return ""
	}
	r := *u
	r.User = nil
	r.Fragment = ""
	if r.RawQuery != "" {
		q, err := url.ParseQuery(r.RawQuery)
		if err != nil {
			r.RawQuery = "REDACTED"
		} else {
			for k, vs := range q {
				if all || sensitiveParam(k) {
					for i := range vs {
						vs[i] = "REDACTED"
					}
				}
			}
			r.RawQuery = q.Encode()
		}
	}
	return r.String()
}

// redact prints u for humans: token-like values are hidden on the
// registry's host, and every query value elsewhere (signed storage URLs).
func (c *Client) redact(u *url.URL) string { return redactURL(u, !sameOrigin(u, c.api)) }

// scrub removes the client's own token from server text, in case a server
// echoes it back.
func (c *Client) scrub(s string) string {
	if c.cred.Token != "" && len(c.cred.Token) >= 4 {
		s = strings.ReplaceAll(s, c.cred.Token, "REDACTED")
	}
	return s
}

func (c *Client) log(format string, args ...any) {
	if c.logf != nil {
		c.logf(format, args...)
	}
}

// checkRedirect keeps credentials on the registry's host and refuses unsafe
// redirects. The credential headers themselves are added per hop by
// clientTransport; stripping here also covers headers a caller set.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	prev := via[len(via)-1]
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects, the last to %s (a redirect loop?): %w", len(via), c.redact(req.URL), ErrRedirectRefused)
	}
	switch req.URL.Scheme {
	case "https", "http":
	default:
		return fmt.Errorf("refusing redirect from %s to a %q url: %w", c.redact(prev.URL), req.URL.Scheme, ErrRedirectRefused)
	}
	if prev.URL.Scheme == "https" && req.URL.Scheme == "http" {
		return fmt.Errorf("refusing redirect from https to plain http %s: %w", c.redact(req.URL), ErrRedirectRefused)
	}
	if first := via[0]; first.Method != http.MethodGet && req.Method != first.Method {
		return fmt.Errorf("refusing redirect of %s %s to %s %s (status %d): %w",
			first.Method, c.redact(first.URL), req.Method, c.redact(req.URL), req.Response.StatusCode, ErrRedirectRefused)
	}
	if !sameOrigin(req.URL, c.api) {
		stripCredentials(req.Header)
	}
	return nil
}

// onAPI reports whether u is under the API root api.
func onAPI(u, api *url.URL) bool {
	return strings.HasPrefix(u.Path, strings.TrimSuffix(api.Path, "/")+"/")
}

// presigned reports whether u carries a storage signature of its own (S3,
// GCS, Azure).
func presigned(u *url.URL) bool {
	q := u.Query()
	return q.Has("X-Amz-Signature") || q.Has("X-Goog-Signature") || q.Has("Signature") || q.Has("sig")
}

// clientTransport adds the User-Agent to every hop and the credential only
// to hops on the registry's own origin (not to a presigned URL off the API
// that a redirect leads to), logs each exchange, and gives every
// response body the client's read timeout: each hop runs under its own
// context, cancelled when its body stays silent too long or is closed.
type clientTransport struct {
	c    *Client
	base http.RoundTripper
}

func (t *clientTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	r := req.Clone(ctx)
	r.Header.Set("User-Agent", t.c.userAgent)
	if sameOrigin(r.URL, t.c.api) && (req.Response == nil || onAPI(r.URL, t.c.api) || !presigned(r.URL)) {
		t.c.cred.apply(r.Header, r.URL.Path)
	} else {
		// Another origin, or a redirect on the registry's own origin to a
		// presigned URL off the API (object storage behind the same
		// host): it carries its own authority, and S3 refuses a second.
		stripCredentials(r.Header)
	}
	var sent *sendBody
	if r.Body != nil && r.Body != http.NoBody {
		sent = newSendBody(r.Body, t.c.readTimeout, cancel)
		r.Body = sent
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(r)
	if err != nil && sent != nil && sent.stalled.Load() {
		err = &sendStallError{t.c.readTimeout}
	}
	if t.c.logf != nil {
		d := time.Since(start).Round(time.Millisecond)
		if err != nil {
			t.c.logf("%s %s: %v (%v)", r.Method, t.c.redact(r.URL), t.c.scrub(err.Error()), d)
		} else {
			t.c.logf("%s %s: %d (%v)", r.Method, t.c.redact(r.URL), resp.StatusCode, d)
		}
	}
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.Body == nil {
		resp.Body = http.NoBody
	}
	resp.Body = newIdleBody(resp.Body, t.c.readTimeout, cancel)
	return resp, nil
}

// Escaping of path parameters.

// escapeID encodes a project or group: a numeric ID as is, a full path with
// "/" as "%2F". It refuses empty, "." and ".." IDs and surrounding slashes.
func escapeID(kind, id string) (string, error) {
	if id == "" || id == "." || id == ".." || strings.HasPrefix(id, "/") || strings.HasSuffix(id, "/") || strings.ContainsAny(id, "\x00\\") {
		return "", fmt.Errorf("invalid %s %q", kind, id)
	}
	if _, err := strconv.ParseUint(id, 10, 64); err == nil {
		return id, nil
	}
	for _, seg := range strings.Split(id, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("invalid %s %q", kind, id)
		}
	}
	return url.PathEscape(id), nil
}

// escapeSegment encodes one path segment (package name, version).
func escapeSegment(kind, s string) (string, error) {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\\") || hasControl(s) {
		return "", fmt.Errorf("invalid %s %q", kind, s)
	}
	return url.PathEscape(s), nil
}

// escapeFile encodes a file name; "/" separates GitLab directory segments
// and is sent literally, each segment escaped.
func escapeFile(name string) (string, error) {
	if err := checkFileName(name); err != nil {
		return "", err
	}
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/"), nil
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// endpoint builds an API URL from already-escaped path parts, so that %2F in
// a project path is kept (URL.RawPath is set by url.Parse).
func (c *Client) endpoint(escapedPath string, q url.Values) (*url.URL, error) {
	u, err := url.Parse(c.api.Scheme + "://" + c.api.Host + c.api.EscapedPath() + escapedPath)
	if err != nil {
		return nil, fmt.Errorf("building request url: %w", err)
	}
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u, nil
}

// FileRef names one file of a generic package.
type FileRef struct {
	// Project is a numeric ID ("12345") or a full path ("group/sub/proj").
	Project string
	// Package and Version name the package; File is the file name, which
	// may contain "/" for GitLab directory paths.
	Package, Version, File string
}

// String renders the reference as "package@version/file".
func (f FileRef) String() string { return f.Package + "@" + f.Version + "/" + f.File }

// genericURL is .../projects/:id/packages/generic/:name/:version/:file.
func (c *Client) genericURL(f FileRef, q url.Values) (*url.URL, error) {
	id, err := escapeID("project", f.Project)
	if err != nil {
		return nil, err
	}
	name, err := escapeSegment("package name", f.Package)
	if err != nil {
		return nil, err
	}
	ver, err := escapeSegment("package version", f.Version)
	if err != nil {
		return nil, err
	}
	file, err := escapeFile(f.File)
	if err != nil {
		return nil, err
	}
	return c.endpoint("/projects/"+id+"/packages/generic/"+name+"/"+ver+"/"+file, q)
}

// send performs one request through the redirect-following client and turns
// a transport failure into an error with a redacted URL.
func (c *Client) send(hc *http.Client, req *http.Request) (*http.Response, error) {
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, &requestError{method: req.Method, url: c.redact(req.URL), err: err, msg: c.scrub(err.Error())}
	}
	return resp, nil
}

// requestError is a transport failure of one request.
type requestError struct {
	method, url, msg string
	err              error
}

func (e *requestError) Error() string { return e.method + " " + e.url + ": " + e.msg }
func (e *requestError) Unwrap() error { return e.err }

// Hints says what to check when the registry could not be reached: a host
// name that does not resolve, or a server that took the connection and
// never answered.
func (e *requestError) Hints() []string {
	var dns *net.DNSError
	switch {
	case errors.As(e.err, &dns) && !dns.IsTimeout:
		return []string{fmt.Sprintf("the host name %q does not resolve: check the registry url ([registry] url in packages.toml, $CI_SERVER_URL or --registry) for a typo, and your DNS or VPN", dns.Name)}
	case errors.As(e.err, &dns):
		return []string{"looking up the registry's host name timed out: check your DNS or VPN"}
	case strings.Contains(e.err.Error(), "timeout awaiting response headers"):
		return []string{fmt.Sprintf("the registry accepted the connection but sent no answer within %v: it may be overloaded, or a proxy or firewall holds the request; check the registry url and HTTPS_PROXY", responseHeaderTimeout)}
	}
	return nil
}

// drain reads a little of an unread body so its connection can be reused,
// and closes it.
func drain(body io.ReadCloser) {
	io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	body.Close()
}

// newRequest builds a request carrying ctx.
func newRequest(ctx context.Context, method string, u *url.URL, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	// Keep the exact escaping (e.g. %2F) that u carries.
	req.URL = u
	return req, nil
}
