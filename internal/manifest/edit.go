package manifest

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/gpmtool/gpm/internal/platform"
	"github.com/gpmtool/gpm/internal/tomlpos"
)

// Editing works on the text of packages.toml, not on a re-encoded document,
// so that the user's comments, order and formatting survive `gpm add` and
// `gpm remove`. Every edit is checked by parsing the result: it must be
// valid and differ from the original by exactly the one package.

// ErrCannotEdit reports a manifest whose layout the editor does not handle
// (say, a package written as an inline table); the user edits it by hand.
var ErrCannotEdit = errors.New("cannot edit packages.toml automatically")

// Entry is what `gpm add` writes for a new package. Empty fields are left
// out, so the manifest's defaults apply.
type Entry struct {
	Name    string
	Project string
	Package string // written only when it differs from Name
	Version string
	Files   []string
	// Replacements are written as an inline table, OS names first.
	Replacements map[string]string
	Extract      bool
	Registry     string
}

// Append returns data with a [packages.NAME] table for e added at the end.
func Append(path string, data []byte, e Entry) ([]byte, error) {
	old, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	if _, ok := old.Lookup(e.Name); ok {
		return nil, fmt.Errorf("%s: package %q is already declared", path, e.Name)
	}
	// The new table is written with \n and then given the file's own line
	// ending, so a CRLF file stays CRLF throughout.
	var b bytes.Buffer
	if len(data) > 0 {
		lf := bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
		if !bytes.HasSuffix(lf, []byte("\n")) {
			b.WriteByte('\n')
		}
		if !bytes.HasSuffix(bytes.TrimRight(lf, " \t"), []byte("\n\n")) {
			b.WriteByte('\n')
		}
	}
	b.WriteString(e.Table())
	add := b.Bytes()
	if lineEnding(data) == "\r\n" {
		add = bytes.ReplaceAll(add, []byte("\n"), []byte("\r\n"))
	}
	out := append(slices.Clip(data), add...)
	next, err := Parse(path, out)
	if err != nil {
		return nil, err
	}
	if _, ok := next.Lookup(e.Name); !ok || !samePackagesExcept(old, next, e.Name) {
		return nil, fmt.Errorf("%w: adding %q would change other entries", ErrCannotEdit, e.Name)
	}
	return out, nil
}

// Table returns e as a [packages.NAME] table: the keys that are set, one a
// line. It is what Append adds, and the consumer snippet gpm publish prints.
func (e Entry) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "[packages.%s]\n", tomlKey(e.Name))
	if isDigits(e.Project) {
		fmt.Fprintf(&b, "project = %s\n", e.Project)
	} else {
		fmt.Fprintf(&b, "project = %s\n", strconv.Quote(e.Project))
	}
	if e.Package != "" && e.Package != e.Name {
		fmt.Fprintf(&b, "package = %s\n", strconv.Quote(e.Package))
	}
	if e.Version != "" {
		fmt.Fprintf(&b, "version = %s\n", strconv.Quote(e.Version))
	}
	if len(e.Files) > 0 {
		q := make([]string, len(e.Files))
		for i, f := range e.Files {
			q[i] = strconv.Quote(f)
		}
		fmt.Fprintf(&b, "files = [%s]\n", strings.Join(q, ", "))
	}
	if len(e.Replacements) > 0 {
		keys := slices.Collect(maps.Keys(e.Replacements))
		slices.SortFunc(keys, func(a, b string) int {
			// OS names before architecture names, as in { darwin = "macos", amd64 = "x86_64" }.
			return cmp.Or(cmp.Compare(btoi(!slices.Contains(platform.OSes, a)), btoi(!slices.Contains(platform.OSes, b))), strings.Compare(a, b))
		})
		kv := make([]string, len(keys))
		for i, k := range keys {
			kv[i] = tomlKey(k) + " = " + strconv.Quote(e.Replacements[k])
		}
		fmt.Fprintf(&b, "replacements = { %s }\n", strings.Join(kv, ", "))
	}
	if e.Extract {
		b.WriteString("extract = true\n")
	}
	if e.Registry != "" {
		fmt.Fprintf(&b, "registry = %s\n", strconv.Quote(e.Registry))
	}
	return b.String()
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Remove returns data without the [packages.NAME] table, together with
// the comment lines attached directly above its header.
func Remove(path string, data []byte, name string) ([]byte, error) {
	old, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	if _, ok := old.Lookup(name); !ok {
		return nil, fmt.Errorf("%s: package %q is not declared", path, name)
	}
	lines := strings.SplitAfter(string(data), "\n")
	n, _ := tomlpos.Scan(data).Line("packages", name)
	header := n - 1
	if header < 0 || header >= len(lines) || !strings.HasPrefix(strings.TrimSpace(lines[header]), "[") {
		return nil, fmt.Errorf("%w: [packages.%s] is not written as its own table; remove it by hand", ErrCannotEdit, tomlKey(name))
	}
	start := header
	for start > 0 && strings.HasPrefix(strings.TrimSpace(lines[start-1]), "#") {
		start--
	}
	end := header + 1
	for end < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[end]), "[") {
		end++
	}
	// Comments at the end of the block belong to what follows it.
	for end > header+1 && strings.HasPrefix(strings.TrimSpace(lines[end-1]), "#") {
		end--
	}
	// Drop one blank line of the two that would surround the gap.
	if start > 0 && strings.TrimSpace(lines[start-1]) == "" {
		for end > header+1 && strings.TrimSpace(lines[end-1]) == "" {
			end--
		}
		if end == len(lines) || end < len(lines) && strings.TrimSpace(lines[end]) == "" {
			start--
		}
	}
	out := []byte(strings.Join(slices.Concat(lines[:start], lines[end:]), ""))
	next, err := Parse(path, out)
	if err != nil || !samePackagesExcept(old, next, name) {
		return nil, fmt.Errorf("%w: removing [packages.%s] would change other entries; remove it by hand", ErrCannotEdit, tomlKey(name))
	}
	if _, ok := next.Lookup(name); ok {
		return nil, fmt.Errorf("%w: [packages.%s] is also defined elsewhere; remove it by hand", ErrCannotEdit, tomlKey(name))
	}
	return out, nil
}

// lineEnding returns the line ending of data's first line, "\r\n" or
// "\n" (also for data without any).
func lineEnding(data []byte) string {
	if i := bytes.IndexByte(data, '\n'); i > 0 && data[i-1] == '\r' {
		return "\r\n"
	}
	return "\n"
}

// samePackagesExcept reports whether a and b declare the same registries,
// directory and packages, not counting package name.
func samePackagesExcept(a, b *Manifest, name string) bool {
	if a.Dir != b.Dir || a.Registry.URL != b.Registry.URL || len(a.Registries) != len(b.Registries) {
		return false
	}
	var pa, pb []string
	for _, p := range a.Packages {
		if p.Name != name {
			pa = append(pa, fmt.Sprintf("%q", []any{p.Name, p.Project, p.Package, p.Version, p.Files, p.Extract, p.Registry}))
		}
	}
	for _, p := range b.Packages {
		if p.Name != name {
			pb = append(pb, fmt.Sprintf("%q", []any{p.Name, p.Project, p.Package, p.Version, p.Files, p.Extract, p.Registry}))
		}
	}
	return slices.Equal(pa, pb)
}

// tomlKey writes a key bare when TOML allows it, else quoted.
func tomlKey(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return strconv.Quote(s)
		}
	}
	return s
}

// Unpacks reports whether extract = true unpacks the file name: a .tar.gz,
// .tgz, .tar or .zip file (any case). Other files are placed as they are.
func Unpacks(name string) bool {
	n := strings.ToLower(name)
	for _, ext := range []string{".tar.gz", ".tgz", ".tar", ".zip"} {
		if strings.HasSuffix(n, ext) {
			return true
		}
	}
	return false
}
