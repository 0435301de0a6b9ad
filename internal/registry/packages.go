package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// Package is one row of GitLab's package list.
type Package struct {
	ID          int64
	Name        string
	Version     string
	PackageType string
	// Status is default, hidden, processing, error, pending_destruction or
	// deprecated. Only default and deprecated can be downloaded from a list.
	Status           string
	CreatedAt        time.Time
	LastDownloadedAt *time.Time
	// ProjectID and ProjectPath come from the group list; for project lists
	// they are filled from the project argument (ID or path).
	ProjectID   int64
	ProjectPath string
}

// PackageFile is one file of a package.
type PackageFile struct {
	ID        int64
	PackageID int64
	// FileName is decoded: GitLab stores directory paths URL-encoded
	// ("a%2Fb.bin"), this holds "a/b.bin".
	FileName string
	Size     int64
	// SHA256 is lowercase hex; empty when the server did not send one.
	SHA256    string
	CreatedAt time.Time
}

// maxPages bounds pagination; 1000 pages of 100 is 100,000 rows.
const maxPages = 1000

// ListPackages lists the downloadable versions of the generic package name
// in project: GitLab's name filter is a case-insensitive substring search,
// so only exact, case-sensitive name matches of type generic with a version
// are kept, and only statuses default and deprecated (error, processing,
// pending_destruction and hidden packages cannot be installed from a list).
func (c *Client) ListPackages(ctx context.Context, project, name string) ([]Package, error) {
	if name == "" {
		return nil, fmt.Errorf("listing packages in project %q: empty package name", project)
	}
	all, err := c.listProjectPackages(ctx, project, name)
	if err != nil {
		return nil, err
	}
	return Installable(all, name), nil
}

// Installable keeps the rows of a package listing that are versions of the
// generic package name that can be installed: exact, case-sensitive name
// (GitLab's name filter is a case-insensitive substring search), type
// generic, a version, and status default or deprecated.
func Installable(rows []Package, name string) []Package {
	var out []Package
	for _, p := range rows {
		if p.Name == name && p.PackageType == "generic" && p.Version != "" && Downloadable(p.Status) {
			out = append(out, p)
		}
	}
	return out
}

// ListAllPackages lists the generic packages of project whose names contain
// query (GitLab's fuzzy search; "" lists all), with every status the server
// shows, for search.
func (c *Client) ListAllPackages(ctx context.Context, project, query string) ([]Package, error) {
	return c.listProjectPackages(ctx, project, query)
}

func (c *Client) listProjectPackages(ctx context.Context, project, query string) ([]Package, error) {
	id, err := escapeID("project", project)
	if err != nil {
		return nil, err
	}
	q := url.Values{"package_type": {"generic"}, "per_page": {"100"}}
	if query != "" {
		q.Set("package_name", query)
	}
	u, err := c.endpoint("/projects/"+id+"/packages", q)
	if err != nil {
		return nil, err
	}
	pkgs, err := paginate(ctx, c, u, decodePackages)
	if err != nil {
		return nil, err
	}
	fillProject(pkgs, project)
	return pkgs, nil
}

// fillProject fills in the project of rows from a project listing, from
// the ID or path it was listed by.
func fillProject(pkgs []Package, project string) {
	pid, numErr := strconv.ParseInt(project, 10, 64)
	for i := range pkgs {
		if numErr == nil && pkgs[i].ProjectID == 0 {
			pkgs[i].ProjectID = pid
		}
		if numErr != nil && pkgs[i].ProjectPath == "" {
			pkgs[i].ProjectPath = project
		}
	}
}

// ListProjectPackages lists every generic package of project, all names and
// every status the server shows, in one paged listing, when that listing
// has at most maxPages pages of 100 rows; the pages after the first are
// requested at once. It reports false, after one request, when the listing
// is longer or the server does not say how long (GitLab stops counting
// above 10,000 rows): the caller then lists package by package
// (ListPackages), which is cheaper there.
//
// Offset pages are not a snapshot: a package published or deleted between
// two page requests shifts rows from one page to another, and a deletion
// and a publish together keep the count. So every page must report the
// first page's X-Total, the pages together must hold exactly that many
// distinct rows, and every page but the last, read again once all were
// read, must hold the same rows in the same order (a row that moved would
// have moved them); otherwise the listing is reported incomplete (false)
// rather than returned with a row missing.
func (c *Client) ListProjectPackages(ctx context.Context, project string, maxPages int) ([]Package, bool, error) {
	id, err := escapeID("project", project)
	if err != nil {
		return nil, false, err
	}
	u, err := c.endpoint("/projects/"+id+"/packages", url.Values{"package_type": {"generic"}, "per_page": {"100"}})
	if err != nil {
		return nil, false, err
	}
	body, first, err := c.getJSON(ctx, u)
	if err != nil {
		return nil, false, err
	}
	rows, err := decodePackages(body)
	if err != nil {
		return nil, false, fmt.Errorf("GET %s: %w", c.redact(u), err)
	}
	if first.next != nil {
		if first.total < 0 || first.totalPages < 2 || first.totalPages > maxPages {
			return nil, false, nil
		}
		last := first.totalPages
		pages := make([][]Package, last+1)
		pages[1] = rows
		if err := c.readPages(ctx, u, first, pages, 2, last); err == errShifted {
			return nil, false, nil
		} else if err != nil {
			return nil, false, err
		}
		rows = nil
		seen := make(map[int64]bool, first.total)
		for _, pg := range pages[1:] {
			for _, r := range pg {
				if !seen[r.ID] {
					seen[r.ID] = true
					rows = append(rows, r)
				}
			}
		}
		if len(seen) != first.total || len(rows) != first.total {
			return nil, false, nil
		}
		again := make([][]Package, last)
		if err := c.readPages(ctx, u, first, again, 1, last-1); err == errShifted {
			return nil, false, nil
		} else if err != nil {
			return nil, false, err
		}
		for n := 1; n < last; n++ {
			if !slices.EqualFunc(pages[n], again[n], func(a, b Package) bool { return a.ID == b.ID }) {
				return nil, false, nil
			}
		}
	}
	fillProject(rows, project)
	return rows, true, nil
}

// readPages reads pages from to to of the project listing whose first page
// is u (and said first), at once, --jobs at a time, as paginate requests
// pages ahead, into pages[n]. It returns errShifted when a page disagrees
// with the first about how many rows there are, or the last page links to
// another.
func (c *Client) readPages(ctx context.Context, u *url.URL, first pageInfo, pages [][]Package, from, to int) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cap(c.ahead))
	for n := from; n <= to; n++ {
		pu := *u
		if n > 1 {
			pu = *first.next
			q := pu.Query()
			q.Set("page", strconv.Itoa(n))
			pu.RawQuery = q.Encode()
		}
		g.Go(func() error {
			body, pg, err := c.getJSON(gctx, &pu)
			if err != nil {
				return err
			}
			if pg.total != first.total || n == first.totalPages && pg.next != nil {
				return errShifted
			}
			if pages[n], err = decodePackages(body); err != nil {
				return fmt.Errorf("GET %s: %w", c.redact(&pu), err)
			}
			return nil
		})
	}
	return g.Wait()
}

// errShifted says a page of a listing disagrees with the first about how
// many rows there are.
var errShifted = errors.New("the listing changed while it was read")

// ListGroupPackages lists the generic packages in group and its subgroups
// whose names contain query ("" lists all). Rows carry ProjectID and
// ProjectPath. GitLab does not accept job or deploy tokens here.
func (c *Client) ListGroupPackages(ctx context.Context, group, query string) ([]Package, error) {
	id, err := escapeID("group", group)
	if err != nil {
		return nil, err
	}
	q := url.Values{"package_type": {"generic"}, "per_page": {"100"}, "exclude_subgroups": {"false"}}
	if query != "" {
		q.Set("package_name", query)
	}
	u, err := c.endpoint("/groups/"+id+"/packages", q)
	if err != nil {
		return nil, err
	}
	return paginate(ctx, c, u, decodePackages)
}

// ListPackageFiles lists every file of package packageID in project, with
// decoded names. A name that is not safe as a relative path is an error.
func (c *Client) ListPackageFiles(ctx context.Context, project string, packageID int64) ([]PackageFile, error) {
	id, err := escapeID("project", project)
	if err != nil {
		return nil, err
	}
	if packageID <= 0 {
		return nil, fmt.Errorf("invalid package id %d", packageID)
	}
	u, err := c.endpoint("/projects/"+id+"/packages/"+strconv.FormatInt(packageID, 10)+"/package_files", url.Values{"per_page": {"100"}})
	if err != nil {
		return nil, err
	}
	return paginate(ctx, c, u, decodePackageFiles)
}

// identified is a row with an ID, for de-duplication across pages (GitLab
// orders packages by created_at without a tie-breaker).
type identified interface{ id() int64 }

func (p Package) id() int64     { return p.ID }
func (f PackageFile) id() int64 { return f.ID }

// paginate GETs u and every following page (X-Next-Page, else Link
// rel="next"), decoding each with decode. Pages are always fetched from the
// registry's own origin and path.
//
// The pages are read one after another, each from the link of the one
// before, as GitLab requires. When the first page announces X-Total-Pages
// (GitLab leaves it out above 10,000 rows) and links to page 2 with
// X-Next-Page, the next --jobs pages are requested ahead, in parallel, and
// the walk takes each from there when its link asks for that URL: a
// package of 10,000 files is 100 pages, 2.5 s of round trips at 25 ms each
// when read in turn. A page the walk does not ask for (the list changed
// meanwhile) is dropped; one it asks for that was not requested ahead is
// fetched then.
//
// Offset pages are not a snapshot: a row deleted before the page being
// read moves a row of that page back onto the page before, already read.
// So every page must report the X-Total of the first (when the server
// counts); when one does not, the listing changed while it was read and is
// read again from the start, up to listingTries times. (A deletion and a
// publish between the same two pages keep the count; ListProjectPackages,
// whose listings are long, reads its pages twice to see that.)
func paginate[T identified](ctx context.Context, c *Client, u *url.URL, decode func([]byte) ([]T, error)) ([]T, error) {
	for try := 1; ; try++ {
		out, err := paginateOnce(ctx, c, u, decode)
		if err != errShifted {
			return out, err
		}
		if try == listingTries {
			return nil, fmt.Errorf("GET %s: the listing changed while it was read, %d times; try again", c.redact(u), listingTries)
		}
	}
}

// listingTries is how many times paginate reads a listing that keeps
// changing while it is read.
const listingTries = 3

func paginateOnce[T identified](ctx context.Context, c *Client, u *url.URL, decode func([]byte) ([]T, error)) ([]T, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // abandons the pages requested ahead and not read
	var (
		out   []T
		seen  = map[int64]bool{}
		done  = map[string]bool{}
		ahead *lookahead
		total int // the first page's X-Total
	)
	for page := 1; u != nil; page++ {
		if page > maxPages {
			return nil, fmt.Errorf("GET %s: more than %d pages; giving up", c.redact(u), maxPages)
		}
		if done[u.String()] {
			return nil, fmt.Errorf("GET %s: the server sent the same page twice (pagination loop)", c.redact(u))
		}
		done[u.String()] = true
		var pg *pageResult
		if ahead != nil {
			pg = ahead.take(u)
		}
		if pg == nil {
			pg = &pageResult{}
			pg.body, pg.info, pg.err = c.getJSON(ctx, u)
		}
		if pg.err != nil {
			return nil, pg.err
		}
		if page == 1 {
			total = pg.info.total
		} else if pg.info.total != total {
			return nil, errShifted
		}
		if page == 1 && pg.info.offsetNext && pg.info.totalPages > 2 {
			ahead = &lookahead{c: c, ctx: ctx, base: pg.info.next, last: min(pg.info.totalPages, maxPages), started: 1, pages: map[string]*pageResult{}}
		}
		if ahead != nil {
			ahead.fill(page + cap(c.ahead))
		}
		rows, err := decode(pg.body)
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", c.redact(u), err)
		}
		for _, r := range rows {
			if r.id() != 0 && seen[r.id()] {
				continue
			}
			seen[r.id()] = true
			out = append(out, r)
		}
		u = pg.info.next
	}
	return out, nil
}

// lookahead holds the pages of one listing requested ahead of the walk.
type lookahead struct {
	c       *Client
	ctx     context.Context
	base    *url.URL // page 2, as page 1 linked to it
	last    int      // X-Total-Pages
	started int      // pages up to this one are requested (or read)
	pages   map[string]*pageResult
}

// pageResult is one listing page; done is closed once it is filled.
type pageResult struct {
	body []byte
	info pageInfo
	err  error
	done chan struct{}
}

// fill requests the pages up to upTo (at most last) not requested yet,
// each in the goroutine that fills its result, at most cap(c.ahead) at a
// time across the client. Their URLs are base's with the page number set,
// as the walk builds them from X-Next-Page.
func (a *lookahead) fill(upTo int) {
	for ; a.started < min(upTo, a.last); a.started++ {
		n := a.started + 1
		u := a.base
		if n > 2 {
			q := a.base.Query()
			q.Set("page", strconv.Itoa(n))
			nu := *a.base
			nu.RawQuery = q.Encode()
			u = &nu
		}
		r := &pageResult{done: make(chan struct{})}
		a.pages[u.String()] = r
		go func() {
			defer close(r.done)
			select {
			case a.c.ahead <- struct{}{}:
			case <-a.ctx.Done():
				r.err = a.ctx.Err()
				return
			}
			defer func() { <-a.c.ahead }()
			r.body, r.info, r.err = a.c.getJSON(a.ctx, u)
		}()
	}
}

// take returns the page of URL u once it has arrived, nil when it was not
// requested ahead.
func (a *lookahead) take(u *url.URL) *pageResult {
	r := a.pages[u.String()]
	if r == nil {
		return nil
	}
	delete(a.pages, u.String())
	<-r.done
	return r
}

// pageInfo is what a listing page's headers say about the others.
type pageInfo struct {
	next *url.URL // nil on the last page
	// offsetNext says next came from X-Next-Page (offset pagination),
	// not from a Link header.
	offsetNext bool
	// totalPages is X-Total-Pages, 0 when absent or invalid.
	totalPages int
	// total is X-Total, -1 when absent or invalid: GitLab leaves both out
	// above 10,000 rows.
	total int
}

// getJSON GETs one listing page with retries and returns its body (at most
// maxJSONBody bytes) and what its headers say about the next pages.
func (c *Client) getJSON(ctx context.Context, u *url.URL) (body []byte, info pageInfo, err error) {
	err = c.doAs(ctx, "GET "+c.redact(u), true, func(int) error {
		req, err := newRequest(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "application/json")
		resp, err := c.send(c.hc, req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return c.newHTTPError(resp, OpList)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONBody+1))
		if err != nil {
			return &requestError{method: "GET", url: c.redact(u), err: err, msg: "reading body: " + err.Error()}
		}
		if len(b) > maxJSONBody {
			return fmt.Errorf("GET %s: response larger than %d MiB", c.redact(u), maxJSONBody>>20)
		}
		body = b
		// After a redirect (e.g. a renamed project's 301), continue from
		// where the data came from if that is still the registry.
		cur := u
		if resp.Request != nil && sameOrigin(resp.Request.URL, c.api) {
			cur = resp.Request.URL
		}
		info = pageInfo{}
		if info.next, err = nextPage(cur, resp.Header); err != nil {
			return err
		}
		_, info.offsetNext = resp.Header["X-Next-Page"]
		if n, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("X-Total-Pages"))); err == nil && n > 0 {
			info.totalPages = n
		}
		info.total = -1
		if n, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("X-Total"))); err == nil && n >= 0 {
			info.total = n
		}
		return nil
	})
	return body, info, err
}

// nextPage derives the next page's URL from X-Next-Page (GitLab's offset
// pagination) or, when that header is absent, Link rel="next". Only the
// query of a Link URL is used: GitLab builds Link URLs from its configured
// external URL, whose host, port or path prefix may differ from the one we
// called, and credentials must never follow them elsewhere.
func nextPage(cur *url.URL, h http.Header) (*url.URL, error) {
	if vs, ok := h["X-Next-Page"]; ok {
		v := strings.TrimSpace(strings.Join(vs, ""))
		if v == "" {
			return nil, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("invalid X-Next-Page header %q", sanitize(v))
		}
		q := cur.Query()
		q.Set("page", strconv.Itoa(n))
		nu := *cur
		nu.RawQuery = q.Encode()
		return &nu, nil
	}
	link, ok := parseLinkNext(strings.Join(h.Values("Link"), ", "))
	if !ok {
		return nil, nil
	}
	lu, err := cur.Parse(link)
	if err != nil {
		return nil, fmt.Errorf("invalid Link next url: %w", err)
	}
	nu := *cur
	nu.RawQuery = lu.RawQuery
	return &nu, nil
}

// parseLinkNext returns the target of the rel="next" link in an RFC 8288
// Link header value (several values joined by commas).
func parseLinkNext(header string) (string, bool) {
	s := header
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" || s[0] != '<' {
			return "", false
		}
		end := strings.IndexByte(s, '>')
		if end < 0 {
			return "", false
		}
		target := strings.TrimSpace(s[1:end])
		if strings.Contains(target, "<") {
			// "<<x>": no URI reference holds a '<'; the header is
			// malformed, not a link to "<x".
			return "", false
		}
		s = s[end+1:]
		// Parameters up to the next comma outside quotes.
		isNext := false
		for {
			s = strings.TrimLeft(s, " \t")
			if s == "" || s[0] == ',' {
				break
			}
			if s[0] != ';' {
				// Malformed: skip to the next link value.
				i := strings.IndexAny(s, ",")
				if i < 0 {
					s = ""
				} else {
					s = s[i:]
				}
				break
			}
			s = strings.TrimLeft(s[1:], " \t")
			i := 0
			for i < len(s) && s[i] != '=' && s[i] != ';' && s[i] != ',' {
				i++
			}
			key := strings.ToLower(strings.TrimSpace(s[:i]))
			s = s[i:]
			var val string
			if s != "" && s[0] == '=' {
				s = strings.TrimLeft(s[1:], " \t")
				if s != "" && s[0] == '"' {
					j := 1
					var b strings.Builder
					for j < len(s) && s[j] != '"' {
						if s[j] == '\\' && j+1 < len(s) {
							j++
						}
						b.WriteByte(s[j])
						j++
					}
					val = b.String()
					if j < len(s) {
						j++
					}
					s = s[j:]
				} else {
					j := 0
					for j < len(s) && s[j] != ';' && s[j] != ',' {
						j++
					}
					val = strings.TrimSpace(s[:j])
					s = s[j:]
				}
			}
			if key == "rel" {
				for _, r := range strings.Fields(val) {
					if strings.EqualFold(r, "next") {
						isNext = true
					}
				}
			}
		}
		if isNext && target != "" {
			return target, true
		}
	}
}

// Wire formats, decoded leniently: unknown fields are ignored, nulls give
// zero values, and timestamps that do not parse are left zero.

type wirePackage struct {
	ID               int64   `json:"id"`
	Name             string  `json:"name"`
	Version          *string `json:"version"`
	PackageType      string  `json:"package_type"`
	Status           string  `json:"status"`
	CreatedAt        string  `json:"created_at"`
	LastDownloadedAt *string `json:"last_downloaded_at"`
	ProjectID        int64   `json:"project_id"`
	ProjectPath      string  `json:"project_path"`
}

type wirePackageFile struct {
	ID        int64   `json:"id"`
	PackageID int64   `json:"package_id"`
	FileName  string  `json:"file_name"`
	Size      int64   `json:"size"`
	SHA256    *string `json:"file_sha256"`
	CreatedAt string  `json:"created_at"`
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// decodeArray splits a JSON array into its elements, refusing anything else.
func decodeArray(data []byte) ([]json.RawMessage, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '[' {
		// What it looks like, not its bytes: a body that echoes the
		// request could hold the token, and a cut one cannot be scrubbed.
		what := "text"
		switch {
		case len(data) == 0:
			what = "an empty body"
		case data[0] == '{':
			what = "a JSON object"
		case data[0] == '<':
			what = "HTML or XML (a login page or a proxy's error?)"
		}
		return nil, fmt.Errorf("unexpected response: want a JSON array, got %s of %d bytes", what, len(data))
	}
	var rows []json.RawMessage
	if err := json.Unmarshal(data, &rows); err != nil {
		return nil, fmt.Errorf("decoding response: %w", err)
	}
	return rows, nil
}

// decodePackages decodes a package list page.
func decodePackages(data []byte) ([]Package, error) {
	rows, err := decodeArray(data)
	if err != nil {
		return nil, err
	}
	out := make([]Package, 0, len(rows))
	for i, raw := range rows {
		var w wirePackage
		if err := json.Unmarshal(raw, &w); err != nil {
			return nil, fmt.Errorf("decoding package %d of the list: %w", i, err)
		}
		p := Package{
			ID:          w.ID,
			Name:        w.Name,
			PackageType: w.PackageType,
			Status:      w.Status,
			CreatedAt:   parseTime(w.CreatedAt),
			ProjectID:   w.ProjectID,
			ProjectPath: w.ProjectPath,
		}
		if w.Version != nil {
			p.Version = *w.Version
		}
		if w.LastDownloadedAt != nil {
			if t := parseTime(*w.LastDownloadedAt); !t.IsZero() {
				p.LastDownloadedAt = &t
			}
		}
		if err := checkPackage(p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// checkPackage refuses names and versions GitLab could not have stored and
// that would be unsafe in a URL path or a terminal.
func checkPackage(p Package) error {
	for _, s := range []struct{ what, v string }{{"name", p.Name}, {"version", p.Version}, {"status", p.Status}, {"package type", p.PackageType}} {
		if hasControl(s.v) || strings.ContainsAny(s.v, "/\\") || s.v == "." || s.v == ".." || len(s.v) > 1024 {
			return fmt.Errorf("package %d from the server has an unsafe %s %q", p.ID, s.what, shorten(s.v))
		}
	}
	return nil
}

// decodePackageFiles decodes a package_files page, URL-decoding and
// validating the file names.
func decodePackageFiles(data []byte) ([]PackageFile, error) {
	rows, err := decodeArray(data)
	if err != nil {
		return nil, err
	}
	out := make([]PackageFile, 0, len(rows))
	for i, raw := range rows {
		var w wirePackageFile
		if err := json.Unmarshal(raw, &w); err != nil {
			return nil, fmt.Errorf("decoding package file %d of the list: %w", i, err)
		}
		f, err := w.toFile()
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func (w wirePackageFile) toFile() (PackageFile, error) {
	name, err := decodeFileName(w.FileName)
	if err != nil {
		return PackageFile{}, err
	}
	f := PackageFile{
		ID:        w.ID,
		PackageID: w.PackageID,
		FileName:  name,
		Size:      w.Size,
		CreatedAt: parseTime(w.CreatedAt),
	}
	if w.SHA256 != nil {
		f.SHA256 = strings.ToLower(*w.SHA256)
		if !isSHA256(f.SHA256) {
			return PackageFile{}, fmt.Errorf("file %q: invalid sha256 %q from the server", name, shorten(*w.SHA256))
		}
	}
	if f.Size < 0 {
		return PackageFile{}, fmt.Errorf("file %q: negative size %d from the server", name, f.Size)
	}
	return f, nil
}

// decodeFileName turns GitLab's stored file name (directory paths encoded
// as %2F) into a path and checks that it is safe.
func decodeFileName(raw string) (string, error) {
	name, err := url.PathUnescape(raw)
	if err != nil {
		return "", fmt.Errorf("%w: %q from the server: %v", ErrUnsafeName, shorten(raw), err)
	}
	if err := checkFileName(name); err != nil {
		return "", err
	}
	return name, nil
}

// checkFileName refuses names that are not safe relative paths: empty,
// absolute, with empty, "." or ".." segments, NUL, backslashes, control
// characters, or longer than 1024 bytes.
func checkFileName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w %q: %s", ErrUnsafeName, shorten(name), why)
	}
	switch {
	case name == "":
		return bad("empty")
	case len(name) > 1024:
		return bad("longer than 1024 bytes")
	case strings.HasPrefix(name, "/"):
		return bad("absolute path")
	case strings.ContainsRune(name, '\\'):
		return bad("contains a backslash")
	case hasControl(name):
		return bad("contains a control character")
	}
	for _, seg := range strings.Split(name, "/") {
		switch seg {
		case "":
			return bad("empty path segment")
		case ".", "..":
			return bad(`contains a "." or ".." segment`)
		}
	}
	if len(name) >= 2 && name[1] == ':' {
		return bad("looks like a drive letter")
	}
	return nil
}

func shorten(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
