package registry

import (
	"errors"
	"fmt"
	"strings"
)

// GitLab's rules about packages and credentials, written once: resolve,
// publish, verify, search and doctor ask here instead of knowing them.

// Downloadable reports whether a package of this status can be downloaded
// and its files listed. The list API also returns "error" (and, for some
// callers, "processing") packages, which cannot; "hidden" ones are left out
// of listings but still download by name.
func Downloadable(status string) bool { return status == "default" || status == "deprecated" }

// NewestByName keeps, for each file name, the newest (highest ID) of the
// same-named files of a package: GitLab keeps duplicate uploads and serves
// the newest one.
func NewestByName(files []PackageFile) map[string]PackageFile {
	out := make(map[string]PackageFile, len(files))
	for _, f := range files {
		if cur, ok := out[f.FileName]; !ok || f.ID > cur.ID {
			out[f.FileName] = f
		}
	}
	return out
}

// CanList reports whether GitLab honours a credential of this type on the
// package list APIs. Deploy tokens are silently ignored there, so the
// request runs anonymously. A .netrc credential (TokenBasic) is sent there
// as a token header, not as basic auth, which GitLab would ignore.
func CanList(t string) bool { return t != TokenDeploy }

// CanListGroup reports whether GitLab honours a credential of this type on
// the group-level package list: job tokens cannot use it either.
func CanListGroup(t string) bool { return CanList(t) && t != TokenJob }

// isNameByte reports the bytes GitLab accepts everywhere in generic package
// and file names: ASCII letters, digits, '.', '_', '-' and '+'.
func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '+'
}

// ValidPackageName reports why name is not a generic package name GitLab
// accepts (\A[A-Za-z0-9._+-]+\z, at most 255 bytes).
func ValidPackageName(name string) error {
	switch {
	case name == "":
		return errors.New("empty package name")
	case len(name) > 255:
		return errors.New("package name longer than 255 bytes")
	case name == "." || name == "..":
		return fmt.Errorf("invalid package name %q", name)
	}
	for i := 0; i < len(name); i++ {
		if !isNameByte(name[i]) {
			return fmt.Errorf("invalid package name %q: GitLab allows only ASCII letters, digits, '.', '_', '+' and '-'", name)
		}
	}
	return nil
}

// ValidFileName checks a generic package file name against GitLab's rules:
// ASCII letters, digits, '.', '_', '-' and '+' everywhere; '~' and '@' only
// inside the name and only from GitLab 18 on, which earns a warning.
func ValidFileName(name string) (warning string, err error) {
	if name == "" || name == "." || name == ".." {
		return "", fmt.Errorf("invalid file name %q", name)
	}
	newer := ""
	for i := 0; i < len(name); i++ {
		switch ch := name[i]; {
		case isNameByte(ch):
		case ch == '~' || ch == '@':
			if i == 0 || i == len(name)-1 {
				return "", fmt.Errorf("invalid file name %q: GitLab refuses %q at the start or end of a file name", name, string(ch))
			}
			if !strings.Contains(newer, string(ch)) {
				newer += string(ch)
			}
		default:
			return "", fmt.Errorf("invalid file name %q: GitLab allows only ASCII letters, digits, '.', '_', '-' and '+' (rename the file)", name)
		}
	}
	if newer != "" {
		return fmt.Sprintf("file name %q contains %q, which GitLab accepts only from release 18 on; older instances answer 400", name, newer), nil
	}
	return "", nil
}

// DefaultMaxFileSize is GitLab's default generic_packages_max_file_size.
// GitLab enforces it only after the whole body was uploaded.
const DefaultMaxFileSize int64 = 5 << 30
