package lock

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/platform"
	"github.com/gpmtool/gpm/internal/tomlpos"
	"github.com/gpmtool/gpm/internal/tomlsimple"
	"github.com/gpmtool/gpm/internal/version"
)

// Parse parses the lock file contents data; path names the file in errors.
// Every error matches ErrInvalid and carries a hint on how to get a usable
// lock again. The result has its packages and files sorted by name.
func Parse(path string, data []byte) (*File, error) {
	doc, ok := tomlsimple.Decode(data)
	if !ok {
		if _, err := toml.Decode(string(data), &doc); err != nil {
			e := &Error{Path: path, Msg: err.Error()}
			var pe toml.ParseError
			if errors.As(err, &pe) {
				e.Line, e.Msg = pe.Position.Line, lowerMessage(pe.Message)
			}
			return nil, hint.Wrap(e, regenerateHint(path))
		}
	}
	p := &parser{path: path, data: data}
	return p.file(doc)
}

// lowerMessage adapts the decoder's messages to gpm's style: lowercase
// first word, no trailing period.
func lowerMessage(s string) string {
	s = strings.TrimSuffix(s, ".")
	if len(s) > 1 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'a' && s[1] <= 'z' {
		s = string(s[0]+'a'-'A') + s[1:]
	}
	return s
}

func regenerateHint(path string) string {
	return fmt.Sprintf("%s is generated: delete it and run 'gpm install' to write it again (every package is then resolved again)", path)
}

// parser validates a decoded document. Its errors carry the line of the
// offending key when the source shows it, else of the nearest enclosing
// table header.
type parser struct {
	path    string
	data    []byte
	version int64
	// platforms is the top-level platform set (lock_version 2).
	platforms []string
	index     *tomlpos.Index // of data, built when an error needs a line
}

// errorf returns an *Error at the line of the key path seg (see tomlpos)
// with a regenerate hint attached.
func (p *parser) errorf(seg []string, key, format string, args ...any) error {
	return hint.Wrap(&Error{Path: p.path, Line: p.line(seg), Key: key, Msg: fmt.Sprintf(format, args...)}, regenerateHint(p.path))
}

// line returns the line of seg, or of its nearest ancestor with a known line.
func (p *parser) line(seg []string) int {
	if p.index == nil {
		p.index = tomlpos.Scan(p.data)
	}
	return p.index.Nearest(seg...)
}

// child returns seg extended by a key or an array index.
func child(seg []string, key string) []string { return append(slices.Clip(seg), key) }
func elem(seg []string, i int) []string       { return append(slices.Clip(seg), tomlpos.Elem(i)) }

// keys returns the keys of t ordered by their line, then by name, so the
// first error reported is the topmost one.
func (p *parser) keys(seg []string, t map[string]any) []string {
	ks := make([]string, 0, len(t))
	for k := range t {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b string) int {
		if c := p.line(child(seg, a)) - p.line(child(seg, b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return ks
}

// unknown reports the first key of t not in known. Keys are ordered (by
// line, which is costly) only when one is unknown.
func (p *parser) unknown(seg []string, ctx string, t map[string]any, known ...string) error {
	for k := range t {
		if slices.Contains(known, k) {
			continue
		}
		for _, k := range p.keys(seg, t) {
			if !slices.Contains(known, k) {
				return p.errorf(child(seg, k), ctx, "unknown key %q", k)
			}
		}
	}
	return nil
}

var (
	pkgKeys  = []string{"name", "registry", "project", "package", "version", "constraint", "files", "extract", "package_id", "file"}
	fileKeys = []string{"name", "size", "sha256", "file_id"}
	// Keys of lock_version 2.
	pkgKeys2  = append(slices.Clone(pkgKeys), "replacements", "platforms")
	fileKeys2 = append(slices.Clone(fileKeys), "platform")
	// Keys of lock_version 3.
	pkgKeys3 = append(slices.Clone(pkgKeys2), "strip", "bin")
)

func (p *parser) file(doc map[string]any) (*File, error) {
	lv, ok := doc["lock_version"]
	if !ok {
		return nil, p.errorf(nil, "", "missing required key %q", "lock_version")
	}
	seg := []string{"lock_version"}
	n, ok := lv.(int64)
	if !ok {
		return nil, p.errorf(seg, "", "lock_version must be an integer, not %s", typeName(lv))
	}
	if n > Version {
		e := &Error{Path: p.path, Line: p.line(seg), Msg: fmt.Sprintf("lock_version %d needs a newer gpm (this gpm reads lock_version %d)", n, Version)}
		return nil, hint.Wrap(e, "upgrade gpm to the version that wrote this lock, or delete "+p.path+" and run 'gpm install' to write it again (every package is then resolved again)")
	}
	if n < MinVersion {
		return nil, p.errorf(seg, "", "lock_version %d is not supported (this gpm reads lock_version %d to %d)", n, MinVersion, Version)
	}
	p.version = n
	top := []string{"lock_version", "package"}
	if n >= 2 {
		top = append(top, "platforms")
	}
	if err := p.unknown(nil, "", doc, top...); err != nil {
		return nil, err
	}
	f := &File{Version: int(n)}
	if v, ok := doc["platforms"]; ok {
		list, err := p.platformList([]string{"platforms"}, "", v, true)
		if err != nil {
			return nil, err
		}
		f.Platforms, p.platforms = list, list
	}
	v, ok := doc["package"]
	if !ok {
		return f, nil
	}
	seg = []string{"package"}
	tables, ok := tableArray(v)
	if !ok {
		return nil, p.errorf(seg, "", "package must be an array of tables ([[package]]), not %s", typeName(v))
	}
	first := map[string]int{} // name -> index
	for i, t := range tables {
		pkg, err := p.pkg(elem(seg, i), i, t)
		if err != nil {
			return nil, err
		}
		if j, dup := first[pkg.Name]; dup {
			return nil, p.errorf(child(elem(seg, i), "name"), "", "package %q is locked twice (also at line %d)", pkg.Name, p.line(elem(seg, j)))
		}
		first[pkg.Name] = i
		f.Packages = append(f.Packages, pkg)
	}
	sortPackages(f.Packages)
	return f, nil
}

func (p *parser) pkg(seg []string, i int, t map[string]any) (Package, error) {
	var pkg Package
	ctx := fmt.Sprintf("package #%d", i+1)
	name, err := p.str(seg, ctx, t, "name", true)
	if err != nil {
		return pkg, err
	}
	if err := validName(name); err != nil {
		return pkg, p.errorf(child(seg, "name"), ctx, "name %q %v", name, err)
	}
	pkg.Name = name
	ctx = fmt.Sprintf("package %q", name)
	known := pkgKeys
	if p.version >= 2 {
		known = pkgKeys2
	}
	if p.version >= 3 {
		known = pkgKeys3
	}
	if err := p.unknown(seg, ctx, t, known...); err != nil {
		return pkg, err
	}

	if pkg.Registry, err = p.str(seg, ctx, t, "registry", false); err != nil {
		return pkg, err
	}
	if _, set := t["registry"]; set {
		if err := validText(pkg.Registry); err != nil {
			return pkg, p.errorf(child(seg, "registry"), ctx, "registry %q %v (omit the key for the default registry)", pkg.Registry, err)
		}
	}

	if pkg.Project, err = p.str(seg, ctx, t, "project", true); err != nil {
		return pkg, err
	}
	if err := validText(pkg.Project); err != nil {
		return pkg, p.errorf(child(seg, "project"), ctx, "project %q %v", pkg.Project, err)
	}

	if pkg.Package, err = p.str(seg, ctx, t, "package", true); err != nil {
		return pkg, err
	}
	if err := validName(pkg.Package); err != nil {
		return pkg, p.errorf(child(seg, "package"), ctx, "package %q %v", pkg.Package, err)
	}

	if pkg.Version, err = p.str(seg, ctx, t, "version", true); err != nil {
		return pkg, err
	}
	if !version.ValidGitLabVersion(pkg.Version) {
		return pkg, p.errorf(child(seg, "version"), ctx, "version %q is not a version GitLab accepts (letters, digits, '.', '_', '-', '+', no \"..\")", pkg.Version)
	}

	if pkg.Constraint, err = p.str(seg, ctx, t, "constraint", true); err != nil {
		return pkg, err
	}
	if _, err := version.ParseConstraint(pkg.Constraint); err != nil {
		return pkg, p.errorf(child(seg, "constraint"), ctx, "constraint: %v", err)
	}

	if pkg.Globs, err = p.globs(seg, ctx, t); err != nil {
		return pkg, err
	}

	if v, ok := t["extract"]; ok {
		b, ok := v.(bool)
		if !ok {
			return pkg, p.errorf(child(seg, "extract"), ctx, "extract must be a boolean, not %s", typeName(v))
		}
		pkg.Extract = b
	}

	if v, ok := t["strip"]; ok {
		n, ok := v.(int64)
		if !ok || n < 0 || n > 64 {
			return pkg, p.errorf(child(seg, "strip"), ctx, "strip must be an integer from 0 to 64, not %v", v)
		}
		if !pkg.Extract {
			return pkg, p.errorf(child(seg, "strip"), ctx, "strip needs extract = true")
		}
		pkg.Strip = int(n)
	}
	if v, ok := t["bin"]; ok {
		if pkg.Bin, err = p.bin(child(seg, "bin"), ctx, v); err != nil {
			return pkg, err
		}
	}

	if v, ok := t["replacements"]; ok {
		if pkg.Replacements, err = p.replacements(child(seg, "replacements"), ctx, v); err != nil {
			return pkg, err
		}
	}
	if v, ok := t["platforms"]; ok {
		if pkg.PlatformGlobs, err = p.platformList(child(seg, "platforms"), ctx, v, false); err != nil {
			return pkg, err
		}
	}
	if pkg.Specific() {
		if p.version < 2 {
			return pkg, p.errorf(child(seg, "files"), ctx, "files use platform placeholders, which need lock_version 2")
		}
		if p.platforms == nil {
			return pkg, p.errorf(seg, ctx, "files use platform placeholders but the lock has no top-level platforms")
		}
		pkg.Targets = platform.Select(p.platforms, pkg.PlatformGlobs)
	}

	if pkg.PackageID, err = p.id(seg, ctx, t, "package_id"); err != nil {
		return pkg, err
	}

	v, ok := t["file"]
	if !ok {
		return pkg, nil
	}
	fseg := child(seg, "file")
	tables, ok := tableArray(v)
	if !ok {
		return pkg, p.errorf(fseg, ctx, "file must be an array of tables ([[package.file]]), not %s", typeName(v))
	}
	first := map[[2]string]int{}
	shared := map[string]bool{}
	for j, ft := range tables {
		fe, err := p.fileEntry(elem(fseg, j), ctx, j, ft)
		if err != nil {
			return pkg, err
		}
		if fe.Platform != "" {
			if !pkg.Specific() {
				return pkg, p.errorf(child(elem(fseg, j), "platform"), ctx, "file %q has a platform, but the package's files use no {os}, {arch} or {exe}", fe.Name)
			}
			if !slices.Contains(pkg.Targets, fe.Platform) {
				return pkg, p.errorf(child(elem(fseg, j), "platform"), ctx, "file %q: platform %q is not one the package is locked for (%s)", fe.Name, fe.Platform, strings.Join(pkg.Targets, ", "))
			}
		}
		key := [2]string{fe.Name, fe.Platform}
		if k, dup := first[key]; dup {
			return pkg, p.errorf(child(elem(fseg, j), "name"), ctx, "file %q is listed twice (also at line %d)", fe.Name, p.line(elem(fseg, k)))
		}
		first[key] = j
		if fe.Platform == "" {
			shared[fe.Name] = true
		}
		pkg.Files = append(pkg.Files, fe)
	}
	for j, fe := range pkg.Files {
		if fe.Platform != "" && shared[fe.Name] {
			return pkg, p.errorf(child(elem(fseg, j), "name"), ctx, "file %q is listed both as shared and for platform %q", fe.Name, fe.Platform)
		}
	}
	sortFiles(pkg.Files)
	return pkg, nil
}

func (p *parser) fileEntry(seg []string, pctx string, j int, t map[string]any) (FileEntry, error) {
	var fe FileEntry
	ctx := fmt.Sprintf("%s: file #%d", pctx, j+1)
	name, err := p.str(seg, ctx, t, "name", true)
	if err != nil {
		return fe, err
	}
	if err := validFileName(name); err != nil {
		return fe, p.errorf(child(seg, "name"), ctx, "name %q %v", name, err)
	}
	fe.Name = name
	ctx = fmt.Sprintf("%s: file %q", pctx, name)
	known := fileKeys
	if p.version >= 2 {
		known = fileKeys2
	}
	if err := p.unknown(seg, ctx, t, known...); err != nil {
		return fe, err
	}
	if fe.Platform, err = p.str(seg, ctx, t, "platform", false); err != nil {
		return fe, err
	}
	if _, set := t["platform"]; set {
		if _, err := platform.Parse(fe.Platform); err != nil {
			return fe, p.errorf(child(seg, "platform"), ctx, "%v", err)
		}
	}

	v, ok := t["size"]
	if !ok {
		return fe, p.errorf(seg, ctx, "missing required key %q", "size")
	}
	size, ok := v.(int64)
	if !ok {
		return fe, p.errorf(child(seg, "size"), ctx, "size must be an integer, not %s", typeName(v))
	}
	if size < 0 {
		return fe, p.errorf(child(seg, "size"), ctx, "size %d is negative", size)
	}
	fe.Size = size

	if fe.SHA256, err = p.str(seg, ctx, t, "sha256", true); err != nil {
		return fe, err
	}
	if !validSHA256(fe.SHA256) {
		return fe, p.errorf(child(seg, "sha256"), ctx, "sha256 %q is not 64 lowercase hex digits", fe.SHA256)
	}

	if fe.FileID, err = p.id(seg, ctx, t, "file_id"); err != nil {
		return fe, err
	}
	return fe, nil
}

// str returns the string at t[key]; a missing optional key gives "".
func (p *parser) str(seg []string, ctx string, t map[string]any, key string, required bool) (string, error) {
	v, ok := t[key]
	if !ok {
		if required {
			return "", p.errorf(seg, ctx, "missing required key %q", key)
		}
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", p.errorf(child(seg, key), ctx, "%s must be a string, not %s", key, typeName(v))
	}
	return s, nil
}

// id returns the required positive integer at t[key].
func (p *parser) id(seg []string, ctx string, t map[string]any, key string) (int64, error) {
	v, ok := t[key]
	if !ok {
		return 0, p.errorf(seg, ctx, "missing required key %q", key)
	}
	n, ok := v.(int64)
	if !ok {
		return 0, p.errorf(child(seg, key), ctx, "%s must be an integer, not %s", key, typeName(v))
	}
	if n <= 0 {
		return 0, p.errorf(child(seg, key), ctx, "%s %d is not a positive ID", key, n)
	}
	return n, nil
}

// globs returns the optional `files` array; an empty array is nil.
func (p *parser) globs(seg []string, ctx string, t map[string]any) ([]string, error) {
	v, ok := t["files"]
	if !ok {
		return nil, nil
	}
	kseg := child(seg, "files")
	arr, ok := v.([]any)
	if !ok {
		return nil, p.errorf(kseg, ctx, "files must be an array of strings, not %s", typeName(v))
	}
	var globs []string
	for _, e := range arr {
		g, ok := e.(string)
		if !ok {
			return nil, p.errorf(kseg, ctx, "files must be an array of strings, not of %s", typeName(e))
		}
		if g == "" {
			return nil, p.errorf(kseg, ctx, "files: empty glob")
		}
		if err := validText(g); err != nil {
			return nil, p.errorf(kseg, ctx, "files: glob %q %v", g, err)
		}
		if _, err := path.Match(g, ""); err != nil {
			return nil, p.errorf(kseg, ctx, "files: invalid glob %q", g)
		}
		globs = append(globs, g)
	}
	return globs, nil
}

// platformList returns a list of platform names (names) or of platform
// globs, distinct and valid.
func (p *parser) platformList(seg []string, ctx string, v any, names bool) ([]string, error) {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return nil, p.errorf(seg, ctx, "platforms must be a non-empty array of strings, not %s", typeName(v))
	}
	var out []string
	for _, e := range arr {
		s, ok := e.(string)
		if !ok {
			return nil, p.errorf(seg, ctx, "platforms must be an array of strings, not of %s", typeName(e))
		}
		var err error
		if names {
			_, err = platform.Parse(s)
		} else {
			err = platform.ValidGlob(s)
		}
		if err != nil {
			return nil, p.errorf(seg, ctx, "platforms: %v", err)
		}
		if slices.Contains(out, s) {
			return nil, p.errorf(seg, ctx, "platforms: %q is listed twice", s)
		}
		out = append(out, s)
	}
	return out, nil
}

// replacements returns a package's replacements table.
func (p *parser) replacements(seg []string, ctx string, v any) (map[string]string, error) {
	t, ok := v.(map[string]any)
	if !ok || len(t) == 0 {
		return nil, p.errorf(seg, ctx, "replacements must be a non-empty table of strings, not %s", typeName(v))
	}
	out := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(t)) { // the same entry is reported every time
		e := t[k]
		s, ok := e.(string)
		if !ok {
			return nil, p.errorf(child(seg, k), ctx, "replacements: %s must be a string, not %s", k, typeName(e))
		}
		if err := platform.CheckReplacement(k, s); err != nil {
			return nil, p.errorf(child(seg, k), ctx, "replacements: %s: %v", k, err)
		}
		out[k] = s
	}
	return out, nil
}

// bin returns a package's bin table: command names (plain file names) and
// the relative paths they link to.
func (p *parser) bin(seg []string, ctx string, v any) (map[string]string, error) {
	t, ok := v.(map[string]any)
	if !ok || len(t) == 0 {
		return nil, p.errorf(seg, ctx, "bin must be a non-empty table of strings, not %s", typeName(v))
	}
	out := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(t)) { // the same entry is reported every time
		e := t[k]
		s, ok := e.(string)
		if !ok {
			return nil, p.errorf(child(seg, k), ctx, "bin: %s must be a string, not %s", k, typeName(e))
		}
		if err := validName(k); err != nil || k[0] == '.' || k[0] == '-' {
			return nil, p.errorf(child(seg, k), ctx, "bin: command name %q is not a plain file name", k)
		}
		if s == "" || strings.HasPrefix(s, "/") || strings.Contains(s, `\`) || slices.Contains(strings.Split(s, "/"), "..") {
			return nil, p.errorf(child(seg, k), ctx, "bin: %s: path %q is not a relative path inside the package", k, s)
		}
		if err := validText(s); err != nil {
			return nil, p.errorf(child(seg, k), ctx, "bin: %s: path %q %v", k, s, err)
		}
		out[k] = s
	}
	return out, nil
}

// isBareKey reports whether k can be written as a bare TOML key.
func isBareKey(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return k != ""
}

// tableArray returns v as an array of tables, from [[headers]] or an inline
// array of inline tables.
func tableArray(v any) ([]map[string]any, bool) {
	switch v := v.(type) {
	case []map[string]any:
		return v, true
	case []any:
		out := make([]map[string]any, 0, len(v))
		for _, e := range v {
			t, ok := e.(map[string]any)
			if !ok {
				return nil, false
			}
			out = append(out, t)
		}
		return out, true
	}
	return nil, false
}

// typeName names the TOML type of a decoded value.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case []any, []map[string]any:
		return "array"
	case map[string]any:
		return "table"
	case time.Time:
		return "datetime"
	}
	return fmt.Sprintf("%T", v)
}

// validName checks a local or registry package name: what GitLab accepts
// for a generic package name, and never "." or "..", which would escape the
// vendor directory or change a download URL's path.
func validName(s string) error {
	if s == "" {
		return errors.New("is empty")
	}
	if s == "." || s == ".." {
		return errors.New("is not a valid package name")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '+' || c == '-') {
			return errors.New("is not a valid package name (letters, digits, '.', '_', '+', '-')")
		}
	}
	return nil
}

// validText checks a free-form value (project, registry name, glob): not
// empty, no control characters, no surrounding space.
func validText(s string) error {
	if s == "" {
		return errors.New("is empty")
	}
	if strings.TrimSpace(s) != s {
		return errors.New("has leading or trailing space")
	}
	if hasControl(s) {
		return errors.New("contains a control character")
	}
	return nil
}

// validFileName checks that a registry file name is safe to use as a
// relative path below a package directory: GitLab allows "/" in generic
// file names, so the name may have directories, but it must be clean.
func validFileName(s string) error {
	switch {
	case s == "":
		return errors.New("is empty")
	case hasControl(s):
		return errors.New("contains a control character")
	case strings.Contains(s, `\`):
		return errors.New("contains a backslash")
	case strings.HasPrefix(s, "/"):
		return errors.New("is an absolute path")
	}
	for _, part := range strings.Split(s, "/") {
		switch part {
		case "":
			return errors.New("has an empty path segment")
		case ".", "..":
			return fmt.Errorf("has a %q path segment", part)
		}
	}
	return nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

func validSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func sortPackages(p []Package) {
	slices.SortFunc(p, func(a, b Package) int { return strings.Compare(a.Name, b.Name) })
}
func sortFiles(f []FileEntry) {
	slices.SortFunc(f, func(a, b FileEntry) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Platform, b.Platform)
	})
}
