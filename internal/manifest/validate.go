package manifest

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// maxNameLen bounds local names: one directory name, well under every file
// system's limit even with gpm's temporary suffixes.
const maxNameLen = 128

// ValidName reports why name cannot be the local name of a package (the
// NAME of [packages.NAME]), for commands that take one as an argument.
func ValidName(name string) error { return validLocalName(name) }

// validLocalName reports why name cannot be a local name. A local name is a
// single directory under [install] dir on every platform gpm runs on, so it
// is held to the GitLab package-name characters (ASCII letters, digits, '.',
// '_', '+', '-') and further: it must not start with '.' (hidden, and DIR/.gpm
// is gpm's own) or '-' (read as a flag by `gpm remove NAME`), must not end
// with '.' (Windows drops it), and must not be a Windows device name.
func validLocalName(name string) error {
	switch {
	case name == "":
		return errors.New("empty name")
	case len(name) > maxNameLen:
		return fmt.Errorf("longer than %d bytes", maxNameLen)
	case name == "." || name == "..":
		return errors.New(`"." and ".." are not directory names`)
	}
	for i := 0; i < len(name); i++ {
		switch ch := name[i]; {
		case ch == '/' || ch == '\\':
			return fmt.Errorf("contains a path separator %q; the name is one directory under [install] dir", string(rune(ch)))
		case ch < ' ' || ch == 0x7f:
			return errors.New("contains a control character")
		case !isNameChar(ch):
			return fmt.Errorf("contains %q; use ASCII letters, digits, '.', '_', '+' and '-'", firstRune(name[i:]))
		}
	}
	switch {
	case name[0] == '.':
		return errors.New(`starts with "."; hidden directories are not allowed (gpm keeps its state in .gpm)`)
	case name[0] == '-':
		return errors.New(`starts with "-", which commands would read as a flag`)
	case name[len(name)-1] == '.':
		return errors.New(`ends with ".", which Windows drops from file names`)
	}
	if windowsReserved(name) {
		return errors.New("is a reserved device name on Windows")
	}
	return nil
}

// windowsReserved reports whether name, or its part before the first dot,
// is a DOS device name; Windows will not create such a directory.
func windowsReserved(name string) bool {
	base, _, _ := strings.Cut(strings.ToUpper(name), ".")
	switch base {
	case "CON", "PRN", "AUX", "NUL":
		return true
	}
	if len(base) == 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) {
		return base[3] >= '1' && base[3] <= '9'
	}
	return false
}

func firstRune(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}

func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '+' || c == '-'
}

// validRegistryName reports why name cannot name a [registries.NAME] table:
// names are bare TOML keys, so `registry = "NAME"` and the header read alike.
func validRegistryName(name string) error {
	if name == "" || len(name) > 64 {
		return errors.New("must be 1 to 64 characters")
	}
	for i := 0; i < len(name); i++ {
		if !isBare(name[i]) {
			return errors.New("use ASCII letters, digits, '_' and '-'")
		}
	}
	return nil
}

// isBare reports whether c may appear in a bare TOML key.
func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// validProject reports why s is neither a project ID nor a full project path.
func validProject(s string) error {
	if s == "" {
		return errors.New(`empty project; write the numeric project ID or its path, "group/project"`)
	}
	if isDigits(s) {
		if s[0] == '0' {
			return fmt.Errorf("invalid project ID %q: must be a positive integer without leading zeros", s)
		}
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			return fmt.Errorf("invalid project ID %q: out of range", s)
		}
		return nil
	}
	if (s[0] == '+' || s[0] == '-') && isDigits(s[1:]) {
		return fmt.Errorf("invalid project ID %q: must be a positive integer without a sign", s)
	}
	if strings.Contains(s, "://") {
		return fmt.Errorf(`invalid project %q: write the project's path ("group/project") or ID, not a URL`, s)
	}
	if strings.Contains(s, "%") {
		return fmt.Errorf(`invalid project path %q: write it with plain "/", not URL-encoded`, s)
	}
	if strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") {
		return fmt.Errorf(`invalid project path %q: no leading or trailing "/"`, s)
	}
	segs := strings.Split(s, "/")
	if len(segs) < 2 {
		return fmt.Errorf(`invalid project %q: write the numeric project ID or the full path including its group, as in "group/project"`, s)
	}
	for _, seg := range segs {
		if err := validPathSegment(seg); err != nil {
			return fmt.Errorf("invalid project path %q: %v", s, err)
		}
	}
	return nil
}

// validPathSegment checks one group or project path segment against
// GitLab's path rule: letters, digits, '_', '-', '.', not starting with '-'
// or '.', not ending in ".git" or ".atom".
func validPathSegment(seg string) error {
	if seg == "" {
		return errors.New(`empty segment ("//")`)
	}
	if len(seg) > 255 {
		return errors.New("segment longer than 255 bytes")
	}
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Errorf("segment %q contains %q; paths use letters, digits, '_', '-' and '.'", seg, firstRune(seg[i:]))
		}
	}
	if seg[0] == '-' || seg[0] == '.' {
		return fmt.Errorf(`segment %q starts with %q`, seg, seg[:1])
	}
	for _, suf := range []string{".git", ".atom"} {
		if strings.HasSuffix(seg, suf) {
			return fmt.Errorf("segment %q ends in %q", seg, suf)
		}
	}
	return nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validURL reports why s is not a usable instance URL. The URL itself is
// never repeated in the message: it may carry credentials or a token in a
// query.
func validURL(s string) error {
	if s == "" {
		return errors.New(`empty url; leave the key out to use $CI_SERVER_URL or the default instance`)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return errors.New("url contains a space or a control character")
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && !strings.Contains(s, "@") {
			err = ue.Err
			return fmt.Errorf("invalid url: %v", err)
		}
		return errors.New("invalid url (value not shown)")
	}
	switch {
	case u.User != nil:
		return errors.New("credentials in the url are not allowed (value not shown); " + tokenHint)
	case u.Scheme == "":
		return errors.New(`url must be absolute, starting with "https://" (or "http://")`)
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf(`url scheme %q is not supported; use "https://" (or "http://")`, u.Scheme)
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return errors.New(`url has no host; write it as "https://HOST"`)
	case u.RawQuery != "" || u.ForceQuery:
		return errors.New("url must not have a query (value not shown); " + tokenHint)
	case u.Fragment != "" || strings.Contains(s, "#"):
		return errors.New("url must not have a fragment")
	}
	return nil
}

// validEnvName reports whether s is a portable environment variable name.
func validEnvName(s string) bool {
	if s == "" || len(s) > 256 || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// validGlob reports why s cannot select files of a package version.
func validGlob(s string) error {
	switch {
	case s == "":
		return errors.New("empty glob")
	case strings.HasPrefix(s, "/"):
		return fmt.Errorf(`glob %q must be relative: file names in a package never start with "/"`, s)
	case hasDotDot(s):
		return fmt.Errorf(`glob %q must not contain a ".." segment`, s)
	}
	if _, err := path.Match(s, ""); err != nil {
		return fmt.Errorf("invalid glob %q: %v", s, err)
	}
	return nil
}

func hasDotDot(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == ".." {
			return true
		}
	}
	return false
}

// validDir reports why s cannot be the install directory: it must be a
// relative path inside the manifest's directory, written with '/'.
func validDir(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("empty dir; leave the key out for the default %q", DefaultDir)
	case strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return errors.New("dir contains a control character")
	case strings.Contains(s, `\`):
		return fmt.Errorf(`dir %q must use "/" as the separator`, s)
	case path.IsAbs(s) || len(s) >= 2 && s[1] == ':':
		return fmt.Errorf("dir %q must be relative to the manifest's directory", s)
	case hasDotDot(s):
		return fmt.Errorf(`dir %q must not contain "..": packages are installed inside the project`, s)
	case s == "~" || strings.HasPrefix(s, "~/"):
		return fmt.Errorf(`dir %q: "~" is not expanded; use a path relative to the manifest`, s)
	case path.Clean(s) == ".":
		return fmt.Errorf(`dir %q is the project directory itself; name a subdirectory such as %q`, s, DefaultDir)
	}
	return nil
}

// cleanDir returns a valid dir in canonical form ("./vendor/" -> "vendor").
func cleanDir(s string) string { return path.Clean(s) }

// validBinName reports why name cannot be a command in DIR/.bin: it must be
// one plain file name of letters, digits, '.', '_', '+' and '-', not
// starting with '.' or '-', and not a name Windows reserves.
func validBinName(name string) error {
	switch {
	case name == "":
		return errors.New("is empty")
	case len(name) > 100:
		return errors.New("is longer than 100 characters")
	case name[0] == '.' || name[0] == '-':
		return errors.New(`must not start with "." or "-"`)
	case windowsReserved(name):
		return errors.New("is a name Windows reserves")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '+' || c == '-') {
			return fmt.Errorf("has %q: use letters, digits, '.', '_', '+' and '-'", string(c))
		}
	}
	return nil
}
