package lock

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/version"
)

// Fresh reports whether the lock entry l still describes the manifest entry
// m, so it can be installed as locked without asking the registry: the same
// local name, registry, project, package, files globs, replacements,
// platforms globs, platform set (for a platform-specific package), extract, strip and bin,
// and a locked version that satisfies m's constraint. The globs compare as a
// set (order and repeats do not matter: they select the same files). The
// constraint's text may change as long as the locked version still matches
// it, as with Cargo: narrowing "^1" to "^1.4" keeps a locked 1.4.2.
func Fresh(m manifest.Package, l Package) bool {
	return len(reasons(m, l)) == 0
}

// Why returns why l is not fresh for m, as one line naming each difference
// (e.g. `constraint "^2" does not match locked version "1.4.2"`), or "" when
// l is fresh.
func Why(m manifest.Package, l Package) string {
	return strings.Join(reasons(m, l), "; ")
}

func reasons(m manifest.Package, l Package) []string {
	var rs []string
	if m.Name != l.Name {
		rs = append(rs, fmt.Sprintf("lock entry %q is for another package than %q", l.Name, m.Name))
	}
	if m.Registry != l.Registry {
		rs = append(rs, fmt.Sprintf("registry changed from %s to %s", registryName(l.Registry), registryName(m.Registry)))
	}
	if m.Project != l.Project {
		rs = append(rs, fmt.Sprintf("project changed from %q to %q", l.Project, m.Project))
	}
	if m.Package != l.Package {
		rs = append(rs, fmt.Sprintf("package changed from %q to %q", l.Package, m.Package))
	}
	if !sameGlobs(m.Files, l.Globs) {
		rs = append(rs, fmt.Sprintf("files changed from %s to %s", globList(l.Globs), globList(m.Files)))
	}
	if !maps.Equal(m.Replacements, l.Replacements) {
		rs = append(rs, fmt.Sprintf("replacements changed from %s to %s", replList(l.Replacements), replList(m.Replacements)))
	}
	if !sameGlobs(m.Platforms, l.PlatformGlobs) {
		rs = append(rs, fmt.Sprintf("platforms changed from %s to %s", platList(l.PlatformGlobs), platList(m.Platforms)))
	}
	if m.Specific() && !sameGlobs(m.Targets, l.Targets) {
		rs = append(rs, fmt.Sprintf("platform set changed from %s to %s", platList(l.Targets), platList(m.Targets)))
	}
	if m.Extract != l.Extract {
		rs = append(rs, fmt.Sprintf("extract changed from %t to %t", l.Extract, m.Extract))
	}
	if m.Strip != l.Strip {
		rs = append(rs, fmt.Sprintf("strip changed from %d to %d", l.Strip, m.Strip))
	}
	if !maps.Equal(m.Bin, l.Bin) {
		rs = append(rs, fmt.Sprintf("bin changed from %s to %s", binList(l.Bin), binList(m.Bin)))
	}
	if !m.Constraint.Match(version.Parse(l.Version)) {
		rs = append(rs, fmt.Sprintf("constraint %q does not match locked version %q", m.Constraint.String(), l.Version))
	}
	return rs
}

func registryName(r string) string {
	if r == "" {
		return "the default registry"
	}
	return fmt.Sprintf("%q", r)
}

func globList(gs []string) string {
	if len(gs) == 0 {
		return "every file"
	}
	q := make([]string, len(gs))
	for i, g := range gs {
		q[i] = fmt.Sprintf("%q", g)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func replList(r map[string]string) string {
	if len(r) == 0 {
		return "none"
	}
	keys := slices.Sorted(maps.Keys(r))
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = fmt.Sprintf("%s = %q", k, r[k])
	}
	return "{ " + strings.Join(q, ", ") + " }"
}

func binList(b map[string]string) string {
	if len(b) == 0 {
		return "none"
	}
	keys := slices.Sorted(maps.Keys(b))
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = fmt.Sprintf("%s = %q", k, b[k])
	}
	return "{ " + strings.Join(q, ", ") + " }"
}

func platList(ps []string) string {
	if len(ps) == 0 {
		return "every platform"
	}
	return "[" + strings.Join(ps, ", ") + "]"
}

// sameGlobs compares two glob lists as sets.
func sameGlobs(a, b []string) bool {
	set := func(gs []string) []string {
		gs = slices.Clone(gs)
		slices.Sort(gs)
		return slices.Compact(gs)
	}
	return slices.Equal(set(a), set(b))
}

// ErrStale is matched (errors.Is) by the error Check returns when the lock
// does not match the manifest: `gpm install --locked` exits with code 3.
var ErrStale = errors.New("lock is out of date")

// Stale is one way in which a lock differs from its manifest.
type Stale struct {
	Name   string // the package's local name
	Reason string // e.g. "not in packages.lock", or a Why text
}

// StaleError lists every package whose lock entry is missing, out of date
// or no longer in the manifest, sorted by name. It matches ErrStale.
type StaleError struct {
	Entries []Stale
}

// Error returns "lock is out of date: " and each package's name and reason.
func (e *StaleError) Error() string {
	var b strings.Builder
	b.WriteString(ErrStale.Error())
	for i, s := range e.Entries {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", s.Name, s.Reason)
	}
	return b.String()
}

// Is reports whether target is ErrStale.
func (e *StaleError) Is(target error) bool { return target == ErrStale }

// Names returns the local names of the stale packages.
func (e *StaleError) Names() []string {
	names := make([]string, len(e.Entries))
	for i, s := range e.Entries {
		names[i] = s.Name
	}
	return names
}

// Check compares a whole lock with its manifest, as `--locked` needs: it
// returns nil when every manifest package has a fresh entry and the lock
// has no others, and otherwise a *StaleError (carrying a hint) naming each
// package that would be resolved again, added or dropped. A nil f is a
// missing lock: every package is reported.
func Check(m *manifest.Manifest, f *File) error {
	var entries []Stale
	for _, mp := range m.Packages {
		lp, ok := f.Lookup(mp.Name)
		switch {
		case !ok:
			entries = append(entries, Stale{Name: mp.Name, Reason: "not in " + FileName})
		case !Fresh(mp, lp):
			entries = append(entries, Stale{Name: mp.Name, Reason: Why(mp, lp)})
		}
	}
	if f != nil {
		for _, lp := range f.Packages {
			if _, ok := m.Lookup(lp.Name); !ok {
				entries = append(entries, Stale{Name: lp.Name, Reason: "no longer in " + manifest.FileName})
			}
		}
	}
	if len(entries) == 0 {
		return nil
	}
	slices.SortStableFunc(entries, func(a, b Stale) int { return strings.Compare(a.Name, b.Name) })
	return hint.Wrap(&StaleError{Entries: entries}, "run 'gpm install' (without --locked or --frozen) to update "+FileName+", then commit it")
}
