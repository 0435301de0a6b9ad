package publish

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/registry"
	"github.com/gpmtool/gpm/internal/version"
)

// Input is what the user asked for: flags and arguments, before the CI
// defaults apply.
type Input struct {
	Project, Package, Version, Status string
	AllowDuplicate                    bool
	// Files are the paths given on the command line.
	Files []string
	// Dir resolves relative paths (gpm -C); "" is the working directory.
	Dir string
	// Getenv reads CI_PROJECT_ID, CI_PROJECT_NAME and CI_COMMIT_TAG.
	Getenv func(string) string
}

// File is one file to publish.
type File struct {
	Path   string // as given on the command line
	Name   string // base name: the file name in the registry
	Size   int64
	SHA256 string // set by Hash
	abs    string // Path resolved against Input.Dir
}

// Request is what to publish, after defaults and validation.
type Request struct {
	Project, Package, Version, Status string
	AllowDuplicate                    bool
	Files                             []*File
	// Warnings are worth telling the user but do not stop publishing:
	// file names that need a newer GitLab, files above its default limit.
	Warnings []string
}

// NewRequest applies the CI defaults to in and validates the package name,
// version, status and files, so that nothing is uploaded unless everything
// can be. Its errors match ErrInvalid.
func NewRequest(in Input) (*Request, error) {
	getenv := in.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	req := &Request{Project: in.Project, Package: in.Package, Version: in.Version, Status: in.Status, AllowDuplicate: in.AllowDuplicate}
	args := in.Files
	projectFromCI := false
	if req.Project == "" {
		req.Project, projectFromCI = getenv("CI_PROJECT_ID"), true
	}
	if req.Project == "" {
		return nil, hint.Wrap(invalidf("no project to publish to: pass --project ID or PATH"),
			"in GitLab CI the default is the pipeline's project ($CI_PROJECT_ID)")
	}
	if err := CheckProject(req.Project); err != nil {
		return nil, invalidf("invalid project %q: %v", req.Project, err)
	}
	pkgFrom := ""
	if req.Package == "" && projectFromCI {
		req.Package, pkgFrom = getenv("CI_PROJECT_NAME"), " (from $CI_PROJECT_NAME)"
	}
	if req.Package == "" {
		return nil, hint.Wrap(invalidf("no package name: pass --package NAME"),
			"in GitLab CI without --project, the default is the project's name ($CI_PROJECT_NAME)")
	}
	if err := registry.ValidPackageName(req.Package); err != nil {
		return nil, invalidf("%v%s", err, pkgFrom)
	}
	verFrom := ""
	if req.Version == "" {
		req.Version, verFrom = getenv("CI_COMMIT_TAG"), " (from $CI_COMMIT_TAG)"
	}
	if req.Version == "" {
		return nil, hint.Wrap(invalidf("no version to publish: pass --version V, or run on a tag"),
			"in a GitLab CI tag pipeline the default is the tag ($CI_COMMIT_TAG)")
	}
	if !version.ValidGitLabVersion(req.Version) {
		return nil, invalidf("invalid version %q%s: GitLab accepts only ASCII letters, digits, '.', '_', '-' and '+', without \"..\"", req.Version, verFrom)
	}
	switch req.Status {
	case "", "default", "hidden":
	default:
		return nil, invalidf("invalid --status %q: want hidden or default", req.Status)
	}
	if len(args) == 0 {
		return nil, hint.Wrap(invalidf("no files to publish"), "gpm publish [flags] FILE...")
	}
	var problems []string
	byName := map[string]string{}
	for _, arg := range args {
		pf, warns, err := checkFile(resolve(in.Dir, arg), arg)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if prev, ok := byName[pf.Name]; ok {
			problems = append(problems, fmt.Sprintf("%s and %s would both be published as %q", prev, arg, pf.Name))
			continue
		}
		byName[pf.Name] = arg
		req.Files = append(req.Files, pf)
		req.Warnings = append(req.Warnings, warns...)
	}
	if len(problems) > 0 {
		return nil, hint.Wrap(invalidf("%s", strings.Join(problems, "\n")), "nothing was uploaded")
	}
	return req, nil
}

func resolve(dir, p string) string {
	if filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, p)
}

// checkFile checks that path is a regular file whose base name GitLab
// accepts, and returns warnings for names that need a newer GitLab and sizes
// above the default limit.
func checkFile(path, arg string) (*File, []string, error) {
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
	var warns []string
	w, err := registry.ValidFileName(name)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", arg, err)
	}
	if w != "" {
		warns = append(warns, w)
	}
	if w := sizeWarning(name, fi.Size()); w != "" {
		warns = append(warns, w)
	}
	return &File{Path: arg, Name: name, Size: fi.Size(), abs: path}, warns, nil
}

// sizeWarning warns about files above GitLab's default size limit, which
// GitLab enforces only after the whole body has been uploaded.
func sizeWarning(name string, size int64) string {
	if size <= registry.DefaultMaxFileSize {
		return ""
	}
	return fmt.Sprintf("%s is %s, above GitLab's default limit of 5 GiB for generic package files: unless an administrator raised generic_packages_max_file_size, GitLab refuses it after the upload", name, formatBytes(size))
}

// CheckProject checks a project given on the command line or in the
// environment: a positive numeric ID or a full path "group/project".
func CheckProject(p string) error {
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

// hash computes the SHA-256 and size of every file of req.
func (req *Request) hash() error {
	for _, f := range req.Files {
		var err error
		if f.SHA256, f.Size, err = hashPath(f.abs); err != nil {
			return fmt.Errorf("hashing %s: %w", f.Path, err)
		}
	}
	return nil
}
