package resolve

import (
	"context"
	"slices"

	"github.com/gpmtool/gpm/internal/version"
)

// Versions lists the downloadable versions of the package name in project,
// for `gpm outdated` and `gpm add`: exact (case-sensitive) name matches with
// status default or deprecated, each version string once, sorted ascending
// by version.Compare (non-semver versions first, then semver by precedence).
// An error is an *Error naming the package.
func Versions(ctx context.Context, src Source, project, name string) ([]version.Version, error) {
	listed, err := src.ListPackages(ctx, project, name)
	if err != nil {
		return nil, wrap(name, "", err)
	}
	cands, _ := candidates(listed, name)
	out := make([]version.Version, len(cands))
	for i, cd := range cands {
		out[len(cands)-1-i] = cd.v // cands are highest first
	}
	return out, nil
}

// Newest returns the highest version in vs that satisfies c, as Resolve
// would pick it. With c nil it returns the newest version overall for
// display and for `gpm add`'s default constraint: the highest stable semver
// version, else (when only prereleases exist) the highest prerelease; a
// version that is not semver is never returned for a nil c, because it has
// no order (pin it with "=VERSION"). The order of vs does not matter.
func Newest(vs []version.Version, c *version.Constraint) (version.Version, bool) {
	var best, bestPre version.Version
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
			if !foundPre || version.Compare(v, bestPre) > 0 {
				bestPre, foundPre = v, true
			}
			continue
		}
		if !found || version.Compare(v, best) > 0 {
			best, found = v, true
		}
	}
	if c != nil && found {
		if pin, ok := c.Exact(); ok {
			// Prefer the pin's own spelling among equal versions.
			if i := slices.IndexFunc(vs, func(v version.Version) bool { return v.Raw == pin }); i >= 0 {
				return vs[i], true
			}
		}
	}
	if found {
		return best, true
	}
	return bestPre, foundPre
}
