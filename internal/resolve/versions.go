package resolve

import (
	"context"

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
