package tomlpos

import (
	"strings"

	"github.com/BurntSushi/toml"
)

// Scan indexes the keys of the TOML document src.
func Scan(src []byte) *Index {
	// Skip a byte order mark as the decoder does; it is not a key.
	text := string(src)
	for _, bom := range []string{"\xef\xbb\xbf", "\xff\xfe", "\xfe\xff"} {
		if t, ok := strings.CutPrefix(text, bom); ok {
			text = t
			break
		}
	}
	s := &scanner{
		src:    text,
		line:   1,
		ix:     &Index{explicit: map[string]int{}, implicit: map[string]int{}},
		arrays: map[string]int{},
	}
	s.document()
	return s.ix
}

type scanner struct {
	src  string
	pos  int
	line int
	ix   *Index
	// arrays counts the elements of each array of tables so far, by the
	// encoding of its path.
	arrays map[string]int
}

// first records line for the path encoded as k in m, unless it has one.
func first(m map[string]int, k string, line int) {
	if _, ok := m[k]; !ok {
		m[k] = line
	}
}

// define records that key, under the path whose encoding is base (already
// recorded), is defined at line: the key explicitly, its prefixes
// implicitly. It returns the encoding of the full path. Working from the
// parent's encoding keeps deeply nested values linear.
func (s *scanner) define(base string, key []string, line int) string {
	for i, seg := range key {
		base += encSeg(seg)
		if i == len(key)-1 {
			first(s.ix.explicit, base, line)
		} else {
			first(s.ix.implicit, base, line)
		}
	}
	return base
}

// header records a [table] header, or an [[array.of.tables]] one when
// array, at line. It returns the encoding of the table the header opens. As
// in the decoder, a prefix that is an array of tables stands for its last
// element so far.
func (s *scanner) header(key []string, array bool, line int) string {
	base := ""
	for i, seg := range key {
		base += encSeg(seg)
		last := i == len(key)-1
		if last {
			first(s.ix.explicit, base, line)
		} else {
			first(s.ix.implicit, base, line)
		}
		if n, ok := s.arrays[base]; ok && !(last && array) {
			base += encSeg(Elem(n - 1))
		}
	}
	if array {
		n := s.arrays[base]
		s.arrays[base] = n + 1
		base += encSeg(Elem(n))
		first(s.ix.explicit, base, line)
	}
	return base
}

func (s *scanner) eof() bool { return s.pos >= len(s.src) }

func (s *scanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.pos]
}

func (s *scanner) hasPrefix(p string) bool { return strings.HasPrefix(s.src[s.pos:], p) }

func (s *scanner) advance() {
	if s.eof() {
		return
	}
	if s.src[s.pos] == '\n' {
		s.line++
	}
	s.pos++
}

// skipSpace skips blanks within a line.
func (s *scanner) skipSpace() {
	for c := s.peek(); c == ' ' || c == '\t'; c = s.peek() {
		s.advance()
	}
}

// skipBlank skips blanks, newlines and comments.
func (s *scanner) skipBlank() {
	for !s.eof() {
		switch s.peek() {
		case ' ', '\t', '\r', '\n':
			s.advance()
		case '#':
			s.skipLine()
		default:
			return
		}
	}
}

// skipLine skips to the newline that ends the current line, leaving it.
func (s *scanner) skipLine() {
	for !s.eof() && s.peek() != '\n' {
		s.advance()
	}
}

func (s *scanner) document() {
	table := ""
	for {
		s.skipBlank()
		if s.eof() {
			return
		}
		start := s.pos
		if s.peek() == '[' {
			line := s.line
			s.advance()
			array := s.peek() == '['
			if array {
				s.advance()
			}
			if key, ok := s.key(); ok {
				table = s.header(key, array, line)
			}
			s.skipLine()
			continue
		}
		line := s.line
		key, ok := s.key()
		s.skipSpace()
		if !ok || s.peek() != '=' {
			s.skipLine()
			if s.pos == start {
				s.advance()
			}
			continue
		}
		s.advance()
		s.value(s.define(table, key, line), 0)
		if s.pos == start {
			s.advance()
		}
	}
}

// maxDepth bounds nesting of arrays and inline tables; the decoder has no
// such limit, this one only keeps the scanner safe on its own.
const maxDepth = 1000

// value skips one value, defining the keys and elements inside it; path is
// the encoding of its key path.
func (s *scanner) value(path string, depth int) {
	s.skipSpace()
	if depth > maxDepth {
		s.skipLine()
		return
	}
	switch c := s.peek(); c {
	case '"', '\'':
		s.str()
	case '{':
		s.advance()
		for !s.eof() {
			s.skipBlank()
			switch s.peek() {
			case '}':
				s.advance()
				return
			case ',':
				s.advance()
				continue
			}
			start, line := s.pos, s.line
			key, ok := s.key()
			s.skipSpace()
			if !ok || s.peek() != '=' {
				if s.pos == start {
					s.advance()
				}
				continue
			}
			s.advance()
			s.value(s.define(path, key, line), depth+1)
		}
	case '[':
		s.advance()
		for i := 0; !s.eof(); {
			s.skipBlank()
			switch s.peek() {
			case ']':
				s.advance()
				return
			case ',':
				s.advance()
				continue
			}
			start := s.pos
			s.value(s.define(path, []string{Elem(i)}, s.line), depth+1)
			i++
			if s.pos == start {
				s.advance()
			}
		}
	default:
		// A number, boolean or date-time: it ends where the enclosing
		// construct continues. (A date-time may contain one space.)
		for !s.eof() && !strings.ContainsRune(",]}#\r\n", rune(s.peek())) {
			s.advance()
		}
	}
}

// key reads a dotted key: simple keys separated by '.', blanks allowed around
// the dots. It stops before whatever follows the key.
func (s *scanner) key() ([]string, bool) {
	var path []string
	for {
		s.skipSpace()
		part, ok := s.simpleKey()
		if !ok {
			return nil, false
		}
		path = append(path, part)
		s.skipSpace()
		if s.peek() != '.' {
			return path, true
		}
		s.advance()
	}
}

func (s *scanner) simpleKey() (string, bool) {
	start := s.pos
	switch s.peek() {
	case '"', '\'':
		if s.hasPrefix(`"""`) || s.hasPrefix(`'''`) {
			return "", false // not a key
		}
		s.str()
		return unquote(s.src[start:s.pos])
	}
	for !s.eof() && isBare(s.peek()) {
		s.advance()
	}
	if s.pos == start {
		return "", false
	}
	return s.src[start:s.pos], true
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// str skips a string of any of the four kinds, starting at its quote.
func (s *scanner) str() {
	q := s.peek()
	if s.hasPrefix(strings.Repeat(string(q), 3)) {
		for range 3 {
			s.advance()
		}
		for !s.eof() {
			switch {
			case q == '"' && s.peek() == '\\':
				s.advance()
				s.advance()
			case s.peek() == q && s.hasPrefix(strings.Repeat(string(q), 3)):
				// Up to two quotes may end the content right before the
				// closing three.
				for n := 0; n < 5 && s.peek() == q; n++ {
					s.advance()
				}
				return
			default:
				s.advance()
			}
		}
		return
	}
	s.advance()
	for !s.eof() {
		switch c := s.peek(); {
		case c == '\n':
			return
		case c == q:
			s.advance()
			return
		case q == '"' && c == '\\':
			s.advance()
			if s.peek() != '\n' {
				s.advance()
			}
		default:
			s.advance()
		}
	}
}

// unquote decodes a quoted single-line key. Literal strings are taken as
// they are; basic strings with escapes are decoded by the decoder itself,
// so a key decodes exactly as it did when the document was decoded.
func unquote(q string) (string, bool) {
	if len(q) < 2 || q[len(q)-1] != q[0] {
		return "", false
	}
	body := q[1 : len(q)-1]
	if q[0] == '\'' || !strings.Contains(body, `\`) {
		return body, true
	}
	var v struct {
		K string `toml:"k"`
	}
	if _, err := toml.Decode("k = "+q, &v); err != nil {
		return "", false
	}
	return v.K, true
}
