package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"

	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/project"
	"github.com/gpmtool/gpm/internal/registry"
	pkgversion "github.com/gpmtool/gpm/internal/version"
)

// publishFlags are gpm publish's own flags.
type publishFlags struct {
	project, pkg, version, status, registry string
	allowDuplicate                          bool
}

var pubFlags publishFlags

func init() {
	cmd := lookupCommand("publish")
	cmd.flags = func(fs *pflag.FlagSet) {
		fs.StringVar(&pubFlags.project, "project", "", "publisher project `P`: numeric ID or group/project path (default $CI_PROJECT_ID)")
		fs.StringVar(&pubFlags.pkg, "package", "", "package `NAME` (default in GitLab CI without --project: $CI_PROJECT_NAME)")
		fs.StringVar(&pubFlags.version, "version", "", "package `VERSION` (default $CI_COMMIT_TAG)")
		fs.StringVar(&pubFlags.status, "status", "", "set the package's `STATUS`: hidden (listed nowhere, still downloadable) or default")
		fs.BoolVar(&pubFlags.allowDuplicate, "allow-duplicate", false, "upload a file even when the version already has a different file of that name (GitLab keeps both and serves the newest)")
		fs.StringVar(&pubFlags.registry, "registry", "", "GitLab instance `URL` (default: [registry] url of packages.toml, else $CI_SERVER_URL)")
	}
	cmd.run = runPublish
}

// publishAttempts bounds the tries of one file's upload.
const publishAttempts = 5

// defaultMaxFileSize is GitLab's default generic_packages_max_file_size.
const defaultMaxFileSize int64 = 5 << 30

// publishFile is one file to publish.
type publishFile struct {
	Path   string // as given on the command line
	Name   string // base name: the file name in the registry
	Size   int64
	SHA256 string
}

// publishRequest is what to publish, after defaults and validation.
type publishRequest struct {
	project, pkg, version, status string
	allowDuplicate                bool
	files                         []*publishFile
	warnings                      []string
}

// jsonPublish is the --json document of gpm publish.
type jsonPublish struct {
	Name      string            `json:"name"`
	Version   string            `json:"version"`
	Project   string            `json:"project"`
	Registry  string            `json:"registry"`
	Status    string            `json:"status,omitempty"`
	PackageID int64             `json:"package_id,omitempty"`
	Files     []jsonPublishFile `json:"files"`
	Uploaded  int               `json:"uploaded"`
	Skipped   int               `json:"skipped"`
	Snippet   string            `json:"snippet"`
}

// jsonPublishFile is one file of jsonPublish.
type jsonPublishFile struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	Action string `json:"action"` // uploaded or skipped
	FileID int64  `json:"file_id,omitempty"`
}

// runPublish uploads files to a generic package: validate everything, hash
// the files, compare with what the version already holds, then upload what is
// missing, one file at a time.
func runPublish(c *cli, args []string) error {
	req, err := c.publishRequest(pubFlags, args)
	if err != nil {
		return err
	}
	for _, w := range req.warnings {
		c.warnf("%s", w)
	}
	cl, err := c.standaloneClient(pubFlags.registry)
	if err != nil {
		return err
	}
	// GitLab refuses every anonymous upload, so without a credential gpm
	// asks nothing of a remote instance. Only a token-less gpm serve
	// accepts one, and it listens on loopback only: there gpm publishes
	// anonymously and lets the registry decide.
	anonymous := cl.Credential().Anonymous()
	if anonymous && !loopbackURL(cl.APIURL()) {
		return hint.Wrap(&kindError{kind: errDenied, msg: fmt.Sprintf("no credentials for %s: publishing needs a token", cl.APIURL())},
			publishTokenHint)
	}
	for _, f := range req.files {
		if f.SHA256, f.Size, err = hashPath(c.path(f.Path)); err != nil {
			return fmt.Errorf("hashing %s: %w", f.Path, err)
		}
	}
	p := &publisher{c: c, cl: cl, req: req, listOK: true, retryBase: retryBase(c.getenv)}
	err = p.run()
	if anonymous && exitCode(err) == exitDenied {
		err = hint.Wrap(err, fmt.Sprintf("no credentials were found for %s, so gpm tried without any: only a gpm serve without --token accepts anonymous uploads", cl.APIURL()), publishTokenHint)
	}
	return err
}

// publishTokenHint says which credential publishing needs.
const publishTokenHint = "set GPM_TOKEN to a personal, project or group access token with scope api and at least the Developer role in the project (deploy tokens: GPM_TOKEN_TYPE=deploy, scope write_package_registry); in GitLab CI, CI_JOB_TOKEN is used"

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

// publishRequest applies the CI defaults to the flags and validates the
// package name, version, status and files, so that nothing is uploaded
// unless everything can be.
func (c *cli) publishRequest(f publishFlags, args []string) (publishRequest, error) {
	req := publishRequest{project: f.project, pkg: f.pkg, version: f.version, status: f.status, allowDuplicate: f.allowDuplicate}
	projectFromCI := false
	if req.project == "" {
		req.project, projectFromCI = c.getenv("CI_PROJECT_ID"), true
	}
	if req.project == "" {
		return req, withHint(usageError("no project to publish to: pass --project ID or PATH"),
			"in GitLab CI the default is the pipeline's project ($CI_PROJECT_ID)")
	}
	if err := checkProjectArg(req.project); err != nil {
		return req, usageError("invalid project %q: %v", req.project, err)
	}
	pkgFrom := ""
	if req.pkg == "" && projectFromCI {
		req.pkg, pkgFrom = c.getenv("CI_PROJECT_NAME"), " (from $CI_PROJECT_NAME)"
	}
	if req.pkg == "" {
		return req, withHint(usageError("no package name: pass --package NAME"),
			"in GitLab CI without --project, the default is the project's name ($CI_PROJECT_NAME)")
	}
	if err := checkPackageName(req.pkg); err != nil {
		return req, usageError("%v%s", err, pkgFrom)
	}
	verFrom := ""
	if req.version == "" {
		req.version, verFrom = c.getenv("CI_COMMIT_TAG"), " (from $CI_COMMIT_TAG)"
	}
	if req.version == "" {
		return req, withHint(usageError("no version to publish: pass --version V, or run on a tag"),
			"in a GitLab CI tag pipeline the default is the tag ($CI_COMMIT_TAG)")
	}
	if !pkgversion.ValidGitLabVersion(req.version) {
		return req, usageError("invalid version %q%s: GitLab accepts only ASCII letters, digits, '.', '_', '-' and '+', without \"..\"", req.version, verFrom)
	}
	switch req.status {
	case "", "default", "hidden":
	default:
		return req, usageError("invalid --status %q: want hidden or default", req.status)
	}
	if len(args) == 0 {
		return req, withHint(usageError("no files to publish"), "gpm publish [flags] FILE...")
	}
	var problems []string
	byName := map[string]string{}
	for _, arg := range args {
		pf, warns, err := checkPublishFile(c.path(arg), arg)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if prev, ok := byName[pf.Name]; ok {
			problems = append(problems, fmt.Sprintf("%s and %s would both be published as %q", prev, arg, pf.Name))
			continue
		}
		byName[pf.Name] = arg
		req.files = append(req.files, pf)
		req.warnings = append(req.warnings, warns...)
	}
	if len(problems) > 0 {
		return req, withHint(usageError("%s", strings.Join(problems, "\n")), "nothing was uploaded")
	}
	return req, nil
}

// checkPublishFile checks that path is a regular file whose base name GitLab
// accepts, and returns warnings for names that need a newer GitLab and sizes
// above the default limit.
func checkPublishFile(path, arg string) (*publishFile, []string, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, fmt.Errorf("%s: no such file", arg)
	case err != nil:
		return nil, nil, err
	case fi.IsDir():
		return nil, nil, fmt.Errorf("%s is a directory: publish the files in it (%s)", arg, filepath.Join(arg, "*"))
	case !fi.Mode().IsRegular():
		return nil, nil, fmt.Errorf("%s is not a regular file", arg)
	}
	name := filepath.Base(path)
	warns, err := checkPublishName(name)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", arg, err)
	}
	if w := sizeWarning(name, fi.Size()); w != "" {
		warns = append(warns, w)
	}
	return &publishFile{Path: arg, Name: name, Size: fi.Size()}, warns, nil
}

// checkPublishName checks a file name against GitLab's rules: ASCII letters,
// digits, '.', '_', '-' and '+' everywhere; '~' and '@' only inside the name
// and only on newer GitLab releases, which earns a warning.
func checkPublishName(name string) ([]string, error) {
	if name == "" || name == "." || name == ".." {
		return nil, fmt.Errorf("invalid file name %q", name)
	}
	newer := ""
	for i := 0; i < len(name); i++ {
		switch ch := name[i]; {
		case isNameByte(ch):
		case ch == '~' || ch == '@':
			if i == 0 || i == len(name)-1 {
				return nil, fmt.Errorf("invalid file name %q: GitLab refuses %q at the start or end of a file name", name, string(ch))
			}
			if !strings.Contains(newer, string(ch)) {
				newer += string(ch)
			}
		default:
			return nil, fmt.Errorf("invalid file name %q: GitLab allows only ASCII letters, digits, '.', '_', '-' and '+' (rename the file)", name)
		}
	}
	if newer != "" {
		return []string{fmt.Sprintf("file name %q contains %q, which GitLab accepts only from release 18 on; older instances answer 400", name, newer)}, nil
	}
	return nil, nil
}

// sizeWarning warns about files above GitLab's default size limit, which
// GitLab enforces only after the whole body has been uploaded.
func sizeWarning(name string, size int64) string {
	if size <= defaultMaxFileSize {
		return ""
	}
	return fmt.Sprintf("%s is %s, above GitLab's default limit of 5 GiB for generic package files: unless an administrator raised generic_packages_max_file_size, GitLab refuses it after the upload", name, formatBytes(size))
}

// checkPackageName checks a generic package name: \A[A-Za-z0-9._+-]+\z.
func checkPackageName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > 255 {
		return fmt.Errorf("invalid package name %q", name)
	}
	for i := 0; i < len(name); i++ {
		if !isNameByte(name[i]) {
			return fmt.Errorf("invalid package name %q: GitLab allows only ASCII letters, digits, '.', '_', '-' and '+'", name)
		}
	}
	return nil
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '+'
}

// checkProjectArg checks a project given on the command line or in the
// environment: a positive numeric ID or a full path "group/project".
func checkProjectArg(p string) error {
	if n, err := strconv.ParseInt(p, 10, 64); err == nil {
		if n <= 0 || p[0] == '0' || p[0] == '+' {
			return errors.New("a numeric project ID is a positive integer without leading zeros")
		}
		return nil
	}
	if !strings.Contains(p, "/") {
		return errors.New(`want a numeric ID or the full path "group/project"`)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsFunc(seg, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '\\' }) {
			return errors.New(`want a numeric ID or the full path "group/project"`)
		}
	}
	return nil
}

// standaloneClient is the client of a command that does not need a
// packages.toml (publish, search), for the registry standaloneRegistry picks.
func (c *cli) standaloneClient(flagURL string) (*registry.Client, error) {
	reg, err := c.standaloneRegistry(flagURL)
	if err != nil {
		return nil, err
	}
	return project.NewClient(reg, c.env())
}

// standaloneRegistry picks the registry of a command that does not need a
// packages.toml (publish, search): --registry when given, else the [registry]
// of packages.toml when there is one (with its token), else
// $CI_SERVER_URL. Unlike install it never falls back to a public instance.
func (c *cli) standaloneRegistry(flagURL string) (manifest.Registry, error) {
	if flagURL != "" {
		u, err := url.Parse(flagURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return manifest.Registry{}, usageError("invalid --registry %q: want an http(s) URL such as https://gitlab.example.com", flagURL)
		}
		return manifest.Registry{URL: flagURL, URLSet: true}, nil
	}
	var reg manifest.Registry
	m, err := manifest.Load(c.manifestPath())
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return reg, err
	default:
		reg = m.Registry
	}
	if reg.URL == "" {
		reg.URL = c.getenv("CI_SERVER_URL")
	}
	if reg.URL == "" {
		return reg, withHint(usageError("no GitLab instance to talk to"),
			"pass --registry URL, set [registry] url in packages.toml, or run in GitLab CI ($CI_SERVER_URL)")
	}
	return reg, nil
}

// hashPath returns the SHA-256 and size of the file at path.
func hashPath(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// retryBase is the first backoff between upload attempts; GPM_RETRY_BASE
// shortens it for tests, as for the registry client.
func retryBase(getenv func(string) string) time.Duration {
	if d, err := time.ParseDuration(getenv("GPM_RETRY_BASE")); err == nil && d > 0 {
		return d
	}
	return time.Second
}

// backoff is the wait before attempt n+1: the server's Retry-After when it
// gave one, else base*2^(n-1) with jitter in its upper half, at most 30s.
func backoff(base time.Duration, n int, err error) time.Duration {
	var he *registry.HTTPError
	if errors.As(err, &he) && he.RetryAfter > 0 {
		return min(he.RetryAfter, time.Minute)
	}
	d := base
	for i := 1; i < n && d < 30*time.Second; i++ {
		d *= 2
	}
	d = min(d, 30*time.Second)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
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
	c         *cli
	cl        *registry.Client
	req       publishRequest
	listOK    bool     // the credential may use the list API
	listed    bool     // the version was visible to the last listing
	packageID int64    // the version's package ID, once known
	before    snapshot // the version before this run uploaded anything
	retryBase time.Duration
}

func (p *publisher) label() string { return p.req.pkg + "@" + p.req.version }

func (p *publisher) ref(name string) registry.FileRef {
	return registry.FileRef{Project: p.req.project, Package: p.req.pkg, Version: p.req.version, File: name}
}

func (p *publisher) run() error {
	ctx := p.c.ctx
	names := make([]string, len(p.req.files))
	for i, f := range p.req.files {
		names[i] = f.Name
	}
	snap, err := p.lookup(ctx, names, true)
	if err != nil {
		return fmt.Errorf("%s: checking what project %s already holds: %w", p.label(), p.req.project, err)
	}
	p.before = snap
	remote := snap.newest

	// Decide for every file before uploading any.
	upload := make([]bool, len(p.req.files))
	var conflicts []string
	for i, f := range p.req.files {
		rf := remote[f.Name]
		switch {
		case !rf.found:
			upload[i] = true
		case rf.sha256 == f.SHA256:
		case p.req.allowDuplicate:
			p.c.warnf("%s: adding a second %s next to the published one (sha256 %s); GitLab serves the newest", p.label(), f.Name, shaOrUnknown(rf.sha256))
			upload[i] = true
		default:
			conflicts = append(conflicts, conflictLine(f, rf))
		}
	}
	if len(conflicts) > 0 {
		return hint.Wrap(fmt.Errorf("%s: project %s already has %s of these names with different contents; nothing was uploaded\n%s",
			p.label(), p.req.project, plural(len(conflicts), "file"), strings.Join(conflicts, "\n")),
			"GitLab never replaces a file: uploading again adds a second file of the same name, and downloads get the newest, so anyone who locked the first one would see a checksum mismatch",
			"publish a new version; or, if you really mean to add a duplicate, pass --allow-duplicate")
	}

	uploaded := map[string]bool{}
	out := jsonPublish{Name: p.req.pkg, Version: p.req.version, Project: p.req.project, Registry: p.cl.APIURL(), Status: p.req.status, Files: []jsonPublishFile{}}
	for i, f := range p.req.files {
		jf := jsonPublishFile{Name: f.Name, Path: f.Path, Size: f.Size, SHA256: f.SHA256, Action: "skipped", FileID: remote[f.Name].id}
		if !upload[i] {
			p.c.printf("skipped %s: already published with the same sha256\n", f.Name)
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
			return err
		}
		if pf.PackageID > 0 {
			p.packageID = pf.PackageID
		}
		jf.Action, jf.FileID = "uploaded", pf.ID
		uploaded[f.Name] = true
		out.Uploaded++
		out.Files = append(out.Files, jf)
		if found {
			p.c.printf("uploaded %s (%s): after a failed attempt it was found in place with the same sha256 (this upload landed although its answer was lost, or another publisher uploaded the same file)\n", f.Name, formatBytes(f.Size))
		} else {
			p.c.printf("uploaded %s (%s)\n", f.Name, formatBytes(f.Size))
		}
	}
	if len(uploaded) > 0 {
		// Other publishers may have uploaded into the version since it
		// was first checked.
		if err := p.checkRaces(ctx, uploaded); err != nil {
			return err
		}
	}
	out.PackageID = p.packageID
	if out.Uploaded == 0 && p.req.status != "" && p.listed {
		p.c.warnf("%s: --status %s not applied: GitLab sets the status only with an upload, and every file was already published", p.label(), p.req.status)
	}
	if out.Uploaded == 0 {
		p.c.printf("%s is already published in project %s: %s unchanged\n", p.label(), p.req.project, plural(out.Skipped, "file"))
	} else {
		p.c.printf("published %s to project %s: %d uploaded, %d already there\n", p.label(), p.req.project, out.Uploaded, out.Skipped)
	}
	out.Snippet = consumerSnippet(p.req.pkg, p.req.project, p.req.version)
	if p.c.g.json {
		return writeJSON(p.c, out)
	}
	p.c.printf("to depend on it, add to packages.toml:\n")
	_, err = fmt.Fprint(p.c.stdout, out.Snippet)
	return err
}

// plural formats a count with its noun: "1 file", "2 files".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func conflictLine(f *publishFile, rf remoteFile) string {
	return fmt.Sprintf("\t%s: published sha256 %s, local sha256 %s (%s)", f.Name, shaOrUnknown(rf.sha256), f.SHA256, f.Path)
}

func shaOrUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// uploadOne uploads f, retrying a failure that may be transient (a 5xx such
// as the 500 GitLab answers to concurrent uploads into a new version, a
// reset, a broken response) only after checking, right before each retry,
// what the version now holds: GitLab would keep a second copy of a file that
// landed although its answer was lost, and another publisher may have
// uploaded a file of the same name meanwhile.
//
// found reports a file that a failed attempt left in place: it landed
// although the answer was lost, or another publisher uploaded the same
// bytes.
func (p *publisher) uploadOne(ctx context.Context, f *publishFile) (pf registry.PackageFile, found bool, err error) {
	file, err := os.Open(p.c.path(f.Path))
	if err != nil {
		return registry.PackageFile{}, false, fmt.Errorf("%s: %w", p.label(), err)
	}
	defer file.Close()
	opts := registry.UploadOptions{Status: p.req.status}
	for attempt := 1; ; attempt++ {
		pf, uerr := p.cl.Upload(ctx, p.ref(f.Name), file, f.Size, opts)
		if uerr == nil {
			pf, err := p.checkUploaded(ctx, f, pf)
			return pf, false, err
		}
		if ctx.Err() != nil {
			return registry.PackageFile{}, false, ctx.Err()
		}
		duplicate := errors.Is(uerr, registry.ErrDuplicate)
		if !duplicate && !errors.Is(uerr, registry.ErrTransient) {
			return registry.PackageFile{}, false, fmt.Errorf("%s: uploading %s: %w", p.label(), f.Name, uerr)
		}
		last := !duplicate && attempt == publishAttempts
		if !duplicate && !last {
			wait := backoff(p.retryBase, attempt, uerr)
			if p.c.g.verbose {
				p.c.printf("gpm: upload of %s failed (%v); checking the version and trying again in %v\n", f.Name, uerr, wait.Round(time.Millisecond))
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return registry.PackageFile{}, false, ctx.Err()
			case <-t.C:
			}
		}
		// The request may have reached GitLab although its answer did not
		// reach us, and another publisher may have uploaded meanwhile (a
		// group that forbids duplicates answers 400 to the second file of a
		// name): look right before trying again.
		now, lerr := p.lookup(ctx, []string{f.Name}, true)
		if lerr != nil {
			return registry.PackageFile{}, false, hint.Wrap(fmt.Errorf("%s: uploading %s failed (%v), and checking whether it landed failed too: %w", p.label(), f.Name, uerr, lerr),
				"run the same command again later: files that landed intact are skipped")
		}
		r := sinceBefore(f.Name, f.SHA256, p.before, now)
		switch {
		case len(r.different) > 0:
			return registry.PackageFile{}, false, p.raceError(fmt.Sprintf("%s: uploading %s failed (%v), and meanwhile another publisher uploaded a different %s; not adding a second file of that name",
				p.label(), f.Name, uerr, f.Name), []raceConflict{{f: f, raced: r, serves: now.newest[f.Name]}})
		case r.landed:
			rf := now.newest[f.Name]
			return registry.PackageFile{ID: rf.id, PackageID: p.packageID, FileName: f.Name, Size: rf.size, SHA256: rf.sha256}, true, nil
		case duplicate:
			return registry.PackageFile{}, false, fmt.Errorf("%s: uploading %s: %w", p.label(), f.Name, uerr)
		case last:
			return registry.PackageFile{}, false, fmt.Errorf("%s: uploading %s: giving up after %d attempts: %w", p.label(), f.Name, attempt, uerr)
		}
		if p.c.g.verbose {
			p.c.printf("gpm: %s did not land; uploading it again\n", f.Name)
		}
	}
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
	f      *publishFile
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
	names := make([]string, len(p.req.files))
	for i, f := range p.req.files {
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
	conflicts, copies := postCheck(p.req.files, uploaded, p.before, now)
	for _, f := range p.req.files {
		if n := copies[f.Name]; n > 0 {
			p.c.warnf("%s: another publisher uploaded the same %s at the same time: the version holds %d identical copies of it (harmless: they have the same sha256); forbidding duplicates in the group (Settings > Packages and registries > Duplicate packages) prevents this", p.label(), f.Name, n)
		}
	}
	if len(conflicts) > 0 {
		return p.raceError(fmt.Sprintf("%s: while this run uploaded, another publisher uploaded different files of the same names into project %s", p.label(), p.req.project), conflicts)
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
func postCheck(files []*publishFile, uploaded map[string]bool, before, now snapshot) (conflicts []raceConflict, copies map[string]int) {
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
func (p *publisher) checkUploaded(ctx context.Context, f *publishFile, pf registry.PackageFile) (registry.PackageFile, error) {
	if pf.SHA256 == "" {
		now, err := p.lookup(ctx, []string{f.Name}, true)
		if rf := now.newest[f.Name]; err == nil && rf.found && rf.sha256 != "" {
			pf.SHA256, pf.ID = rf.sha256, rf.id
		} else {
			p.c.warnf("%s: GitLab did not report the sha256 of %s; it could not be verified", p.label(), f.Name)
			return pf, nil
		}
	}
	if pf.SHA256 != f.SHA256 || (pf.Size > 0 && pf.Size != f.Size) {
		return pf, hint.Wrap(&kindError{kind: registry.ErrChecksumMismatch, msg: fmt.Sprintf(
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
			p.c.warnf("GitLab does not let %s list the packages of project %s (%s); checking for existing files through downloads instead",
				p.cl.Credential(), p.req.project, statusText(err))
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
	pkgs, err := p.cl.ListPackages(ctx, p.req.project, p.req.pkg)
	if err != nil {
		return nil, false, err
	}
	for _, pkg := range pkgs {
		if pkg.Version != p.req.version {
			continue
		}
		fs, err := p.cl.ListPackageFiles(ctx, p.req.project, pkg.ID)
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
	best := map[string]int64{}
	for _, f := range files {
		if id, ok := best[f.FileName]; ok && id > f.ID {
			continue
		}
		best[f.FileName] = f.ID
		out[f.FileName] = remoteFile{found: true, sha256: f.SHA256, id: f.ID, size: f.Size}
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
	g.SetLimit(p.c.g.jobs)
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
				p.c.printf("%s is already in %s: downloading it to compare\n", name, p.label())
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

// consumerSnippet is the packages.toml entry that depends on what was
// published: "^X.Y.Z" for a stable semver version, an exact "=V" pin for
// anything else (prereleases, build metadata, other schemes).
func consumerSnippet(pkg, project, ver string) string {
	key := pkg
	if !isBareKey(pkg) {
		key = strconv.Quote(pkg)
	}
	proj := strconv.Quote(project)
	if n, err := strconv.ParseInt(project, 10, 64); err == nil && n > 0 {
		proj = project
	}
	constraint := "=" + ver
	if v := pkgversion.Parse(ver); v.Semver != nil && v.Semver.Prerelease() == "" && v.Semver.Metadata() == "" {
		constraint = fmt.Sprintf("^%d.%d.%d", v.Semver.Major(), v.Semver.Minor(), v.Semver.Patch())
	}
	return fmt.Sprintf("[packages.%s]\nproject = %s\nversion = %q\n", key, proj, constraint)
}

// isBareKey reports whether s can be a bare TOML key.
func isBareKey(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
