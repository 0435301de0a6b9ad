// Package version parses the version strings that publishers give their
// generic packages and the constraints that consumers write in packages.toml.
//
// GitLab accepts almost any string as a generic package version, so a
// registry holds a mix of semver ("1.4.2", "v1.4.2", "2.0.0-rc.1") and other
// schemes ("2024.06-b3", a commit hash). Only full semver versions, with an
// optional leading "v", take part in constraint matching; any other version
// can still be used through an exact pin ("=2024.06-b3"). The registry's own
// spelling of a version is always kept: it is what download URLs and the lock
// need.
package version

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/Masterminds/semver/v3"
)

// Version is a version string as the registry spells it, with its semver
// reading when it has one.
type Version struct {
	Raw    string          // as published, e.g. "v1.4.2"
	Semver *semver.Version // nil when Raw is not semver
}

// Parse reads a registry version. It never fails: a version that is not
// semver simply has a nil Semver and only matches exact pins.
func Parse(raw string) Version {
	return Version{Raw: raw, Semver: parseSemver(raw)}
}

// parseSemver accepts MAJOR.MINOR.PATCH[-PRE][+BUILD] with an optional
// leading "v", rejecting the looser forms ("1.2", "01.2.3") that would make
// two different registry versions compare equal.
func parseSemver(raw string) *semver.Version {
	s := strings.TrimPrefix(raw, "v")
	if s == "" || len(s) > 128 {
		return nil
	}
	v, err := semver.StrictNewVersion(s)
	if err != nil {
		return nil
	}
	return v
}

// Compare orders versions: semver versions by semver precedence, above every
// non-semver version; ties (e.g. "1.2.0" and "v1.2.0", or two non-semver
// versions) are broken by the raw strings so the order is total and stable.
func Compare(a, b Version) int {
	switch {
	case a.Semver != nil && b.Semver != nil:
		if c := a.Semver.Compare(b.Semver); c != 0 {
			return c
		}
	case a.Semver != nil:
		return 1
	case b.Semver != nil:
		return -1
	}
	return strings.Compare(a.Raw, b.Raw)
}

// Constraint is a parsed version requirement from packages.toml.
type Constraint struct {
	raw   string
	exact string              // set for "=VERSION" pins
	sv    *semver.Constraints // set for semver ranges
}

// ErrInvalidConstraint is returned (wrapped) by ParseConstraint.
var ErrInvalidConstraint = errors.New("invalid version constraint")

// Any is the constraint used when packages.toml gives no version: the newest
// stable semver version.
const Any = "*"

// ParseConstraint reads a constraint: a semver range in the syntax of
// Masterminds/semver ("^1.2", "~1.2.3", ">=1.0, <2", "1.x", "*"), or "=V"
// where V is any version string GitLab accepts, matched exactly.
func ParseConstraint(s string) (Constraint, error) {
	if p, ok := parsedConstraints.Load(s); ok {
		r := p.(parsed)
		return r.c, r.err
	}
	c, err := parseConstraint(s)
	if parsedCount.Add(1) <= maxParsed {
		parsedConstraints.Store(s, parsed{c, err})
	}
	return c, err
}

// Constraints are parsed once per spelling: a manifest and its lock
// usually repeat one or two ("^1"), and each parse runs Masterminds'
// regular expressions, a good part of loading them. A parsed constraint is
// never changed. The memo stops growing at maxParsed spellings (a fuzzer
// would grow it without end).
var (
	parsedConstraints sync.Map // string -> parsed
	parsedCount       atomic.Int64
)

const maxParsed = 4096

type parsed struct {
	c   Constraint
	err error
}

func parseConstraint(s string) (Constraint, error) {
	raw := s
	s = strings.TrimSpace(s)
	if s == "" {
		return Constraint{}, fmt.Errorf("%w: empty", ErrInvalidConstraint)
	}
	if rest, ok := strings.CutPrefix(s, "="); ok && !strings.HasPrefix(rest, "=") {
		rest = strings.TrimSpace(rest)
		if !ValidGitLabVersion(rest) {
			return Constraint{}, fmt.Errorf("%w: %q is not a version GitLab accepts (letters, digits, '.', '_', '-', '+', no \"..\")", ErrInvalidConstraint, rest)
		}
		c := Constraint{raw: raw, exact: rest}
		if bareSemver.MatchString(rest) {
			// "=1.2" means 1.2.x and "=1.2.0" also matches "v1.2.0", as in
			// Cargo; the literal spelling still matches and is preferred.
			c.sv, _ = semver.NewConstraint("=" + rest)
		}
		return c, nil
	}
	if strings.EqualFold(s, "latest") {
		// npm's dist-tag, and a word many registries alias: GitLab's
		// generic registry has no such alias, and "=latest" would pin a
		// version literally named latest.
		return Constraint{}, fmt.Errorf("%w %q: GitLab has no \"latest\" version alias; write \"*\" (or leave version out) for the newest stable version", ErrInvalidConstraint, s)
	}
	if isBareVersion(s) && !bareSemver.MatchString(s) {
		// Masterminds would coerce "2024.06-b3" to 2024.6.0-b3, which no
		// registry version spelled "2024.06-b3" ever matches: say so now.
		return Constraint{}, fmt.Errorf("%w %q: not a semver version (to pin a version that is not semver, write \"=%s\")", ErrInvalidConstraint, s, s)
	}
	c, err := semver.NewConstraint(s)
	if err != nil {
		hint := ""
		if ValidGitLabVersion(s) {
			hint = fmt.Sprintf(" (to pin a version that is not semver, write \"=%s\")", s)
		}
		return Constraint{}, fmt.Errorf("%w %q: %v%s", ErrInvalidConstraint, s, err, hint)
	}
	return Constraint{raw: raw, sv: c}, nil
}

// bareSemver is a constraint that is only a (possibly partial) version:
// "1", "1.2", "v1.2.3", "1.x", "1.2.3-rc.1". Numbers have no leading zeros.
var bareSemver = regexp.MustCompile(`^v?(0|[1-9][0-9]*|[xX*])(\.(0|[1-9][0-9]*|[xX*])){0,2}(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// isBareVersion reports whether s has no operators, ranges or lists: just
// characters that can appear in a version.
func isBareVersion(s string) bool {
	return ValidGitLabVersion(s) || s == "*"
}

// String returns the constraint as written.
func (c Constraint) String() string { return c.raw }

// Exact reports the pinned version of an "=V" constraint.
func (c Constraint) Exact() (string, bool) { return c.exact, c.exact != "" }

// Match reports whether v satisfies c. An "=V" pin matches the identical
// string and, when V is semver-shaped, what Cargo's "=V" does ("=1.2.0"
// matches "v1.2.0", "=1.2" matches 1.2.x). A range matches semver versions
// only, and prereleases only when the range names one, as in Cargo and npm.
func (c Constraint) Match(v Version) bool {
	if c.exact != "" && v.Raw == c.exact {
		return true
	}
	if c.sv == nil || v.Semver == nil {
		return false
	}
	return c.sv.Check(v.Semver)
}

// ValidGitLabVersion reports whether GitLab accepts s as a generic package
// version: ASCII letters, digits, '_', '+', '.', '-', and no "..".
func ValidGitLabVersion(s string) bool {
	if s == "" || len(s) > 255 || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '+' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// Newest returns the highest version in vs that satisfies c, as resolution
// picks it. With c nil it returns the newest version overall for
// display and for `gpm add`'s default constraint: the highest stable semver
// version, else (when only prereleases exist) the highest prerelease; a
// version that is not semver is never returned for a nil c, because it has
// no order (pin it with "=VERSION"). The order of vs does not matter.
func Newest(vs []Version, c *Constraint) (Version, bool) {
	var best, bestPre Version
	var found, foundPre bool
	for _, v := range vs {
		switch {
		case c != nil:
			if !c.Match(v) {
				continue
			}
		case v.Semver == nil:
			continue
		case v.Semver.Prerelease() != "":
			if !foundPre || Compare(v, bestPre) > 0 {
				bestPre, foundPre = v, true
			}
			continue
		}
		if !found || Compare(v, best) > 0 {
			best, found = v, true
		}
	}
	if c != nil && found {
		if pin, ok := c.Exact(); ok {
			// Prefer the pin's own spelling among equal versions.
			if i := slices.IndexFunc(vs, func(v Version) bool { return v.Raw == pin }); i >= 0 {
				return vs[i], true
			}
		}
	}
	if found {
		return best, true
	}
	return bestPre, foundPre
}
