// Package server is a GitLab-compatible generic package registry: the
// projects, packages and package files of GitLab's REST API v4, with GitLab's
// rules for names, versions, statuses, duplicates, pagination and
// authentication, including the surprising ones. It backs `gpm serve`, the
// demo, and every end-to-end test of gpm.
//
// It is deliberately a second, independent reading of GitLab's API: it
// imports none of gpm's client packages, so a misreading in the client is not
// mirrored here.
//
// Beyond the API, a Server has a Go API for tests: seeding (AddProject,
// AddToken, AddMember, Publish, ...), request counts, latency, injected
// faults (status codes, resets, truncated or corrupted bodies, slow bodies,
// Retry-After), and an object-storage mode in which downloads redirect to a
// second handler that records any credentials a client wrongly forwards.
package server

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultMaxFileSize is GitLab's default generic_packages_max_file_size.
const DefaultMaxFileSize int64 = 5 << 30

// Options configure a Server. The zero value is a usable in-memory registry.
type Options struct {
	// Store keeps projects, packages, files and blobs. Default: a new
	// MemStore.
	Store Store
	// AutoCreateProjects creates a missing project on the first upload by
	// an authenticated user (for `gpm serve`). A numeric ID creates that ID
	// with path "local/project-<id>"; a URL-encoded path creates that path
	// with the next free ID, and is refused with 400 unless it follows
	// GitLab's rules for project and group paths. The project is public and
	// the uploading user becomes its Owner (membership lives in memory, not
	// in the Store).
	//
	// Until then the project does not exist, and the packages API answers
	// 404 "Project Not Found" for it, to every caller.
	AutoCreateProjects bool
	// AnonymousUser, when set, turns authentication off: requests without
	// credentials, and requests whose credentials are unknown, expired or
	// revoked, act as this user with its roles, so that anyone may publish
	// (for `gpm serve` on loopback without tokens, where a client's stray
	// GITLAB_TOKEN must not lock it out). Empty keeps GitLab's behaviour:
	// anonymous callers only read public projects.
	AnonymousUser string
	// RequireAuth answers 401 to every API request without credentials,
	// even on public projects, like an instance that does not allow public
	// access (for `gpm serve` with tokens). AnonymousUser takes precedence.
	RequireAuth bool
	// Logf, when set, receives one access-log line per request. Token values
	// never appear in it.
	Logf func(format string, args ...any)
	// ExternalURL is GitLab's configured external URL, e.g.
	// "https://gitlab.example.com". Link headers and absolute URLs in
	// responses use it, not the request's Host, as GitLab does. Default: the
	// request's scheme and Host.
	ExternalURL string
	// DisallowDuplicates sets the default duplicate setting of projects
	// without SetDuplicates: GitLab's default (false) allows duplicates.
	DisallowDuplicates bool
	// MaxFileSize is the upload size limit in bytes. GitLab checks it after
	// the whole body has arrived; this server refuses an upload whose
	// Content-Length is over it before reading the body, and stops reading
	// a body without Content-Length (chunked) at the limit. Either way the
	// answer is GitLab's 400 "File is too large" and nothing is stored.
	// 0 means DefaultMaxFileSize; negative means unlimited.
	MaxFileSize int64
	// UploadIdleTimeout abandons an upload whose body delivers no byte for
	// this long, with 408 and nothing stored, so that stalled clients do
	// not hold connections and temp files forever. The clock restarts with
	// every read, so a slow but moving upload is never cut. It needs a
	// ResponseWriter that supports read deadlines (net/http's does). 0
	// means no limit.
	UploadIdleTimeout time.Duration
	// ObjectStorageURL, when set, turns on object-storage mode: downloads
	// answer 302 to signed URLs under it, served by ObjectStorageHandler.
	// EnableRedirects sets it later.
	ObjectStorageURL string
	// RedirectTTL is how long signed object-storage URLs stay valid.
	// Default: 10 minutes.
	RedirectTTL time.Duration
	// Now is the clock for timestamps and URL expiry. Default: time.Now.
	Now func() time.Time
}

// Server is a GitLab-compatible generic package registry. Create it with New;
// it is safe for concurrent use.
type Server struct {
	store   Store
	opts    Options
	signKey []byte

	mu           sync.Mutex // guards the fields below
	users        map[string]bool
	members      map[int64]map[string]Role
	tokens       []storedToken
	allowed      map[int64]map[int64]bool
	allowlistOff map[int64]bool
	dups         map[int64]dupSetting
	groups       []Group
	creating     map[pkgKey]bool
	counts       map[string]int
	faults       []*faultState
	latency      time.Duration
	maxFileSize  int64
	objectURL    string
	leaks        []CredentialLeak

	// writeMu serializes read-modify-write sequences on the store.
	writeMu sync.Mutex
}

// New returns a Server configured by opts.
func New(opts Options) *Server {
	if opts.Store == nil {
		opts.Store = NewMemStore()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RedirectTTL <= 0 {
		opts.RedirectTTL = 10 * time.Minute
	}
	if opts.MaxFileSize == 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	key := make([]byte, 32)
	rand.Read(key)
	return &Server{
		store:        opts.Store,
		opts:         opts,
		signKey:      key,
		users:        map[string]bool{},
		members:      map[int64]map[string]Role{},
		allowed:      map[int64]map[int64]bool{},
		allowlistOff: map[int64]bool{},
		dups:         map[int64]dupSetting{},
		creating:     map[pkgKey]bool{},
		counts:       map[string]int{},
		maxFileSize:  opts.MaxFileSize,
		objectURL:    strings.TrimSuffix(opts.ObjectStorageURL, "/"),
	}
}

// Store returns the server's store.
func (s *Server) Store() Store { return s.store }

// Request kinds counted by Counts.
const (
	KindListPackages  = "list_packages"  // GET /projects/:id/packages
	KindListFiles     = "list_files"     // GET /projects/:id/packages/:package_id/package_files
	KindListGroup     = "list_group"     // GET /groups/:id/packages
	KindDownload      = "download"       // generic GET/HEAD, package file download by ID
	KindUpload        = "upload"         // generic PUT
	KindObjectStorage = "object_storage" // any request to ObjectStorageHandler
	KindOther         = "other"          // everything else
)

// Counts returns how many requests of each kind the server has received
// since it started or since ResetCounts. Every request counts, whatever its
// outcome, including those answered by a fault.
func (s *Server) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// ResetCounts sets every count to zero.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.counts)
}

// SetLatency delays every API request (not object-storage requests) by d
// before it is handled. Zero turns the delay off.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetMaxFileSize changes the upload size limit; see Options.MaxFileSize.
func (s *Server) SetMaxFileSize(n int64) {
	if n == 0 {
		n = DefaultMaxFileSize
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxFileSize = n
}

func (s *Server) count(kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[kind]++
}

// ServeHTTP serves GitLab's API under /api/v4.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rt := route(r)
	s.count(rt.kind)
	lw := &logWriter{ResponseWriter: w}
	defer func() {
		if s.opts.Logf != nil {
			s.opts.Logf("%s %s %d %dB %s", r.Method, redactURL(r.URL), lw.status(), lw.n, time.Since(start).Round(time.Microsecond))
		}
	}()
	w = lw
	w, done := s.applyFault(w, r)
	if done {
		return
	}
	s.mu.Lock()
	lat := s.latency
	s.mu.Unlock()
	if lat > 0 && !sleep(r.Context(), lat) {
		return
	}
	rt.handle(s, w, r)
}

// apiRoute is a matched request.
type apiRoute struct {
	kind   string
	handle func(s *Server, w http.ResponseWriter, r *http.Request)
}

// route matches r against the API. Path parameters are cut from the escaped
// path, so that %2F in a project path stays inside its segment.
func route(r *http.Request) apiRoute {
	notFound := apiRoute{KindOther, func(s *Server, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
	}}
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/api/v4/")
	if !ok {
		return notFound
	}
	segs := strings.Split(rest, "/")
	get := r.Method == http.MethodGet || r.Method == http.MethodHead
	del := r.Method == http.MethodDelete
	if len(segs) == 3 && segs[0] == "groups" && segs[2] == "packages" && get {
		return apiRoute{KindListGroup, func(s *Server, w http.ResponseWriter, r *http.Request) { s.listGroup(w, r, segs[1]) }}
	}
	if len(segs) < 3 || segs[0] != "projects" || segs[2] != "packages" || segs[1] == "" {
		return notFound
	}
	pid := segs[1]
	if len(segs) > 4 && segs[3] == "generic" {
		g := strings.Join(segs[4:], "/")
		switch r.Method {
		case http.MethodPut:
			return apiRoute{KindUpload, func(s *Server, w http.ResponseWriter, r *http.Request) { s.upload(w, r, pid, g) }}
		case http.MethodGet, http.MethodHead:
			return apiRoute{KindDownload, func(s *Server, w http.ResponseWriter, r *http.Request) { s.download(w, r, pid, g) }}
		}
		return apiRoute{KindOther, func(s *Server, w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusMethodNotAllowed, message("405 Method Not Allowed"))
		}}
	}
	p := func(kind string, ra routeAuth, h func(*Server, http.ResponseWriter, *http.Request, *projectCall)) apiRoute {
		return apiRoute{kind, func(s *Server, w http.ResponseWriter, r *http.Request) {
			if c := s.projectCall(w, r, pid, ra); c != nil {
				c.segs = segs
				h(s, w, r, c)
			}
		}}
	}
	files := len(segs) > 4 && segs[4] == "package_files"
	switch {
	case len(segs) == 3 && get:
		return p(KindListPackages, authProject, (*Server).listPackages)
	case len(segs) == 4 && get:
		return p(KindOther, authProject, (*Server).getPackage)
	case len(segs) == 4 && del:
		return p(KindOther, authProject, (*Server).deletePackage)
	case len(segs) == 5 && files && get:
		return p(KindListFiles, authProjectPub, (*Server).listFiles)
	case len(segs) == 6 && files && del:
		return p(KindOther, authProject, (*Server).deleteFile)
	case len(segs) == 7 && files && segs[6] == "download" && get:
		return p(KindDownload, authProjectPub, (*Server).downloadByID)
	}
	return notFound
}

// lookupProject resolves a project path segment as GitLab's find_project
// does: all digits is an ID, a path with a slash is a full path, anything
// else finds nothing.
func (s *Server) lookupProject(seg string) (Project, bool) {
	id, err := url.PathUnescape(seg)
	if err != nil || id == "" {
		return Project{}, false
	}
	if n, err := strconv.ParseInt(id, 10, 64); err == nil && isDigits(id) {
		p, err := s.store.Project(n)
		return p, err == nil
	}
	if !strings.Contains(id, "/") {
		return Project{}, false
	}
	p, err := s.store.ProjectByPath(id)
	return p, err == nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// message is GitLab's usual error body.
func message(m string) map[string]string { return map[string]string{"message": m} }

// writeJSON writes v with an explicit Content-Length, as GitLab does.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"message":"500 Internal Server Error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func writeAuthError(w http.ResponseWriter, e *authError) {
	if e.realm {
		w.Header().Set("WWW-Authenticate", `Basic realm="GitLab Packages Registry"`)
	}
	if e.bearer != "" {
		w.Header().Set("WWW-Authenticate", e.bearer)
	}
	writeJSON(w, e.status, e.body)
}

// baseURL is the external URL without a trailing slash.
func (s *Server) baseURL(r *http.Request) string {
	if s.opts.ExternalURL != "" {
		return strings.TrimSuffix(s.opts.ExternalURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// timeJSON formats a time as GitLab's API does.
func timeJSON(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func (s *Server) now() time.Time { return s.opts.Now() }

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// redactURL returns the path and query of u with token parameters masked.
func redactURL(u *url.URL) string {
	out := u.EscapedPath()
	if u.RawQuery == "" {
		return out
	}
	q := u.Query()
	for _, k := range []string{"private_token", "job_token", "access_token"} {
		if q.Has(k) {
			q.Set(k, "REDACTED")
		}
	}
	return out + "?" + q.Encode()
}

// logWriter records the status and size of a response for the access log.
type logWriter struct {
	http.ResponseWriter
	code int
	n    int64
}

func (w *logWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *logWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *logWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *logWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}
