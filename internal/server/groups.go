package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Group is a GitLab group. Groups exist implicitly as every parent path of
// a project ("acme" and "acme/tools" for "acme/tools/cli"), with the most
// open visibility of the projects below them. The Store gives each a
// numeric ID when its first project is created, by which it can be
// addressed too; AddGroup gives a group an ID of the test's choosing and
// its own visibility, and wins over the Store's where both name a group.
type Group struct {
	ID         int64
	Path       string // full path, e.g. "acme/tools"
	Visibility string // Public, Internal or Private; empty means Private
}

// AddGroup registers a group, replacing any group with the same ID or path.
func (s *Server) AddGroup(g Group) error {
	if g.ID <= 0 || g.Path == "" {
		return fmt.Errorf("group %q: needs a positive ID and a path", g.Path)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.groups[:0]
	for _, o := range s.groups {
		if o.ID != g.ID && !strings.EqualFold(o.Path, g.Path) {
			kept = append(kept, o)
		}
	}
	s.groups = append(kept, g)
	return nil
}

// findGroup resolves a group segment as GitLab's find_group does: digits
// are an ID of an added or stored group, anything else a full path of an
// added or implicit group.
func (s *Server) findGroup(seg string, projects []Project) (Group, bool) {
	raw, err := url.PathUnescape(seg)
	if err != nil || raw == "" {
		return Group{}, false
	}
	s.mu.Lock()
	groups := append([]Group(nil), s.groups...)
	s.mu.Unlock()
	stored, err := s.store.Groups()
	if err != nil {
		return Group{}, false
	}
	var id int64
	if isDigits(raw) {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return Group{}, false
		}
		for _, g := range groups {
			if g.ID == n {
				return g, true
			}
		}
		found := false
		for _, g := range stored {
			if g.ID == n {
				raw, id, found = g.Path, g.ID, true
				break
			}
		}
		if !found {
			return Group{}, false
		}
	}
	for _, g := range groups {
		if strings.EqualFold(g.Path, raw) {
			return g, true
		}
	}
	if id == 0 {
		for _, g := range stored {
			if strings.EqualFold(g.Path, raw) {
				id = g.ID
				break
			}
		}
	}
	rank := map[string]int{Private: 0, Internal: 1, Public: 2}
	g, found := Group{ID: id, Path: raw, Visibility: Private}, false
	for _, p := range projects {
		if inGroup(p, raw, false) {
			if !found {
				g.Path = p.Path[:len(raw)] // the stored spelling
			}
			found = true
			if rank[p.visibility()] > rank[g.Visibility] {
				g.Visibility = p.visibility()
			}
		}
	}
	return g, found
}

// inGroup reports whether p lies in the group with the given path, directly
// when direct is set.
func inGroup(p Project, group string, direct bool) bool {
	if len(p.Path) <= len(group) || !strings.EqualFold(p.Path[:len(group)], group) || p.Path[len(group)] != '/' {
		return false
	}
	return !direct || !strings.Contains(p.Path[len(group)+1:], "/")
}

// canReadGroup is GitLab's read_group, with membership of any project in
// the group standing in for group membership.
func (s *Server) canReadGroup(id ident, g Group, projects []Project) bool {
	switch g.Visibility {
	case Public:
		return true
	case Internal:
		if id.kind == userIdent {
			return true
		}
	}
	for _, p := range projects {
		if inGroup(p, g.Path, false) && s.role(id, p) >= Guest {
			return true
		}
	}
	return false
}

// listGroup serves GET /groups/:id/packages. The route accepts only access
// tokens: as in GitLab, a job token, a deploy token or basic auth is not a
// credential here, so such a caller is anonymous and sees only what the
// public sees (404 "Group Not Found" for a private group).
func (s *Server) listGroup(w http.ResponseWriter, r *http.Request, seg string) {
	id, aerr := s.identify(r, authGroup)
	if aerr == nil {
		aerr = checkScope(id, r.Method)
	}
	if aerr != nil {
		writeAuthError(w, aerr)
		return
	}
	projects, err := s.store.Projects()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, message("500 Internal Server Error"))
		return
	}
	g, ok := s.findGroup(seg, projects)
	if !ok || !s.canReadGroup(id, g, projects) {
		writeJSON(w, http.StatusNotFound, message("404 Group Not Found"))
		return
	}
	lq, page, perPage, msg := parseListQuery(r.URL.Query(), true)
	if msg != "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
		return
	}
	var items []listed
	for _, p := range projects {
		if !inGroup(p, g.Path, lq.excludeSubgroup) || !s.canReadPackages(id, p, authGroup) {
			continue
		}
		pkgs, err := s.store.Packages(p.ID)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, message("500 Internal Server Error"))
			return
		}
		for _, pkg := range pkgs {
			items = append(items, listed{pkg, p})
		}
	}
	s.writeList(w, r, id, items, lq, page, perPage, true)
}
