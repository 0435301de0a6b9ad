package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/registry"
	pkgversion "github.com/gpmtool/gpm/internal/version"
)

var searchFlags struct {
	group, project, registry string
}

func init() {
	cmd := lookupCommand("search")
	cmd.flags = func(fs *pflag.FlagSet) {
		fs.StringVar(&searchFlags.group, "group", "", "search the group `G` and its subgroups: numeric ID or full path")
		fs.StringVar(&searchFlags.project, "project", "", "search the project `P`: numeric ID or full path")
		fs.StringVar(&searchFlags.registry, "registry", "", "GitLab instance `URL` (default: [registry] url of packages.toml, else $CI_SERVER_URL)")
	}
	cmd.run = runSearch
}

// searchRow is one package of gpm search: a package name in one project.
type searchRow struct {
	Name      string `json:"name"`
	Project   string `json:"project"` // full path when GitLab gave it, else the ID
	ProjectID int64  `json:"project_id,omitempty"`
	Newest    string `json:"newest"`
	// Versions are the downloadable versions, newest first: semver by
	// precedence, then the others by creation time.
	Versions  []string  `json:"versions"`
	UpdatedAt time.Time `json:"updated_at"` // when the newest version was created
}

// runSearch lists the generic packages of a group or a project whose names
// contain QUERY, one row per package with its newest version.
func runSearch(c *cli, args []string) error {
	if len(args) > 1 {
		return withHint(usageError("gpm search takes at most one QUERY, got %d", len(args)),
			"GitLab matches every word of the query; quote it: gpm search 'cli tool' --group G")
	}
	query := ""
	if len(args) == 1 {
		query = args[0]
	}
	f := searchFlags
	switch {
	case f.group == "" && f.project == "":
		return withHint(usageError("gpm search needs --group G or --project P"), "gpm search cli --group acme")
	case f.group != "" && f.project != "":
		return usageError("gpm search takes --group or --project, not both")
	}
	cl, err := c.standaloneClient(f.registry)
	if err != nil {
		return err
	}
	var pkgs []registry.Package
	where := ""
	if f.group != "" {
		where = fmt.Sprintf("group %q", f.group)
		switch cl.Credential().Type {
		case registry.TokenJob, registry.TokenDeploy:
			return hint.Wrap(&kindError{kind: errDenied, msg: fmt.Sprintf("cannot search %s with %s: GitLab does not accept CI job tokens or deploy tokens on the group packages API", where, cl.Credential())},
				"search one project instead (gpm search --project P), which a job token can list",
				"or set GPM_TOKEN to a personal, project or group access token with scope read_api")
		}
		pkgs, err = cl.ListGroupPackages(c.ctx, f.group, query)
	} else {
		where = fmt.Sprintf("project %q", f.project)
		pkgs, err = cl.ListAllPackages(c.ctx, f.project, query)
	}
	if err != nil {
		return fmt.Errorf("searching %s: %w", where, err)
	}
	rows := searchRows(pkgs, query, f.project)
	if c.g.json {
		return writeJSON(c, map[string]any{"packages": rows})
	}
	if len(rows) == 0 {
		if query != "" {
			c.printf("no generic packages matching %q in %s\n", query, where)
		} else {
			c.printf("no generic packages in %s\n", where)
		}
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tNEWEST\tVERSIONS\tPROJECT\tUPDATED")
	for _, r := range rows {
		updated := "-"
		if !r.UpdatedAt.IsZero() {
			updated = r.UpdatedAt.UTC().Format(time.DateOnly)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", r.Name, r.Newest, len(r.Versions), r.Project, updated)
	}
	return tw.Flush()
}

// searchRows groups listed packages by project and name, keeping only
// downloadable generic packages, and sorts them: names equal to the query
// (ignoring case, as GitLab's search does) first, then by name and project.
// project names the project of a project search; group rows carry their own.
func searchRows(pkgs []registry.Package, query, project string) []searchRow {
	type group struct {
		row      searchRow
		versions map[string]versionSeen
	}
	groups := map[string]*group{}
	for _, p := range pkgs {
		if p.PackageType != "generic" || p.Version == "" || (p.Status != "default" && p.Status != "deprecated") {
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
			g = &group{row: searchRow{Name: p.Name, Project: proj, ProjectID: p.ProjectID}, versions: map[string]versionSeen{}}
			groups[key] = g
		}
		seen := versionSeen{created: p.CreatedAt, id: p.ID}
		if cur, ok := g.versions[p.Version]; !ok || cur.before(seen) {
			g.versions[p.Version] = seen
		}
	}
	rows := make([]searchRow, 0, len(groups))
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
	var sem, other []pkgversion.Version
	for raw := range created {
		v := pkgversion.Parse(raw)
		if v.Semver != nil {
			sem = append(sem, v)
		} else {
			other = append(other, v)
		}
	}
	sort.Slice(sem, func(i, j int) bool { return pkgversion.Compare(sem[i], sem[j]) > 0 })
	sort.Slice(other, func(i, j int) bool { return created[other[j].Raw].before(created[other[i].Raw]) })
	for _, v := range append(sem, other...) {
		ordered = append(ordered, v.Raw)
	}
	if v, ok := pkgversion.Newest(sem, nil); ok {
		return ordered, v.Raw
	}
	if len(other) > 0 {
		return ordered, other[0].Raw
	}
	return ordered, ""
}
