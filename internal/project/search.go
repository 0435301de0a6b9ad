package project

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/registry"
	"github.com/gpmtool/gpm/internal/version"
)

// SearchRow is one package of gpm search: a package name in one project.
type SearchRow struct {
	Name      string `json:"name"`
	Project   string `json:"project"` // full path when GitLab gave it, else the ID
	ProjectID int64  `json:"project_id,omitempty"`
	Newest    string `json:"newest"`
	// Versions are the downloadable versions, newest first: semver by
	// precedence, then the others by creation time.
	Versions  []string  `json:"versions"`
	UpdatedAt time.Time `json:"updated_at"` // when the newest version was created
}

// Search lists the generic packages of a group (and its subgroups) or of a
// project whose names contain query, one row per package and project with
// its versions. Exactly one of group and project is set. It needs no
// packages.toml: cl is any registry client.
func Search(ctx context.Context, cl *registry.Client, query, group, project string) ([]SearchRow, error) {
	var pkgs []registry.Package
	var err error
	if group != "" {
		where := fmt.Sprintf("group %q", group)
		if !registry.CanListGroup(cl.Credential().Type) {
			return nil, hint.Wrap(kindErrorf(registry.ErrUnauthorized, "cannot search %s with %s: GitLab does not accept CI job tokens or deploy tokens on the group packages API", where, cl.Credential()),
				"search one project instead (gpm search --project P), which a job token can list",
				"or set GPM_TOKEN to a personal, project or group access token with scope read_api")
		}
		if pkgs, err = cl.ListGroupPackages(ctx, group, query); err != nil {
			return nil, fmt.Errorf("searching %s: %w", where, err)
		}
	} else if pkgs, err = cl.ListAllPackages(ctx, project, query); err != nil {
		return nil, fmt.Errorf("searching project %q: %w", project, err)
	}
	return searchRows(pkgs, query, project), nil
}

// searchRows groups listed packages by project and name, keeping only
// downloadable generic packages, and sorts them: names equal to the query
// (ignoring case, as GitLab's search does) first, then by name and project.
// project names the project of a project search; group rows carry their own.
func searchRows(pkgs []registry.Package, query, project string) []SearchRow {
	type group struct {
		row      SearchRow
		versions map[string]versionSeen
	}
	groups := map[string]*group{}
	for _, p := range pkgs {
		if p.PackageType != "generic" || p.Version == "" || !registry.Downloadable(p.Status) {
			continue
		}
		proj := p.ProjectPath
		if proj == "" && p.ProjectID != 0 {
			proj = strconv.FormatInt(p.ProjectID, 10)
		}
		if proj == "" {
			proj = project
		}
		key := proj + "\x00" + p.Name
		g, ok := groups[key]
		if !ok {
			g = &group{row: SearchRow{Name: p.Name, Project: proj, ProjectID: p.ProjectID}, versions: map[string]versionSeen{}}
			groups[key] = g
		}
		seen := versionSeen{created: p.CreatedAt, id: p.ID}
		if cur, ok := g.versions[p.Version]; !ok || cur.before(seen) {
			g.versions[p.Version] = seen
		}
	}
	rows := make([]SearchRow, 0, len(groups))
	for _, g := range groups {
		g.row.Versions, g.row.Newest = orderVersions(g.versions)
		g.row.UpdatedAt = g.versions[g.row.Newest].created
		rows = append(rows, g.row)
	}
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if ea, eb := strings.EqualFold(a.Name, query), strings.EqualFold(b.Name, query); ea != eb {
			return ea
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.Project < b.Project
	})
	return rows
}

// versionSeen is when a version was created, and its package ID, which
// breaks ties between equal timestamps (GitLab's IDs only grow).
type versionSeen struct {
	created time.Time
	id      int64
}

func (a versionSeen) before(b versionSeen) bool {
	if !a.created.Equal(b.created) {
		return a.created.Before(b.created)
	}
	return a.id < b.id
}

// orderVersions sorts versions newest first (semver by precedence, then the
// others by creation) and picks the newest: the highest stable semver
// version, else the highest prerelease, else the most recently created.
func orderVersions(created map[string]versionSeen) (ordered []string, newest string) {
	var sem, other []version.Version
	for raw := range created {
		v := version.Parse(raw)
		if v.Semver != nil {
			sem = append(sem, v)
		} else {
			other = append(other, v)
		}
	}
	sort.Slice(sem, func(i, j int) bool { return version.Compare(sem[i], sem[j]) > 0 })
	sort.Slice(other, func(i, j int) bool { return created[other[j].Raw].before(created[other[i].Raw]) })
	for _, v := range append(sem, other...) {
		ordered = append(ordered, v.Raw)
	}
	if v, ok := version.Newest(sem, nil); ok {
		return ordered, v.Raw
	}
	if len(other) > 0 {
		return ordered, other[0].Raw
	}
	return ordered, ""
}
