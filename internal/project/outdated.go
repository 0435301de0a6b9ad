package project

import (
	"context"

	"golang.org/x/sync/errgroup"

	"github.com/gpmtool/gpm/internal/resolve"
	"github.com/gpmtool/gpm/internal/version"
)

// Outdated is one package of gpm outdated.
type Outdated struct {
	Name       string `json:"name"`
	Project    string `json:"project"`
	Package    string `json:"package"`
	Registry   string `json:"registry,omitempty"` // "" for [registry]
	Constraint string `json:"constraint"`         // as written in packages.toml
	Locked     string `json:"locked,omitempty"`   // "" when not locked
	Matching   string `json:"matching,omitempty"` // newest version the constraint allows
	Latest     string `json:"latest,omitempty"`   // newest stable version overall
	Outdated   bool   `json:"outdated"`           // gpm update would change the lock
	// Platforms are the platforms the locked version has files for; empty
	// when its files serve every platform.
	Platforms []string `json:"platforms,omitempty"`
}

// NewerLatest reports whether the newest stable version is newer than the
// locked one (or there is one and nothing is locked): in version order, not
// as strings, since a non-semver pin or a prerelease newer than every
// stable version is not behind a Latest that differs from it.
func (o Outdated) NewerLatest() bool {
	if o.Latest == "" {
		return false
	}
	return o.Locked == "" || version.Compare(version.Parse(o.Latest), version.Parse(o.Locked)) > 0
}

// Outdated lists, for every manifest entry in manifest order, the locked
// version, the newest version its constraint allows and the newest version
// overall. It changes nothing.
func (p *Project) Outdated(ctx context.Context) ([]Outdated, error) {
	rows := make([]Outdated, len(p.Manifest.Packages))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(p.env.Jobs)
	for i, mp := range p.Manifest.Packages {
		g.Go(func() error {
			row := Outdated{Name: mp.Name, Project: mp.Project, Package: mp.Package, Registry: mp.Registry, Constraint: mp.Version}
			if row.Package == "" {
				row.Package = mp.Name
			}
			if lp, ok := p.Lock.Lookup(mp.Name); ok {
				row.Locked = lp.Version
				row.Platforms = lp.Has()
			}
			cl, err := p.clients.get(mp.Registry)
			if err != nil {
				return err
			}
			vs, err := resolve.Versions(ctx, cl, mp.Project, mp.Package)
			if err != nil {
				return LocalError(mp.Name, err)
			}
			if v, ok := version.Newest(vs, &mp.Constraint); ok {
				row.Matching = v.Raw
			}
			if v, ok := version.Newest(vs, nil); ok {
				row.Latest = v.Raw
			}
			row.Outdated = row.Matching != "" && row.Matching != row.Locked
			rows[i] = row
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return rows, nil
}
