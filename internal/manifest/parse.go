package manifest

import (
	"errors"
	"fmt"
	"maps"
	"os"
	pathpkg "path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/gpmtool/gpm/internal/platform"
	"github.com/gpmtool/gpm/internal/registry"
	"github.com/gpmtool/gpm/internal/tomlpos"
	"github.com/gpmtool/gpm/internal/tomlsimple"
	"github.com/gpmtool/gpm/internal/version"
)

// Load reads and parses the manifest at path. A missing file yields an error
// that matches fs.ErrNotExist (the caller can suggest "gpm init"); any other
// read failure is returned as is; a file that is not valid yields an *Error.
func Load(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses and validates the manifest in data. path names the file in
// problems and is recorded in Manifest.Path. Every validation or syntax
// failure is returned as an *Error listing all problems found, each with its
// line and key; the error matches ErrInvalid.
func Parse(path string, data []byte) (*Manifest, error) {
	raw, ok := tomlsimple.Decode(data)
	if !ok {
		if _, err := decodeTOML(string(data), &raw); err != nil {
			return nil, syntaxError(path, data, err)
		}
	}
	return fromTree(path, data, raw)
}

// decodeTOML is toml.Decode, for what the fast path (tomlsimple) declines;
// tests count its calls.
var decodeTOML = toml.Decode

// fromTree validates raw, the TOML tree of data, and converts it.
func fromTree(path string, data []byte, raw map[string]any) (*Manifest, error) {
	c := &checker{file: path, loc: tomlpos.Scan(data)}
	m := c.manifest(raw)
	if err := c.err(); err != nil {
		return nil, err
	}
	m.Path = path
	applyDefaults(m)
	return m, nil
}

// applyDefaults fills in every default, in this one place, so the rest of
// gpm sees a complete Manifest. The registry URL is deliberately not
// defaulted: it depends on the environment (see Registry.ResolvedURL).
func applyDefaults(m *Manifest) {
	if m.Dir == "" {
		m.Dir = DefaultDir
	}
	if m.Registries == nil {
		m.Registries = map[string]Registry{}
	}
	if m.Platforms == nil {
		m.Platforms = slices.Clone(platform.Default)
	}
	defaultToken(m.Registry.Token)
	for _, r := range m.Registries {
		defaultToken(r.Token)
	}
	for i := range m.Packages {
		p := &m.Packages[i]
		if p.Package == "" {
			p.Package = p.Name
		}
		if p.Version == "" {
			p.Version = version.Any
			c, err := version.ParseConstraint(version.Any)
			if err != nil {
				panic("manifest: default constraint does not parse: " + err.Error())
			}
			p.Constraint = c
		}
		if p.Specific() {
			p.Targets = platform.Select(m.Platforms, p.Platforms)
		}
	}
	sort.Slice(m.Packages, func(i, j int) bool { return m.Packages[i].Name < m.Packages[j].Name })
}

func defaultToken(t *TokenRef) {
	if t != nil && t.Type == "" {
		t.Type = TokenPrivate
	}
}

// sensitiveWords mark a source line whose syntax error message must not be
// shown: the TOML parser quotes part of the offending text, and on such a
// line that text may be a secret.
var sensitiveWords = []string{"token", "secret", "password", "passwd"}

// syntaxError converts an error of the TOML parser, which stops at its first
// problem, into an *Error.
func syntaxError(file string, data []byte, err error) error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return &Error{Problems: []Problem{{File: file, Msg: tidy(err.Error())}}}
	}
	p := Problem{File: file, Line: pe.Position.Line, Key: pe.LastKey, Msg: tidy(pe.Message)}
	text := strings.ToLower(sourceLine(data, p.Line) + " " + pe.LastKey)
	for _, w := range sensitiveWords {
		if strings.Contains(text, w) {
			p.Msg = "invalid TOML syntax (details not shown: the line may hold a secret); " +
				"a token belongs in an environment variable: write token = { env = \"NAME\" }"
			break
		}
	}
	if strings.Contains(pe.Message, "to end table name") {
		// The parser reads past the line break of "[packages.x" and
		// reports the next line, under the last key it had (often one of
		// [registry]): point at the header the user left open instead.
		if n, header, ok := openHeader(data, p.Line); ok {
			p.Line, p.Key = n, ""
			p.Msg = fmt.Sprintf("table header %s is not closed; write %s]", header, header)
		}
	}
	if strings.Contains(pe.Message, "already been defined") || strings.Contains(pe.Message, "already created") {
		p.Msg = "duplicate key"
		// The message names the key; LastKey may be only its table.
		if rest, ok := strings.CutPrefix(pe.Message, "Key '"); ok {
			if i := strings.LastIndex(rest, "' "); i >= 0 {
				p.Key = rest[:i]
			}
		}
		// The document is not valid, but the index copes, and it keeps the
		// first definition of each key.
		if key, ok := tomlpos.SplitKey(p.Key); ok {
			if n, ok := tomlpos.Scan(data).Line(key...); ok && n < p.Line {
				p.Msg += fmt.Sprintf(" (first defined on line %d)", n)
			}
		}
	}
	return &Error{Problems: []Problem{p}}
}

// openHeader finds the last line at or before line that opens a table
// header ("[" or "[[") without closing it, and returns its number and its
// text.
func openHeader(data []byte, line int) (int, string, bool) {
	lines := strings.Split(string(data), "\n")
	for n := min(line, len(lines)); n >= 1; n-- {
		text, _, _ := strings.Cut(lines[n-1], "#")
		text = strings.TrimSpace(text)
		if strings.HasPrefix(text, "[") {
			if strings.Contains(text, "]") {
				return 0, "", false
			}
			return n, text, true
		}
	}
	return 0, "", false
}

// tidy makes a library message follow gpm's style: lowercase start, no
// trailing period.
func tidy(msg string) string {
	msg = strings.TrimSuffix(strings.TrimSpace(msg), ".")
	if msg != "" && msg[0] >= 'A' && msg[0] <= 'Z' && (len(msg) == 1 || msg[1] < 'A' || msg[1] > 'Z') {
		msg = string(msg[0]+'a'-'A') + msg[1:]
	}
	return msg
}

// sourceLine returns line n (1-based) of data, or "".
func sourceLine(data []byte, n int) string {
	if n < 1 {
		return ""
	}
	for i := 1; i < n; i++ {
		j := strings.IndexByte(string(data), '\n')
		if j < 0 {
			return ""
		}
		data = data[j+1:]
	}
	if j := strings.IndexByte(string(data), '\n'); j >= 0 {
		data = data[:j]
	}
	return string(data)
}

// checker converts the decoded TOML into a Manifest, collecting problems.
type checker struct {
	file  string
	loc   *tomlpos.Index
	probs []Problem
}

func (c *checker) addf(path []string, format string, args ...any) {
	c.probs = append(c.probs, Problem{
		File: c.file,
		Line: c.loc.Nearest(path...),
		Key:  formatKey(path),
		Msg:  fmt.Sprintf(format, args...),
	})
}

// err returns the collected problems sorted by line, or nil.
func (c *checker) err() error {
	if len(c.probs) == 0 {
		return nil
	}
	probs := slices.Clone(c.probs)
	sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
	probs = slices.Compact(probs)
	e := &Error{Problems: probs}
	if len(probs) > maxProblems {
		e.Problems, e.Omitted = probs[:maxProblems], len(probs)-maxProblems
	}
	return e
}

// formatKey writes a key path as TOML would: bare segments as they are,
// others quoted, array elements as [i].
func formatKey(path []string) string {
	var b strings.Builder
	for i, s := range path {
		if n, ok := tomlpos.ElemIndex(s); ok {
			b.WriteString("[" + strconv.Itoa(n) + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		if s != "" && strings.IndexFunc(s, func(r rune) bool { return r > 0x7f || !isBare(byte(r)) }) < 0 {
			b.WriteString(s)
		} else {
			b.WriteString(strconv.Quote(s))
		}
	}
	return b.String()
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
	case time.Time:
		return "date-time"
	case []map[string]any:
		return "array of tables"
	case []any:
		return "array"
	case map[string]any:
		return "table"
	}
	return fmt.Sprintf("%T", v)
}

// schema lists the keys a table accepts, and common wrong spellings that
// are not close enough to be caught by edit distance.
type schema struct {
	keys    []string
	aliases map[string]string
}

var (
	topSchema = schema{
		keys:    []string{"registry", "registries", "install", "packages"},
		aliases: map[string]string{"dependencies": "packages", "deps": "packages", "vendor": "install"},
	}
	registrySchema = schema{
		keys:    []string{"url", "token"},
		aliases: map[string]string{"host": "url", "server": "url", "address": "url", "instance": "url", "auth": "token"},
	}
	tokenSchema = schema{
		keys:    []string{"env", "type"},
		aliases: map[string]string{"var": "env", "variable": "env", "name": "env", "kind": "type"},
	}
	installSchema = schema{
		keys:    []string{"dir", "platforms"},
		aliases: map[string]string{"directory": "dir", "path": "dir", "vendor": "dir", "platform": "platforms", "targets": "platforms"},
	}
	packageSchema = schema{
		keys: []string{"project", "package", "version", "files", "extract", "strip", "bin", "registry", "platforms", "replacements"},
		aliases: map[string]string{
			"id": "project", "project_id": "project", "name": "package",
			"constraint": "version", "glob": "files", "globs": "files",
			"unpack": "extract", "unzip": "extract",
			"strip_components": "strip", "strip-components": "strip",
			"bins": "bin", "binaries": "bin", "commands": "bin", "executables": "bin",
			"platform": "platforms", "os": "platforms", "targets": "platforms",
			"replace": "replacements", "replacement": "replacements", "overrides": "replacements",
		},
	}
)

// table checks that v is a table and reports its unknown keys. It returns
// the table, or nil after reporting a type problem.
func (c *checker) table(path []string, v any, sc schema, what string) map[string]any {
	t, ok := v.(map[string]any)
	if !ok {
		c.addf(path, "expected %s, got %s", what, typeName(v))
		return nil
	}
	for _, k := range sortedKeys(t) {
		if !slices.Contains(sc.keys, k) {
			c.unknown(join(path, []string{k}), k, sc)
		}
	}
	return t
}

func (c *checker) unknown(path []string, key string, sc schema) {
	if s := suggest(key, sc); s != "" {
		c.addf(path, "unknown key; did you mean %q?", s)
		return
	}
	c.addf(path, "unknown key (known keys: %s)", strings.Join(sc.keys, ", "))
}

// suggest returns the known key closest to key, or "".
func suggest(key string, sc schema) string {
	k := strings.ToLower(key)
	if s, ok := sc.aliases[k]; ok {
		return s
	}
	best, bestD := "", 0
	for _, s := range sc.keys {
		max := 1
		if len(s) >= 5 {
			max = 2
		}
		if d := distance(k, s); d <= max && (best == "" || d < bestD) {
			best, bestD = s, d
		}
	}
	return best
}

// distance is the optimal string alignment distance: insertions, deletions,
// substitutions and transpositions of adjacent bytes each cost one.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

func sortedKeys(t map[string]any) []string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// str returns v as a string, reporting a type problem when it is not one.
func (c *checker) str(path []string, v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		c.addf(path, "expected string, got %s", typeName(v))
	}
	return s, ok
}

func (c *checker) manifest(raw map[string]any) *Manifest {
	m := &Manifest{}
	c.table(nil, raw, topSchema, "table")
	if v, ok := raw["registry"]; ok {
		path := []string{"registry"}
		if t := c.table(path, v, registrySchema, `table [registry] with url = "..."`); t != nil {
			m.Registry = c.registry(path, "", t)
		}
	}
	if v, ok := raw["registries"]; ok {
		path := []string{"registries"}
		if t, ok := v.(map[string]any); !ok {
			c.addf(path, "expected table of [registries.NAME] tables, got %s", typeName(v))
		} else {
			m.Registries = map[string]Registry{}
			for _, name := range sortedKeys(t) {
				rpath := join(path, []string{name})
				if err := validRegistryName(name); err != nil {
					c.addf(rpath, "invalid registry name: %v", err)
				}
				rt := c.table(rpath, t[name], registrySchema,
					`table [registries.NAME] with url = "..." (the default instance is [registry])`)
				if rt == nil {
					// Known, so references to it are not reported too.
					m.Registries[name] = Registry{Name: name}
					continue
				}
				if _, ok := rt["url"]; !ok {
					c.addf(rpath, `missing required key "url"`)
				}
				m.Registries[name] = c.registry(rpath, name, rt)
			}
		}
	}
	if v, ok := raw["install"]; ok {
		path := []string{"install"}
		if t := c.table(path, v, installSchema, "table [install]"); t != nil {
			if v, ok := t["dir"]; ok {
				dpath := join(path, []string{"dir"})
				if s, ok := c.str(dpath, v); ok {
					if err := validDir(s); err != nil {
						c.addf(dpath, "%v", err)
					} else {
						m.Dir = cleanDir(s)
					}
				}
			}
			if v, ok := t["platforms"]; ok {
				m.Platforms = c.platforms(join(path, []string{"platforms"}), v)
				m.PlatformsSet = m.Platforms != nil
			}
		}
	}
	if v, ok := raw["packages"]; ok {
		path := []string{"packages"}
		switch t := v.(type) {
		case map[string]any:
			folded := map[string]string{}
			for _, name := range sortedKeys(t) {
				ppath := join(path, []string{name})
				if err := validLocalName(name); err != nil {
					c.addf(ppath, "invalid local name: %v", err)
				} else if other, ok := folded[strings.ToLower(name)]; ok {
					c.addf(ppath, "local name differs from %q only in case; the two would share one directory on case-insensitive file systems", other)
				} else {
					folded[strings.ToLower(name)] = name
				}
				if p, ok := c.pkg(ppath, name, t[name], m); ok {
					m.Packages = append(m.Packages, p)
				}
			}
			c.platformCover(m)
			c.binClaims(m)
		case []map[string]any:
			c.addf(path, "expected table, got array of tables; declare each package as [packages.NAME], not [[packages]]")
		default:
			c.addf(path, "expected table of [packages.NAME] tables, got %s", typeName(v))
		}
	}
	return m
}

func (c *checker) registry(path []string, name string, t map[string]any) Registry {
	r := Registry{Name: name}
	if v, ok := t["url"]; ok {
		upath := join(path, []string{"url"})
		if s, ok := c.str(upath, v); ok {
			if err := validURL(s); err != nil {
				c.addf(upath, "%v", err)
			} else {
				r.URL, r.URLSet = s, true
			}
		}
	}
	if v, ok := t["token"]; ok {
		r.Token = c.token(join(path, []string{"token"}), v)
	}
	return r
}

// tokenHint says where a token goes instead of packages.toml.
const tokenHint = `put the token in an environment variable and write token = { env = "NAME" }`

func (c *checker) token(path []string, v any) *TokenRef {
	if _, ok := v.(string); ok {
		// Never repeat the value: it is most likely the token itself.
		c.addf(path, "a token must not be written in packages.toml (value not shown); %s", tokenHint)
		return nil
	}
	t := c.table(path, v, tokenSchema, `table { env = "NAME", type = "private" }`)
	if t == nil {
		return nil
	}
	ref := &TokenRef{}
	ok := true
	if v, has := t["env"]; !has {
		c.addf(path, `missing required key "env"`)
		ok = false
	} else if s, isStr := v.(string); !isStr {
		c.addf(join(path, []string{"env"}), "expected string, got %s", typeName(v))
		ok = false
	} else if !validEnvName(s) {
		// Not quoted back: a pasted token would be printed.
		c.addf(join(path, []string{"env"}), "env must name an environment variable: "+
			"letters, digits and '_', not starting with a digit (value not shown)")
		ok = false
	} else {
		ref.Env = s
	}
	if v, has := t["type"]; has {
		tpath := join(path, []string{"type"})
		if s, isStr := c.str(tpath, v); !isStr {
			ok = false
		} else if !slices.Contains(tokenTypes, s) {
			msg := fmt.Sprintf("unknown token type %q (want %s)", s, strings.Join(tokenTypes, ", "))
			if sg := suggest(s, schema{keys: tokenTypes}); sg != "" {
				msg += fmt.Sprintf("; did you mean %q?", sg)
			}
			c.addf(tpath, "%s", msg)
			ok = false
		} else {
			ref.Type = s
		}
	}
	if !ok {
		return nil
	}
	return ref
}

var tokenTypes = []string{TokenPrivate, TokenJob, TokenDeploy, TokenBearer}

// pkg converts one [packages.NAME] table. It returns false when the entry
// is too broken to convert; its problems are recorded either way.
func (c *checker) pkg(path []string, name string, v any, m *Manifest) (Package, bool) {
	p := Package{Name: name, Line: c.loc.Nearest(path...)}
	t, ok := v.(map[string]any)
	if !ok {
		c.addf(path, "expected table, got %s; declare the package as [packages.%s] with project = ... and version = \"...\"",
			typeName(v), formatKey([]string{name}))
		return p, false
	}
	c.table(path, t, packageSchema, "table")
	key := func(k string) []string { return join(path, []string{k}) }

	if v, ok := t["project"]; !ok {
		c.addf(path, `missing required key "project" (the publisher's numeric project ID or "group/project" path)`)
	} else {
		switch x := v.(type) {
		case int64:
			if x <= 0 {
				c.addf(key("project"), "invalid project ID %d: must be a positive integer", x)
			} else {
				p.Project = strconv.FormatInt(x, 10)
			}
		case string:
			if err := validProject(x); err != nil {
				c.addf(key("project"), "%v", err)
			} else {
				p.Project = x
			}
		default:
			c.addf(key("project"), "expected integer or string, got %s", typeName(v))
		}
	}
	if v, ok := t["package"]; ok {
		if s, ok := c.str(key("package"), v); ok {
			if err := registry.ValidPackageName(s); err != nil {
				c.addf(key("package"), "%v", err)
			} else {
				p.Package = s
			}
		}
	}
	if v, ok := t["version"]; ok {
		if s, ok := c.str(key("version"), v); ok {
			if con, err := version.ParseConstraint(s); err != nil {
				c.addf(key("version"), "%v", err)
			} else {
				p.Version, p.Constraint = s, con
			}
		}
	}
	if v, ok := t["files"]; ok {
		p.Files = c.files(key("files"), v)
	}
	if v, ok := t["platforms"]; ok {
		p.Platforms = c.platformGlobs(key("platforms"), v)
	}
	if v, ok := t["replacements"]; ok {
		p.Replacements = c.replacements(key("replacements"), v)
		if p.Replacements != nil && !platform.AnySpecific(p.Files) {
			c.addf(key("replacements"), "replacements apply to {os} and {arch} in files, and files uses neither; write files = [\"NAME-{os}-{arch}...\"] or leave replacements out")
		}
	}
	if v, ok := t["extract"]; ok {
		if b, ok := v.(bool); ok {
			p.Extract = b
		} else {
			c.addf(key("extract"), "expected boolean, got %s", typeName(v))
		}
	}
	if v, ok := t["strip"]; ok {
		switch n, isInt := v.(int64); {
		case !isInt:
			c.addf(key("strip"), "expected integer (the number of leading path components to drop), got %s", typeName(v))
		case n < 0 || n > maxStrip:
			c.addf(key("strip"), "strip = %d: must be 0 to %d", n, maxStrip)
		case !p.Extract:
			c.addf(key("strip"), "strip applies to archive entries, and the package does not extract its archives; add extract = true or leave strip out")
		default:
			p.Strip = int(n)
		}
	}
	if v, ok := t["bin"]; ok {
		p.Bin = c.bin(key("bin"), v)
	}
	if v, ok := t["registry"]; ok {
		if s, ok := c.str(key("registry"), v); ok {
			if _, defined := m.Registries[s]; defined {
				p.Registry = s
			} else if s == "" {
				c.addf(key("registry"), "empty registry name; leave the key out to use [registry]")
			} else {
				msg := fmt.Sprintf("unknown registry %q", s)
				names := make([]string, 0, len(m.Registries))
				for n := range m.Registries {
					names = append(names, n)
				}
				sort.Strings(names)
				if sg := suggest(s, schema{keys: names}); sg != "" {
					msg += fmt.Sprintf("; did you mean %q?", sg)
				} else {
					msg += fmt.Sprintf("; define it as [registries.%s] with url = \"...\"", formatKey([]string{s}))
				}
				c.addf(key("registry"), "%s", msg)
			}
		}
	}
	return p, true
}

func (c *checker) files(path []string, v any) []string {
	list, ok := v.([]any)
	if !ok {
		c.addf(path, "expected array of strings, got %s", typeName(v))
		return nil
	}
	if len(list) == 0 {
		c.addf(path, "empty list selects no file; leave the key out to install every file of the version")
		return nil
	}
	seen := map[string]int{}
	var out []string
	for i, e := range list {
		epath := join(path, []string{tomlpos.Elem(i)})
		s, ok := c.str(epath, e)
		if !ok {
			continue
		}
		if j, dup := seen[s]; dup {
			c.addf(epath, "duplicate glob %q (also files[%d])", s, j)
			continue
		}
		seen[s] = i
		if err := validGlob(s); err != nil {
			c.addf(epath, "%v", err)
			continue
		}
		if err := platform.CheckTemplate(s); err != nil {
			c.addf(epath, "%v", err)
			continue
		}
		out = append(out, s)
	}
	return out
}

// bin converts a package's bin: an array of paths, each command named after
// its path's base name less {exe}, or a table { name = "path" }.
func (c *checker) bin(path []string, v any) map[string]string {
	out := map[string]string{}
	add := func(epath []string, name, s string, named bool) {
		if err := validGlob(s); err != nil {
			c.addf(epath, "%v", err)
			return
		}
		if strings.HasSuffix(s, "/") {
			c.addf(epath, "bin path %q names a directory; name the file to run, as in \"bin/tool{exe}\"", s)
			return
		}
		if err := platform.CheckTemplate(s); err != nil {
			c.addf(epath, "%v", err)
			return
		}
		if err := validBinName(name); err != nil {
			if named {
				c.addf(epath, "invalid command name %q: %v", name, err)
			} else {
				c.addf(epath, "command name %q (the base name of %q) %v; name the command with the table form, bin = { NAME = %q }", name, s, err, s)
			}
			return
		}
		if other, dup := out[name]; dup {
			c.addf(epath, "command %q is given twice (also for %q)", name, other)
			return
		}
		out[name] = s
	}
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			c.addf(path, "empty list links no command; leave the key out")
			return nil
		}
		for i, e := range x {
			epath := join(path, []string{tomlpos.Elem(i)})
			s, ok := c.str(epath, e)
			if !ok {
				continue
			}
			add(epath, strings.TrimSuffix(pathpkg.Base(s), "{exe}"), s, false)
		}
	case map[string]any:
		if len(x) == 0 {
			c.addf(path, "empty table links no command; leave the key out")
			return nil
		}
		for _, k := range sortedKeys(x) {
			kpath := join(path, []string{k})
			if s, ok := c.str(kpath, x[k]); ok {
				add(kpath, k, s, true)
			}
		}
	default:
		c.addf(path, `expected array of paths such as ["bin/tool{exe}"] or table such as { tool = "bin/tool{exe}" }, got %s`, typeName(v))
		return nil
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// binClaims reports command names claimed by two packages: both would be
// linked at DIR/.bin/NAME.
func (c *checker) binClaims(m *Manifest) {
	type claim struct{ pkg, name string }
	owner := map[string]claim{}
	for _, p := range m.Packages {
		for _, name := range slices.Sorted(maps.Keys(p.Bin)) {
			if other, ok := owner[strings.ToLower(name)]; ok {
				if other.pkg == p.Name {
					c.addf([]string{"packages", p.Name, "bin"}, "commands %q and %q differ only in case, and would be one file on macOS and Windows: rename one", other.name, name)
					continue
				}
				c.addf([]string{"packages", p.Name, "bin"}, "command %q is also linked by package %q; both would be .bin/%s: leave it out of one, or rename it with the table form, bin = { NEWNAME = %q }", name, other.pkg, name, p.Bin[name])
				continue
			}
			owner[strings.ToLower(name)] = claim{p.Name, name}
		}
	}
}

// maxStrip bounds strip: archive paths deeper than this are not a version
// directory to drop.
const maxStrip = 16

// join returns a new slice holding a then b.
func join(a, b []string) []string {
	out := make([]string, 0, len(a)+len(b))
	return append(append(out, a...), b...)
}

// platforms converts [install] platforms: a non-empty list of distinct
// platform names ("linux-amd64"). It returns nil after reporting a problem.
func (c *checker) platforms(path []string, v any) []string {
	list, ok := v.([]any)
	if !ok {
		c.addf(path, `expected array of platforms such as ["linux-amd64", "darwin-arm64"], got %s`, typeName(v))
		return nil
	}
	if len(list) == 0 {
		c.addf(path, "empty list covers no platform; leave the key out for the default (%s)", strings.Join(platform.Default, ", "))
		return nil
	}
	var out []string
	bad := false
	for i, e := range list {
		epath := join(path, []string{tomlpos.Elem(i)})
		s, ok := c.str(epath, e)
		if !ok {
			bad = true
			continue
		}
		if _, err := platform.Parse(s); err != nil {
			c.addf(epath, "%v", err)
			bad = true
			continue
		}
		if slices.Contains(out, s) {
			c.addf(epath, "duplicate platform %q", s)
			bad = true
			continue
		}
		out = append(out, s)
	}
	if bad {
		return nil
	}
	return out
}

// platformGlobs converts a package's platforms: globs of platform names
// ("linux-*") where the package applies.
func (c *checker) platformGlobs(path []string, v any) []string {
	list, ok := v.([]any)
	if !ok {
		c.addf(path, `expected array of platform globs such as ["linux-*", "darwin-arm64"], got %s`, typeName(v))
		return nil
	}
	if len(list) == 0 {
		c.addf(path, "empty list: the package would apply nowhere; leave the key out to install it on every platform")
		return nil
	}
	var out []string
	for i, e := range list {
		epath := join(path, []string{tomlpos.Elem(i)})
		s, ok := c.str(epath, e)
		if !ok {
			continue
		}
		if err := platform.ValidGlob(s); err != nil {
			c.addf(epath, "%v", err)
			continue
		}
		if slices.Contains(out, s) {
			c.addf(epath, "duplicate platform %q", s)
			continue
		}
		out = append(out, s)
	}
	return out
}

// replacements converts a package's replacements table: Go's OS and
// architecture names mapped to the publisher's spellings.
func (c *checker) replacements(path []string, v any) map[string]string {
	t, ok := v.(map[string]any)
	if !ok {
		c.addf(path, `expected table such as { darwin = "macos", amd64 = "x86_64" }, got %s`, typeName(v))
		return nil
	}
	out := map[string]string{}
	for _, k := range sortedKeys(t) {
		kpath := join(path, []string{k})
		s, ok := c.str(kpath, t[k])
		if !ok {
			continue
		}
		if err := platform.CheckReplacement(k, s); err != nil {
			c.addf(kpath, "%v", err)
			continue
		}
		out[k] = s
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// platformCover reports packages whose own platforms leave none of the
// manifest's platform set: they would never be installed or locked.
func (c *checker) platformCover(m *Manifest) {
	set := m.Platforms
	if set == nil {
		set = platform.Default
	}
	for _, p := range m.Packages {
		if len(p.Platforms) > 0 && len(platform.Select(set, p.Platforms)) == 0 {
			c.addf([]string{"packages", p.Name, "platforms"}, "matches none of the platforms packages.toml covers (%s); add the platform to [install] platforms", strings.Join(set, ", "))
		}
	}
}
