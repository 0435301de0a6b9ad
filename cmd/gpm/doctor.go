package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/gpmtool/gpm/internal/fetch"
	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/lock"
	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/registry"
)

func init() {
	lookupCommand("doctor").run = runDoctor
}

// Check statuses of gpm doctor.
const (
	checkOK      = "ok"
	checkProblem = "problem"
)

// doctorCheck is one step of gpm doctor's checklist.
type doctorCheck struct {
	Name   string `json:"name"`   // e.g. "manifest", "registry default", "access acme/tools"
	Status string `json:"status"` // ok or problem
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
	// code is the exit code a problem asks for: exitDenied for access
	// problems, exitUsage for invalid files, exitFailure otherwise.
	code int
}

// jsonDoctor is the --json document of gpm doctor.
type jsonDoctor struct {
	OK     bool          `json:"ok"`
	Checks []doctorCheck `json:"checks"`
}

// doctor walks the checklist, printing each step as it is decided.
type doctor struct {
	c      *cli
	checks []doctorCheck
}

func (d *doctor) ok(name, format string, args ...any) {
	d.add(doctorCheck{Name: name, Status: checkOK, Detail: fmt.Sprintf(format, args...)})
}

func (d *doctor) problem(name string, code int, detail, fix string) {
	d.add(doctorCheck{Name: name, Status: checkProblem, Detail: detail, Fix: fix, code: code})
}

func (d *doctor) add(ch doctorCheck) {
	if d.c.ctx.Err() != nil {
		// Interrupted: a check cut short is not a finding ("does not
		// answer like GitLab: context canceled" would send the user
		// looking for a problem that is not there).
		return
	}
	d.checks = append(d.checks, ch)
	d.c.printf("%-8s %s: %s\n", ch.Status, ch.Name, strings.ReplaceAll(ch.Detail, "\n", "\n         "))
	if ch.Fix != "" {
		d.c.printf("         fix: %s\n", ch.Fix)
	}
}

// runDoctor checks, in the order a new user needs them: the manifest and the
// lock, each registry (reachable, which credential, accepted), each publisher
// project (packages can be listed, a locked file can be downloaded), and the
// vendor directory. It changes nothing. It exits 0 when every check is ok,
// 5 when a problem is about access, 2 when packages.toml or packages.lock is
// invalid, and 1 otherwise.
func runDoctor(c *cli, args []string) error {
	if len(args) > 0 {
		return usageError("gpm doctor takes no arguments")
	}
	d := &doctor{c: c}
	d.run()
	if err := c.ctx.Err(); err != nil {
		return err
	}
	out := jsonDoctor{OK: true, Checks: d.checks}
	problems, code := 0, exitOK
	for _, ch := range d.checks {
		if ch.Status == checkProblem {
			problems++
			out.OK = false
			code = worseCode(code, ch.code)
		}
	}
	if c.g.json {
		if err := writeJSON(c, out); err != nil {
			return err
		}
	}
	if problems == 0 {
		c.printf("no problems found\n")
		return nil
	}
	msg := fmt.Sprintf("gpm doctor found %s", plural(problems, "problem"))
	switch code {
	case exitDenied:
		return &kindError{kind: errDenied, msg: msg}
	case exitUsage:
		return usageError("%s", msg)
	}
	return errors.New(msg)
}

// worseCode orders doctor's exit codes: access (5) over invalid files (2)
// over everything else (1).
func worseCode(a, b int) int {
	rank := func(c int) int {
		switch c {
		case exitDenied:
			return 3
		case exitUsage:
			return 2
		case exitOK:
			return 0
		}
		return 1
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

func (d *doctor) run() {
	c := d.c
	m, err := c.loadManifest()
	if err != nil {
		d.problem("manifest", exitCode(err), err.Error(), fixOf(err))
		return
	}
	d.ok("manifest", "%s: %s", c.manifestPath(), plural(len(m.Packages), "package"))

	l := d.checkLock(m)
	cls := c.clients(m)
	for _, name := range usedRegistries(m) {
		d.checkRegistry(m, cls, name, l)
	}
	if l != nil {
		d.checkVendor(m, l)
	}
}

// checkLock reads the lock and checks that it is fresh; it returns the lock
// when it could be read.
func (d *doctor) checkLock(m *manifest.Manifest) *lock.File {
	path := d.c.lockPath()
	l, err := lock.Read(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if len(m.Packages) == 0 {
			d.ok("lock", "no %s yet, and nothing to lock", filepath.Base(path))
			return nil
		}
		d.problem("lock", exitFailure, fmt.Sprintf("no %s", path),
			fmt.Sprintf("run 'gpm install' to resolve and lock %s, then commit %s", plural(len(m.Packages), "package"), filepath.Base(path)))
		return nil
	case err != nil:
		d.problem("lock", exitCode(err), err.Error(), fixOf(err))
		return nil
	}
	if err := lock.Check(m, l); err != nil {
		d.problem("lock", exitFailure, err.Error(), fixOf(err))
		return l
	}
	d.ok("lock", "%s is up to date with %s", filepath.Base(path), filepath.Base(d.c.manifestPath()))
	return l
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
func (d *doctor) checkRegistry(m *manifest.Manifest, cls *clients, name string, l *lock.File) {
	label, credLabel := "registry default", "credential default"
	if name != "" {
		label, credLabel = fmt.Sprintf("registry %q", name), fmt.Sprintf("credential %q", name)
	}
	cl, err := cls.get(name)
	if err != nil {
		d.problem(label, exitFailure, err.Error(), fixOf(err))
		return
	}
	cred := cl.Credential()
	projects := projectsOf(m, name)
	first := projects[0]
	_, err = cl.ListPackages(d.c.ctx, first.project, first.packages[0].Package)
	var he *registry.HTTPError
	if err != nil && !errors.As(err, &he) {
		d.problem(label, exitFailure, fmt.Sprintf("%s does not answer like GitLab: %v", cl.APIURL(), err),
			"check the registry url ([registry] url in packages.toml, or $CI_SERVER_URL) and the network or proxy settings")
		return
	}
	d.ok(label, "%s answers", cl.APIURL())

	switch {
	case he != nil && he.Status == http.StatusUnauthorized && cred.Anonymous():
		d.problem(credLabel, exitDenied, "none found, and GitLab wants one (401 Unauthorized)", fixOf(err))
		return
	case he != nil && he.Status == http.StatusUnauthorized:
		d.problem(credLabel, exitDenied, fmt.Sprintf("%s, rejected by GitLab (401 Unauthorized%s)", cred, colonMessage(he)), fixOf(err))
		return
	case cred.Anonymous():
		d.ok(credLabel, "none found (anonymous): only public projects can be read")
	case cred.Type == registry.TokenDeploy || cred.Type == registry.TokenBasic:
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
		_, listErr = cl.ListPackages(d.c.ctx, pp.project, pp.packages[0].Package)
	}
	listIgnored := false // the credential type cannot list; not a problem
	if listErr != nil {
		var he *registry.HTTPError
		switch {
		case !errors.As(listErr, &he):
			d.problem(name, exitFailure, fmt.Sprintf("listing packages failed: %v", listErr), fixOf(listErr))
			return
		case (cred.Type == registry.TokenDeploy || cred.Type == registry.TokenBasic) && (he.Status == http.StatusNotFound || he.Status == http.StatusUnauthorized):
			listIgnored = true
		case he.Status == http.StatusUnauthorized || he.Status == http.StatusForbidden || he.Status == http.StatusNotFound:
			d.problem(name, exitDenied, fmt.Sprintf("cannot list the packages of project %s (%s)", pp.project, httpSummary(he)), fixOf(listErr))
			return
		default:
			d.problem(name, exitFailure, fmt.Sprintf("listing packages failed (%s)", httpSummary(he)), fixOf(listErr))
			return
		}
	}

	lp, ok := lockedFileIn(l, reg, pp)
	if !ok {
		if listIgnored {
			d.problem(name, exitFailure, fmt.Sprintf("%s cannot list packages and packages.lock pins no file of project %s to try a download with", cred, pp.project),
				"run 'gpm install' once with a personal, project or group access token and commit packages.lock; deploy tokens then install with 'gpm install --locked'")
			return
		}
		d.ok(name, "packages can be listed (no locked file to try a download with)")
		return
	}
	ref := registry.FileRef{Project: lp.Project, Package: lp.Package, Version: lp.Version, File: lp.Files[0].Name}
	_, err := cl.CheckFile(d.c.ctx, ref)
	var he *registry.HTTPError
	switch {
	case err == nil && listIgnored:
		d.ok(name, "%s@%s can be downloaded (%s cannot list packages: installs need the lock, 'gpm install --locked')", lp.Name, lp.Version, cred)
	case err == nil:
		d.ok(name, "packages can be listed and %s@%s downloaded", lp.Name, lp.Version)
	case !errors.As(err, &he):
		d.problem(name, exitFailure, fmt.Sprintf("downloading %s of %s@%s failed: %v", ref.File, lp.Name, lp.Version, err), fixOf(err))
	case he.Status == http.StatusNotFound && !listIgnored:
		// The project is visible, so the file itself is gone.
		d.problem(name, exitFailure, fmt.Sprintf("%s@%s: the locked file %s is no longer served (404)", lp.Name, lp.Version, ref.File),
			fmt.Sprintf("the version or file was deleted or hidden; run 'gpm update %s' to lock what the registry serves now", lp.Name))
	case he.Status == http.StatusUnauthorized || he.Status == http.StatusForbidden || he.Status == http.StatusNotFound:
		d.problem(name, exitDenied, fmt.Sprintf("cannot download %s of %s@%s (%s)", ref.File, lp.Name, lp.Version, httpSummary(he)), fixOf(err))
	default:
		d.problem(name, exitFailure, fmt.Sprintf("downloading %s of %s@%s failed (%s)", ref.File, lp.Name, lp.Version, httpSummary(he)), fixOf(err))
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
func (d *doctor) checkVendor(m *manifest.Manifest, l *lock.File) {
	dir := filepath.Join(filepath.Dir(d.c.manifestPath()), m.Dir)
	in := fetch.InPlace(dir, l)
	var missing []string
	for _, lp := range l.Packages {
		if !in[lp.Name] {
			missing = append(missing, lp.Name)
		}
	}
	if len(missing) > 0 {
		d.problem("vendor", exitFailure, fmt.Sprintf("%s of %d not installed as locked in %s: %s", plural(len(missing), "package"), len(l.Packages), m.Dir, strings.Join(missing, ", ")),
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
