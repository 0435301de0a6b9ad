package project

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/gpmtool/gpm/internal/fetch"
	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/platform"
	"github.com/gpmtool/gpm/internal/resolve"
	"github.com/gpmtool/gpm/internal/version"
)

// Add appends e to the manifest (keeping the user's comments and layout),
// then locks and installs it. An empty e.Version becomes ^X.Y.Z of the newest
// version (an exact pin for a version that is not semver), as cargo add
// does. Without e.Files, when that version's files are named by OS and
// architecture (platform.Recognize), e gets the files template and
// replacements that select each platform's file, so that the lock holds
// every platform's; e.Extract stays the caller's. It returns the entry as
// written. If anything fails, the manifest and the lock are left as they
// were.
func (p *Project) Add(ctx context.Context, e manifest.Entry, o InstallOptions) (manifest.Entry, *Result, error) {
	data, err := os.ReadFile(p.ManifestPath)
	if err != nil {
		return e, nil, err
	}
	// Validate what the user typed before asking the registry anything.
	if _, err := manifest.Append(p.ManifestPath, data, e); err != nil {
		return e, nil, err
	}
	var newest string // the version the constraint picks, when known
	if e.Version == "" {
		var v version.Version
		if v, err = p.newest(ctx, e); err != nil {
			return e, nil, err
		}
		e.Version, newest = DefaultConstraint(v), v.Raw
	}
	if len(e.Files) == 0 {
		p.platformFiles(ctx, &e, newest)
	}
	if _, err := manifest.Append(p.ManifestPath, data, e); err != nil {
		return e, nil, err
	}
	res, err := p.editAndInstall(ctx, func(data []byte) ([]byte, error) { return manifest.Append(p.ManifestPath, data, e) }, o)
	return e, res, err
}

// newest is the version gpm add writes a constraint for: e's newest.
func (p *Project) newest(ctx context.Context, e manifest.Entry) (version.Version, error) {
	cl, err := p.clients.get(e.Registry)
	if err != nil {
		return version.Version{}, err
	}
	name := registryName(e)
	vs, err := resolve.Versions(ctx, cl, e.Project, name)
	if err != nil {
		return version.Version{}, LocalError(e.Name, err)
	}
	v, ok := version.Newest(vs, nil)
	if !ok && len(vs) > 0 {
		v, ok = vs[len(vs)-1], true // only non-semver versions: pin the newest exactly
	}
	if !ok {
		return version.Version{}, hint.Wrap(kindErrorf(ErrNoMatch, "%s: no version of package %q in project %q", e.Name, name, e.Project),
			fmt.Sprintf("check the name (case-sensitive) with 'gpm search %s --project %s'", name, e.Project))
	}
	return v, nil
}

func registryName(e manifest.Entry) string {
	if e.Package != "" {
		return e.Package
	}
	return e.Name
}

// platformFiles sets e's files and replacements to the template of the
// version e.Version picks (raw, when already known) when its files are
// named by OS and architecture. It is best effort: on any failure e is left
// to select every file, and the install that follows reports the problem.
func (p *Project) platformFiles(ctx context.Context, e *manifest.Entry, raw string) {
	cl, err := p.clients.get(e.Registry)
	if err != nil {
		return
	}
	name := registryName(*e)
	if raw == "" {
		c, err := version.ParseConstraint(e.Version)
		if err != nil {
			return
		}
		vs, err := resolve.Versions(ctx, cl, e.Project, name)
		if err != nil {
			return
		}
		v, ok := version.Newest(vs, &c)
		if pin, exact := c.Exact(); exact {
			v, ok = version.Parse(pin), true
		}
		if !ok {
			return
		}
		raw = v.Raw
	}
	names, err := resolve.VersionFiles(ctx, cl, e.Project, name, raw)
	if err != nil {
		return
	}
	if r, ok := platform.Recognize(names, raw); ok {
		e.Files, e.Replacements = r.Files(), r.Replacements
	}
}

// DefaultConstraint is what gpm add writes for the newest version, as cargo
// add does: ^X.Y.Z, or an exact pin for a version that is not semver.
func DefaultConstraint(v version.Version) string {
	if v.Semver == nil {
		return "=" + v.Raw
	}
	return "^" + v.Semver.String()
}

// Remove removes the entry name from the manifest, then installs, which
// drops its lock entry and removes the files gpm placed for it. If anything
// fails, the manifest and the lock are left as they were.
func (p *Project) Remove(ctx context.Context, name string, o InstallOptions) (*Result, error) {
	return p.editAndInstall(ctx, func(data []byte) ([]byte, error) { return manifest.Remove(p.ManifestPath, data, name) }, o)
}

// editAndInstall edits the manifest and installs, all under the vendor
// directory's lock. The manifest is read under the lock, so that two gpm
// add or remove runs at once each edit what the other wrote instead of
// writing back what they read before. A failed install puts the old
// manifest and lock back, so a failed add or remove changes nothing.
func (p *Project) editAndInstall(ctx context.Context, edit func([]byte) ([]byte, error), o InstallOptions) (*Result, error) {
	unlock, err := fetch.LockDir(p.Dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	old, err := os.ReadFile(p.ManifestPath)
	if err != nil {
		return nil, err
	}
	next, err := edit(old)
	if err != nil {
		return nil, err
	}
	if err := p.readLock(); err != nil {
		return nil, err
	}
	oldLock, lerr := os.ReadFile(p.LockPath)
	if err := writeFileAtomic(p.ManifestPath, next); err != nil {
		return nil, err
	}
	res, err := p.installEdited(ctx, o)
	if err == nil {
		return res, nil
	}
	if rerr := writeFileAtomic(p.ManifestPath, old); rerr != nil {
		return nil, errors.Join(err, fmt.Errorf("restoring %s: %w", p.ManifestPath, rerr))
	}
	switch {
	case lerr == nil:
		if rerr := writeFileAtomic(p.LockPath, oldLock); rerr != nil {
			return nil, errors.Join(err, fmt.Errorf("restoring %s: %w", p.LockPath, rerr))
		}
	case errors.Is(lerr, os.ErrNotExist):
		os.Remove(p.LockPath)
	}
	return nil, err
}

// installEdited re-reads the edited manifest and installs it.
func (p *Project) installEdited(ctx context.Context, o InstallOptions) (*Result, error) {
	if err := p.reloadManifest(); err != nil {
		return nil, err
	}
	if err := p.checkModes(o); err != nil {
		return nil, err
	}
	return p.install(ctx, o)
}

// LocalError names a failure of resolve.Versions after the manifest's local
// name. Versions names the registry package already; wrapping its error
// again would print the name twice ("tool: tool: ...").
func LocalError(name string, err error) error {
	var re *resolve.Error
	if errors.As(err, &re) {
		err = re.Err
	}
	return &resolve.Error{Name: name, Err: err}
}
