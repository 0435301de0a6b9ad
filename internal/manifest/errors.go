package manifest

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is matched (with errors.Is) by every error Parse and Load return
// for a manifest that is not valid: TOML syntax, duplicate keys, unknown keys,
// wrong types and invalid values. I/O errors from Load do not match it.
var ErrInvalid = errors.New("invalid manifest")

// maxProblems caps the problems an Error lists; a file that is wrong in more
// places than this is usually wrong in one systematic way.
const maxProblems = 20

// Problem is one thing wrong in a manifest.
type Problem struct {
	File string // the manifest path, as given to Parse or Load
	Line int    // 1-based; 0 when unknown
	Key  string // dotted key path, e.g. packages.cli-tool.version; "" when none
	Msg  string // lowercase, without the file, line or key
}

// String formats p as "FILE:LINE: KEY: MSG", leaving out the parts p lacks
// (the line is shown only with a file).
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
	}
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error lists the problems found in a manifest, sorted by line. It matches
// ErrInvalid.
type Error struct {
	// Problems are the problems found, sorted by line, at most 20.
	Problems []Problem
	// Omitted counts further problems that were found but not listed.
	Omitted int
}

// Error returns one line per problem.
func (e *Error) Error() string {
	lines := make([]string, 0, len(e.Problems)+1)
	for _, p := range e.Problems {
		lines = append(lines, p.String())
	}
	if e.Omitted > 0 {
		file := ""
		if len(e.Problems) > 0 {
			file = e.Problems[0].File + ": "
		}
		lines = append(lines, fmt.Sprintf("%sand %d more problems not shown", file, e.Omitted))
	}
	return strings.Join(lines, "\n")
}

// Is reports whether target is ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }
