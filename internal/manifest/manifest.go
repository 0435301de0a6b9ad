// Package manifest reads packages.toml, the file in which a consumer declares
// the generic packages it needs.
//
// Parsing is strict: syntax errors, duplicate keys, unknown keys, wrong
// types, invalid names, constraints, projects, URLs, globs and registry
// references are errors that name the file, the line and the key; all
// problems are collected in one *Error, which matches ErrInvalid. Defaults
// are applied in one place (applyDefaults), so every later stage sees a
// complete Manifest; only the registry URL is left to the caller, because its
// default comes from the environment (Registry.ResolvedURL).
//
// docs/manifest.md is the user's reference for the format.
package manifest

import (
	"slices"
	"strings"

	"github.com/gpmtool/gpm/internal/platform"
	"github.com/gpmtool/gpm/internal/version"
)

// FileName is the manifest's conventional file name.
const FileName = "packages.toml"

// DefaultURL is the registry used when neither packages.toml nor
// $CI_SERVER_URL names one (see Registry.ResolvedURL).
const DefaultURL = "https://gitlab.com"

// DefaultDir is the default vendor directory, relative to the manifest.
const DefaultDir = "vendor"

// Token types accepted in `token = { env = "...", type = "..." }`.
const (
	TokenPrivate = "private" // PRIVATE-TOKEN: personal, project and group access tokens
	TokenJob     = "job"     // JOB-TOKEN
	TokenDeploy  = "deploy"  // Deploy-Token
	TokenBearer  = "bearer"  // Authorization: Bearer (OAuth)
)

// Manifest is a parsed and validated packages.toml with defaults applied.
type Manifest struct {
	// Path is the file the manifest was read from, as given to Load.
	Path string
	// Registry is the default registry ([registry]); Name is "".
	Registry Registry
	// Registries are the named further instances ([registries.NAME]),
	// keyed by NAME; never nil.
	Registries map[string]Registry
	// Dir is the vendor directory ([install] dir), relative to the manifest's
	// directory, cleaned and with '/' separators (default DefaultDir).
	Dir string
	// Platforms is the platform set platform-specific packages are locked
	// for ([install] platforms), platform.Default when not given.
	Platforms []string
	// PlatformsSet reports whether [install] platforms was written out:
	// then every listed platform must resolve.
	PlatformsSet bool
	// Packages are the declared packages, sorted by local name.
	Packages []Package
}

// Registry is one GitLab instance.
type Registry struct {
	Name string // "" for the default registry
	// URL is the instance URL as written in packages.toml: an absolute
	// http(s) URL without credentials, query or fragment. It may be the
	// instance root or end in /api/v4; the registry client normalises it.
	// It is "" when [registry] gives none, because the default depends on
	// the environment: use ResolvedURL. Named registries always have one.
	URL string
	// URLSet reports whether URL came from packages.toml.
	URLSet bool
	// Token is the manifest's credential reference, nil when not given.
	Token *TokenRef
}

// ResolvedURL returns the instance URL to use for r: URL when packages.toml
// gives one, else $CI_SERVER_URL (read through getenv, so callers and tests
// control the environment) when set, else DefaultURL.
func (r Registry) ResolvedURL(getenv func(string) string) string {
	if r.URL != "" {
		return r.URL
	}
	if getenv != nil {
		if u := getenv("CI_SERVER_URL"); u != "" {
			return u
		}
	}
	return DefaultURL
}

// TokenRef names the environment variable holding a token and its type. The
// token itself never appears in packages.toml.
type TokenRef struct {
	Env  string // a valid environment variable name
	Type string // one of the Token* constants; default TokenPrivate
}

// Package is one [packages.NAME] entry.
type Package struct {
	// Name is the local name: the table key and the directory under Dir.
	Name string
	// Project is the publisher project: a positive decimal ID ("12345",
	// written as 12345 or "12345") or a full path ("group/sub/project"),
	// never URL-encoded.
	Project string
	// Package is the name in the registry (default: Name).
	Package string
	// Version is the constraint as written (default version.Any, "*").
	Version string
	// Constraint is Version parsed.
	Constraint version.Constraint
	// Files are glob patterns (path.Match syntax) selecting files of the
	// version; empty means every file.
	Files []string
	// Extract unpacks archives into the package directory.
	Extract bool
	// Strip drops this many leading path components of every archive
	// entry (tar's --strip-components); only with Extract. Entries with
	// Strip or fewer components are skipped.
	Strip int
	// Bin maps command names to paths of the installed package (relative
	// to its directory after extraction and stripping; placeholders and
	// globs allowed) that gpm links in DIR/.bin. The array form names each
	// command after its path's base name less {exe}. nil when none.
	Bin map[string]string
	// Platforms are globs of platform names ("linux-*") where the package
	// applies; empty means everywhere. Elsewhere it is skipped.
	Platforms []string
	// Replacements map Go's OS and architecture names to the publisher's
	// spellings in {os} and {arch}; nil when none.
	Replacements map[string]string
	// Targets are the platforms a platform-specific package (Specific) is
	// locked for: Manifest.Platforms within Platforms. nil otherwise.
	Targets []string
	// Registry names one of Manifest.Registries; "" is the default registry.
	Registry string
	// Line is the line of the package's table header, for messages.
	Line int
}

// Specific reports whether the package's files depend on the platform:
// a files glob uses {os}, {arch} or {exe}.
func (p Package) Specific() bool { return platform.AnySpecific(p.Files) }

// AppliesTo reports whether the package is installed on platform plat
// ("OS-ARCH"): it has no platforms key, or one of its globs matches.
func (p Package) AppliesTo(plat string) bool {
	return len(p.Platforms) == 0 || platform.MatchAny(p.Platforms, plat)
}

// Lookup returns the package with the given local name. Packages sorted by
// name, as Parse returns them, are found by binary search (callers look up
// every package in turn); a name it misses is looked for in order, so an
// unsorted Packages still works.
func (m *Manifest) Lookup(name string) (Package, bool) {
	if i, ok := slices.BinarySearchFunc(m.Packages, name, func(p Package, n string) int { return strings.Compare(p.Name, n) }); ok {
		return m.Packages[i], true
	}
	for _, p := range m.Packages {
		if p.Name == name {
			return p, true
		}
	}
	return Package{}, false
}
