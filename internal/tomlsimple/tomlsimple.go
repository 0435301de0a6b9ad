// Package tomlsimple decodes the plain subset of TOML that most of gpm's
// files are written in, much faster than the TOML decoder, and declines
// anything else, which its callers then give to the decoder.
package tomlsimple

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Decode decodes data into the tree toml.Decode would return for the same
// text (into a map[string]any), or reports false, and then the caller
// decodes with toml.Decode: for anything outside the subset, and for
// anything toml.Decode would refuse (a repeated key or table, a malformed
// value), so that its errors stay the only errors.
//
// The TOML decoder reads some 10 MB/s, and it is a large body of code that
// a command runs once, cold: parsing a lock of 50 packages took 2-3 ms, a
// lock of 10,000 files about 100 ms, and a manifest of 50 packages 2 ms of
// a 30 ms gpm verify.
//
// The subset, one construct per line:
//   - blank lines, and lines whose first non-blank character is '#';
//   - [a.b] table headers and [[a.b]] array-of-tables headers of bare
//     keys; a table header names a table that does not exist yet, below
//     tables only;
//   - key = value, with a bare key, and a value that is a basic string
//     (escapes \" \\ and \uXXXX only), a decimal integer, true, false, or a
//     one-line array of such strings.
//
// Lines end with "\n" or "\r\n"; leading blanks are allowed, trailing blanks
// are not (what gpm writes has none) and so not accepted, nor comments
// after a value. FuzzDecode checks that every accepted input decodes to
// what toml.Decode returns.
func Decode(data []byte) (map[string]any, bool) {
	s := string(data)
	if !utf8.ValidString(s) {
		return nil, false
	}
	root := map[string]any{}
	cur := root
	for len(s) > 0 {
		line := s
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			line, s = strings.TrimSuffix(s[:i], "\r"), s[i+1:]
		} else {
			s = ""
		}
		line = strings.TrimLeft(line, " \t")
		switch {
		case line == "" || line[0] == '#':
			if !commentText(line) {
				return nil, false
			}
			continue
		case line[0] == '[':
			if cur = header(root, line); cur == nil {
				return nil, false
			}
			continue
		}
		key, rest, ok := strings.Cut(line, " = ")
		if !ok || !bareKey(key) {
			return nil, false
		}
		if _, dup := cur[key]; dup {
			return nil, false
		}
		v, ok := simpleValue(rest)
		if !ok {
			return nil, false
		}
		cur[key] = v
	}
	return root, true
}

// header returns the table a [name] or [[name]] line opens, or nil when
// the line is not such a header of the subset.
func header(root map[string]any, line string) map[string]any {
	if name, ok := strings.CutPrefix(line, "[["); ok {
		if name, ok = strings.CutSuffix(name, "]]"); !ok {
			return nil
		}
		return appendTable(root, name)
	}
	name, ok := strings.CutSuffix(line[1:], "]")
	if !ok {
		return nil
	}
	return defineTable(root, name)
}

// defineTable defines the table named by the dotted bare keys name, as
// [name] does, and returns it; nil when name is not such keys, when a
// parent is not a table (an array of tables, a value), or when the table
// exists already (defined before, or made by a header below it: TOML allows
// defining it then, but the decoder can tell).
func defineTable(root map[string]any, name string) map[string]any {
	keys := strings.Split(name, ".")
	t := root
	for i, k := range keys {
		if !bareKey(k) {
			return nil
		}
		v, ok := t[k]
		if i == len(keys)-1 {
			if ok {
				return nil
			}
			nt := map[string]any{}
			t[k] = nt
			return nt
		}
		if !ok {
			nt := map[string]any{}
			t[k] = nt
			t = nt
			continue
		}
		sub, isTable := v.(map[string]any)
		if !isTable {
			return nil
		}
		t = sub
	}
	return nil
}

// appendTable appends a table to the array of tables named by the dotted
// bare keys name, as [[name]] does, and returns it; nil when name is not
// such keys or names something that is not an array of tables.
func appendTable(root map[string]any, name string) map[string]any {
	keys := strings.Split(name, ".")
	t := root
	for i, k := range keys {
		if !bareKey(k) {
			return nil
		}
		v, ok := t[k]
		if i == len(keys)-1 {
			var arr []map[string]any
			if ok {
				if arr, ok = v.([]map[string]any); !ok {
					return nil
				}
			}
			nt := map[string]any{}
			t[k] = append(arr, nt)
			return nt
		}
		// A parent must be an array of tables already: its last table.
		arr, isArr := v.([]map[string]any)
		if !ok || !isArr || len(arr) == 0 {
			return nil
		}
		t = arr[len(arr)-1]
	}
	return nil
}

// simpleValue decodes a value of the subset that is the whole of s.
func simpleValue(s string) (any, bool) {
	switch {
	case s == "true":
		return true, true
	case s == "false":
		return false, true
	case strings.HasPrefix(s, `"`):
		str, rest, ok := basicString(s)
		return str, ok && rest == ""
	case strings.HasPrefix(s, "["):
		return stringArray(s)
	}
	return decimal(s)
}

// decimal decodes a TOML decimal integer without sign, underscores or
// leading zeros.
func decimal(s string) (any, bool) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return nil, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return nil, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// stringArray decodes a one-line array of basic strings, as Encode writes
// it: "[]" or `["a", "b"]`.
func stringArray(s string) (any, bool) {
	rest, ok := strings.CutPrefix(s, "[")
	if !ok {
		return nil, false
	}
	out := []any{}
	if rest == "]" {
		return out, true
	}
	for {
		str, r, ok := basicString(rest)
		if !ok {
			return nil, false
		}
		out = append(out, str)
		switch {
		case r == "]":
			return out, true
		case strings.HasPrefix(r, ", "):
			rest = r[2:]
		default:
			return nil, false
		}
	}
}

// basicString decodes the basic string at the start of s and returns the
// rest of s after it.
func basicString(s string) (string, string, bool) {
	if !strings.HasPrefix(s, `"`) {
		return "", "", false
	}
	var b strings.Builder
	plain := true
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			if plain {
				return s[1:i], s[i+1:], true
			}
			return b.String(), s[i+1:], true
		case c < 0x20 || c == 0x7f:
			return "", "", false // TOML wants these escaped
		case c == '\\':
			if plain {
				b.WriteString(s[1:i])
				plain = false
			}
			if i+1 >= len(s) {
				return "", "", false
			}
			switch s[i+1] {
			case '"', '\\':
				b.WriteByte(s[i+1])
				i++
			case 'u':
				if i+6 > len(s) {
					return "", "", false
				}
				r, err := strconv.ParseUint(s[i+2:i+6], 16, 32)
				if err != nil || !utf8.ValidRune(rune(r)) || strings.ContainsAny(s[i+2:i+6], "+-_") {
					return "", "", false
				}
				b.WriteRune(rune(r))
				i += 5
			default:
				return "", "", false
			}
		default:
			if !plain {
				b.WriteByte(c)
			}
		}
	}
	return "", "", false
}

// bareKey reports whether k is a non-empty TOML bare key.
func bareKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// commentText reports whether s may stand in a comment: TOML allows no
// control character there but tab.
func commentText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
