package server

import (
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// The parameter rules of GitLab's generic package routes. GitLab writes the
// version rule as \A(?!.*\.\.)[\w+.-]+\z; Go's regexp has no lookahead, so
// the "no .." part is a separate check. They are compiled on first use
// (lazyRE), not when gpm starts: every gpm command links this package, and
// only gpm serve uses them.
var (
	nameRE    = lazyRE(`\A[A-Za-z0-9._+-]+\z`)
	versionRE = lazyRE(`\A[A-Za-z0-9_+.-]+\z`)
	fileRE    = lazyRE(`\A[A-Za-z0-9._+-](?:[A-Za-z0-9._+~@-]*[A-Za-z0-9._+-])?\z`)
	// traversalRE is GitLab's PathTraversal check.
	traversalRE = lazyRE(`(\A\.{1,2}\z|\A\.\.[/\\]|[/\\]\.\.\z|[/\\]\.\.[/\\]|\n)`)
)

// lazyRE returns a function that compiles expr the first time it is called.
func lazyRE(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// genericParams are the decoded path parameters of a generic package route.
type genericParams struct {
	name, version string
	dir           string // directory path, "" when the file is at the top
	file          string
}

// storedName is the file name GitLab stores: the bare file name, or
// dir/file URL-encoded as a whole when the file has a directory path.
func (g genericParams) storedName() string {
	if g.dir == "" {
		return g.file
	}
	return encodeURIComponent(g.dir + "/" + g.file)
}

// parseGenericPath splits the part of an escaped path after
// "/packages/generic/" into parameters. ok is false when the path does not
// match the route at all (GitLab answers its catch-all 404). The returned
// message is a Grape validation error, empty when every parameter is valid.
func parseGenericPath(escaped string) (g genericParams, msg string, ok bool) {
	segs := strings.Split(escaped, "/")
	if len(segs) < 3 || segs[0] == "" || segs[len(segs)-1] == "" {
		return g, "", false
	}
	dec := make([]string, len(segs))
	for i, s := range segs {
		d, err := url.PathUnescape(s)
		if err != nil {
			// Rack leaves a malformed escape as is; the rules below then
			// reject the '%'.
			d = s
		}
		dec[i] = d
	}
	g.name, g.version, g.file = dec[0], dec[1], dec[len(dec)-1]
	dirs := dec[2 : len(dec)-1]
	g.dir = strings.Join(dirs, "/")

	var errs []string
	switch {
	case !nameRE().MatchString(g.name):
		errs = append(errs, "package_name is invalid")
	case !validFilePath(g.name):
		errs = append(errs, "package_name should be a valid file path")
	}
	if !versionRE().MatchString(g.version) || strings.Contains(g.version, "..") {
		errs = append(errs, "package_version is invalid")
	}
	if len(dirs) > 0 && !validDir(dirs) {
		errs = append(errs, "path should be a valid file path")
	}
	switch {
	case !fileRE().MatchString(g.file):
		errs = append(errs, "file_name is invalid")
	case !validFilePath(g.file):
		errs = append(errs, "file_name should be a valid file path")
	}
	return g, strings.Join(errs, ", "), true
}

func validDir(dirs []string) bool {
	for _, d := range dirs {
		if d == "" {
			return false
		}
	}
	return validFilePath(strings.Join(dirs, "/"))
}

// validFilePath mirrors GitLab's file_path validator: no traversal, not
// absolute, and no traversal hidden behind a second layer of escaping.
func validFilePath(p string) bool {
	if strings.HasPrefix(p, "/") || traversalRE().MatchString(p) {
		return false
	}
	if d, err := url.PathUnescape(p); err == nil && d != p {
		return !strings.HasPrefix(d, "/") && !traversalRE().MatchString(d)
	}
	return true
}

// encodeURIComponent is Ruby's URI.encode_uri_component: everything but
// ASCII letters, digits and "*-._" is percent-encoded, space as %20.
func encodeURIComponent(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '*', c == '-', c == '.', c == '_':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// contentDisposition formats an attachment header the way Rails'
// ActionDispatch::Http::ContentDisposition does.
func contentDisposition(name string) string {
	esc := func(s string, keep func(c byte) bool) string {
		const hex = "0123456789ABCDEF"
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			c := s[i]
			if keep(c) {
				b.WriteByte(c)
				continue
			}
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
		return b.String()
	}
	alnum := func(c byte) bool {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
	}
	traditional := func(c byte) bool {
		return alnum(c) || strings.IndexByte(" !#$+.^_`|~-", c) >= 0
	}
	rfc5987 := func(c byte) bool {
		return alnum(c) || strings.IndexByte("!#$&+.^_`|~-", c) >= 0
	}
	return `attachment; filename="` + esc(name, traditional) + `"; filename*=UTF-8''` + esc(name, rfc5987)
}
