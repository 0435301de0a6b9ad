package version

import (
	"errors"
	"sort"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		raw    string
		semver bool
	}{
		{"1.2.3", true},
		{"v1.2.3", true},
		{"1.2.3-rc.1", true},
		{"1.2.3+build.5", true},
		{"1.2", false},
		{"01.2.3", false},
		{"2024.06-b3", false},
		{"a91957a8", false},
		{"", false},
		{"vv1.2.3", false},
	} {
		v := Parse(tc.raw)
		if (v.Semver != nil) != tc.semver || v.Raw != tc.raw {
			t.Errorf("Parse(%q) = %+v, semver want %v", tc.raw, v, tc.semver)
		}
	}
}

func TestCompareOrdersSemverAboveOthers(t *testing.T) {
	raws := []string{"1.10.0", "2024.06-b3", "1.9.0", "v1.9.1", "1.10.0-rc.1", "abc", "1.9.0+b"}
	vs := make([]Version, len(raws))
	for i, r := range raws {
		vs[i] = Parse(r)
	}
	sort.Slice(vs, func(i, j int) bool { return Compare(vs[i], vs[j]) < 0 })
	var got []string
	for _, v := range vs {
		got = append(got, v.Raw)
	}
	want := []string{"2024.06-b3", "abc", "1.9.0", "1.9.0+b", "v1.9.1", "1.10.0-rc.1", "1.10.0"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order = %q, want %q", got, want)
		}
	}
}

func TestConstraintMatch(t *testing.T) {
	for _, tc := range []struct {
		c     string
		v     string
		match bool
	}{
		{"^1.2", "1.4.2", true},
		{"^1.2", "v1.4.2", true},
		{"^1.2", "2.0.0", false},
		{"^1.2", "1.5.0-rc.1", false},
		{">=1.5.0-0", "1.5.0-rc.1", true},
		{"~1.2.3", "1.2.9", true},
		{"~1.2.3", "1.3.0", false},
		{"*", "3.0.0", true},
		{"*", "3.0.0-beta", false},
		{"*", "2024.06-b3", false},
		{"1.2.3", "1.2.3", true},
		{"1.2.3", "1.2.4", false},
		{"1.2", "1.2.7", true},
		{">=1, <2", "1.99.0", true},
		{"=2024.06-b3", "2024.06-b3", true},
		{"=2024.06-b3", "2024.6-b3", false},
		{"=1.2.0", "v1.2.0", true},
		{"=1.2.0", "1.2.0-rc.1", false},
		{"=a91957a8", "a91957a8", true},
		{"=1.2", "1.2", true},
		{"=1.2", "1.2.7", true},
		{"=1.2", "1.3.0", false},
		{"=1.2", "1.2.7-rc.1", false},
		{"=1", "1.9.0", true},
		{"=2024.6.1", "2024.6.1", true},
	} {
		c, err := ParseConstraint(tc.c)
		if err != nil {
			t.Fatalf("ParseConstraint(%q): %v", tc.c, err)
		}
		if got := c.Match(Parse(tc.v)); got != tc.match {
			t.Errorf("%q.Match(%q) = %v, want %v", tc.c, tc.v, got, tc.match)
		}
	}
}

func TestParseConstraintErrors(t *testing.T) {
	for _, tc := range []struct{ c, want string }{
		{"", "empty"},
		{"^1.x.y.z", "invalid version constraint"},
		{"2024.06-b3", `write "=2024.06-b3"`},
		{"=../x", "not a version GitLab accepts"},
		{"= ", "not a version GitLab accepts"},
		{"latest", `GitLab has no "latest" version alias; write "*"`},
		{"Latest", `write "*"`},
		{">>1", "invalid version constraint"},
	} {
		_, err := ParseConstraint(tc.c)
		if err == nil || !errors.Is(err, ErrInvalidConstraint) {
			t.Fatalf("ParseConstraint(%q) = %v, want ErrInvalidConstraint", tc.c, err)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseConstraint(%q) = %q, want it to mention %q", tc.c, err, tc.want)
		}
	}
}

func TestValidGitLabVersion(t *testing.T) {
	for v, ok := range map[string]bool{
		"1.2.3": true, "v1.2.4-build": true, "1.3.350-20201230123456": true, "1.2.bananas": true,
		"..1.2.3": false, "1.2.3-4/../../": false, "%2e%2e%2f1.2.3": false, "": false, "1 2": false, "é": false,
	} {
		if ValidGitLabVersion(v) != ok {
			t.Errorf("ValidGitLabVersion(%q) != %v", v, ok)
		}
	}
}

// TestParseConstraintMemo: a spelling parsed before comes from the memo,
// with the same answer, errors included, and the memo stops at maxParsed.
func TestParseConstraintMemo(t *testing.T) {
	for _, s := range []string{"^1.2", " ~0.3 ", "=2024.06-b3", "latest", ">=1, <"} {
		c1, err1 := ParseConstraint(s)
		c2, err2 := ParseConstraint(s)
		if c1.String() != c2.String() || (err1 == nil) != (err2 == nil) || err1 != nil && err1.Error() != err2.Error() {
			t.Errorf("%q: first %v, %v; then %v, %v", s, c1, err1, c2, err2)
		}
		if _, ok := parsedConstraints.Load(s); !ok && parsedCount.Load() <= maxParsed {
			t.Errorf("%q was not memoised", s)
		}
	}
	if c, _ := ParseConstraint("^1.2"); !c.Match(Parse("1.2.5")) {
		t.Error("memoised ^1.2 does not match 1.2.5")
	}
	parsedCount.Store(maxParsed)
	t.Cleanup(func() { parsedCount.Store(0) })
	if _, err := ParseConstraint("^9.9.9-not-seen-before"); err != nil {
		t.Fatal(err)
	}
	if _, ok := parsedConstraints.Load("^9.9.9-not-seen-before"); ok {
		t.Error("the memo grew past maxParsed")
	}
}
