package lock

import (
	"strconv"
	"strings"
)

// keyLines maps every table header and top-level key/value of a TOML
// document to its 1-based line, so that errors found after decoding can
// point at the line to fix. The TOML decoder keeps no positions, hence this
// small second reading of the source.
//
// Keys are paths of keySeg and indexSeg segments: the sha256 of the second
// file of the first package is `."package"[0]."file"[1]."sha256"`. Keys
// inside inline tables are not recorded; callers fall back to the nearest
// enclosing key (see parser.line).
//
// It is only ever run on input the decoder accepted, but must not panic on
// anything: on input it does not follow it stops and returns what it has.
func keyLines(src []byte) map[string]int {
	s := &lineScanner{src: src, line: 1, lines: map[string]int{}, arrays: map[string]int{}}
	s.run()
	return s.lines
}

type lineScanner struct {
	src    []byte
	i      int
	line   int
	lines  map[string]int
	arrays map[string]int // array-of-tables path -> number of elements so far
	table  string         // path of the current table
}

func (s *lineScanner) peek(off int) byte {
	if s.i+off < len(s.src) {
		return s.src[s.i+off]
	}
	return 0
}

func (s *lineScanner) record(path string, line int) {
	if _, ok := s.lines[path]; !ok {
		s.lines[path] = line
	}
}

func (s *lineScanner) run() {
	for s.i < len(s.src) {
		switch c := s.src[s.i]; {
		case c == ' ' || c == '\t' || c == '\r':
			s.i++
		case c == '\n':
			s.i++
			s.line++
		case c == '#':
			s.skipComment()
		case c == '[':
			if !s.header() {
				return
			}
		default:
			if !s.keyValue() {
				return
			}
		}
	}
}

func (s *lineScanner) skipComment() {
	for s.i < len(s.src) && s.src[s.i] != '\n' {
		s.i++
	}
}

func (s *lineScanner) skipSpace() {
	for s.i < len(s.src) && (s.src[s.i] == ' ' || s.src[s.i] == '\t') {
		s.i++
	}
}

// header reads [a.b] or [[a.b]] and makes it the current table.
func (s *lineScanner) header() bool {
	line := s.line
	array := s.peek(1) == '['
	s.i++
	if array {
		s.i++
	}
	parts, ok := s.key()
	if !ok || s.peek(0) != ']' || array && s.peek(1) != ']' {
		return false
	}
	s.i++
	if array {
		s.i++
	}
	// Resolve every prefix that is an array of tables to its last element.
	path := ""
	for j, k := range parts {
		path += keySeg(k)
		if n, ok := s.arrays[path]; ok && (j < len(parts)-1 || !array) {
			path += indexSeg(n - 1)
		}
		s.record(path, line)
	}
	if array {
		n := s.arrays[path]
		s.arrays[path] = n + 1
		path += indexSeg(n)
		s.record(path, line)
	}
	s.table = path
	return true
}

// keyValue reads key = value, recording the key (and each dotted prefix).
func (s *lineScanner) keyValue() bool {
	line := s.line
	parts, ok := s.key()
	if !ok || s.peek(0) != '=' {
		return false
	}
	s.i++
	path := s.table
	for _, k := range parts {
		path += keySeg(k)
		s.record(path, line)
	}
	return s.skipValue()
}

// key reads a dotted key of bare and quoted parts, and the space after it.
func (s *lineScanner) key() ([]string, bool) {
	var parts []string
	for {
		s.skipSpace()
		var part string
		switch s.peek(0) {
		case '"':
			start := s.i
			if !s.skipString() {
				return nil, false
			}
			raw := string(s.src[start:s.i])
			// Close enough to TOML's escapes for key names; on failure the
			// raw text still identifies the key well enough for a line.
			if u, err := strconv.Unquote(raw); err == nil {
				part = u
			} else {
				part = strings.Trim(raw, `"`)
			}
		case '\'':
			start := s.i
			if !s.skipString() {
				return nil, false
			}
			part = strings.Trim(string(s.src[start:s.i]), "'")
		default:
			start := s.i
			for s.i < len(s.src) && bareKeyChar(s.src[s.i]) {
				s.i++
			}
			if s.i == start {
				return nil, false
			}
			part = string(s.src[start:s.i])
		}
		parts = append(parts, part)
		s.skipSpace()
		if s.peek(0) != '.' {
			return parts, true
		}
		s.i++
	}
}

func bareKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c >= 0x80
}

// skipValue skips a value, including arrays and inline tables that span
// lines, up to and including the end of its line.
func (s *lineScanner) skipValue() bool {
	depth := 0
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case '"', '\'':
			if !s.skipString() {
				return false
			}
			continue
		case '#':
			s.skipComment()
			continue
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		case '\n':
			s.line++
			if depth <= 0 {
				s.i++
				return true
			}
		}
		s.i++
	}
	return true
}

// skipString skips a basic, literal or multi-line string starting at s.i,
// counting the newlines inside it.
func (s *lineScanner) skipString() bool {
	q := s.src[s.i]
	if s.peek(1) == q && s.peek(2) == q {
		s.i += 3
		for s.i < len(s.src) {
			c := s.src[s.i]
			switch {
			case c == '\\' && q == '"':
				if s.peek(1) == '\n' {
					s.line++
				}
				s.i += 2
				continue
			case c == '\n':
				s.line++
			case c == q && s.peek(1) == q && s.peek(2) == q:
				s.i += 3
				// Up to two more quotes belong to the content: """a""""" is `a""`.
				for n := 0; n < 2 && s.peek(0) == q; n++ {
					s.i++
				}
				return true
			}
			s.i++
		}
		return false
	}
	s.i++
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == '\\' && q == '"':
			s.i += 2
			continue
		case c == '\n':
			return false
		case c == q:
			s.i++
			return true
		}
		s.i++
	}
	return false
}
