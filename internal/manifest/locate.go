package manifest

import (
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// BurntSushi/toml records where each key was defined but does not export it,
// so the locator re-reads the source to find the line of every key path.
// It runs only on input the TOML parser has accepted, which lets it skip
// validation; it must still never panic or loop on anything else.

// locator maps key paths to the line (1-based) where they are defined.
type locator struct {
	// explicit holds keys written out: `key = ...`, `[table]`, inline-table
	// keys and array elements.
	explicit map[string]int
	// implicit holds the prefixes that a dotted key or header creates, such
	// as "packages" in [packages.cli-tool]: their first mention.
	implicit map[string]int
}

// indexSeg returns the path segment naming element i of an array.
func indexSeg(i int) string { return "\x00" + strconv.Itoa(i) }

// pathKey encodes a key path injectively.
func pathKey(path []string) string {
	var b strings.Builder
	for _, s := range path {
		b.WriteString(encSeg(s))
	}
	return b.String()
}

func encSeg(s string) string { return strconv.Itoa(len(s)) + ":" + s }

// exact returns the line where path itself is defined or first mentioned.
func (l *locator) exact(path ...string) (int, bool) {
	k := pathKey(path)
	if n, ok := l.explicit[k]; ok {
		return n, true
	}
	n, ok := l.implicit[k]
	return n, ok
}

// line returns the line of path, else of its longest located prefix (the
// table it is in), else 0.
func (l *locator) line(path ...string) int {
	for i := len(path); i > 0; i-- {
		if n, ok := l.exact(path[:i]...); ok {
			return n
		}
	}
	return 0
}

// define records that key, under the path whose encoding is base (already
// recorded), is defined at line: the key explicitly, its prefixes
// implicitly. It returns the encoding of the full path. Working from the
// parent's encoding keeps deeply nested values linear.
func (l *locator) define(base string, key []string, line int) string {
	for i, seg := range key {
		base += encSeg(seg)
		m := l.implicit
		if i == len(key)-1 {
			m = l.explicit
		}
		if _, ok := m[base]; !ok {
			m[base] = line
		}
	}
	return base
}

// locate scans TOML source for key definitions.
func locate(src []byte) *locator {
	// Skip a byte order mark as the TOML parser does; it is not a key.
	text := string(src)
	for _, bom := range []string{"\xef\xbb\xbf", "\xff\xfe", "\xfe\xff"} {
		if t, ok := strings.CutPrefix(text, bom); ok {
			text = t
			break
		}
	}
	s := &scanner{
		src:  text,
		line: 1,
		loc:  &locator{explicit: map[string]int{}, implicit: map[string]int{}},
	}
	s.document()
	return s.loc
}

type scanner struct {
	src  string
	pos  int
	line int
	loc  *locator
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
			if s.peek() == '[' {
				s.advance()
			}
			if key, ok := s.key(); ok {
				table = s.loc.define("", key, line)
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
		s.value(s.loc.define(table, key, line), 0)
		if s.pos == start {
			s.advance()
		}
	}
}

// maxDepth bounds nesting of arrays and inline tables; the TOML parser has
// its own limit, this one only keeps the scanner safe on its own.
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
			s.value(s.loc.define(path, key, line), depth+1)
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
			s.value(s.loc.define(path, []string{indexSeg(i)}, s.line), depth+1)
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
// they are; basic strings with escapes are decoded by the TOML parser itself,
// so a key decodes exactly as it did when the document was parsed.
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
