// Package doctor walks gpm's set-up checklist, in the order a new user
// needs it: the manifest and the lock, each registry (reachable, which
// credential, accepted), each publisher project (packages can be listed, a
// locked file can be downloaded), and the vendor directory. It returns the
// checks as data; the command layer prints them as text or JSON. It changes
// nothing.
package doctor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gpmtool/gpm/internal/fetch"
	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/lock"
	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/platform"
	"github.com/gpmtool/gpm/internal/registry"
)

// Status is the outcome of one check.
type Status string

// Check statuses.
const (
	OK      Status = "ok"
	Problem Status = "problem"
)

// Kind classifies a problem, so that the caller can choose an exit code.
type Kind int

// Problem kinds, from the least to the most specific.
const (
	Failure Kind = iota // anything else: network, server, missing files
	Invalid             // packages.toml or packages.lock is invalid
	Access              // a credential is missing or refused, a project hidden
)

// Check is one step of the checklist.
type Check struct {
	Name   string `json:"name"` // e.g. "manifest", "registry default", "access project acme/tools"
	Status Status `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
	// Kind is what a problem is about; meaningless for OK checks.
	Kind Kind `json:"-"`
}

// Options says what to check and where to report.
type Options struct {
	// ManifestPath is packages.toml; the lock sits beside it.
	ManifestPath string
	// LockPath is the lock file beside the manifest.
	LockPath string
	// Env builds the registry clients.
	Env registry.Env
	// Report, when set, receives each check as soon as it is decided, so
	// that a slow registry does not hold back what is already known.
	Report func(Check)
}

// doctor is one run of the checklist.
type doctor struct {
	ctx          context.Context
	opts         Options
	manifestPath string
	checks       []Check
}

// Run walks the checklist and returns every check, in order. A check cut
// short because ctx was cancelled is left out: it is not a finding.
func Run(ctx context.Context, opts Options) []Check {
	d := &doctor{ctx: ctx, opts: opts, manifestPath: opts.ManifestPath}
	d.run()
	return d.checks
}

// Worst returns the number of problems and the most specific kind among
// them: access over invalid files over everything else.
func Worst(checks []Check) (problems int, kind Kind) {
	for _, ch := range checks {
		if ch.Status == Problem {
			problems++
			kind = max(kind, ch.Kind)
		}
	}
	return problems, kind
}

func (d *doctor) ok(name, format string, args ...any) {
	d.add(Check{Name: name, Status: OK, Detail: fmt.Sprintf(format, args...)})
}

func (d *doctor) problem(name string, kind Kind, detail, fix string) {
	d.add(Check{Name: name, Status: Problem, Detail: detail, Fix: fix, Kind: kind})
}

func (d *doctor) add(ch Check) {
	if d.ctx.Err() != nil {
		// Interrupted: a check cut short is not a finding ("does not
		// answer like GitLab: context canceled" would send the user
		// looking for a problem that is not there).
		return
	}
	d.checks = append(d.checks, ch)
	if d.opts.Report != nil {
		d.opts.Report(ch)
	}
}

// kindOf classifies the error behind a problem.
func kindOf(err error) Kind {
	switch {
	case errors.Is(err, registry.ErrUnauthorized), errors.Is(err, registry.ErrHiddenProject), errors.Is(err, registry.ErrNoCredential):
		return Access
	case errors.Is(err, manifest.ErrInvalid), errors.Is(err, lock.ErrInvalid):
		return Invalid
	}
	return Failure
}

func (d *doctor) run() {
	m, err := manifest.Load(d.manifestPath)
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(d.manifestPath); errors.Is(serr, fs.ErrNotExist) {
			d.problem("manifest", Invalid, fmt.Sprintf("no %s in %s", filepath.Base(d.manifestPath), displayDir(filepath.Dir(d.manifestPath))),
				"run 'gpm init' to create one, or pass -C DIR / --manifest FILE")
			return
		}
	}
	if err != nil {
		d.problem("manifest", kindOf(err), err.Error(), fixOf(err))
		return
	}
	d.ok("manifest", "%s: %s", d.manifestPath, plural(len(m.Packages), "package"))

	plat, err := platform.Current(d.opts.Env.Getenv)
	if err != nil {
		d.problem("platform", Invalid, err.Error(), "write the platform as OS-ARCH in Go's names, as in linux-amd64 or darwin-arm64")
		return
	}
	d.checkPlatform(m, plat.String())

	l := d.checkLock(m)
	for _, name := range usedRegistries(m) {
		d.checkRegistry(m, name, l)
	}
	if l != nil {
		d.checkVendor(m, l, plat.String())
	}
}

// checkPlatform says which platform gpm installs for, and whether
// packages.toml covers it.
func (d *doctor) checkPlatform(m *manifest.Manifest, plat string) {
	source := "this machine"
	if d.opts.Env.Getenv != nil && d.opts.Env.Getenv(platform.Env) != "" {
		source = platform.Env + " or --platform"
	}
	if !slices.Contains(m.Platforms, plat) && slices.ContainsFunc(m.Packages, func(p manifest.Package) bool { return p.Specific() && p.AppliesTo(plat) }) {
		d.problem("platform", Invalid, fmt.Sprintf("installing for %s (%s), which packages.toml does not cover (its platforms: %s)", plat, source, strings.Join(m.Platforms, ", ")),
			fmt.Sprintf("add %q to [install] platforms and run 'gpm install'", plat))
		return
	}
	d.ok("platform", "installing for %s (%s); packages.toml covers %s", plat, source, strings.Join(m.Platforms, ", "))
}

// client builds the client of the registry named name ("" is the default).
func (d *doctor) client(m *manifest.Manifest, name string) (*registry.Client, error) {
	reg := m.Registry
	label := "default"
	if name != "" {
		reg, label = m.Registries[name], fmt.Sprintf("%q", name)
	}
	var spec *registry.TokenSpec
	if reg.Token != nil {
		spec = &registry.TokenSpec{Env: reg.Token.Env, Type: reg.Token.Type}
	}
	return registry.Open(reg.ResolvedURL(d.opts.Env.Getenv), label, spec, name == "", d.opts.Env)
}

// checkLock reads the lock and checks that it is fresh; it returns the lock
// when it could be read.
func (d *doctor) checkLock(m *manifest.Manifest) *lock.File {
	path := d.opts.LockPath
	l, err := lock.Read(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if len(m.Packages) == 0 {
			d.ok("lock", "no %s yet, and nothing to lock", filepath.Base(path))
			return nil
		}
		d.problem("lock", Failure, fmt.Sprintf("no %s", path),
			fmt.Sprintf("run 'gpm install' to resolve and lock %s, then commit %s", plural(len(m.Packages), "package"), filepath.Base(path)))
		return nil
	case err != nil:
		d.problem("lock", kindOf(err), err.Error(), fixOf(err))
		return nil
	}
	if err := lock.Check(m, l); err != nil {
		d.problem("lock", Failure, err.Error(), fixOf(err))
		return l
	}
	d.ok("lock", "%s is up to date with %s", filepath.Base(path), filepath.Base(d.manifestPath))
	return l
}

func displayDir(d string) string {
	if d == "." {
		if wd, err := os.Getwd(); err == nil {
			return wd
		}
	}
	return d
}

func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// usedRegistries lists the registries the manifest's packages use, the
// default first.
func usedRegistries(m *manifest.Manifest) []string {
	var named []string
	seen, def := map[string]bool{}, false
	for _, p := range m.Packages {
		switch {
		case p.Registry == "":
			def = true
		case !seen[p.Registry]:
			seen[p.Registry] = true
			named = append(named, p.Registry)
		}
	}
	if def {
		return append([]string{""}, named...)
	}
	return named
}

// publisherProject is one publisher project of the manifest.
type publisherProject struct {
	project  string
	packages []manifest.Package
}

// projectsOf groups the packages of one registry by publisher project, in
// manifest order.
func projectsOf(m *manifest.Manifest, reg string) []*publisherProject {
	var out []*publisherProject
	by := map[string]*publisherProject{}
	for _, p := range m.Packages {
		if p.Registry != reg {
			continue
		}
		pp, ok := by[p.Project]
		if !ok {
			pp = &publisherProject{project: p.Project}
			by[p.Project] = pp
			out = append(out, pp)
		}
		pp.packages = append(pp.packages, p)
	}
	return out
}

// checkRegistry checks that the registry answers and accepts the
// credential, then each of its publisher projects.
func (d *doctor) checkRegistry(m *manifest.Manifest, name string, l *lock.File) {
	label, credLabel := "registry default", "credential default"
	if name != "" {
		label, credLabel = fmt.Sprintf("registry %q", name), fmt.Sprintf("credential %q", name)
	}
	cl, err := d.client(m, name)
	if err != nil {
		d.problem(label, Failure, err.Error(), fixOf(err))
		return
	}
	cred := cl.Credential()
	projects := projectsOf(m, name)
	first := projects[0]
	_, err = cl.ListPackages(d.ctx, first.project, first.packages[0].Package)
	var he *registry.HTTPError
	if err != nil && !errors.As(err, &he) {
		d.problem(label, Failure, fmt.Sprintf("%s does not answer like GitLab: %v", cl.APIURL(), err),
			"check the registry url ([registry] url in packages.toml, or $CI_SERVER_URL) and the network or proxy settings")
		return
	}
	d.ok(label, "%s answers", cl.APIURL())

	switch {
	case he != nil && he.Status == http.StatusUnauthorized && cred.Anonymous():
		d.problem(credLabel, Access, "none found, and GitLab wants one (401 Unauthorized)", fixOf(err))
		return
	case he != nil && he.Status == http.StatusUnauthorized:
		d.problem(credLabel, Access, fmt.Sprintf("%s, rejected by GitLab (401 Unauthorized%s)", cred, colonMessage(he)), fixOf(err))
		return
	case cred.Anonymous():
		d.ok(credLabel, "none found (anonymous): only public projects can be read")
	case !registry.CanList(cred.Type):
		d.ok(credLabel, "%s; GitLab ignores it on the package list API, so it is checked by downloads", cred)
	default:
		d.ok(credLabel, "%s, accepted", cred)
	}

	listed := map[string]error{first.project: err}
	for _, pp := range projects {
		d.checkProject(cl, name, pp, listed, l)
	}
}

// checkProject checks that the packages of one publisher project can be
// listed and that one of its locked files can be downloaded.
// listed holds listing answers already known, by project.
func (d *doctor) checkProject(cl *registry.Client, reg string, pp *publisherProject, listed map[string]error, l *lock.File) {
	name := "access project " + pp.project
	cred := cl.Credential()
	listErr, ok := listed[pp.project]
	if !ok {
		_, listErr = cl.ListPackages(d.ctx, pp.project, pp.packages[0].Package)
	}
	listIgnored := false // the credential type cannot list; not a problem
	if listErr != nil {
		var he *registry.HTTPError
		switch {
		case !errors.As(listErr, &he):
			d.problem(name, Failure, fmt.Sprintf("listing packages failed: %v", listErr), fixOf(listErr))
			return
		case !registry.CanList(cred.Type) && (he.Status == http.StatusNotFound || he.Status == http.StatusUnauthorized):
			listIgnored = true
		case he.Status == http.StatusUnauthorized || he.Status == http.StatusForbidden || he.Status == http.StatusNotFound:
			d.problem(name, Access, fmt.Sprintf("cannot list the packages of project %s (%s)", pp.project, httpSummary(he)), fixOf(listErr))
			return
		default:
			d.problem(name, Failure, fmt.Sprintf("listing packages failed (%s)", httpSummary(he)), fixOf(listErr))
			return
		}
	}

	lp, ok := lockedFileIn(l, reg, pp)
	if !ok {
		if listIgnored {
			d.problem(name, Failure, fmt.Sprintf("%s cannot list packages and packages.lock pins no file of project %s to try a download with", cred, pp.project),
				"run 'gpm install' once with a personal, project or group access token and commit packages.lock; deploy tokens then install with 'gpm install --locked'")
			return
		}
		d.ok(name, "packages can be listed (no locked file to try a download with)")
		return
	}
	ref := registry.FileRef{Project: lp.Project, Package: lp.Package, Version: lp.Version, File: lp.Files[0].Name}
	_, err := cl.CheckFile(d.ctx, ref)
	var he *registry.HTTPError
	switch {
	case err == nil && listIgnored:
		d.ok(name, "%s@%s can be downloaded (%s cannot list packages: installs need the lock, 'gpm install --locked')", lp.Name, lp.Version, cred)
	case err == nil:
		d.ok(name, "packages can be listed and %s@%s downloaded", lp.Name, lp.Version)
	case !errors.As(err, &he):
		d.problem(name, Failure, fmt.Sprintf("downloading %s of %s@%s failed: %v", ref.File, lp.Name, lp.Version, err), fixOf(err))
	case he.Status == http.StatusNotFound && !listIgnored:
		// The project is visible, so the file itself is gone.
		d.problem(name, Failure, fmt.Sprintf("%s@%s: the locked file %s is no longer served (404)", lp.Name, lp.Version, ref.File),
			fmt.Sprintf("the version or file was deleted or hidden; run 'gpm update %s' to lock what the registry serves now", lp.Name))
	case he.Status == http.StatusUnauthorized || he.Status == http.StatusForbidden || he.Status == http.StatusNotFound:
		d.problem(name, Access, fmt.Sprintf("cannot download %s of %s@%s (%s)", ref.File, lp.Name, lp.Version, httpSummary(he)), fixOf(err))
	default:
		d.problem(name, Failure, fmt.Sprintf("downloading %s of %s@%s failed (%s)", ref.File, lp.Name, lp.Version, httpSummary(he)), fixOf(err))
	}
}

// lockedFileIn returns the first locked package of the publisher project
// that has a file.
func lockedFileIn(l *lock.File, reg string, pp *publisherProject) (lock.Package, bool) {
	for _, mp := range pp.packages {
		lp, ok := l.Lookup(mp.Name)
		if ok && lp.Registry == reg && lp.Project == pp.project && len(lp.Files) > 0 {
			return lp, true
		}
	}
	return lock.Package{}, false
}

// checkVendor reports locked packages that are not installed as locked.
func (d *doctor) checkVendor(m *manifest.Manifest, l *lock.File, plat string) {
	dir := filepath.Join(filepath.Dir(d.manifestPath), m.Dir)
	// Only what installs on this platform can be in place.
	l, _, _ = l.ForPlatform(plat)
	in := fetch.InPlace(dir, l)
	var missing []string
	for _, lp := range l.Packages {
		if !in[lp.Name] {
			missing = append(missing, lp.Name)
		}
	}
	if len(missing) > 0 {
		d.problem("vendor", Failure, fmt.Sprintf("%s of %d not installed as locked in %s: %s", plural(len(missing), "package"), len(l.Packages), m.Dir, strings.Join(missing, ", ")),
			"run 'gpm install'")
		return
	}
	d.ok("vendor", "%s installed as locked in %s", plural(len(l.Packages), "package"), m.Dir)
}

// httpSummary is an HTTP error's status and GitLab's message, without the
// URL (doctor's lines name the project already).
func httpSummary(he *registry.HTTPError) string {
	return fmt.Sprintf("%d %s%s", he.Status, http.StatusText(he.Status), colonMessage(he))
}

func colonMessage(he *registry.HTTPError) string {
	m := strings.TrimSpace(strings.TrimPrefix(he.Message, fmt.Sprintf("%d %s", he.Status, http.StatusText(he.Status))))
	m = strings.TrimLeft(m, " -:")
	if m == "" {
		return ""
	}
	return ": " + m
}

// fixOf joins the hints of err into one line, leaving out the credential
// source and GitLab's message, which doctor prints on their own.
func fixOf(err error) string {
	var out []string
	for _, h := range hint.Of(err) {
		if strings.HasPrefix(h, "the request used ") || strings.HasPrefix(h, "GitLab said: ") {
			continue
		}
		out = append(out, h)
	}
	return strings.Join(out, "; ")
}
