package project

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gpmtool/gpm/internal/registry"
)

func TestOrderVersions(t *testing.T) {
	day := func(d int) versionSeen {
		return versionSeen{created: time.Date(2025, 1, d, 0, 0, 0, 0, time.UTC), id: int64(d)}
	}
	for _, tc := range []struct {
		name    string
		in      map[string]versionSeen
		ordered string
		newest  string
	}{
		{"semver, not string order", map[string]versionSeen{"1.9.0": day(1), "1.10.0": day(2), "1.2.0": day(3)}, "1.10.0 1.9.0 1.2.0", "1.10.0"},
		{"stable beats a newer prerelease", map[string]versionSeen{"1.0.0": day(1), "2.0.0-rc.1": day(2)}, "2.0.0-rc.1 1.0.0", "1.0.0"},
		{"only prereleases", map[string]versionSeen{"2.0.0-rc.1": day(1), "2.0.0-rc.2": day(2)}, "2.0.0-rc.2 2.0.0-rc.1", "2.0.0-rc.2"},
		{"leading v is semver", map[string]versionSeen{"v1.2.0": day(1), "1.3.0": day(2)}, "1.3.0 v1.2.0", "1.3.0"},
		{"non-semver by creation", map[string]versionSeen{"2024.06-b3": day(1), "2024.05": day(2)}, "2024.05 2024.06-b3", "2024.05"},
		{"equal times: higher id", map[string]versionSeen{"b": {id: 1}, "a": {id: 2}}, "a b", "a"},
		{"semver wins over non-semver", map[string]versionSeen{"nightly": day(9), "0.1.0": day(1)}, "0.1.0 nightly", "0.1.0"},
	} {
		ordered, newest := orderVersions(tc.in)
		if strings.Join(ordered, " ") != tc.ordered || newest != tc.newest {
			t.Errorf("%s: orderVersions = %q, %q; want %q, %q", tc.name, ordered, newest, tc.ordered, tc.newest)
		}
	}
}

func TestSearchRows(t *testing.T) {
	at := func(d int) time.Time { return time.Date(2025, 1, d, 0, 0, 0, 0, time.UTC) }
	pkg := func(id int64, name, ver, status, path string, d int) registry.Package {
		return registry.Package{ID: id, Name: name, Version: ver, PackageType: "generic", Status: status, ProjectPath: path, CreatedAt: at(d)}
	}
	pkgs := []registry.Package{
		pkg(1, "libcli", "1.0.0", "default", "acme/a", 1),
		pkg(2, "cli", "1.0.0", "default", "acme/b", 2),
		pkg(3, "cli", "1.1.0", "deprecated", "acme/b", 3),
		pkg(4, "cli", "9.0.0", "error", "acme/b", 4),
		pkg(5, "cli", "2.0.0", "default", "acme/a", 5),
		pkg(6, "CLI-tools", "0.1.0", "default", "acme/a", 6),
		{ID: 7, Name: "cli", Version: "3.0.0", PackageType: "maven", Status: "default", ProjectPath: "acme/a"},
		pkg(8, "Cli", "1.0.0", "default", "acme/c", 8),
	}
	rows := searchRows(pkgs, "cli", "")
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%s@%s %s %d %s", r.Name, r.Newest, r.Project, len(r.Versions), r.UpdatedAt.Format(time.DateOnly)))
	}
	want := []string{
		"Cli@1.0.0 acme/c 1 2025-01-08",
		"cli@2.0.0 acme/a 1 2025-01-05",
		"cli@1.1.0 acme/b 2 2025-01-03",
		"CLI-tools@0.1.0 acme/a 1 2025-01-06",
		"libcli@1.0.0 acme/a 1 2025-01-01",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("searchRows =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A project search labels rows with the project as given.
	rows = searchRows([]registry.Package{{ID: 1, Name: "x", Version: "1.0.0", PackageType: "generic", Status: "default", ProjectID: 12}}, "", "12")
	if len(rows) != 1 || rows[0].Project != "12" || rows[0].ProjectID != 12 {
		t.Errorf("project search row = %+v", rows)
	}
}
