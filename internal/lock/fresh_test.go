package lock

import (
	"errors"
	"slices"
	"testing"

	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/version"
)

func mpkg(t *testing.T, name, constraint string, edit func(*manifest.Package)) manifest.Package {
	t.Helper()
	c, err := version.ParseConstraint(constraint)
	if err != nil {
		t.Fatal(err)
	}
	p := manifest.Package{Name: name, Project: "12345", Package: name, Version: constraint, Constraint: c}
	if edit != nil {
		edit(&p)
	}
	return p
}

func lpkg(name, ver string, edit func(*Package)) Package {
	p := Package{Name: name, Project: "12345", Package: name, Version: ver, Constraint: "^1.2", PackageID: 1}
	if edit != nil {
		edit(&p)
	}
	return p
}

func TestFreshWhy(t *testing.T) {
	tests := []struct {
		name string
		m    manifest.Package
		l    Package
		why  string // "" when fresh
	}{
		{"same", mpkg(t, "cli", "^1.2", nil), lpkg("cli", "1.4.2", nil), ""},
		{"constraint text changed, still matches", mpkg(t, "cli", "~1.4", nil), lpkg("cli", "1.4.2", nil), ""},
		{"v prefix", mpkg(t, "cli", "^1.2", nil), lpkg("cli", "v1.4.2", nil), ""},
		{"exact pin, not semver", mpkg(t, "cli", "=2024.06-b3", nil), lpkg("cli", "2024.06-b3", nil), ""},
		{"exact pin, equal semver", mpkg(t, "cli", "=1.4.2", nil), lpkg("cli", "v1.4.2", nil), ""},
		{"globs as a set", mpkg(t, "cli", "^1", func(p *manifest.Package) { p.Files = []string{"b", "a", "a"} }), lpkg("cli", "1.4.2", func(p *Package) { p.Globs = []string{"a", "b"} }), ""},
		{"same registry", mpkg(t, "cli", "^1", func(p *manifest.Package) { p.Registry = "partner"; p.Extract = true }), lpkg("cli", "1.4.2", func(p *Package) { p.Registry = "partner"; p.Extract = true }), ""},

		{"constraint no longer matches", mpkg(t, "cli", "^2", nil), lpkg("cli", "1.4.2", nil), `constraint "^2" does not match locked version "1.4.2"`},
		{"prerelease not asked for", mpkg(t, "cli", "^1", nil), lpkg("cli", "1.5.0-rc.1", nil), `constraint "^1" does not match locked version "1.5.0-rc.1"`},
		{"non-semver under a range", mpkg(t, "cli", "*", nil), lpkg("cli", "2024.06-b3", nil), `constraint "*" does not match locked version "2024.06-b3"`},
		{"pin changed", mpkg(t, "cli", "=2024.07", nil), lpkg("cli", "2024.06-b3", nil), `constraint "=2024.07" does not match locked version "2024.06-b3"`},
		{"project", mpkg(t, "cli", "^1", func(p *manifest.Package) { p.Project = "2" }), lpkg("cli", "1.4.2", func(p *Package) { p.Project = "1" }), `project changed from "1" to "2"`},
		{"project id vs path", mpkg(t, "cli", "^1", func(p *manifest.Package) { p.Project = "group/cli" }), lpkg("cli", "1.4.2", nil), `project changed from "12345" to "group/cli"`},
		{"package", mpkg(t, "cli", "^1", func(p *manifest.Package) { p.Package = "cli-tool" }), lpkg("cli", "1.4.2", nil), `package changed from "cli" to "cli-tool"`},
		{"registry added", mpkg(t, "cli", "^1", func(p *manifest.Package) { p.Registry = "partner" }), lpkg("cli", "1.4.2", nil), `registry changed from the default registry to "partner"`},
		{"registry removed", mpkg(t, "cli", "^1", nil), lpkg("cli", "1.4.2", func(p *Package) { p.Registry = "partner" }), `registry changed from "partner" to the default registry`},
		{"files added", mpkg(t, "cli", "^1", func(p *manifest.Package) { p.Files = []string{"*.tgz"} }), lpkg("cli", "1.4.2", nil), `files changed from every file to ["*.tgz"]`},
		{"files changed", mpkg(t, "cli", "^1", func(p *manifest.Package) { p.Files = []string{"*.zip"} }), lpkg("cli", "1.4.2", func(p *Package) { p.Globs = []string{"*.tgz", "*.md"} }), `files changed from ["*.tgz", "*.md"] to ["*.zip"]`},
		{"extract", mpkg(t, "cli", "^1", func(p *manifest.Package) { p.Extract = true }), lpkg("cli", "1.4.2", nil), `extract changed from false to true`},
		{"strip", mpkg(t, "cli", "^1", func(p *manifest.Package) { p.Extract, p.Strip = true, 1 }), lpkg("cli", "1.4.2", func(p *Package) { p.Extract = true }), `strip changed from 0 to 1`},
		{"bin added", mpkg(t, "cli", "^1", func(p *manifest.Package) { p.Bin = map[string]string{"cli": "bin/cli{exe}"} }), lpkg("cli", "1.4.2", nil), `bin changed from none to { cli = "bin/cli{exe}" }`},
		{"bin path changed", mpkg(t, "cli", "^1", func(p *manifest.Package) { p.Bin = map[string]string{"cli": "cli"} }), lpkg("cli", "1.4.2", func(p *Package) { p.Bin = map[string]string{"cli": "bin/cli"} }), `bin changed from { cli = "bin/cli" } to { cli = "cli" }`},
		{"same strip and bin", mpkg(t, "cli", "^1", func(p *manifest.Package) { p.Extract, p.Strip, p.Bin = true, 2, map[string]string{"cli": "bin/cli"} }), lpkg("cli", "1.4.2", func(p *Package) { p.Extract, p.Strip, p.Bin = true, 2, map[string]string{"cli": "bin/cli"} }), ""},
		{"other name", mpkg(t, "cli", "^1", nil), lpkg("other", "1.4.2", func(p *Package) { p.Package = "cli" }), `lock entry "other" is for another package than "cli"`},
		{"everything", mpkg(t, "cli", "^2", func(p *manifest.Package) { p.Project = "2"; p.Extract = true }), lpkg("cli", "1.4.2", nil), `project changed from "12345" to "2"; extract changed from false to true; constraint "^2" does not match locked version "1.4.2"`},
		{"manifest without constraint", manifest.Package{Name: "cli", Project: "12345", Package: "cli"}, lpkg("cli", "1.4.2", nil), `constraint "" does not match locked version "1.4.2"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Fresh(tt.m, tt.l); got != (tt.why == "") {
				t.Errorf("Fresh = %v, want %v", got, tt.why == "")
			}
			if got := Why(tt.m, tt.l); got != tt.why {
				t.Errorf("Why =\n%q\nwant\n%q", got, tt.why)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	m := &manifest.Manifest{Packages: []manifest.Package{
		mpkg(t, "a", "^1", nil),
		mpkg(t, "b", "^2", nil),
		mpkg(t, "c", "^1", nil),
	}}
	fresh := &File{Version: 1, Packages: []Package{lpkg("a", "1.0.0", nil), lpkg("b", "2.1.0", nil), lpkg("c", "1.9.9", nil)}}
	if err := Check(m, fresh); err != nil {
		t.Errorf("Check(fresh lock) = %v", err)
	}

	tests := []struct {
		name    string
		f       *File
		entries []Stale
		msg     string
	}{
		{
			name:    "missing lock",
			f:       nil,
			entries: []Stale{{"a", "not in packages.lock"}, {"b", "not in packages.lock"}, {"c", "not in packages.lock"}},
			msg:     "lock is out of date: a: not in packages.lock; b: not in packages.lock; c: not in packages.lock",
		},
		{
			name: "stale, missing and extra",
			f:    &File{Version: 1, Packages: []Package{lpkg("a", "1.0.0", nil), lpkg("b", "1.0.0", nil), lpkg("0-gone", "1.0.0", nil)}},
			entries: []Stale{
				{"0-gone", "no longer in packages.toml"},
				{"b", `constraint "^2" does not match locked version "1.0.0"`},
				{"c", "not in packages.lock"},
			},
			msg: `lock is out of date: 0-gone: no longer in packages.toml; b: constraint "^2" does not match locked version "1.0.0"; c: not in packages.lock`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(m, tt.f)
			if !errors.Is(err, ErrStale) {
				t.Fatalf("Check = %v, want ErrStale", err)
			}
			if errors.Is(err, ErrInvalid) {
				t.Errorf("Check error %v matches ErrInvalid", err)
			}
			var se *StaleError
			if !errors.As(err, &se) {
				t.Fatalf("Check = %T, want *StaleError", err)
			}
			if !slices.Equal(se.Entries, tt.entries) {
				t.Errorf("entries =\n%q\nwant\n%q", se.Entries, tt.entries)
			}
			var names []string
			for _, e := range tt.entries {
				names = append(names, e.Name)
			}
			if !slices.Equal(se.Names(), names) {
				t.Errorf("Names() = %q, want %q", se.Names(), names)
			}
			if err.Error() != tt.msg {
				t.Errorf("message =\n%s\nwant\n%s", err, tt.msg)
			}
			if hs := hint.Of(err); len(hs) != 1 {
				t.Errorf("hints = %q, want one", hs)
			}
		})
	}

	empty := &manifest.Manifest{}
	if err := Check(empty, nil); err != nil {
		t.Errorf("Check(no packages, no lock) = %v", err)
	}
	if err := Check(empty, &File{Version: 1}); err != nil {
		t.Errorf("Check(no packages, empty lock) = %v", err)
	}
}
