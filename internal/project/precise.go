package project

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/version"
)

// ErrOutsideConstraint matches gpm update NAME --to VERSION when VERSION
// does not satisfy NAME's constraint in packages.toml: the constraint is the
// user's to change, as with cargo update --precise.
var ErrOutsideConstraint = errors.New("version outside the constraint")

// checkTo validates o.To before anything is asked or written: one entry
// named, a version GitLab accepts, and one that the entry's constraint
// allows. It says how to change the constraint when it does not.
func (p *Project) checkTo(o InstallOptions) error {
	if o.To == "" {
		return nil
	}
	if len(o.Update) != 1 {
		return fmt.Errorf("a precise version needs exactly one package, got %d", len(o.Update))
	}
	name := o.Update[0]
	mp, ok := p.Manifest.Lookup(name)
	if !ok {
		return fmt.Errorf("package %q is not in %s", name, baseName(p.ManifestPath))
	}
	if !version.ValidGitLabVersion(o.To) {
		return hint.Wrap(kindErrorf(ErrOutsideConstraint, "%s: %q is not a version GitLab accepts", name, o.To),
			"a version uses ASCII letters, digits, '.', '_', '-' and '+', without \"..\"")
	}
	if mp.Constraint.Match(version.Parse(o.To)) {
		return nil
	}
	suggested := SuggestConstraint(mp.Version, o.To)
	return hint.Wrap(kindErrorf(ErrOutsideConstraint, "%s: version %q does not satisfy its constraint %q in %s", name, o.To, mp.Version, baseName(p.ManifestPath)),
		fmt.Sprintf("to move to it, set version = %q in [packages.%s], then run 'gpm update %s --to %s'", suggested, name, name, o.To))
}

// SuggestConstraint is the constraint that allows to written in the style of
// the constraint written: "^1.2" and 2.0.0 give "^2.0.0", "~1.2.3" gives
// "~2.0.0", an exact pin gives an exact pin; any other range gives "^to".
// A version that is not semver can only be pinned: "=to".
func SuggestConstraint(written, to string) string {
	w := strings.TrimSpace(written)
	switch {
	case version.Parse(to).Semver == nil:
		return "=" + to
	case strings.HasPrefix(w, "^"), strings.HasPrefix(w, "~"), strings.HasPrefix(w, "=") && !strings.HasPrefix(w, "=="):
		return w[:1] + to
	case w != "" && w != version.Any && version.Parse(w).Semver != nil:
		return to // a bare exact version stays bare
	}
	return "^" + to
}
