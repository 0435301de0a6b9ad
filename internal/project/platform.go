package project

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/lock"
	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/platform"
)

// ErrPlatform matches an invalid platform name (GPM_PLATFORM, --platform)
// and a current platform that packages.toml or packages.lock does not
// cover: the user fixes both (exit 2).
var ErrPlatform = platform.ErrInvalid

// Skipped is a package not installed on the current platform because its
// platforms globs exclude it.
type Skipped struct {
	Name      string   `json:"name"`
	Platforms []string `json:"platforms"`
}

// checkPlatform refuses, before anything is resolved or written, a current
// platform that packages.toml does not cover while a platform-specific
// package applies to it.
func (p *Project) checkPlatform() error {
	if slices.Contains(p.Manifest.Platforms, p.Platform) {
		return nil
	}
	var names []string
	for _, mp := range p.Manifest.Packages {
		if mp.Specific() && mp.AppliesTo(p.Platform) {
			names = append(names, mp.Name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	return hint.Wrap(platform.Invalidf("%s: packages.toml does not cover platform %s, which this gpm installs for (its platforms: %s)",
		strings.Join(names, ", "), p.Platform, strings.Join(p.Manifest.Platforms, ", ")),
		fmt.Sprintf("add %q to [install] platforms in %s and run 'gpm install', then commit %s; or pass --platform (GPM_PLATFORM) to install for a covered platform", p.Platform, baseName(p.ManifestPath), baseName(p.LockPath)))
}

// view returns l as installed on the current platform and the packages
// skipped there. A platform-specific package without files for the
// current platform is an error: exit 6 when the publisher has no build for
// it, exit 2 when the lock does not cover it.
func (p *Project) view(l *lock.File) (*lock.File, []Skipped, error) {
	if l == nil {
		return nil, []Skipped{}, nil
	}
	view, skipped, uncovered := l.ForPlatform(p.Platform)
	out := []Skipped{}
	for _, s := range skipped {
		out = append(out, Skipped{Name: s.Name, Platforms: s.PlatformGlobs})
	}
	var errs []error
	for _, u := range uncovered {
		has := "none"
		if len(u.Has) > 0 {
			has = strings.Join(u.Has, ", ")
		}
		if u.Covered {
			errs = append(errs, hint.Wrap(kindErrorf(ErrNoMatch, "%s@%s: no files for platform %s; the publisher's files cover %s", u.Name, u.Version, p.Platform, has),
				fmt.Sprintf("limit the package to the platforms it has with platforms = [...] in %s, or ask its publisher for a %s build", baseName(p.ManifestPath), p.Platform)))
			continue
		}
		errs = append(errs, hint.Wrap(platform.Invalidf("%s@%s: %s does not cover platform %s (it covers %s)", u.Name, u.Version, baseName(p.LockPath), p.Platform, strings.Join(u.Targets, ", ")),
			fmt.Sprintf("add %q to [install] platforms in %s and run 'gpm install', then commit %s", p.Platform, baseName(p.ManifestPath), baseName(p.LockPath))))
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return view, out, nil
}

// Applies reports whether a manifest package is installed on the current
// platform.
func (p *Project) Applies(mp manifest.Package) bool { return mp.AppliesTo(p.Platform) }
