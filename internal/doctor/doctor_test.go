package doctor

import (
	"errors"
	"strings"
	"testing"

	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/registry"
)

func TestWorst(t *testing.T) {
	for _, tc := range []struct {
		kinds    []Kind // of problems; -1 is an OK check
		problems int
		want     Kind
	}{
		{nil, 0, Failure},
		{[]Kind{-1, -1}, 0, Failure},
		{[]Kind{Failure}, 1, Failure},
		{[]Kind{Failure, Invalid}, 2, Invalid},
		{[]Kind{Access, Invalid, Failure}, 3, Access},
		{[]Kind{Invalid, -1, Access}, 2, Access},
	} {
		var checks []Check
		for _, k := range tc.kinds {
			if k < 0 {
				checks = append(checks, Check{Status: OK})
				continue
			}
			checks = append(checks, Check{Status: Problem, Kind: k})
		}
		n, got := Worst(checks)
		if n != tc.problems || got != tc.want {
			t.Errorf("Worst(%v) = %d, %v; want %d, %v", tc.kinds, n, got, tc.problems, tc.want)
		}
	}
}

func TestUsedRegistries(t *testing.T) {
	for _, tc := range []struct {
		regs []string // registry of each package, in manifest order
		want string
	}{
		{nil, ""},
		{[]string{"", ""}, "default"},
		{[]string{"b", "", "a", "b"}, "default b a"},
		{[]string{"b", "a"}, "b a"},
	} {
		m := &manifest.Manifest{}
		for _, r := range tc.regs {
			m.Packages = append(m.Packages, manifest.Package{Registry: r})
		}
		var got []string
		for _, r := range usedRegistries(m) {
			if r == "" {
				r = "default"
			}
			got = append(got, r)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("usedRegistries(%q) = %q, want %q", tc.regs, got, tc.want)
		}
	}
}

func TestProjectsOf(t *testing.T) {
	m := &manifest.Manifest{Packages: []manifest.Package{
		{Name: "a", Project: "1"}, {Name: "b", Project: "acme/x"}, {Name: "c", Project: "1"}, {Name: "d", Project: "1", Registry: "other"},
	}}
	pps := projectsOf(m, "")
	if len(pps) != 2 || pps[0].project != "1" || len(pps[0].packages) != 2 || pps[0].packages[1].Name != "c" || pps[1].project != "acme/x" {
		t.Errorf("projectsOf = %+v", pps)
	}
	if pps := projectsOf(m, "other"); len(pps) != 1 || pps[0].packages[0].Name != "d" {
		t.Errorf("projectsOf(other) = %+v", pps)
	}
}

func TestHTTPSummary(t *testing.T) {
	for _, tc := range []struct {
		he   registry.HTTPError
		want string
	}{
		{registry.HTTPError{Status: 403, Message: "403 Forbidden"}, "403 Forbidden"},
		{registry.HTTPError{Status: 403, Message: "403 Forbidden - Authentication by CI/CD job token not allowed from a to b."}, "403 Forbidden: Authentication by CI/CD job token not allowed from a to b."},
		{registry.HTTPError{Status: 401, Message: "invalid_token: Token is expired."}, "401 Unauthorized: invalid_token: Token is expired."},
		{registry.HTTPError{Status: 404}, "404 Not Found"},
	} {
		if got := httpSummary(&tc.he); got != tc.want {
			t.Errorf("httpSummary(%d %q) = %q, want %q", tc.he.Status, tc.he.Message, got, tc.want)
		}
	}
}

func TestFixOf(t *testing.T) {
	err := hint.Wrap(errors.New("x"), "add the project to the allowlist", `GitLab said: "403 Forbidden"`, "the request used $CI_JOB_TOKEN (job)", "ask for Reporter")
	if got, want := fixOf(err), "add the project to the allowlist; ask for Reporter"; got != want {
		t.Errorf("fixOf = %q, want %q", got, want)
	}
	if got := fixOf(errors.New("no hints")); got != "" {
		t.Errorf("fixOf without hints = %q", got)
	}
}
