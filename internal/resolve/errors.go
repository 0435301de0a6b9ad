package resolve

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/version"
)

// ErrNoMatch is matched (errors.Is) by every error that means the registry
// has nothing the manifest entry asks for: no such package, no version
// satisfying the constraint, a files glob that matches no file, or a version
// without files. The command layer maps it to "not found" (exit 6).
var ErrNoMatch = errors.New("nothing matches")

// Error is a failure to resolve one manifest entry. It names the entry by its
// local name and, once a version was chosen, that version, and wraps the
// cause exactly once: registry errors (registry.ErrNotFound,
// registry.ErrUnauthorized, ...) and the errors of this package
// (*NoMatchError, *FilesError) stay reachable through errors.Is and
// errors.As, and so do their hints.
type Error struct {
	Name    string // the local name, the manifest's [packages.NAME] key
	Version string // the chosen version as the registry spells it; "" before one is chosen
	Err     error
}

// Error returns "NAME: cause", or "NAME@VERSION: cause" once a version
// was chosen.
func (e *Error) Error() string {
	if e.Version == "" {
		return e.Name + ": " + e.Err.Error()
	}
	return e.Name + "@" + e.Version + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// wrap attaches the entry's name (and version, if chosen) to err, unless err
// already carries them: an error is wrapped in an *Error once, never twice.
func wrap(name, ver string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Name: name, Version: ver, Err: err}
}

// NoMatchError says that no version of a package satisfies a constraint, or
// that the package has no downloadable version at all. It matches
// ErrNoMatch and carries what the registry does have, so the message and its
// hints can say how to fix the manifest.
type NoMatchError struct {
	Project    string // the publisher project, as in the manifest
	Package    string // the package name in the registry
	Constraint string // the constraint as written

	// Versions is the number of distinct downloadable versions listed.
	Versions int
	// Newest holds up to five semver versions, highest first, as the
	// registry spells them.
	Newest []string
	// NonSemver is the number of versions that are not semver: a range
	// never matches them, only an exact "=VERSION" pin does.
	NonSemver int
	// RecentNonSemver holds up to five of those, most recently created
	// first, as examples for an exact pin.
	RecentNonSemver []string
	// Prerelease is the newest prerelease that the constraint would accept
	// if it asked for prereleases; "" if there is none.
	Prerelease string
	// Unavailable counts versions of exactly this name whose status (such
	// as error or processing) keeps them from being downloaded, by status.
	Unavailable map[string]int
	// Suggestions are names that differ from Package only in case.
	Suggestions []string
	// exact is set for "=VERSION" constraints.
	exact bool
	// entry is the local name, so that hints say which table to edit
	// when several entries fail at once.
	entry string
}

// Error says what is missing and what the registry has instead.
func (e *NoMatchError) Error() string {
	var b strings.Builder
	if e.Versions == 0 {
		if len(e.Unavailable) == 0 {
			fmt.Fprintf(&b, "package %q does not exist in project %q", e.Package, e.Project)
		} else {
			fmt.Fprintf(&b, "package %q in project %q has no downloadable version (%s)", e.Package, e.Project, statusSummary(e.Unavailable))
		}
		if len(e.Suggestions) > 0 {
			fmt.Fprintf(&b, "; names are case-sensitive: did you mean %s?", quoteList(e.Suggestions, " or "))
		}
		return b.String()
	}
	if e.exact {
		pin, _ := strings.CutPrefix(strings.TrimSpace(e.Constraint), "=")
		fmt.Fprintf(&b, "package %q in project %q has no version %q", e.Package, e.Project, strings.TrimSpace(pin))
	} else {
		fmt.Fprintf(&b, "no version of package %q in project %q satisfies %q", e.Package, e.Project, e.Constraint)
	}
	if len(e.Newest) > 0 {
		fmt.Fprintf(&b, "; newest: %s", strings.Join(e.Newest, ", "))
	}
	if e.NonSemver > 0 {
		if e.exact {
			fmt.Fprintf(&b, "; not semver: %s", strings.Join(e.RecentNonSemver, ", "))
			if e.NonSemver > len(e.RecentNonSemver) {
				fmt.Fprintf(&b, " and %d more", e.NonSemver-len(e.RecentNonSemver))
			}
		} else {
			fmt.Fprintf(&b, "; %s not semver, ignored", plural(e.NonSemver, "version is", "versions are"))
		}
	}
	if len(e.Unavailable) > 0 {
		fmt.Fprintf(&b, "; not downloadable: %s", statusSummary(e.Unavailable))
	}
	return b.String()
}

// Is reports whether target is ErrNoMatch.
func (e *NoMatchError) Is(target error) bool { return target == ErrNoMatch }

// Hints says how to change packages.toml so that the entry resolves.
func (e *NoMatchError) Hints() []string {
	var hs []string
	if e.Versions == 0 {
		switch {
		case len(e.Suggestions) > 0:
			hs = append(hs, fmt.Sprintf("set package = %q%s", e.Suggestions[0], where(e.entry)))
		case len(e.Unavailable) > 0:
			hs = append(hs, fmt.Sprintf("a version whose upload failed or is still processing cannot be downloaded; publish a new version of %q", e.Package))
		default:
			hs = append(hs, fmt.Sprintf("check project and package%s; packages published with status %q are not listed, so they cannot be resolved", where(e.entry), "hidden"))
		}
		return hs
	}
	if e.Prerelease != "" {
		hs = append(hs, fmt.Sprintf("only prereleases match: a constraint allows them when it names one, e.g. version = %q%s", "^"+e.Prerelease, where(e.entry)))
	}
	if len(e.Newest) > 0 {
		if nv := version.Parse(e.Newest[0]); nv.Semver != nil && nv.Semver.Prerelease() == "" {
			hs = append(hs, fmt.Sprintf("to use %s, widen the constraint, e.g. version = %q%s", e.Newest[0], "^"+nv.Semver.String(), where(e.entry)))
		}
	}
	if e.NonSemver > 0 && len(e.RecentNonSemver) > 0 && !e.exact {
		hs = append(hs, fmt.Sprintf("a version that is not semver is used only when pinned exactly, e.g. version = %q%s", "="+e.RecentNonSemver[0], where(e.entry)))
	}
	hs = append(hs, fmt.Sprintf("to see every version: 'gpm search %s --project %s'", e.Package, e.Project))
	return hs
}

// FilesError says that some files globs of an entry match no file of the
// chosen version. It matches ErrNoMatch and lists what the version has.
type FilesError struct {
	// Globs are the globs that matched nothing, in manifest order.
	Globs []string
	// Files are the version's file names, sorted, at most maxListed.
	Files []string
	// Total is the number of files the version has.
	Total int
	// suggest maps a glob to a variant that does match, for globs whose
	// "*" would have had to cross a "/".
	suggest map[string]string
	// entry is the local name, for hints.
	entry string
}

// maxListed caps the file names a FilesError lists.
const maxListed = 20

// Error names the globs that matched nothing and the files that exist.
func (e *FilesError) Error() string {
	var b strings.Builder
	if len(e.Globs) == 1 {
		fmt.Fprintf(&b, "files glob %q matches no file", e.Globs[0])
	} else {
		fmt.Fprintf(&b, "files globs %s match no file", quoteList(e.Globs, ", "))
	}
	writeFiles(&b, e.Files, e.Total)
	return b.String()
}

// writeFiles ends a message with the files a version has: all of them, or
// the first few of total.
func writeFiles(b *strings.Builder, files []string, total int) {
	if total > len(files) {
		fmt.Fprintf(b, "; the first %d of its %d files: %s", len(files), total, quoteList(files, ", "))
		return
	}
	fmt.Fprintf(b, "; its %s: %s", plural(total, "file is", "files are"), quoteList(files, ", "))
}

// Is reports whether target is ErrNoMatch.
func (e *FilesError) Is(target error) bool { return target == ErrNoMatch }

// Hints says how to fix the globs.
func (e *FilesError) Hints() []string {
	var hs []string
	for _, g := range e.Globs {
		if s, ok := e.suggest[g]; ok {
			hs = append(hs, fmt.Sprintf("in files globs \"*\" does not match \"/\" of a directory path: write %q instead of %q%s", s, g, where(e.entry)))
		}
	}
	return append(hs, fmt.Sprintf("change files%s to match the names above, or pin a version that has such files", where(e.entry)))
}

// noFilesError is a chosen version without any file.
type noFilesError struct{}

func (noFilesError) Error() string        { return "the version has no files" }
func (noFilesError) Is(target error) bool { return target == ErrNoMatch }
func (noFilesError) Hints() []string {
	return []string{"its files may have been deleted or still be uploading; pin another version"}
}

// suggestGlob returns a variant of glob that matches one of names when glob
// itself only fails because its wildcards do not cross "/": glob prefixed
// with one "*/" per directory level.
func suggestGlob(glob string, names []string) (string, bool) {
	for _, n := range names {
		depth := strings.Count(n, "/")
		if depth == 0 || strings.Count(glob, "/") >= depth {
			continue
		}
		if ok, _ := path.Match(glob, path.Base(n)); !ok {
			continue
		}
		s := strings.Repeat("*/", depth-strings.Count(glob, "/")) + glob
		if ok, _ := path.Match(s, n); ok {
			return s, true
		}
	}
	return "", false
}

// where names the manifest table to edit: " in [packages.NAME]".
func where(entry string) string {
	if entry == "" {
		return " in packages.toml"
	}
	return " in [packages." + entry + "]"
}

func quoteList(ss []string, sep string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, sep)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// statusSummary renders {"error": 2} as `2 with status "error"`.
func statusSummary(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d with status %q", m[k], k)
	}
	return strings.Join(parts, ", ")
}

// PlatformsError says that a platform-specific entry has no files for some
// platforms it is locked for: for none of them, or (with [install]
// platforms written out) for some. It matches ErrNoMatch.
type PlatformsError struct {
	// Missing are the platforms without files, sorted, each with what its
	// expanded globs failed to match.
	Missing []string
	// Have are the platforms that do have files, in the manifest's order.
	Have []string
	// Files are the version's file names, sorted, at most maxListed.
	Files []string
	// Total is the number of files the version has.
	Total int
	why   map[string]error
	entry string
}

func platformsError(p manifest.Package, have []string, missing map[string]error, names []string) *PlatformsError {
	e := &PlatformsError{Have: have, Files: names[:min(len(names), maxListed)], Total: len(names), why: missing, entry: p.Name}
	for t := range missing {
		e.Missing = append(e.Missing, t)
	}
	slices.Sort(e.Missing)
	return e
}

// Error names the platforms without files, what their globs expanded to,
// the platforms that have files and the files that exist.
func (e *PlatformsError) Error() string {
	var b strings.Builder
	if len(e.Have) == 0 {
		b.WriteString("files match no file on any platform")
	} else {
		word := "platform"
		if len(e.Missing) > 1 {
			word = "platforms"
		}
		fmt.Fprintf(&b, "no files for %s %s", word, strings.Join(e.Missing, ", "))
	}
	for _, t := range e.Missing {
		var fe *FilesError
		if errors.As(e.why[t], &fe) {
			fmt.Fprintf(&b, "; %s looks for %s", t, quoteList(fe.Globs, ", "))
		}
	}
	if len(e.Have) > 0 {
		fmt.Fprintf(&b, "; it has files for %s", strings.Join(e.Have, ", "))
	}
	writeFiles(&b, e.Files, e.Total)
	return b.String()
}

// Is reports whether target is ErrNoMatch.
func (e *PlatformsError) Is(target error) bool { return target == ErrNoMatch }

// Hints says how to fix the manifest.
func (e *PlatformsError) Hints() []string {
	if len(e.Have) == 0 {
		return []string{fmt.Sprintf("change files%s (and replacements, for the publisher's spelling of OS and architecture names) to match the names above", where(e.entry))}
	}
	return []string{
		fmt.Sprintf("remove %s from [install] platforms, limit the package with platforms = [...]%s, or leave [install] platforms out: then a platform without files is simply not locked", strings.Join(e.Missing, ", "), where(e.entry)),
	}
}
