package platform

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Placeholders are the names a files glob may use in braces.
var Placeholders = []string{"os", "arch", "exe", "version"}

// CheckTemplate reports why a files glob's placeholders are not usable:
// every "{" must open one of {os}, {arch}, {exe} or {version}, every "}"
// must close one, and {exe} (".exe" on Windows, "" elsewhere) must end the
// glob, where a file name's extension is. A literal brace in a file name is
// written "[{]" or "[}]".
func CheckTemplate(s string) error {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '}':
			return fmt.Errorf(`glob %q: "}" closes no placeholder; a literal brace is written "[}]"`, s)
		case '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return fmt.Errorf(`glob %q: "{" opens no placeholder (%s); a literal brace is written "[{]"`, s, placeholderList())
			}
			name := s[i+1 : i+end]
			if !slices.Contains(Placeholders, name) {
				return fmt.Errorf("glob %q: unknown placeholder {%s} (known: %s); a literal brace is written \"[{]\"", s, name, placeholderList())
			}
			if name == "exe" && i+end+1 != len(s) {
				return fmt.Errorf(`glob %q: {exe} must end the glob: it expands to ".exe" on windows and to "" elsewhere, as in "bin/tool{exe}"`, s)
			}
			i += end
		case '[':
			// A bracket expression may hold literal braces: skip it. As in
			// path.Match, a ']' right after "[" or "[^" is a literal.
			k := i + 1
			if k < len(s) && s[k] == '^' {
				k++
			}
			if k < len(s) && s[k] == ']' {
				k++
			}
			if j := strings.IndexByte(s[k:], ']'); j >= 0 {
				i = k + j
			}
		case '\\':
			i++ // an escaped character is literal
		}
	}
	return nil
}

func placeholderList() string {
	q := make([]string, len(Placeholders))
	for i, p := range Placeholders {
		q[i] = "{" + p + "}"
	}
	return strings.Join(q, " ")
}

// Specific reports whether a files glob depends on the platform: it uses
// {os}, {arch} or {exe}.
func Specific(glob string) bool {
	return strings.Contains(glob, "{os}") || strings.Contains(glob, "{arch}") || strings.Contains(glob, "{exe}")
}

// AnySpecific reports whether one of globs depends on the platform.
func AnySpecific(globs []string) bool {
	return slices.ContainsFunc(globs, Specific)
}

// HasPlaceholder reports whether glob uses any placeholder.
func HasPlaceholder(glob string) bool {
	for _, p := range Placeholders {
		if strings.Contains(glob, "{"+p+"}") {
			return true
		}
	}
	return false
}

// CheckReplacement reports why from = "to" cannot be a replacement: from
// must be one of Go's OS or architecture names, and to a plain, non-empty
// piece of a file name (no glob characters, no "/", no braces).
func CheckReplacement(from, to string) error {
	if !slices.Contains(OSes, from) && !slices.Contains(Arches, from) {
		return fmt.Errorf("%q is not one of Go's OS or architecture names%s; a replacement maps Go's name to the publisher's, as in darwin = \"macos\"", from, didYouMean(from, append(slices.Clone(OSes), Arches...)))
	}
	switch {
	case to == "":
		return errors.New("empty replacement; leave the key out to use Go's name")
	case strings.ContainsAny(to, `*?[]\{}/`):
		return fmt.Errorf(`replacement %q must be plain text: no glob characters, braces or "/"`, to)
	case strings.ContainsFunc(to, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return errors.New("replacement contains a control character")
	}
	return nil
}

// Expand returns glob with its placeholders filled in for platform p and
// version v; replacements give the publisher's spelling of an OS or
// architecture name. A glob that passed CheckTemplate keeps no placeholder.
// When p is the zero Platform (expanding a glob that is not Specific) only
// {version} is replaced.
func Expand(glob string, p Platform, v string, replacements map[string]string) string {
	if !strings.Contains(glob, "{") {
		return glob
	}
	repl := func(s string) string {
		if r, ok := replacements[s]; ok {
			return r
		}
		return s
	}
	pairs := []string{"{version}", v}
	if p != (Platform{}) {
		pairs = append(pairs, "{os}", repl(p.OS), "{arch}", repl(p.Arch), "{exe}", p.Exe())
	}
	return strings.NewReplacer(pairs...).Replace(glob)
}
