package resolve

import (
	"context"
	"fmt"
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

// VersionFiles lists the file names of version raw of the package name in
// project (the package GitLab would serve for that version string), sorted,
// each once: what gpm add reads to write a files template. An error is an
// *Error naming the package; a version that is not there is ErrNoMatch.
func VersionFiles(ctx context.Context, src Source, project, name, raw string) ([]string, error) {
	listed, err := src.ListPackages(ctx, project, name)
	if err != nil {
		return nil, wrap(name, raw, err)
	}
	cands, _ := candidates(listed, name)
	i := slices.IndexFunc(cands, func(cd candidate) bool { return cd.v.Raw == raw })
	if i < 0 {
		return nil, wrap(name, raw, fmt.Errorf("%w: no version %q", ErrNoMatch, raw))
	}
	files, err := src.ListPackageFiles(ctx, project, cands[i].pkg.ID)
	if err != nil {
		return nil, wrap(name, raw, err)
	}
	var names []string
	for _, f := range files {
		if !slices.Contains(names, f.FileName) {
			names = append(names, f.FileName)
		}
	}
	slices.Sort(names)
	return names, nil
}
