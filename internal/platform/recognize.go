package platform

import (
	"maps"
	"slices"
	"strings"
)

// Recognized is how a version's file names read as templates: what a
// consumer writes in files and replacements to get each platform's file.
type Recognized struct {
	// Templates are the platform-specific globs, one per shape of name
	// (as "tool-{version}-{os}-{arch}.tar.gz"), sorted.
	Templates []string
	// Shared are the names that name no platform, sorted.
	Shared []string
	// SharedGlobs are Shared with the version written as {version}.
	SharedGlobs []string
	// Replacements map Go's names to the publisher's spellings; only
	// spellings other than Go's are listed.
	Replacements map[string]string
	// Platforms are the platforms found, sorted: "OS-ARCH", or "OS-*"
	// when the names give no architecture.
	Platforms []string
}

// Files is what a files key selects: the templates, then the shared globs.
func (r Recognized) Files() []string {
	return append(slices.Clone(r.Templates), r.SharedGlobs...)
}

// osSpellings and archSpellings are names publishers give Go's OS and
// architecture names, matched ignoring case as whole pieces of a file name
// (between "-", "_", ".", "/" or the ends).
var (
	osSpellings = map[string]string{
		"linux": "linux", "darwin": "darwin", "windows": "windows", "freebsd": "freebsd",
		"macos": "darwin", "osx": "darwin", "apple-darwin": "darwin",
		"win": "windows", "win64": "windows",
	}
	archSpellings = map[string]string{
		"amd64": "amd64", "arm64": "arm64", "386": "386", "arm": "arm",
		"x86_64": "amd64", "x64": "amd64", "aarch64": "arm64",
	}
)

// Recognize reads the file names of one version v as platform templates:
// names that differ only by OS and architecture spellings (Go's names and
// common others: macos, osx, apple-darwin, x86_64, x64, aarch64, win,
// win64), a trailing ".exe" on Windows as {exe} and the version as
// {version}. It is conservative: ok is false unless at least two platforms
// are found, every name that spells a platform maps back to exactly itself
// through its template, every template covers the same platforms (so that
// each platform either has all of them or none), each OS or architecture
// has one spelling, and no name holds glob characters or braces, or the
// version in another spelling than v's (a later version would not match).
func Recognize(names []string, v string) (r Recognized, ok bool) {
	type found struct {
		name, tmpl string
		plat       Platform // Arch "" when the name gives none
	}
	bare := strings.TrimPrefix(v, "v")
	repl := map[string]string{}
	spell := func(goName, s string) bool {
		if prev, ok := repl[goName]; ok {
			return prev == s
		}
		repl[goName] = s
		return true
	}
	var specific []found
	for _, n := range names {
		if n == "" || strings.ContainsAny(n, `*?[]\{}`) {
			return Recognized{}, false
		}
		t := n
		if v != "" {
			t = replaceWord(t, v, "{version}")
		}
		if bare != "" && replaceWord(t, bare, "") != t {
			return Recognized{}, false
		}
		t, osName, osSpell, nOS := replaceToken(t, osSpellings, "{os}")
		t, archName, archSpell, nArch := replaceToken(t, archSpellings, "{arch}")
		switch {
		case nOS == 0 && nArch == 0:
			r.Shared = append(r.Shared, n)
			r.SharedGlobs = append(r.SharedGlobs, t)
			continue
		case nOS != 1 || nArch > 1:
			return Recognized{}, false // no OS, or more than one of either
		}
		if !spell(osName, osSpell) || nArch == 1 && !spell(archName, archSpell) {
			return Recognized{}, false
		}
		if osName == "windows" {
			if s, ok := strings.CutSuffix(t, ".exe"); ok {
				t = s + "{exe}"
			}
		}
		specific = append(specific, found{name: n, tmpl: t, plat: Platform{OS: osName, Arch: archName}})
	}
	// A name without ".exe" belongs to the template whose Windows name has it.
	exe := map[string]bool{}
	for _, f := range specific {
		if strings.HasSuffix(f.tmpl, "{exe}") {
			exe[strings.TrimSuffix(f.tmpl, "{exe}")] = true
		}
	}
	byTmpl := map[string][]string{}
	for i := range specific {
		f := &specific[i]
		if exe[f.tmpl] {
			f.tmpl += "{exe}"
		}
		key := f.plat.OS + "-" + cmpOr(f.plat.Arch, "*")
		if slices.Contains(byTmpl[f.tmpl], key) {
			return Recognized{}, false // two names for one platform
		}
		byTmpl[f.tmpl] = append(byTmpl[f.tmpl], key)
	}
	if len(byTmpl) == 0 {
		return Recognized{}, false
	}
	for t, plats := range byTmpl {
		slices.Sort(plats)
		if r.Platforms == nil {
			r.Platforms = plats
		} else if !slices.Equal(r.Platforms, plats) {
			return Recognized{}, false
		}
		if CheckTemplate(t) != nil {
			return Recognized{}, false
		}
		r.Templates = append(r.Templates, t)
	}
	if len(r.Platforms) < 2 {
		return Recognized{}, false
	}
	for k, s := range repl {
		if k == s {
			delete(repl, k)
		}
	}
	for _, f := range specific {
		p := f.plat
		if p.Arch == "" {
			p.Arch = "amd64" // the template has no {arch}
		}
		if Expand(f.tmpl, p, v, repl) != f.name {
			return Recognized{}, false
		}
	}
	slices.Sort(r.Templates)
	if len(repl) > 0 {
		r.Replacements = repl
	}
	return r, true
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// replaceToken replaces in t every whole piece that spellings knows with
// placeholder. It returns the Go name and the spelling found (as written)
// and how many pieces were replaced.
func replaceToken(t string, spellings map[string]string, placeholder string) (out, goName, spelling string, n int) {
	keys := slices.Collect(maps.Keys(spellings))
	// Longest first: "x86_64" before "x86", "arm64" before "arm".
	slices.SortFunc(keys, func(a, b string) int { return len(b) - len(a) })
	var b strings.Builder
	for i := 0; i < len(t); {
		if i == 0 || isSep(t[i-1]) {
			hit := ""
			for _, k := range keys {
				if hasPrefixFold(t[i:], k) && (i+len(k) == len(t) || isSep(t[i+len(k)])) {
					hit = k
					break
				}
			}
			if hit != "" {
				goName, spelling = spellings[hit], t[i:i+len(hit)]
				n++
				b.WriteString(placeholder)
				i += len(hit)
				continue
			}
		}
		b.WriteByte(t[i])
		i++
	}
	return b.String(), goName, spelling, n
}

// hasPrefixFold reports whether s begins with the lower-case ASCII word w,
// ignoring ASCII case only.
func hasPrefixFold(s, w string) bool {
	if len(s) < len(w) {
		return false
	}
	for i := 0; i < len(w); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != w[i] {
			return false
		}
	}
	return true
}

// replaceWord replaces in t every whole piece equal to w (a "v" may
// precede it, as in "tool-v1.4.2") with repl.
func replaceWord(t, w, repl string) string {
	var b strings.Builder
	for i := 0; i < len(t); {
		start := i == 0 || isSep(t[i-1]) || t[i-1] == 'v' && (i == 1 || isSep(t[i-2]))
		if start && strings.HasPrefix(t[i:], w) && (i+len(w) == len(t) || isSep(t[i+len(w)])) {
			b.WriteString(repl)
			i += len(w)
			continue
		}
		b.WriteByte(t[i])
		i++
	}
	return b.String()
}

func isSep(c byte) bool {
	return c == '-' || c == '_' || c == '.' || c == '/' || c == '{' || c == '}'
}
