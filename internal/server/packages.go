package server

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// packageTypes are the values GitLab accepts for package_type.
var packageTypes = []string{
	"maven", "npm", "conan", "nuget", "pypi", "composer", "generic", "golang", "debian",
	"rubygems", "helm", "terraform_module", "rpm", "ml_model", "cargo",
}

var statuses = []string{
	StatusDefault, StatusHidden, StatusProcessing, StatusError, StatusPendingDestruction, StatusDeprecated,
}

// displayable statuses are listed by default and can be looked up by ID.
func displayable(status string) bool {
	return status == StatusDefault || status == StatusError || status == StatusDeprecated
}

// detailedInfo statuses get a single-package GET and a web_path.
func detailedInfo(status string) bool {
	return status == StatusDefault || status == StatusDeprecated
}

// projectCall is a request to the project packages API that passed
// GitLab's find_project! and authorize_packages_access!.
type projectCall struct {
	id ident
	p  Project
	// segs is the escaped path after /api/v4/, split at slashes:
	// projects, :id, packages, :package_id, package_files, :file_id, ...
	segs []string
}

// projectCall authenticates r and finds the project like GitLab's
// find_project!: 404 "Project Not Found" when the caller cannot see it (403
// with the allowlist message for job tokens), 403 when the caller can see it
// but not read its packages.
func (s *Server) projectCall(w http.ResponseWriter, r *http.Request, pid string, ra routeAuth) *projectCall {
	id, aerr := s.identify(r, ra)
	if aerr == nil {
		aerr = checkScope(id, r.Method)
	}
	if aerr != nil {
		writeAuthError(w, aerr)
		return nil
	}
	p, ok := s.lookupProject(pid)
	if !ok {
		writeJSON(w, http.StatusNotFound, message("404 Project Not Found"))
		return nil
	}
	if !s.canReadProject(id, p, ra) {
		if id.isJob() {
			src := fmt.Sprint(id.jobSource)
			if sp, err := s.store.Project(id.jobSource); err == nil {
				src = sp.Name()
			}
			writeJSON(w, http.StatusForbidden, message(fmt.Sprintf(
				"403 Forbidden - Authentication by CI/CD job token not allowed from %s to %s.", src, p.Name())))
			return nil
		}
		writeJSON(w, http.StatusNotFound, message("404 Project Not Found"))
		return nil
	}
	if !s.canReadPackages(id, p, ra) {
		writeJSON(w, http.StatusForbidden, message("403 Forbidden"))
		return nil
	}
	return &projectCall{id: id, p: p}
}

// listQuery holds the filters and order of a package list.
type listQuery struct {
	orderBy, sort   string
	pkgType         string
	name, version   string
	status          string
	excludeSubgroup bool
}

// parseListQuery validates the package list parameters like Grape.
func parseListQuery(q url.Values, group bool) (lq listQuery, page, perPage int, msg string) {
	if group {
		if v, ok := q["exclude_subgroups"]; ok {
			b, valid := parseBool(v[0])
			if !valid {
				msg = joinMsg(msg, "exclude_subgroups is invalid")
			}
			lq.excludeSubgroup = b
		}
	}
	page, perPage, pm := parsePagination(q)
	msg = joinMsg2(msg, pm)
	oneOf := func(param, def string, values ...string) string {
		v, ok := q[param]
		if !ok {
			return def
		}
		if !slices.Contains(values, v[0]) {
			msg = joinMsg(msg, param+" does not have a valid value")
		}
		return v[0]
	}
	orders := []string{"created_at", "name", "version", "type"}
	if group {
		orders = append(orders, "project_path")
	}
	lq.orderBy = oneOf("order_by", "created_at", orders...)
	lq.sort = oneOf("sort", "asc", "asc", "desc")
	lq.pkgType = oneOf("package_type", "", packageTypes...)
	lq.name = q.Get("package_name")
	lq.version = q.Get("package_version")
	if v, ok := q["include_versionless"]; ok {
		if _, valid := parseBool(v[0]); !valid {
			msg = joinMsg(msg, "include_versionless is invalid")
		}
	}
	lq.status = oneOf("status", "", statuses...)
	return lq, page, perPage, msg
}

func joinMsg2(a, b string) string {
	if b == "" {
		return a
	}
	return joinMsg(a, b)
}

// parseBool accepts what Grape's Boolean coercion accepts.
func parseBool(v string) (b, ok bool) {
	switch strings.ToLower(v) {
	case "1", "t", "true", "y", "yes", "on":
		return true, true
	case "0", "f", "false", "n", "no", "off":
		return false, true
	}
	return false, false
}

// quotedTermRE is GitLab's REGEX_QUOTED_TERM, without its lookarounds: a
// quoted term must be preceded by the start or a space and followed by a
// space or the end, which searchTerms checks by hand.
var quotedTermRE = lazyRE(`"[^"]+"`)

// searchTerms splits a package_name query like GitLab's fuzzy search:
// "quoted phrases" and whitespace-separated words.
func searchTerms(query string) []string {
	query = strings.Join(strings.Fields(query), " ")
	var quoted []string
	var rest strings.Builder
	last := 0
	for _, m := range quotedTermRE().FindAllStringIndex(query, -1) {
		before := m[0] == 0 || query[m[0]-1] == ' '
		after := m[1] == len(query) || query[m[1]] == ' '
		if !before || !after || m[0] < last {
			continue
		}
		rest.WriteString(query[last:m[0]])
		quoted = append(quoted, query[m[0]+1:m[1]-1])
		last = m[1]
	}
	rest.WriteString(query[last:])
	return append(strings.Fields(rest.String()), quoted...)
}

// match applies the list filters to one package.
func (lq listQuery) match(p Package, terms []string) bool {
	if lq.pkgType != "" && p.Type != lq.pkgType {
		return false
	}
	if lq.pkgType == "" && p.Type == "terraform_module" {
		return false
	}
	name := strings.ToLower(p.Name)
	for _, t := range terms {
		if !strings.Contains(name, strings.ToLower(t)) {
			return false
		}
	}
	if lq.version != "" && p.Version != lq.version {
		return false
	}
	if lq.status != "" {
		return p.Status == lq.status
	}
	return displayable(p.Status)
}

// listed is a package with its project, for sorting and rendering.
type listed struct {
	pkg  Package
	proj Project
}

func (lq listQuery) sortList(items []listed) {
	slices.SortStableFunc(items, func(a, b listed) int {
		var c int
		switch lq.orderBy {
		case "name":
			c = strings.Compare(a.pkg.Name, b.pkg.Name)
		case "version":
			c = strings.Compare(a.pkg.Version, b.pkg.Version)
		case "type":
			c = strings.Compare(a.pkg.Type, b.pkg.Type)
		case "project_path":
			c = strings.Compare(a.proj.Path, b.proj.Path)
		default:
			c = a.pkg.CreatedAt.Compare(b.pkg.CreatedAt)
		}
		if c == 0 {
			c = cmp.Compare(a.pkg.ID, b.pkg.ID)
		}
		if lq.sort == "desc" {
			c = -c
		}
		return c
	})
}

// packageEntity is GitLab's API::Entities::Package for a generic package.
type packageEntity struct {
	ID               int64            `json:"id"`
	Name             string           `json:"name"`
	Version          string           `json:"version"`
	PackageType      string           `json:"package_type"`
	Status           string           `json:"status"`
	Links            packageLinks     `json:"_links"`
	CreatedAt        string           `json:"created_at"`
	LastDownloadedAt *string          `json:"last_downloaded_at"`
	ProjectID        *int64           `json:"project_id,omitempty"`
	ProjectPath      *string          `json:"project_path,omitempty"`
	Tags             []string         `json:"tags"`
	Versions         *[]versionEntity `json:"versions,omitempty"`
}

type packageLinks struct {
	WebPath       string `json:"web_path,omitempty"`
	DeleteAPIPath string `json:"delete_api_path,omitempty"`
}

type versionEntity struct {
	ID        int64    `json:"id"`
	Version   string   `json:"version"`
	CreatedAt string   `json:"created_at"`
	Tags      []string `json:"tags"`
}

func (s *Server) packageEntity(r *http.Request, id ident, it listed, group bool) packageEntity {
	e := packageEntity{
		ID: it.pkg.ID, Name: it.pkg.Name, Version: it.pkg.Version, PackageType: it.pkg.Type,
		Status: it.pkg.Status, CreatedAt: timeJSON(it.pkg.CreatedAt), Tags: []string{},
	}
	if detailedInfo(it.pkg.Status) {
		e.Links.WebPath = fmt.Sprintf("/%s/-/packages/%d", it.proj.Path, it.pkg.ID)
	}
	if s.canDestroyPackage(id, it.proj) {
		e.Links.DeleteAPIPath = fmt.Sprintf("%s/api/v4/projects/%d/packages/%d", s.baseURL(r), it.proj.ID, it.pkg.ID)
	}
	if !it.pkg.LastDownloadedAt.IsZero() {
		t := timeJSON(it.pkg.LastDownloadedAt)
		e.LastDownloadedAt = &t
	}
	if group {
		pid, path := it.proj.ID, it.proj.Path
		e.ProjectID, e.ProjectPath = &pid, &path
	}
	return e
}

// writeList filters, sorts, paginates and renders packages.
func (s *Server) writeList(w http.ResponseWriter, r *http.Request, id ident, items []listed, lq listQuery, page, perPage int, group bool) {
	terms := searchTerms(lq.name)
	kept := items[:0]
	for _, it := range items {
		if lq.match(it.pkg, terms) {
			kept = append(kept, it)
		}
	}
	lq.sortList(kept)
	lo, hi := s.paginate(w, r, len(kept), page, perPage)
	out := make([]packageEntity, 0, hi-lo)
	for _, it := range kept[lo:hi] {
		out = append(out, s.packageEntity(r, id, it, group))
	}
	writeJSON(w, http.StatusOK, out)
}

// listPackages serves GET /projects/:id/packages.
func (s *Server) listPackages(w http.ResponseWriter, r *http.Request, c *projectCall) {
	lq, page, perPage, msg := parseListQuery(r.URL.Query(), false)
	if msg != "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
		return
	}
	pkgs, err := s.store.Packages(c.p.ID)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, message("500 Internal Server Error"))
		return
	}
	items := make([]listed, len(pkgs))
	for i, p := range pkgs {
		items[i] = listed{p, c.p}
	}
	s.writeList(w, r, c.id, items, lq, page, perPage, false)
}

// parseID reads an Integer path parameter.
func parseID(seg string) (int64, bool) {
	n, err := strconv.ParseInt(seg, 10, 64)
	return n, err == nil
}

// displayablePackage is GitLab's PackageFinder: a package of the project
// with a displayable status.
func (s *Server) displayablePackage(p Project, seg string) (Package, bool) {
	n, _ := parseID(seg)
	pkg, err := s.store.Package(n)
	if err != nil || pkg.ProjectID != p.ID || !displayable(pkg.Status) {
		return Package{}, false
	}
	return pkg, true
}

func invalidID(w http.ResponseWriter, seg, param string) bool {
	if _, ok := parseID(seg); ok {
		return false
	}
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": param + " is invalid"})
	return true
}

// getPackage serves GET /projects/:id/packages/:package_id.
func (s *Server) getPackage(w http.ResponseWriter, r *http.Request, c *projectCall) {
	seg := c.segs[3]
	if invalidID(w, seg, "package_id") {
		return
	}
	pkg, ok := s.displayablePackage(c.p, seg)
	if !ok {
		writeJSON(w, http.StatusNotFound, message("404 Not found"))
		return
	}
	if !detailedInfo(pkg.Status) {
		writeJSON(w, http.StatusNotFound, message("Package not found"))
		return
	}
	e := s.packageEntity(r, c.id, listed{pkg, c.p}, false)
	versions := []versionEntity{}
	all, _ := s.store.PackagesNamed(c.p.ID, pkg.Name)
	slices.SortStableFunc(all, func(a, b Package) int { return strings.Compare(a.Version, b.Version) })
	for _, o := range all {
		if o.Type == pkg.Type && o.Version != pkg.Version && displayable(o.Status) {
			versions = append(versions, versionEntity{ID: o.ID, Version: o.Version, CreatedAt: timeJSON(o.CreatedAt), Tags: []string{}})
		}
	}
	e.Versions = &versions
	writeJSON(w, http.StatusOK, e)
}

// checkUnmodifiedSince answers 412 when the resource changed after the
// request's If-Unmodified-Since.
func checkUnmodifiedSince(w http.ResponseWriter, r *http.Request, updated time.Time) bool {
	v := r.Header.Get("If-Unmodified-Since")
	if v == "" {
		return true
	}
	t, err := http.ParseTime(v)
	if err != nil || !updated.After(t) {
		return true
	}
	writeJSON(w, http.StatusPreconditionFailed, message("412 Precondition Failed"))
	return false
}

// deletePackage serves DELETE /projects/:id/packages/:package_id: the
// package and its files are marked pending_destruction, which hides them
// everywhere and frees the name+version at once.
func (s *Server) deletePackage(w http.ResponseWriter, r *http.Request, c *projectCall) {
	seg := c.segs[3]
	if invalidID(w, seg, "package_id") {
		return
	}
	if !s.canDestroyPackage(c.id, c.p) {
		writeJSON(w, http.StatusForbidden, message("403 Forbidden"))
		return
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	pkg, ok := s.displayablePackage(c.p, seg)
	if !ok {
		writeJSON(w, http.StatusNotFound, message("404 Not found"))
		return
	}
	if !checkUnmodifiedSince(w, r, pkg.UpdatedAt) {
		return
	}
	if err := s.markForDestruction(pkg); err != nil {
		writeJSON(w, http.StatusInternalServerError, message("500 Internal Server Error"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// markForDestruction marks a package and its files pending_destruction.
// The caller holds writeMu.
func (s *Server) markForDestruction(pkg Package) error {
	now := s.now()
	pkg.Status, pkg.UpdatedAt = StatusPendingDestruction, now
	if err := s.store.UpdatePackage(pkg); err != nil {
		return err
	}
	files, err := s.store.Files(pkg.ID)
	if err != nil {
		return err
	}
	for _, f := range files {
		if f.Status != StatusPendingDestruction {
			f.Status, f.UpdatedAt = StatusPendingDestruction, now
			if err := s.store.UpdateFile(f); err != nil {
				return err
			}
		}
	}
	return nil
}

// fileEntity is GitLab's API::Entities::PackageFile.
type fileEntity struct {
	ID         int64   `json:"id"`
	PackageID  int64   `json:"package_id"`
	CreatedAt  string  `json:"created_at"`
	FileName   string  `json:"file_name"`
	Size       int64   `json:"size"`
	FileMD5    *string `json:"file_md5"`
	FileSHA1   *string `json:"file_sha1"`
	FileSHA256 string  `json:"file_sha256"`
}

// listFiles serves GET /projects/:id/packages/:package_id/package_files.
func (s *Server) listFiles(w http.ResponseWriter, r *http.Request, c *projectCall) {
	seg := c.segs[3]
	q := r.URL.Query()
	msg := ""
	if _, ok := parseID(seg); !ok {
		msg = "package_id is invalid"
	}
	page, perPage, pm := parsePagination(q)
	msg = joinMsg2(msg, pm)
	orderBy, sortDir := "id", "asc"
	if v, ok := q["order_by"]; ok {
		orderBy = v[0]
		if !slices.Contains([]string{"id", "created_at", "file_name"}, orderBy) {
			msg = joinMsg(msg, "order_by does not have a valid value")
		}
	}
	if v, ok := q["sort"]; ok {
		sortDir = v[0]
		if sortDir != "asc" && sortDir != "desc" {
			msg = joinMsg(msg, "sort does not have a valid value")
		}
	}
	if msg != "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
		return
	}
	pkg, ok := s.displayablePackage(c.p, seg)
	if !ok {
		writeJSON(w, http.StatusNotFound, message("404 Not found"))
		return
	}
	all, err := s.store.Files(pkg.ID)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, message("500 Internal Server Error"))
		return
	}
	var files []PackageFile
	for _, f := range all {
		if f.Status == StatusDefault {
			files = append(files, f)
		}
	}
	slices.SortStableFunc(files, func(a, b PackageFile) int {
		var c int
		switch orderBy {
		case "created_at":
			c = a.CreatedAt.Compare(b.CreatedAt)
		case "file_name":
			c = strings.Compare(a.FileName, b.FileName)
		}
		if c == 0 {
			c = cmp.Compare(a.ID, b.ID)
		}
		if sortDir == "desc" {
			c = -c
		}
		return c
	})
	lo, hi := s.paginate(w, r, len(files), page, perPage)
	out := make([]fileEntity, 0, hi-lo)
	for _, f := range files[lo:hi] {
		out = append(out, fileEntity{
			ID: f.ID, PackageID: f.PackageID, CreatedAt: timeJSON(f.CreatedAt),
			FileName: f.FileName, Size: f.Size, FileSHA256: f.SHA256,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// packageFile finds an installable file of a displayable package by IDs,
// answering GitLab's two different 404 bodies itself.
func (s *Server) packageFile(w http.ResponseWriter, c *projectCall, pkgSeg, fileSeg string) (Package, PackageFile, bool) {
	pkg, ok := s.displayablePackage(c.p, pkgSeg)
	if !ok {
		writeJSON(w, http.StatusNotFound, message("404 Not found"))
		return Package{}, PackageFile{}, false
	}
	n, _ := parseID(fileSeg)
	f, err := s.store.File(n)
	if err != nil || f.PackageID != pkg.ID || f.Status != StatusDefault {
		writeJSON(w, http.StatusNotFound, message("404 Not Found"))
		return Package{}, PackageFile{}, false
	}
	return pkg, f, true
}

// deleteFile serves DELETE /projects/:id/packages/:package_id/package_files/:file_id.
func (s *Server) deleteFile(w http.ResponseWriter, r *http.Request, c *projectCall) {
	pkgSeg, fileSeg := c.segs[3], c.segs[5]
	if invalidID(w, pkgSeg, "package_id") || invalidID(w, fileSeg, "package_file_id") {
		return
	}
	if !s.canDestroyPackage(c.id, c.p) {
		writeJSON(w, http.StatusForbidden, message("403 Forbidden"))
		return
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	_, f, ok := s.packageFile(w, c, pkgSeg, fileSeg)
	if !ok {
		return
	}
	if !checkUnmodifiedSince(w, r, f.UpdatedAt) {
		return
	}
	f.Status, f.UpdatedAt = StatusPendingDestruction, s.now()
	if err := s.store.UpdateFile(f); err != nil {
		writeJSON(w, http.StatusInternalServerError, message("500 Internal Server Error"))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// downloadByID serves GET /projects/:id/packages/:package_id/package_files/:file_id/download
// (GitLab 18.4).
func (s *Server) downloadByID(w http.ResponseWriter, r *http.Request, c *projectCall) {
	pkgSeg, fileSeg := c.segs[3], c.segs[5]
	if invalidID(w, pkgSeg, "package_id") || invalidID(w, fileSeg, "package_file_id") {
		return
	}
	pkg, f, ok := s.packageFile(w, c, pkgSeg, fileSeg)
	if !ok {
		return
	}
	s.serveFile(w, r, pkg, f)
}
