// Package resolve turns manifest entries into lock entries: it lists a
// package's versions in the registry, picks the highest one that satisfies
// the entry's constraint, lists that version's files, applies the entry's
// files globs and records each file's size, SHA-256 and ID.
//
// The registry is reached through Source, which *registry.Client
// satisfies; resolution makes at most two listing calls per entry (versions,
// then files of the chosen version), and downloads a file only when the
// registry gave no SHA-256 for it. Entries that come from one project share
// one listing of the project when it is short enough (ProjectLister), so
// the usual "tools" project costs one listing round, not one per entry.
// Nothing here relies on the order in which the API returns rows: GitLab
// sorts versions as strings ("1.10.0" before "1.9.0") and breaks ties
// arbitrarily.
//
// Files globs use path.Match against the registry's file name. File names
// may contain "/" (GitLab directory paths, e.g. "linux/tool.tar.gz"), and as
// in path.Match a "*" or "?" never matches a "/": "*.tar.gz" does not select
// "linux/tool.tar.gz", "*/*.tar.gz" or "linux/*" does.
package resolve

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"maps"
	"path"
	"reflect"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/gpmtool/gpm/internal/lock"
	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/platform"
	"github.com/gpmtool/gpm/internal/registry"
	"github.com/gpmtool/gpm/internal/version"
)

// Source is what resolution needs from a registry; *registry.Client
// satisfies it.
type Source interface {
	// ListPackages lists the versions of the generic package name in
	// project. The client keeps exact names and downloadable statuses
	// only; Resolve filters again rather than rely on it.
	ListPackages(ctx context.Context, project, name string) ([]registry.Package, error)
	// ListPackageFiles lists the files of one package version.
	ListPackageFiles(ctx context.Context, project string, packageID int64) ([]registry.PackageFile, error)
	// Download streams a file into dst, checking it against want.
	Download(ctx context.Context, f registry.FileRef, want registry.Expect, dst io.Writer) (registry.Result, error)
}

// AllLister is implemented by sources that can list packages whose names
// merely contain a query (GitLab's case-insensitive search). Resolve uses it
// only when a package has no version at all, to suggest a name that differs
// in case ("MyTool" for "mytool").
type AllLister interface {
	ListAllPackages(ctx context.Context, project, query string) ([]registry.Package, error)
}

// ProjectLister is implemented by sources that can list every generic
// package of a project in one paged listing (*registry.Client). When
// several entries come from one project, Resolve lists the project once
// for all of them instead of once per entry, provided the listing has at
// most (entries+1)/2 pages: read once, and every page but the last once
// more, it then never costs more requests than a listing per entry. The
// lister reports false when the listing is longer, or changed while it was
// read; the entries are then listed one by one.
type ProjectLister interface {
	ListProjectPackages(ctx context.Context, project string, maxPages int) ([]registry.Package, bool, error)
}

// Request is one manifest entry to resolve and the registry it lives in.
type Request struct {
	Pkg    manifest.Package
	Source Source
	// Precise, when set, pins exactly this version (gpm update NAME --to
	// VERSION, as cargo update --precise): the registry's version spelled
	// the same, else a semver-equal one ("v1.2.0" for "1.2.0"). The caller
	// has checked that Pkg's constraint allows it; Resolve checks it again
	// so that a lock never pins what its constraint rejects.
	Precise string
	// Explicit says the manifest wrote [install] platforms out: then every
	// platform of Pkg.Targets must have files. Otherwise a platform the
	// publisher did not build for is left out of the lock.
	Explicit bool
}

// Options tunes Resolve.
type Options struct {
	// Jobs bounds how many entries resolve at once; values below 1 mean 1.
	Jobs int
	// Warnf receives warnings, one per call, each naming its entry (e.g.
	// duplicate file uploads); nil discards them.
	Warnf func(format string, args ...any)
	// Resolved, when set, receives each entry's lock entry as soon as it
	// is resolved, from the goroutine that resolved it (so from several at
	// once), while other entries may still be resolving or fail: an
	// install starts its downloads there.
	Resolved func(lock.Package)
}

// Resolve resolves every request and returns one lock entry per request, in
// request order. Entries resolve in parallel, at most opts.Jobs at a time;
// warnings are passed to opts.Warnf after all entries finished, in request
// order, so the output does not depend on timing.
//
// A failing entry does not stop the others: the error is every failed
// entry's *Error, joined in request order, so one run shows every problem.
// When ctx is cancelled, entries not yet started are skipped and ctx's error
// is returned (after any other failures).
func Resolve(ctx context.Context, reqs []Request, opts Options) ([]lock.Package, error) {
	jobs := max(opts.Jobs, 1)
	out := make([]lock.Package, len(reqs))
	errs := make([]error, len(reqs))
	warns := make([][]string, len(reqs))

	listings := projectListings(reqs)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for i, r := range reqs {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			res := &resolver{req: r, project: listings[i]}
			out[i], errs[i] = res.resolve(gctx)
			warns[i] = res.warns
			if errs[i] == nil && opts.Resolved != nil {
				opts.Resolved(out[i])
			}
			// Only cancellation stops the group; other failures are
			// collected so every entry gets its say.
			return nil
		})
	}
	g.Wait()

	if opts.Warnf != nil {
		for _, ws := range warns {
			for _, w := range ws {
				opts.Warnf("%s", w)
			}
		}
	}

	var failed []error
	for _, err := range errs {
		if err == nil {
			continue
		}
		if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
			continue // reported once below
		}
		failed = append(failed, err)
	}
	if err := ctx.Err(); err != nil {
		failed = append(failed, err)
	}
	if len(failed) > 0 {
		return nil, errors.Join(failed...)
	}
	return out, nil
}

// resolver resolves one entry and gathers its warnings.
type resolver struct {
	req   Request
	warns []string
	// project is the listing shared by the entries of the entry's
	// project, nil when the entry is listed on its own.
	project *projectListing
}

// projectListing is one project's packages, listed once for every entry
// that comes from the project.
type projectListing struct {
	src     ProjectLister
	project string
	entries int

	once     sync.Once
	rows     []registry.Package
	complete bool
	err      error
}

// get lists the project on the first call and returns that listing to
// every call.
func (l *projectListing) get(ctx context.Context) ([]registry.Package, bool, error) {
	l.once.Do(func() {
		l.rows, l.complete, l.err = l.src.ListProjectPackages(ctx, l.project, (l.entries+1)/2)
	})
	return l.rows, l.complete, l.err
}

// projectListings returns, for each request, the listing it shares with the
// other requests for the same project of the same registry, or nil when
// no other request shares it (or its source cannot list a project).
func projectListings(reqs []Request) []*projectListing {
	type key struct {
		src     Source
		project string
	}
	by := map[key]*projectListing{}
	keys := make([]key, len(reqs))
	for i, r := range reqs {
		pl, ok := r.Source.(ProjectLister)
		if !ok || !reflect.TypeOf(r.Source).Comparable() {
			continue
		}
		k := key{r.Source, r.Pkg.Project}
		keys[i] = k
		if by[k] == nil {
			by[k] = &projectListing{src: pl, project: r.Pkg.Project}
		}
		by[k].entries++
	}
	out := make([]*projectListing, len(reqs))
	for i := range reqs {
		if l := by[keys[i]]; l != nil && l.entries > 1 {
			out[i] = l
		}
	}
	return out
}

// list returns the rows listed for the entry's package, and every row of
// its project when the project was listed whole (nil otherwise), which
// answers a name that differs in case without another request.
func (r *resolver) list(ctx context.Context, name string) (listed, all []registry.Package, err error) {
	if r.project != nil {
		rows, complete, err := r.project.get(ctx)
		if err != nil {
			return nil, nil, err
		}
		if complete {
			for _, rp := range rows {
				if rp.Name == name && rp.Version != "" {
					listed = append(listed, rp)
				}
			}
			return listed, rows, nil
		}
	}
	listed, err = r.req.Source.ListPackages(ctx, r.req.Pkg.Project, name)
	return listed, nil, err
}

func (r *resolver) warnf(format string, args ...any) {
	r.warns = append(r.warns, fmt.Sprintf(format, args...))
}

// withVersion returns the rows of rows that have a version.
func withVersion(rows []registry.Package) []registry.Package {
	var out []registry.Package
	for _, rp := range rows {
		if rp.Version != "" {
			out = append(out, rp)
		}
	}
	return out
}

// candidate is one downloadable version of the package.
type candidate struct {
	v   version.Version
	pkg *registry.Package // points into the listing
}

func (r *resolver) resolve(ctx context.Context) (lock.Package, error) {
	p := r.req.Pkg
	name := p.Package
	if name == "" {
		name = p.Name
	}
	if r.req.Source == nil {
		return lock.Package{}, wrap(p.Name, "", errors.New("no registry to resolve it from"))
	}
	c, err := constraintOf(p)
	if err != nil {
		return lock.Package{}, wrap(p.Name, "", err)
	}

	listed, all, err := r.list(ctx, name)
	if err != nil {
		return lock.Package{}, wrap(p.Name, "", err)
	}
	cands, unavailable := candidates(listed, name)
	best, ok := pick(cands, c)
	if r.req.Precise != "" {
		if c, err = preciseConstraint(r.req.Precise, c); err != nil {
			return lock.Package{}, wrap(p.Name, "", err)
		}
		best, ok = pickPrecise(cands, r.req.Precise)
	}
	if !ok {
		nm := noMatch(cands, c, p.Project, name, unavailable)
		nm.entry = p.Name
		if len(cands) == 0 && len(unavailable) == 0 {
			nm.Suggestions = caseSuggestions(listed, name)
			if all != nil {
				nm.Suggestions = caseSuggestions(all, name)
			} else if al, ok := r.req.Source.(AllLister); ok && len(nm.Suggestions) == 0 {
				all, err := al.ListAllPackages(ctx, p.Project, name)
				if err != nil && ctx.Err() != nil {
					return lock.Package{}, wrap(p.Name, "", ctx.Err())
				}
				// A failed search only costs the suggestion.
				nm.Suggestions = caseSuggestions(all, name)
				// A package listing leaves out the versions that cannot be
				// installed (registry.Installable); the search shows them,
				// so say why there is none to install, as a listing of the
				// whole project does.
				if _, un := candidates(withVersion(all), name); len(un) > 0 {
					nm = noMatch(cands, c, p.Project, name, un)
					nm.entry = p.Name
				}
			}
		}
		return lock.Package{}, wrap(p.Name, "", nm)
	}

	raw := best.v.Raw
	files, err := r.files(ctx, p, name, *best.pkg)
	if err != nil {
		return lock.Package{}, wrap(p.Name, raw, err)
	}
	return lock.Package{
		Name:          p.Name,
		Registry:      p.Registry,
		Project:       p.Project,
		Package:       name,
		Version:       raw,
		Constraint:    p.Version,
		Globs:         slices.Clone(p.Files),
		Replacements:  maps.Clone(p.Replacements),
		PlatformGlobs: slices.Clone(p.Platforms),
		Targets:       slices.Clone(p.Targets),
		Extract:       p.Extract,
		Strip:         p.Strip,
		Bin:           maps.Clone(p.Bin),
		PackageID:     best.pkg.ID,
		Files:         files,
	}, nil
}

// constraintOf returns the entry's parsed constraint, parsing Version when
// the entry was built without one (the zero Constraint matches nothing).
func constraintOf(p manifest.Package) (version.Constraint, error) {
	if p.Constraint.String() != "" {
		return p.Constraint, nil
	}
	s := p.Version
	if s == "" {
		s = version.Any
	}
	return version.ParseConstraint(s)
}

// candidates keeps the rows of exactly name (case-sensitive; GitLab's filter
// is a case-insensitive substring search) that can be downloaded, one per
// version string: when GitLab holds two packages with the same version (one
// re-created after a deletion), the newest (highest ID) wins. It also counts
// the exact-name rows left out for their status.
func candidates(listed []registry.Package, name string) ([]candidate, map[string]int) {
	byRaw := map[string]*registry.Package{}
	var unavailable map[string]int
	for i := range listed {
		rp := &listed[i]
		if rp.Name != name || rp.PackageType != "" && rp.PackageType != "generic" {
			continue
		}
		if !registry.Downloadable(rp.Status) {
			if unavailable == nil {
				unavailable = map[string]int{}
			}
			unavailable[rp.Status]++
			continue
		}
		if prev, ok := byRaw[rp.Version]; !ok || rp.ID > prev.ID {
			byRaw[rp.Version] = rp
		}
	}
	cands := make([]candidate, 0, len(byRaw))
	for raw, rp := range byRaw {
		cands = append(cands, candidate{v: version.Parse(raw), pkg: rp})
	}
	// Highest first; Compare is total, and raw strings are unique here.
	slices.SortFunc(cands, func(a, b candidate) int { return version.Compare(b.v, a.v) })
	return cands, unavailable
}

// pick returns the highest candidate satisfying c; cands are sorted highest
// first. An exact pin prefers the identical spelling ("=1.2.0" picks "1.2.0"
// over an equal "v1.2.0").
func pick(cands []candidate, c version.Constraint) (candidate, bool) {
	if pin, ok := c.Exact(); ok {
		for _, cd := range cands {
			if cd.v.Raw == pin {
				return cd, true
			}
		}
	}
	for _, cd := range cands {
		if c.Match(cd.v) {
			return cd, true
		}
	}
	return candidate{}, false
}

// preciseConstraint checks that the constraint c allows the version
// precise and returns the exact pin that reports a missing version.
func preciseConstraint(precise string, c version.Constraint) (version.Constraint, error) {
	if !c.Match(version.Parse(precise)) {
		return c, fmt.Errorf("version %q does not satisfy %q", precise, c.String())
	}
	return version.ParseConstraint("=" + precise)
}

// pickPrecise returns the candidate spelled precise, else one equal to it
// in semver ("v1.2.0" for "1.2.0", build metadata aside).
func pickPrecise(cands []candidate, precise string) (candidate, bool) {
	for _, cd := range cands {
		if cd.v.Raw == precise {
			return cd, true
		}
	}
	if want := version.Parse(precise); want.Semver != nil {
		for _, cd := range cands {
			if cd.v.Semver != nil && cd.v.Semver.Equal(want.Semver) {
				return cd, true
			}
		}
	}
	return candidate{}, false
}

// maxNewest caps the versions a NoMatchError lists.
const maxNewest = 5

// noMatch describes what the registry has when nothing satisfies c.
func noMatch(cands []candidate, c version.Constraint, project, name string, unavailable map[string]int) *NoMatchError {
	_, exact := c.Exact()
	e := &NoMatchError{
		Project:     project,
		Package:     name,
		Constraint:  c.String(),
		Versions:    len(cands),
		Unavailable: unavailable,
		exact:       exact,
	}
	var nonSemver []candidate
	for _, cd := range cands {
		if cd.v.Semver == nil {
			nonSemver = append(nonSemver, cd)
			continue
		}
		if len(e.Newest) < maxNewest {
			e.Newest = append(e.Newest, cd.v.Raw)
		}
		if e.Prerelease == "" && !exact && cd.v.Semver.Prerelease() != "" {
			// Would the range take this prerelease's release? Then it
			// is only excluded for being a prerelease.
			rel, err := cd.v.Semver.SetPrerelease("")
			if err == nil {
				rel, err = rel.SetMetadata("")
			}
			if err == nil && c.Match(version.Version{Raw: rel.String(), Semver: &rel}) {
				e.Prerelease = cd.v.Semver.String()
			}
		}
	}
	e.NonSemver = len(nonSemver)
	// Non-semver versions have no order of their own: show the most
	// recently published ones.
	slices.SortFunc(nonSemver, func(a, b candidate) int {
		if c := b.pkg.CreatedAt.Compare(a.pkg.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.pkg.ID, a.pkg.ID)
	})
	for _, cd := range nonSemver[:min(len(nonSemver), maxNewest)] {
		e.RecentNonSemver = append(e.RecentNonSemver, cd.v.Raw)
	}
	return e
}

// caseSuggestions returns the distinct names in listed that equal name but
// for case.
func caseSuggestions(listed []registry.Package, name string) []string {
	var out []string
	for _, rp := range listed {
		if rp.Name != name && strings.EqualFold(rp.Name, name) && !slices.Contains(out, rp.Name) {
			out = append(out, rp.Name)
		}
	}
	slices.Sort(out)
	return out
}

// files lists the chosen version's files, keeps the newest of same-named
// uploads, applies the globs and fills in missing checksums.
func (r *resolver) files(ctx context.Context, p manifest.Package, name string, rp registry.Package) ([]lock.FileEntry, error) {
	listed, err := r.req.Source.ListPackageFiles(ctx, p.Project, rp.ID)
	if err != nil {
		return nil, err
	}
	label := p.Name + "@" + rp.Version

	// Same-named files are duplicate uploads; GitLab serves the newest.
	newest := registry.NewestByName(listed)
	count := map[string]int{}
	for _, f := range listed {
		count[f.FileName]++
	}
	if len(newest) == 0 {
		return nil, noFilesError{}
	}
	names := make([]string, 0, len(newest))
	for n := range newest {
		names = append(names, n)
	}
	slices.Sort(names)

	type pick struct{ name, platform string }
	var selected []pick
	if len(p.Files) == 0 {
		for _, n := range names {
			selected = append(selected, pick{name: n})
		}
	} else {
		var shared, specific []string
		for _, g := range p.Files {
			if platform.Specific(g) {
				specific = append(specific, g)
			} else {
				shared = append(shared, g)
			}
		}
		keep, err := match(p.Name, shared, platform.Platform{}, rp.Version, p.Replacements, names)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if keep[n] {
				selected = append(selected, pick{name: n})
			}
		}
		if len(specific) > 0 {
			var have []string
			missing := map[string]error{}
			for _, t := range p.Targets {
				plat, err := platform.Parse(t)
				if err != nil {
					return nil, err
				}
				hits, err := match(p.Name, specific, plat, rp.Version, p.Replacements, names)
				if err != nil {
					missing[t] = err
					continue
				}
				have = append(have, t)
				for _, n := range names {
					if hits[n] && !keep[n] {
						selected = append(selected, pick{name: n, platform: t})
					}
				}
			}
			if len(have) == 0 || r.req.Explicit && len(missing) > 0 {
				return nil, platformsError(p, have, missing, names)
			}
		}
		slices.SortFunc(selected, func(a, b pick) int {
			return cmp.Or(strings.Compare(a.name, b.name), strings.Compare(a.platform, b.platform))
		})
	}

	out := make([]lock.FileEntry, 0, len(selected))
	hashed := map[string]lock.FileEntry{}
	for _, pk := range selected {
		n := pk.name
		f := newest[n]
		if e, ok := hashed[n]; ok {
			// The same file serves another platform too.
			e.Platform = pk.platform
			out = append(out, e)
			continue
		}
		if c := count[n]; c > 1 {
			r.warnf("%s: %q was uploaded %d times; locking the newest (file id %d), which is what GitLab serves", label, n, c, f.ID)
		}
		e := lock.FileEntry{Name: n, Size: f.Size, SHA256: strings.ToLower(f.SHA256), FileID: f.ID}
		if e.SHA256 == "" {
			size, sum, err := r.hash(ctx, registry.FileRef{Project: p.Project, Package: name, Version: rp.Version, File: n}, f.Size)
			if err != nil {
				return nil, err
			}
			e.Size, e.SHA256 = size, sum
			r.warnf("%s: the registry gave no sha256 for %q (an older GitLab); downloaded it to record its checksum", label, n)
		}
		hashed[n] = e
		e.Platform = pk.platform
		out = append(out, e)
	}
	return out, nil
}

// match applies globs, expanded for plat and version v, to names: it
// returns the names selected, or a *FilesError naming the expanded globs
// that matched nothing.
func match(entry string, globs []string, plat platform.Platform, v string, repl map[string]string, names []string) (map[string]bool, error) {
	keep := map[string]bool{}
	var unmatched []string
	for _, tmpl := range globs {
		g := platform.Expand(tmpl, plat, v, repl)
		hit := false
		for _, n := range names {
			ok, err := path.Match(g, n)
			if err != nil {
				return nil, fmt.Errorf("invalid files glob %q: %w", g, err)
			}
			if ok {
				keep[n], hit = true, true
			}
		}
		if !hit && !slices.Contains(unmatched, g) {
			unmatched = append(unmatched, g)
		}
	}
	if len(unmatched) > 0 {
		fe := &FilesError{Globs: unmatched, Files: names[:min(len(names), maxListed)], Total: len(names), entry: entry}
		for _, g := range unmatched {
			if s, ok := suggestGlob(g, names); ok {
				if fe.suggest == nil {
					fe.suggest = map[string]string{}
				}
				fe.suggest[g] = s
			}
		}
		return nil, fe
	}
	return keep, nil
}

// hash downloads a file the registry gave no checksum for and returns its
// size and SHA-256.
func (r *resolver) hash(ctx context.Context, ref registry.FileRef, size int64) (int64, string, error) {
	h := &hasher{h: sha256.New()}
	res, err := r.req.Source.Download(ctx, ref, registry.Expect{Size: size, SHA256: ""}, h)
	if err != nil {
		return 0, "", err
	}
	sum := hex.EncodeToString(h.h.Sum(nil))
	if res.SHA256 != "" && !strings.EqualFold(res.SHA256, sum) {
		return 0, "", fmt.Errorf("download of %q: the client reported sha256 %s but the bytes hash to %s", ref.File, res.SHA256, sum)
	}
	return h.n, sum, nil
}

// hasher is a download destination that keeps only the hash and size. It
// implements registry.Resetter, so a download that fails midway can be
// retried from the start.
type hasher struct {
	h hash.Hash
	n int64
}

func (w *hasher) Write(p []byte) (int, error) {
	w.h.Write(p)
	w.n += int64(len(p))
	return len(p), nil
}

// Reset discards what was written.
func (w *hasher) Reset() error {
	w.h.Reset()
	w.n = 0
	return nil
}

var _ registry.Resetter = (*hasher)(nil)

// The registry client is the production Source.
var (
	_ Source        = (*registry.Client)(nil)
	_ AllLister     = (*registry.Client)(nil)
	_ ProjectLister = (*registry.Client)(nil)
)
