// Package tomlpos finds the line on which each key of a TOML document is
// defined, so that a problem found after decoding can be reported as
// file:line.
//
// The TOML decoder records where each key was defined but does not export
// it, so Scan reads the source a second time. It is meant for documents the
// decoder has accepted, and on those it locates every key and every array
// element the decoder reports (up to a nesting depth of 1000). On anything
// else it never panics or loops, and what it returns is only a best guess.
//
// A key path names a key from the top of the document: the segments are
// the keys as decoded, and Elem(i) for element i of an array, so the sha256
// of the second file of the first package of
//
//	[[package]]
//	name = "a"
//	  [[package.file]]
//	  ...
//	  [[package.file]]
//	  sha256 = "..."
//
// is the path "package", Elem(0), "file", Elem(1), "sha256".
//
// It imports nothing of gpm: both packages.toml and packages.lock use it.
package tomlpos

import (
	"strconv"
	"strings"
)

// Index maps the key paths of one document to their lines (1-based).
type Index struct {
	// explicit holds what is written out: `key = ...`, table and
	// array-of-tables headers, keys of inline tables and array elements.
	explicit map[string]int
	// implicit holds the tables that dotted keys and headers create without
	// naming them on their own, such as "packages" in [packages.cli-tool]:
	// their first mention.
	implicit map[string]int
}

// Line returns the line where path is defined: where it is written out
// (its own key, header or array element) or, for a table only created by
// longer keys, where it is first mentioned. ok is false when the document
// does not have path.
func (ix *Index) Line(path ...string) (line int, ok bool) {
	k := pathKey(path)
	if n, ok := ix.explicit[k]; ok {
		return n, true
	}
	n, ok := ix.implicit[k]
	return n, ok
}

// Nearest returns the line of path, else of its longest prefix that has
// one (the table or array the missing key would be in), else 0.
func (ix *Index) Nearest(path ...string) int {
	for i := len(path); i > 0; i-- {
		if n, ok := ix.Line(path[:i]...); ok {
			return n
		}
	}
	return 0
}

// elemPrefix starts every array element segment. It is not valid UTF-8, and
// the decoder accepts only valid UTF-8 keys, so an element is never taken
// for a key.
const elemPrefix = "\xff"

// Elem returns the path segment naming element i of an array.
func Elem(i int) string { return elemPrefix + strconv.Itoa(i) }

// ElemIndex returns i when seg is Elem(i).
func ElemIndex(seg string) (int, bool) {
	s, ok := strings.CutPrefix(seg, elemPrefix)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(s)
	return i, err == nil && i >= 0 && Elem(i) == seg
}

// SplitKey splits a dotted key as written in TOML, such as
// packages."tool.v2", into its segments as the decoder reads them.
func SplitKey(text string) ([]string, bool) {
	s := &scanner{src: text}
	key, ok := s.key()
	if !ok || !s.eof() {
		return nil, false
	}
	return key, true
}

// pathKey encodes a key path injectively, as the maps' keys.
func pathKey(path []string) string {
	var b strings.Builder
	for _, s := range path {
		b.WriteString(encSeg(s))
	}
	return b.String()
}

func encSeg(s string) string { return strconv.Itoa(len(s)) + ":" + s }
