package server

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Offset pagination limits, as in GitLab.
const (
	defaultPerPage = 20
	maxPerPage     = 100
	// countLimit is where GitLab stops counting: above it X-Total,
	// X-Total-Pages and rel="last" are left out.
	countLimit = 10000
)

// parsePagination reads page and per_page like GitLab's pagination params.
// A non-empty msg is the Grape validation error to answer with 400.
func parsePagination(q url.Values) (page, perPage int, msg string) {
	page, perPage = 1, defaultPerPage
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		switch {
		case err != nil:
			msg = joinMsg(msg, "page is invalid")
		case n < 1:
			msg = joinMsg(msg, "page does not have a valid value")
		default:
			page = n
		}
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		switch {
		case err != nil:
			msg = joinMsg(msg, "per_page is invalid")
		case n == 0:
			msg = joinMsg(msg, "per_page has a value not allowed")
		case n < 0:
			msg = joinMsg(msg, "per_page does not have a valid value")
		default:
			perPage = min(n, maxPerPage)
		}
	}
	return page, perPage, msg
}

// paginate sets GitLab's offset pagination headers for a list of total
// items and returns the bounds of the requested page within it.
func (s *Server) paginate(w http.ResponseWriter, r *http.Request, total, page, perPage int) (lo, hi int) {
	counted := total <= countLimit
	pages := max((total+perPage-1)/perPage, 1)
	next, prev := "", ""
	pg := min(page, 1<<31) // keeps the products below from overflowing
	if pg*perPage < total {
		next = strconv.Itoa(page + 1)
	}
	if page > 1 {
		prev = strconv.Itoa(page - 1)
	}
	h := w.Header()
	h.Set("X-Per-Page", strconv.Itoa(perPage))
	h.Set("X-Page", strconv.Itoa(page))
	h.Set("X-Next-Page", next)
	h.Set("X-Prev-Page", prev)
	if counted {
		h.Set("X-Total", strconv.Itoa(total))
		h.Set("X-Total-Pages", strconv.Itoa(pages))
	}

	base := s.baseURL(r) + r.URL.EscapedPath()
	q := r.URL.Query()
	// Unlike GitLab, never echo a token given as a parameter.
	q.Del("private_token")
	q.Del("job_token")
	q.Set("per_page", strconv.Itoa(perPage))
	href := func(n int) string {
		q.Set("page", strconv.Itoa(n))
		return "<" + base + "?" + q.Encode() + ">"
	}
	var links []string
	if prev != "" {
		links = append(links, href(page-1)+`; rel="prev"`)
	}
	if next != "" {
		links = append(links, href(page+1)+`; rel="next"`)
	}
	links = append(links, href(1)+`; rel="first"`)
	if counted {
		links = append(links, href(pages)+`; rel="last"`)
	}
	h.Set("Link", strings.Join(links, ", "))

	lo = min((pg-1)*perPage, total)
	hi = min(lo+perPage, total)
	return lo, hi
}
