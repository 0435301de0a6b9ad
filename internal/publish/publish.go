// Package publish is gpm's producer engine: it validates what to publish,
// hashes the files, compares them with what the version already holds, and
// uploads what is missing one file at a time (concurrent uploads into a new
// version fail on GitLab), retrying a failure only after checking that the
// file did not land and that no other publisher's file of that name
// appeared. After uploading it lists the version once more, so that two
// racing publishers never both succeed leaving two different files under
// one name. It never prints: the caller gets the Result and the warnings.
package publish

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/platform"
	"github.com/gpmtool/gpm/internal/registry"
	"github.com/gpmtool/gpm/internal/version"
)

// ErrInvalid matches a request that cannot be published as given: a bad
// name, version, status or file, or a missing project. Nothing was sent.
var ErrInvalid = errors.New("invalid publish request")

// invalidError is an ErrInvalid with its own message.
type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// Options is how a publish reports and how far it may go in parallel.
type Options struct {
	// Jobs bounds parallel checks through the download route.
	Jobs int
	// Printf receives one line of progress for a human ("uploaded x"),
	// newline-terminated; nil discards them.
	Printf func(format string, args ...any)
	// Warnf receives warnings, one sentence each; nil discards them.
	Warnf func(format string, args ...any)
}

// Result is what a publish did. Its JSON form is gpm publish --json's.
type Result struct {
	Name      string       `json:"name"`
	Version   string       `json:"version"`
	Project   string       `json:"project"`
	Registry  string       `json:"registry"`
	Status    string       `json:"status,omitempty"`
	PackageID int64        `json:"package_id,omitempty"`
	Files     []FileResult `json:"files"`
	Uploaded  int          `json:"uploaded"`
	Skipped   int          `json:"skipped"`
	// Snippet is the packages.toml entry that depends on the version.
	Snippet string `json:"snippet"`
}

// FileResult is one file of a Result.
type FileResult struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	Action string `json:"action"` // uploaded or skipped
	FileID int64  `json:"file_id,omitempty"`
}

// TokenHint says which credential publishing needs.
const TokenHint = "set GPM_TOKEN to a personal, project or group access token with scope api and at least the Developer role in the project (deploy tokens: GPM_TOKEN_TYPE=deploy, scope write_package_registry); in GitLab CI, CI_JOB_TOKEN is used"

// deniedError is a refusal before anything was sent; it matches
// registry.ErrUnauthorized (exit 5).
type deniedError struct{ msg string }

func (e *deniedError) Error() string        { return e.msg }
func (e *deniedError) Is(target error) bool { return target == registry.ErrUnauthorized }

// Run publishes req through cl: it hashes the files, compares
// every file with what the version holds, refuses different files of the
// same names unless req.AllowDuplicate, uploads the missing ones serially,
// and checks the version for racing publishers afterwards.
//
// GitLab refuses every anonymous upload, so without a credential Run asks
// nothing of a remote instance. Only a token-less gpm serve accepts one, and
// it listens on loopback only: there Run publishes anonymously and lets the
// registry decide.
func Run(ctx context.Context, cl *registry.Client, req *Request, opts Options) (*Result, error) {
	anonymous := cl.Credential().Anonymous()
	if anonymous && !loopbackURL(cl.APIURL()) {
		return nil, hint.Wrap(&deniedError{fmt.Sprintf("no credentials for %s: publishing needs a token", cl.APIURL())}, TokenHint)
	}
	if err := req.hash(); err != nil {
		return nil, err
	}
	if opts.Jobs < 1 {
		opts.Jobs = 8
	}
	p := &publisher{cl: cl, req: req, opts: opts, listOK: true}
	res, err := p.run(ctx)
	if anonymous && (errors.Is(err, registry.ErrUnauthorized) || errors.Is(err, registry.ErrHiddenProject)) {
		err = hint.Wrap(err, fmt.Sprintf("no credentials were found for %s, so gpm tried without any: only a gpm serve without --token accepts anonymous uploads", cl.APIURL()), TokenHint)
	}
	return res, err
}

func (p *publisher) printf(format string, args ...any) {
	if p.opts.Printf != nil {
		p.opts.Printf(format, args...)
	}
}

func (p *publisher) warnf(format string, args ...any) {
	if p.opts.Warnf != nil {
		p.opts.Warnf(format, args...)
	}
}

// loopbackURL reports whether u names this machine: localhost or a
// loopback address.
func loopbackURL(u string) bool {
	pu, err := url.Parse(u)
	if err != nil {
		return false
	}
	host := strings.TrimSuffix(strings.ToLower(pu.Hostname()), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// remoteFile is one file of the version.
type remoteFile struct {
	found  bool
	sha256 string // "" when unknown
	id     int64  // 0 when unknown (a file seen through the download route)
	size   int64
}

// snapshot is what gpm can see of the version's files at one moment.
type snapshot struct {
	// newest holds, per name, the newest file: the one GitLab serves.
	newest map[string]remoteFile
	// all holds every file per name, oldest first, when the version was
	// listed; nil when it was checked through the download route, which
	// shows only the newest file of a name.
	all map[string][]remoteFile
}

// publisher publishes one version.
type publisher struct {
	cl        *registry.Client
	req       *Request
	opts      Options
	listOK    bool     // the credential may use the list API
	listed    bool     // the version was visible to the last listing
	packageID int64    // the version's package ID, once known
	before    snapshot // the version before this run uploaded anything
	// hidden is the listing's 404 for a project that does not exist or is
	// hidden from the credential; an upload's 404 then means the same.
	hidden error
}

func (p *publisher) label() string { return p.req.Package + "@" + p.req.Version }

func (p *publisher) ref(name string) registry.FileRef {
	return registry.FileRef{Project: p.req.Project, Package: p.req.Package, Version: p.req.Version, File: name}
}

func (p *publisher) run(ctx context.Context) (*Result, error) {
	names := make([]string, len(p.req.Files))
	for i, f := range p.req.Files {
		names[i] = f.Name
	}
	snap, err := p.lookup(ctx, names, true)
	if err != nil {
		return nil, fmt.Errorf("%s: checking what project %s already holds: %w", p.label(), p.req.Project, err)
	}
	p.before = snap
	remote := snap.newest

	// Decide for every file before uploading any.
	upload := make([]bool, len(p.req.Files))
	var conflicts []string
	for i, f := range p.req.Files {
		rf := remote[f.Name]
		switch {
		case !rf.found:
			upload[i] = true
		case rf.sha256 == f.SHA256:
		case p.req.AllowDuplicate:
			p.warnf("%s: adding a second %s next to the published one (sha256 %s); GitLab serves the newest", p.label(), f.Name, shaOrUnknown(rf.sha256))
			upload[i] = true
		default:
			conflicts = append(conflicts, conflictLine(f, rf))
		}
	}
	if len(conflicts) > 0 {
		return nil, hint.Wrap(fmt.Errorf("%s: project %s already has %s of these names with different contents; nothing was uploaded\n%s",
			p.label(), p.req.Project, plural(len(conflicts), "file"), strings.Join(conflicts, "\n")),
			"GitLab never replaces a file: uploading again adds a second file of the same name, and downloads get the newest, so anyone who locked the first one would see a checksum mismatch",
			"publish a new version; or, if you really mean to add a duplicate, pass --allow-duplicate")
	}

	uploaded := map[string]bool{}
	out := &Result{Name: p.req.Package, Version: p.req.Version, Project: p.req.Project, Registry: p.cl.APIURL(), Status: p.req.Status, Files: []FileResult{}}
	for i, f := range p.req.Files {
		jf := FileResult{Name: f.Name, Path: f.Path, Size: f.Size, SHA256: f.SHA256, Action: "skipped", FileID: remote[f.Name].id}
		if !upload[i] {
			p.printf("skipped %s: already published with the same sha256\n", f.Name)
			out.Skipped++
			out.Files = append(out.Files, jf)
			continue
		}
		pf, found, err := p.uploadOne(ctx, f)
		if err != nil {
			if out.Uploaded > 0 {
				were := "were"
				if out.Uploaded == 1 {
					were = "was"
				}
				err = hint.Wrap(err, fmt.Sprintf("%s %s uploaded before the failure; run the same command again: files that landed intact are skipped", plural(out.Uploaded, "file"), were))
			}
			return nil, err
		}
		if pf.PackageID > 0 {
			p.packageID = pf.PackageID
		}
		jf.Action, jf.FileID = "uploaded", pf.ID
		uploaded[f.Name] = true
		out.Uploaded++
		out.Files = append(out.Files, jf)
		if found {
			p.printf("uploaded %s (%s): after a failed attempt it was found in place with the same sha256 (this upload landed although its answer was lost, or another publisher uploaded the same file)\n", f.Name, formatBytes(f.Size))
		} else {
			p.printf("uploaded %s (%s)\n", f.Name, formatBytes(f.Size))
		}
	}
	if len(uploaded) > 0 {
		// Other publishers may have uploaded into the version since it
		// was first checked.
		if err := p.checkRaces(ctx, uploaded); err != nil {
			return nil, err
		}
	}
	out.PackageID = p.packageID
	if out.Uploaded == 0 && p.req.Status != "" && p.listed {
		p.warnf("%s: --status %s not applied: GitLab sets the status only with an upload, and every file was already published", p.label(), p.req.Status)
	}
	// The version's files: this run's, and those it held before when it
	// was listed (a CI matrix publishes one platform per job).
	held := slices.Clone(names)
	for n := range p.before.newest {
		if !slices.Contains(held, n) {
			held = append(held, n)
		}
	}
	out.Snippet = Snippet(p.req.Package, p.req.Project, p.req.Version, held)
	return out, nil
}

func conflictLine(f *File, rf remoteFile) string {
	return fmt.Sprintf("\t%s: published sha256 %s, local sha256 %s (%s)", f.Name, shaOrUnknown(rf.sha256), f.SHA256, f.Path)
}

func shaOrUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// uploadOne uploads f. The registry client retries a failure that may be
// transient (a 5xx such as the 500 GitLab answers to concurrent uploads into
// a new version, a reset, a broken response) with its one retry policy, but
// only after check has looked, right before each retry, at what the version
// now holds: GitLab would keep a second copy of a file that landed although
// its answer was lost, and another publisher may have uploaded a file of the
// same name meanwhile.
//
// found reports a file that a failed attempt left in place: it landed
// although the answer was lost, or another publisher uploaded the same
// bytes.
func (p *publisher) uploadOne(ctx context.Context, f *File) (pf registry.PackageFile, found bool, err error) {
	file, err := os.Open(f.abs)
	if err != nil {
		return registry.PackageFile{}, false, fmt.Errorf("%s: %w", p.label(), err)
	}
	defer file.Close()
	var checkErr error // an error of check's own, which names the file already
	check := func(ctx context.Context, uerr error) (registry.PackageFile, bool, error) {
		now, lerr := p.lookup(ctx, []string{f.Name}, true)
		if lerr != nil {
			checkErr = hint.Wrap(fmt.Errorf("%s: uploading %s failed (%v), and checking whether it landed failed too: %w", p.label(), f.Name, uerr, lerr),
				"run the same command again later: files that landed intact are skipped")
			return registry.PackageFile{}, false, checkErr
		}
		r := sinceBefore(f.Name, f.SHA256, p.before, now)
		switch {
		case len(r.different) > 0:
			checkErr = p.raceError(fmt.Sprintf("%s: uploading %s failed (%v), and meanwhile another publisher uploaded a different %s; not adding a second file of that name",
				p.label(), f.Name, uerr, f.Name), []raceConflict{{f: f, raced: r, serves: now.newest[f.Name]}})
			return registry.PackageFile{}, false, checkErr
		case r.landed:
			rf := now.newest[f.Name]
			found = true
			return registry.PackageFile{ID: rf.id, PackageID: p.packageID, FileName: f.Name, Size: rf.size, SHA256: rf.sha256}, true, nil
		}
		return registry.PackageFile{}, false, nil
	}
	pf, err = p.cl.Upload(ctx, p.ref(f.Name), file, f.Size, registry.UploadOptions{Status: p.req.Status, Check: check})
	switch {
	case err != nil && ctx.Err() != nil:
		return registry.PackageFile{}, false, ctx.Err()
	case err != nil && err == checkErr:
		return registry.PackageFile{}, false, err
	case err != nil && p.hidden != nil && errors.Is(err, registry.ErrNotFound):
		// The project the listing could not see was not created by the
		// upload either (GitLab creates no project on upload): report it
		// as the listing did, an access problem.
		return registry.PackageFile{}, false, fmt.Errorf("%s: checking what project %s already holds: %w", p.label(), p.req.Project, p.hidden)
	case err != nil:
		return registry.PackageFile{}, false, fmt.Errorf("%s: uploading %s: %w", p.label(), f.Name, err)
	case found:
		return pf, true, nil
	}
	pf, err = p.checkUploaded(ctx, f, pf)
	return pf, false, err
}

// raced is what appeared under one name since gpm first looked at the
// version.
type raced struct {
	landed    bool         // a file with the local content appeared
	twins     int          // how many files with the local content appeared; 0 when unknown
	different []remoteFile // files with other content that appeared
}

// sinceBefore compares what the version holds under name now with what it
// held before this run uploaded anything, for a local file whose SHA-256 is
// sha. When both views list every file of the name (a listing, or the
// download route's 404 before), the files whose IDs are new are what
// appeared. Otherwise only the newest file can be compared: a newest file
// with the local content counts as landed, and one with other content, new
// since before, as different.
func sinceBefore(name, sha string, before, now snapshot) raced {
	var r raced
	b := before.newest[name]
	if now.all != nil && (before.all != nil || !b.found) {
		old := map[int64]bool{}
		for _, f := range before.all[name] {
			old[f.id] = true
		}
		for _, f := range now.all[name] {
			switch {
			case old[f.id]:
			case f.sha256 == sha:
				r.landed = true
				r.twins++
			default:
				r.different = append(r.different, f)
			}
		}
		return r
	}
	n := now.newest[name]
	switch {
	case !n.found || n.sha256 == "": // unknown: nothing to tell
	case n.sha256 == sha:
		r.landed = !b.found || b.sha256 != sha
	case !b.found || b.sha256 != n.sha256:
		r.different = []remoteFile{n}
	}
	return r
}

// raceConflict is a name under which another publisher's file with other
// content appeared.
type raceConflict struct {
	f      *File
	raced  raced
	serves remoteFile // the newest file of the name, which GitLab serves
}

// raceError reports files of other publishers that landed next to this
// run's under the same names: exit 1, with both SHA-256s and how to make
// GitLab refuse the second file.
func (p *publisher) raceError(msg string, conflicts []raceConflict) error {
	lines := []string{msg}
	for _, c := range conflicts {
		var other []string
		for _, d := range c.raced.different {
			other = append(other, shaOrUnknown(d.sha256))
		}
		line := fmt.Sprintf("\t%s: local sha256 %s (%s); another publisher's: sha256 %s", c.f.Name, c.f.SHA256, c.f.Path, strings.Join(other, ", sha256 "))
		if c.serves.found {
			line += "; GitLab serves sha256 " + shaOrUnknown(c.serves.sha256)
		}
		lines = append(lines, line)
	}
	return hint.Wrap(errors.New(strings.Join(lines, "\n")),
		"another job published this version at the same time with different files under the same names; downloads get the newest file of a name, so what was locked or tested may not be what is served",
		"find out which build is right, delete the other file in GitLab (the package's page), and let one job publish each file name, or give each job's files their own names",
		"to make GitLab refuse a second file of the same name, forbid duplicates in the group: Settings > Packages and registries > Duplicate packages")
}

// checkRaces lists the version once more after uploading and fails, naming
// both SHA-256s, when another publisher's file with other content appeared
// under one of these names (see postCheck), so that two racing publishers
// never both succeed leaving two different files under one name. Identical
// copies that appeared are harmless and only reported.
func (p *publisher) checkRaces(ctx context.Context, uploaded map[string]bool) error {
	names := make([]string, len(p.req.Files))
	for i, f := range p.req.Files {
		names[i] = f.Name
	}
	// Where only the download route can tell, downloading every file
	// just uploaded to hash it would double the traffic: a file whose
	// SHA-256 GitLab does not send is left unchecked.
	now, err := p.lookup(ctx, names, false)
	if err != nil {
		return hint.Wrap(fmt.Errorf("%s: %s uploaded, but listing the version again to check for other publishers failed: %w", p.label(), plural(len(uploaded), "file"), err),
			"the uploads succeeded; look at the version's files in GitLab for a second file of the same name, which another job publishing at the same time could have added")
	}
	conflicts, copies := postCheck(p.req.Files, uploaded, p.before, now)
	for _, f := range p.req.Files {
		if n := copies[f.Name]; n > 0 {
			p.warnf("%s: another publisher uploaded the same %s at the same time: the version holds %d identical copies of it (harmless: they have the same sha256); forbidding duplicates in the group (Settings > Packages and registries > Duplicate packages) prevents this", p.label(), f.Name, n)
		}
	}
	if len(conflicts) > 0 {
		return p.raceError(fmt.Sprintf("%s: while this run uploaded, another publisher uploaded different files of the same names into project %s", p.label(), p.req.Project), conflicts)
	}
	return nil
}

// postCheck compares the version after this run's uploads (now) with the
// version before them. A file conflicts when a file of its name with other
// content appeared, or when the newest file of its name, the one GitLab
// serves, is not this run's (a file uploaded after it). copies counts, per
// name, the identical copies the version now holds when another publisher
// added one (0 when it did not, or when only the newest file is visible).
// uploaded holds the names this run uploaded; the others were skipped as
// already published.
func postCheck(files []*File, uploaded map[string]bool, before, now snapshot) (conflicts []raceConflict, copies map[string]int) {
	copies = map[string]int{}
	for _, f := range files {
		r := sinceBefore(f.Name, f.SHA256, before, now)
		serves := now.newest[f.Name]
		if len(r.different) == 0 && serves.found && serves.sha256 != "" && serves.sha256 != f.SHA256 {
			r.different = []remoteFile{serves}
		}
		if len(r.different) > 0 {
			conflicts = append(conflicts, raceConflict{f: f, raced: r, serves: serves})
			continue
		}
		// This run's own upload is one of the twins that appeared.
		if others := r.twins - btoi(uploaded[f.Name]); others > 0 {
			n := 0
			for _, rf := range now.all[f.Name] {
				if rf.sha256 == f.SHA256 {
					n++
				}
			}
			copies[f.Name] = n
		}
	}
	return conflicts, copies
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkUploaded compares GitLab's SHA-256 of an uploaded file with ours. An
// old GitLab that answers 201 without the file record is asked by a listing.
func (p *publisher) checkUploaded(ctx context.Context, f *File, pf registry.PackageFile) (registry.PackageFile, error) {
	if pf.SHA256 == "" {
		now, err := p.lookup(ctx, []string{f.Name}, true)
		if rf := now.newest[f.Name]; err == nil && rf.found && rf.sha256 != "" {
			pf.SHA256, pf.ID = rf.sha256, rf.id
		} else {
			p.warnf("%s: GitLab did not report the sha256 of %s; it could not be verified", p.label(), f.Name)
			return pf, nil
		}
	}
	if pf.SHA256 != f.SHA256 || (pf.Size > 0 && pf.Size != f.Size) {
		return pf, hint.Wrap(&mismatchError{fmt.Sprintf(
			"%s: %s: GitLab stored different bytes than were sent\n\tlocal:     sha256 %s, %d bytes\n\tpublished: sha256 %s, %d bytes",
			p.label(), f.Name, f.SHA256, f.Size, pf.SHA256, pf.Size)},
			"the file changed while it was uploaded, or the upload was corrupted on the way; delete the file in GitLab (the package's page, or DELETE /projects/:id/packages/:package_id/package_files/:id) and publish again")
	}
	return pf, nil
}

// lookup reports what the version holds under each name. It lists the
// version's files when the credential may list and the version is listed;
// a hidden version (which the list API leaves out) or a credential GitLab
// ignores on the list API (deploy tokens) is checked file by file through
// the download route instead; with hashUnknown, a file found there whose
// SHA-256 GitLab does not send is downloaded to hash it, else its SHA-256 is
// left unknown ("").
func (p *publisher) lookup(ctx context.Context, names []string, hashUnknown bool) (snapshot, error) {
	if p.listOK {
		files, listed, err := p.listVersion(ctx)
		switch {
		case err == nil && listed:
			p.listed = true
			return snapshot{newest: newestByName(files), all: allByName(files)}, nil
		case err == nil:
			p.listed = false
		case p.listingRefused(err):
			p.listOK = false
			p.warnf("GitLab does not let %s list the packages of project %s (%s); checking for existing files through downloads instead",
				p.cl.Credential(), p.req.Project, statusText(err))
		case errors.Is(err, registry.ErrHiddenProject):
			// No such project, or one hidden from this credential: there
			// is nothing of the version to see. gpm serve creates a
			// project with its first upload; GitLab refuses that upload
			// with the same 404, which then says what to do.
			p.listed, p.hidden = false, err
			return snapshot{newest: map[string]remoteFile{}, all: map[string][]remoteFile{}}, nil
		default:
			return snapshot{}, err
		}
	}
	newest, err := p.probe(ctx, names, hashUnknown)
	return snapshot{newest: newest}, err
}

// listingRefused reports a listing error that the credential type explains:
// GitLab ignores deploy tokens and basic auth on the list API and limits
// job tokens, while uploads may still work.
func (p *publisher) listingRefused(err error) bool {
	var he *registry.HTTPError
	if !errors.As(err, &he) {
		return false
	}
	switch p.cl.Credential().Type {
	case registry.TokenJob, registry.TokenDeploy, registry.TokenBasic:
		return he.Status == http.StatusUnauthorized || he.Status == http.StatusForbidden || he.Status == http.StatusNotFound
	}
	return false
}

func statusText(err error) string {
	var he *registry.HTTPError
	if errors.As(err, &he) {
		return fmt.Sprintf("%d %s", he.Status, http.StatusText(he.Status))
	}
	return err.Error()
}

// listVersion lists the files of the version; listed is false when the list
// API does not show the version (it does not exist, or it is hidden).
func (p *publisher) listVersion(ctx context.Context) (files []registry.PackageFile, listed bool, err error) {
	pkgs, err := p.cl.ListPackages(ctx, p.req.Project, p.req.Package)
	if err != nil {
		return nil, false, err
	}
	for _, pkg := range pkgs {
		if pkg.Version != p.req.Version {
			continue
		}
		fs, err := p.cl.ListPackageFiles(ctx, p.req.Project, pkg.ID)
		if errors.Is(err, registry.ErrNotFound) {
			continue // deleted or hidden since it was listed
		}
		if err != nil {
			return nil, false, err
		}
		p.packageID = pkg.ID
		files = append(files, fs...)
		listed = true
	}
	return files, listed, nil
}

// newestByName keeps, per file name, the newest file (highest ID): the one
// GitLab serves.
func newestByName(files []registry.PackageFile) map[string]remoteFile {
	out := map[string]remoteFile{}
	for name, f := range registry.NewestByName(files) {
		out[name] = remoteFile{found: true, sha256: f.SHA256, id: f.ID, size: f.Size}
	}
	return out
}

// allByName groups files by name, oldest (lowest ID) first.
func allByName(files []registry.PackageFile) map[string][]remoteFile {
	out := map[string][]remoteFile{}
	for _, f := range files {
		out[f.FileName] = append(out[f.FileName], remoteFile{found: true, sha256: f.SHA256, id: f.ID, size: f.Size})
	}
	for _, fs := range out {
		slices.SortFunc(fs, func(a, b remoteFile) int { return cmp.Compare(a.id, b.id) })
	}
	return out
}

// probe checks each name through the download route, which serves hidden
// packages and accepts deploy tokens: a 404 means absent; otherwise the
// SHA-256 comes from GitLab's X-Checksum-SHA256 header or, when GitLab
// redirects to object storage, from downloading the file (only with
// hashUnknown; else it stays ""). The names are checked in parallel
// (--jobs): publishing a new version probes every file.
func (p *publisher) probe(ctx context.Context, names []string, hashUnknown bool) (map[string]remoteFile, error) {
	found := make([]remoteFile, len(names))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.opts.Jobs)
	for i, name := range names {
		g.Go(func() error {
			res, err := p.cl.CheckFile(gctx, p.ref(name))
			if errors.Is(err, registry.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			rf := remoteFile{found: true, sha256: res.SHA256, size: res.Size}
			if rf.sha256 == "" && hashUnknown {
				p.printf("%s is already in %s: downloading it to compare\n", name, p.label())
				got, err := p.cl.Download(gctx, p.ref(name), registry.Expect{Size: -1}, io.Discard)
				if err != nil {
					return err
				}
				rf.sha256, rf.size = got.SHA256, got.Size
			}
			found[i] = rf
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := map[string]remoteFile{}
	for i, rf := range found {
		if rf.found {
			out[names[i]] = rf
		}
	}
	return out, nil
}

// Snippet is the packages.toml entry that depends on what was published:
// "^X.Y.Z" for a stable semver version, an exact "=V" pin for anything else
// (prereleases, build metadata, other schemes). names are the version's
// file names. When they are named by OS and architecture
// (platform.Recognize) the entry selects them with a files template, and
// the replacements it needs, instead of taking every platform's file; with
// extract = true when each platform's files are archives gpm unpacks. A
// version of one file that gpm unpacks gets extract = true too.
func Snippet(pkg, project, ver string, names []string) string {
	e := manifest.Entry{Name: pkg, Project: project}
	e.Version = "=" + ver
	if v := version.Parse(ver); v.Semver != nil && v.Semver.Prerelease() == "" && v.Semver.Metadata() == "" {
		e.Version = fmt.Sprintf("^%d.%d.%d", v.Semver.Major(), v.Semver.Minor(), v.Semver.Patch())
	}
	if r, ok := platform.Recognize(names, ver); ok {
		e.Files, e.Replacements = r.Files(), r.Replacements
		e.Extract = !slices.ContainsFunc(r.Templates, func(t string) bool { return !manifest.Unpacks(t) })
	} else if len(names) == 1 {
		e.Extract = manifest.Unpacks(names[0])
	}
	return e.Table()
}

// mismatchError is GitLab storing other bytes than were sent; it matches
// registry.ErrChecksumMismatch (exit 4).
type mismatchError struct{ msg string }

func (e *mismatchError) Error() string        { return e.msg }
func (e *mismatchError) Is(target error) bool { return target == registry.ErrChecksumMismatch }

// plural formats a count with its noun: "1 file", "2 files".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
