package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// pkgKey identifies the one live (not pending_destruction) package a
// project may hold per name and version.
type pkgKey struct {
	project       int64
	name, version string
}

// dupSetting is a project's generic duplicate setting.
type dupSetting struct {
	allowed bool
	re      *regexp.Regexp // anchored; nil when empty
}

// SetDuplicates sets a project's generic_duplicates_allowed and
// generic_duplicate_exception_regex with GitLab's newest semantics: the
// exception regex, anchored and tested against the package name and the
// version, inverts the setting. With duplicates allowed it lists names or
// versions that must not be duplicated; with duplicates disallowed it lists
// those that may be. A rejected duplicate is 400 "Duplicate package is not
// allowed".
func (s *Server) SetDuplicates(projectID int64, allowed bool, exceptionRegex string) error {
	d := dupSetting{allowed: allowed}
	if exceptionRegex != "" {
		re, err := regexp.Compile(`\A(?:` + exceptionRegex + `)\z`)
		if err != nil {
			return fmt.Errorf("duplicate exception regex %q: %w", exceptionRegex, err)
		}
		d.re = re
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dups[projectID] = d
	return nil
}

// duplicateAllowed reports whether a file may be added next to a live file
// of the same name.
func (s *Server) duplicateAllowed(projectID int64, name, version string) bool {
	s.mu.Lock()
	d, ok := s.dups[projectID]
	s.mu.Unlock()
	if !ok {
		return !s.opts.DisallowDuplicates
	}
	match := d.re != nil && (d.re.MatchString(name) || d.re.MatchString(version))
	if d.allowed {
		return !match
	}
	return match
}

// livePackage returns the project's package with name and version that is
// not pending destruction.
func (s *Server) livePackage(projectID int64, name, version string) (Package, bool, error) {
	pkgs, err := s.store.PackagesNamed(projectID, name)
	if err != nil {
		return Package{}, false, err
	}
	for _, p := range pkgs {
		if p.Version == version && p.Type == "generic" && p.Status != StatusPendingDestruction {
			return p, true, nil
		}
	}
	return Package{}, false, nil
}

var errTooLarge = errors.New("file is too large")
var errStalled = errors.New("upload body stalled")
var errDuplicate = errors.New("duplicate package is not allowed")
var errInCreation = errors.New("package is being created by a concurrent upload")

// addFile stores body as a file of name@version in project, creating the
// package if needed. status, when not empty, becomes the whole package's
// status. Like GitLab, a package that a concurrent upload is still creating
// cannot be created again: that upload fails with errInCreation, after its
// body has been read.
func (s *Server) addFile(projectID int64, name, version, storedName string, body io.Reader, status string, checkDup bool) (PackageFile, error) {
	key := pkgKey{projectID, name, version}
	s.writeMu.Lock()
	_, exists, err := s.livePackage(projectID, name, version)
	if err != nil {
		s.writeMu.Unlock()
		return PackageFile{}, err
	}
	creator, conflict := false, false
	if !exists {
		s.mu.Lock()
		if s.creating[key] {
			conflict = true
		} else {
			s.creating[key] = true
			creator = true
		}
		s.mu.Unlock()
	}
	s.writeMu.Unlock()
	if creator {
		defer func() {
			s.mu.Lock()
			delete(s.creating, key)
			s.mu.Unlock()
		}()
	}

	bw, err := s.store.NewBlob()
	if err != nil {
		return PackageFile{}, err
	}
	h := sha256.New()
	size, err := copyBuffered(io.MultiWriter(bw, h), body)
	if err != nil {
		bw.Abort()
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return PackageFile{}, errTooLarge
		case errors.Is(err, errStalled):
			return PackageFile{}, errStalled
		}
		return PackageFile{}, fmt.Errorf("read upload: %w", err)
	}
	if conflict {
		bw.Abort()
		return PackageFile{}, errInCreation
	}
	if limit := s.fileSizeLimit(); limit > 0 && size > limit {
		bw.Abort()
		return PackageFile{}, errTooLarge
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if err := bw.Commit(sum); err != nil {
		return PackageFile{}, err
	}

	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	now := s.now()
	file := PackageFile{FileName: storedName, Size: size, SHA256: sum, Status: StatusDefault, CreatedAt: now, UpdatedAt: now}
	pkg, exists, err := s.livePackage(projectID, name, version)
	if err != nil {
		return PackageFile{}, err
	}
	if !exists {
		if status == "" {
			status = StatusDefault
		}
		pkg = Package{ProjectID: projectID, Name: name, Version: version, Type: "generic", Status: status, CreatedAt: now, UpdatedAt: now}
		_, file, err = s.store.CreatePackage(pkg, file)
		return file, err
	}
	if checkDup && !s.duplicateAllowed(projectID, name, version) {
		files, err := s.store.FilesNamed(pkg.ID, storedName)
		if err != nil {
			return PackageFile{}, err
		}
		for _, f := range files {
			if f.Status != StatusPendingDestruction {
				return PackageFile{}, errDuplicate
			}
		}
	}
	file.PackageID = pkg.ID
	if file, err = s.store.CreateFile(file); err != nil {
		return PackageFile{}, err
	}
	if status != "" {
		pkg.Status = status
	}
	pkg.UpdatedAt = now
	return file, s.store.UpdatePackage(pkg)
}

// upload serves PUT /projects/:id/packages/generic/:name/:version/(*path/):file.
func (s *Server) upload(w http.ResponseWriter, r *http.Request, pid, rest string) {
	id, aerr := s.identify(r, authGenericPut)
	if aerr == nil {
		aerr = checkScope(id, r.Method)
	}
	if aerr == nil && id.kind == anonymous {
		aerr = unauthorized()
	}
	if aerr != nil {
		aerr.realm = aerr.status == http.StatusUnauthorized && aerr.bearer == ""
		writeAuthError(w, aerr)
		return
	}
	g, msg, ok := parseGenericPath(rest)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
		return
	}
	q := r.URL.Query()
	status := q.Get("status")
	if q.Has("status") && status != StatusDefault && status != StatusHidden {
		msg = joinMsg(msg, "status does not have a valid value")
	}
	if q.Has("select") && q.Get("select") != "package_file" {
		msg = joinMsg(msg, "select does not have a valid value")
	}
	if msg != "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
		return
	}

	// A Content-Length over the limit is refused before anything is read
	// or stored, even a project; a body without one is cut at the limit.
	limit := s.fileSizeLimit()
	tooLarge := limit > 0 && r.ContentLength > limit
	p, found := s.lookupProject(pid)
	created := false
	if !found && s.opts.AutoCreateProjects && id.kind == userIdent {
		np, invalid, ok := autoProject(pid)
		switch {
		case invalid != "":
			writeJSON(w, http.StatusBadRequest, message("400 Bad request - Project path "+invalid))
			return
		case ok && tooLarge:
			writeJSON(w, http.StatusBadRequest, message("400 Bad request - File is too large"))
			return
		case ok:
			p, created, found = s.autoCreate(np, id.user)
		}
	}
	if !found || !s.canReadProject(id, p, authGenericPut) {
		writeJSON(w, http.StatusNotFound, message("404 Not Found"))
		return
	}
	if !s.canCreatePackage(id, p) {
		writeJSON(w, http.StatusForbidden, message("403 Forbidden"))
		return
	}
	if tooLarge {
		writeJSON(w, http.StatusBadRequest, message("400 Bad request - File is too large"))
		return
	}
	body := io.Reader(r.Body)
	if limit > 0 {
		body = http.MaxBytesReader(w, r.Body, limit)
	}
	if d := s.opts.UploadIdleTimeout; d > 0 {
		body = &idleReader{r: body, rc: http.NewResponseController(w), d: d, deadlines: true}
	}

	file, err := s.addFile(p.ID, g.name, g.version, g.storedName(), body, status, true)
	if err != nil && created {
		s.dropCreated(p.ID)
	}
	switch {
	case errors.Is(err, errTooLarge):
		writeJSON(w, http.StatusBadRequest, message("400 Bad request - File is too large"))
		return
	case errors.Is(err, errStalled):
		w.Header().Set("Connection", "close")
		writeJSON(w, http.StatusRequestTimeout, message("408 Request Timeout"))
		return
	case errors.Is(err, errDuplicate):
		writeJSON(w, http.StatusBadRequest, message("400 Bad request - Duplicate package is not allowed"))
		return
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, message("500 Internal Server Error"))
		return
	}
	if q.Get("select") == "package_file" {
		writeJSON(w, http.StatusOK, s.fileRow(r, file))
		return
	}
	writeJSON(w, http.StatusCreated, message("201 Created"))
}

func joinMsg(a, b string) string {
	if a == "" {
		return b
	}
	return a + ", " + b
}

// autoProject is the project that Options.AutoCreateProjects would create
// for a project path segment, not yet stored: a path's ID is 0 until then.
// ok is false when the segment names nothing a publish could create (as
// GitLab's find_project, which takes only digits or a path with a slash);
// invalid says why a path with a slash breaks GitLab's path rules.
func autoProject(seg string) (p Project, invalid string, ok bool) {
	raw, err := url.PathUnescape(seg)
	if err != nil {
		return Project{}, "", false
	}
	p = Project{Visibility: Public}
	switch {
	case isDigits(raw):
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n <= 0 {
			return Project{}, "", false
		}
		p.ID, p.Path = n, fmt.Sprintf("local/project-%d", n)
	case strings.Contains(raw, "/"):
		if msg := checkProjectPath(raw); msg != "" {
			return Project{}, msg, false
		}
		p.Path = raw
	default:
		return Project{}, "", false
	}
	return p, "", true
}

// Limits of GitLab's paths: Namespace::URL_MAX_LENGTH characters a segment
// and Namespace::NUMBER_OF_ANCESTORS_ALLOWED groups above a project.
const (
	maxPathSegment = 255
	maxGroupDepth  = 20
)

// checkProjectPath applies GitLab's rules for a project's full path
// (Gitlab::PathRegex): every segment is ASCII letters, digits, '_', '-' and
// '.', does not start with '-' and does not end in '.git' or '.atom'; a
// group's segment does not end in '.' either. On top of them, '.' and '..'
// are refused as segments. It returns what is wrong, or "" when the path
// is valid. Reserved names (GitLab's TOP_LEVEL_ROUTES and the like) are not
// checked: no route of this server can be masked by a project.
func checkProjectPath(path string) string {
	segs := strings.Split(path, "/")
	if len(segs) > maxGroupDepth+1 {
		return fmt.Sprintf("has more than %d levels of groups", maxGroupDepth)
	}
	for i, seg := range segs {
		group := i < len(segs)-1
		switch {
		case seg == "":
			return "has an empty segment"
		case seg == "." || seg == "..":
			return "has a '.' or '..' segment"
		case len(seg) > maxPathSegment:
			return fmt.Sprintf("has a segment longer than %d characters", maxPathSegment)
		case strings.IndexFunc(seg, func(r rune) bool { return !pathChar(r) }) >= 0:
			return "can contain only letters, digits, '_', '-', '.' and '/' between groups"
		case seg[0] == '-':
			return "has a segment that starts with '-'"
		case strings.HasSuffix(seg, ".git") || strings.HasSuffix(seg, ".atom"):
			return "has a segment that ends in '.git' or '.atom'"
		case group && strings.HasSuffix(seg, "."):
			return "has a group that ends in '.'"
		}
	}
	return ""
}

func pathChar(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '-' || r == '.'
}

// autoCreate creates p, a project from autoProject, with the uploading
// user as its Owner, or returns the project that took its ID or path
// meanwhile.
func (s *Server) autoCreate(p Project, user string) (_ Project, created, ok bool) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	q, err := s.store.ProjectByPath(p.Path)
	if p.ID != 0 {
		q, err = s.store.Project(p.ID)
	}
	if err == nil {
		return q, false, true
	}
	p, err = s.store.CreateProject(p)
	if err != nil {
		return Project{}, false, false
	}
	s.AddMember(p.ID, user, Owner)
	return p, true, true
}

// dropCreated removes project id, which an upload created and then failed
// to store its file in (a body over the size limit, stalled or cut off), as
// long as nothing was stored in it and no other upload is storing into it:
// only a successful upload creates a project, as on GitLab.
func (s *Server) dropCreated(id int64) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	for k := range s.creating {
		if k.project == id {
			s.mu.Unlock()
			return
		}
	}
	s.mu.Unlock()
	if s.store.DeleteProject(id) == nil {
		s.mu.Lock()
		delete(s.members, id)
		s.mu.Unlock()
	}
}

// fileSizeLimit is the upload size limit; negative means none.
func (s *Server) fileSizeLimit() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxFileSize
}

// idleReader reads an upload body with a read deadline d ahead of every
// read, so a body that stops arriving fails with errStalled after d of
// silence while one that keeps moving is never cut, however long it takes.
// Where the ResponseWriter has no read deadlines it reads without them.
type idleReader struct {
	r         io.Reader
	rc        *http.ResponseController
	d         time.Duration
	deadlines bool
}

func (ir *idleReader) Read(p []byte) (int, error) {
	if ir.deadlines && ir.rc.SetReadDeadline(time.Now().Add(ir.d)) != nil {
		ir.deadlines = false
	}
	n, err := ir.r.Read(p)
	if err != nil && ir.deadlines {
		ir.deadlines = false
		if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
			// The deadline stays: net/http then gives up at once on
			// the rest of the body instead of waiting to discard it,
			// and closes the connection.
			return n, errStalled
		}
		// The connection may serve further requests: no deadline for
		// them.
		ir.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// fileRow is the raw package-file record GitLab returns for
// select=package_file.
type fileRow struct {
	ID                     int64             `json:"id"`
	PackageID              int64             `json:"package_id"`
	CreatedAt              string            `json:"created_at"`
	UpdatedAt              string            `json:"updated_at"`
	Size                   int64             `json:"size"`
	FileStore              int               `json:"file_store"`
	FileMD5                *string           `json:"file_md5"`
	FileSHA1               *string           `json:"file_sha1"`
	FileName               string            `json:"file_name"`
	File                   map[string]string `json:"file"`
	FileSHA256             string            `json:"file_sha256"`
	VerificationRetryAt    *string           `json:"verification_retry_at"`
	VerifiedAt             *string           `json:"verified_at"`
	VerificationFailure    *string           `json:"verification_failure"`
	VerificationRetryCount *int              `json:"verification_retry_count"`
	VerificationChecksum   *string           `json:"verification_checksum"`
	VerificationState      int               `json:"verification_state"`
	VerificationStartedAt  *string           `json:"verification_started_at"`
	Status                 string            `json:"status"`
	NewFilePath            *string           `json:"new_file_path"`
}

func (s *Server) fileRow(r *http.Request, f PackageFile) fileRow {
	store, u := 1, fmt.Sprintf("/packages/%d/files/%d/%s", f.PackageID, f.ID, f.FileName)
	if base := s.objectStorageURL(); base != "" {
		store, u = 2, s.signedURL(base, f)
	}
	return fileRow{
		ID: f.ID, PackageID: f.PackageID,
		CreatedAt: timeJSON(f.CreatedAt), UpdatedAt: timeJSON(f.UpdatedAt),
		Size: f.Size, FileStore: store, FileName: f.FileName,
		File:       map[string]string{"url": u},
		FileSHA256: f.SHA256, Status: f.Status,
	}
}

// download serves GET and HEAD /projects/:id/packages/generic/...
func (s *Server) download(w http.ResponseWriter, r *http.Request, pid, rest string) {
	g, msg, ok := parseGenericPath(rest)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "404 Not Found"})
		return
	}
	if msg != "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
		return
	}
	id, aerr := s.identify(r, authGenericGet)
	if aerr == nil {
		aerr = checkScope(id, r.Method)
	}
	if aerr != nil {
		aerr.realm = aerr.status == http.StatusUnauthorized && aerr.bearer == ""
		writeAuthError(w, aerr)
		return
	}
	// unauthorizedOr is GitLab's unauthorized_or!: 401 for anonymous
	// callers, the given answer for everyone else.
	unauthorizedOr := func(status int, msg string) {
		if id.kind == anonymous {
			e := unauthorized()
			e.realm = true
			writeAuthError(w, e)
			return
		}
		writeJSON(w, status, message(msg))
	}
	p, found := s.lookupProject(pid)
	if !found {
		unauthorizedOr(http.StatusNotFound, "404 Not Found")
		return
	}
	if !s.canReadPackages(id, p, authGenericGet) {
		if s.canReadProject(id, p, authGenericGet) {
			writeJSON(w, http.StatusForbidden, message("403 Forbidden"))
			return
		}
		unauthorizedOr(http.StatusNotFound, "404 Not Found")
		return
	}
	pkg, file, ok := s.installableFile(p.ID, g.name, g.version, g.storedName())
	if !ok {
		writeJSON(w, http.StatusNotFound, message("404 Not found"))
		return
	}
	s.serveFile(w, r, pkg, file)
}

// installableFile finds the newest downloadable file of that name in the
// installable (default, hidden or deprecated) package name@version.
func (s *Server) installableFile(projectID int64, name, version, storedName string) (Package, PackageFile, bool) {
	pkgs, err := s.store.PackagesNamed(projectID, name)
	if err != nil {
		return Package{}, PackageFile{}, false
	}
	for _, p := range pkgs {
		if p.Version != version || p.Type != "generic" || !installable(p.Status) {
			continue
		}
		files, err := s.store.FilesNamed(p.ID, storedName)
		if err != nil {
			return Package{}, PackageFile{}, false
		}
		for i := len(files) - 1; i >= 0; i-- {
			if f := files[i]; f.Status == StatusDefault {
				return p, f, true
			}
		}
		return Package{}, PackageFile{}, false
	}
	return Package{}, PackageFile{}, false
}

// installable statuses can be downloaded by name.
func installable(status string) bool {
	return status == StatusDefault || status == StatusHidden || status == StatusDeprecated
}

// serveFile answers a successful download: a 302 to object storage in
// object-storage mode, else the bytes with GitLab's local-storage headers
// and Range support.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, pkg Package, f PackageFile) {
	s.writeMu.Lock()
	if cur, err := s.store.Package(pkg.ID); err == nil {
		cur.LastDownloadedAt = s.now()
		s.store.UpdatePackage(cur)
	}
	s.writeMu.Unlock()

	if base := s.objectStorageURL(); base != "" {
		w.Header().Set("Location", s.signedURL(base, f))
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusFound)
		return
	}
	b, err := s.store.OpenBlob(f.SHA256)
	if err != nil {
		writeJSON(w, http.StatusNotFound, message("404 Not Found"))
		return
	}
	defer b.Close()
	h := w.Header()
	h.Set("Content-Disposition", contentDisposition(f.FileName))
	h.Set("Content-Transfer-Encoding", "binary")
	h.Set("Content-Type", "application/octet-stream")
	h.Set("X-Checksum-SHA256", f.SHA256)
	http.ServeContent(bulkWriter{w}, r, "", f.CreatedAt.Truncate(time.Second), b)
}
