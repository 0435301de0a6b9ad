package tomlpos

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// manifestDoc is written like a packages.toml, with every kind of value
// and key and a few traps.
const manifestDoc = `# [commented] = 1
top = 1 # [not.a.table]

[registry]
url = "https://gitlab.example.com" # a # inside a comment
token = { env = "T", type = "job" }

[registries . "my mirror"]
url = 'https://mirror.example/#not-a-comment'
token = {
  env = "M",   # TOML 1.1: newlines and comments in inline tables
  type = "deploy",
}

[packages.cli-tool]
project = 12345
description = """
[packages.fake]
version = "^9"
"""
version = "^1.2"
files = [
  "a-*.tgz",  # first
  'b.zip',
]
extract = true

[packages."tool.v2"]
project = "g/p"
when = 1979-05-27 07:32:00Z
nested.deep.key = "x"

[packages."esc\u0041ped"]
project = 1

[[arrays]]
x = 1

[[arrays]]
y = 2
`

// lockDoc is written like a packages.lock: arrays of tables, nested ones
// among them, with headers and keys in strings and comments.
const lockDoc = `# [[package]] in a comment
lock_version = 1
note = """
[[package]]
name = "not a header"
"""
lit = '''
[[package]]'''
arr = [
  [["package"]],
  { a = 1 },
]
"quoted key" = 'x' # [[package]]

[[package]]
name = "a\"b"  # "
  [[package.file]]
  name = 'x'
  [[ "package" . 'file' ]]
  sha256 = "y"

[[package]]
inline = { a = 1, b = [
  2,
] }
dotted.key = 3
  [[package.file]]
  size = 1
[table."with.dot"]
k = 1
`

type lineTest struct {
	path []string
	want int // 0: not in the document
}

func checkLines(t *testing.T, doc string, tests []lineTest) {
	t.Helper()
	var v map[string]any
	if _, err := toml.Decode(doc, &v); err != nil {
		t.Fatalf("test document is not valid TOML: %v", err)
	}
	ix := Scan([]byte(doc))
	for _, tt := range tests {
		n, ok := ix.Line(tt.path...)
		if tt.want == 0 && ok {
			t.Errorf("Line(%s) = %d, want not found", show(tt.path), n)
		}
		if tt.want != 0 && (n != tt.want || !ok) {
			t.Errorf("Line(%s) = %d, %v; want %d", show(tt.path), n, ok, tt.want)
		}
	}
}

// show writes a path for test messages.
func show(path []string) string {
	var b strings.Builder
	for _, s := range path {
		if i, ok := ElemIndex(s); ok {
			fmt.Fprintf(&b, "[%d]", i)
		} else {
			fmt.Fprintf(&b, ".%q", s)
		}
	}
	return b.String()
}

func TestLineManifest(t *testing.T) {
	checkLines(t, manifestDoc, []lineTest{
		{[]string{"top"}, 2},
		{[]string{"registry"}, 4},
		{[]string{"registry", "url"}, 5},
		{[]string{"registry", "token"}, 6},
		{[]string{"registry", "token", "env"}, 6},
		{[]string{"registry", "token", "type"}, 6},
		{[]string{"registries"}, 8},
		{[]string{"registries", "my mirror"}, 8},
		{[]string{"registries", "my mirror", "url"}, 9},
		{[]string{"registries", "my mirror", "token"}, 10},
		{[]string{"registries", "my mirror", "token", "env"}, 11},
		{[]string{"registries", "my mirror", "token", "type"}, 12},
		{[]string{"packages"}, 15},
		{[]string{"packages", "cli-tool"}, 15},
		{[]string{"packages", "cli-tool", "project"}, 16},
		{[]string{"packages", "cli-tool", "description"}, 17},
		{[]string{"packages", "cli-tool", "version"}, 21},
		{[]string{"packages", "cli-tool", "files"}, 22},
		{[]string{"packages", "cli-tool", "files", Elem(0)}, 23},
		{[]string{"packages", "cli-tool", "files", Elem(1)}, 24},
		{[]string{"packages", "cli-tool", "extract"}, 26},
		{[]string{"packages", "tool.v2"}, 28},
		{[]string{"packages", "tool.v2", "when"}, 30},
		{[]string{"packages", "tool.v2", "nested"}, 31},
		{[]string{"packages", "tool.v2", "nested", "deep", "key"}, 31},
		{[]string{"packages", "escAped"}, 33},
		{[]string{"packages", "escAped", "project"}, 34},
		{[]string{"arrays"}, 36},
		{[]string{"arrays", Elem(0)}, 36},
		{[]string{"arrays", Elem(0), "x"}, 37},
		{[]string{"arrays", Elem(1)}, 39},
		{[]string{"arrays", Elem(1), "y"}, 40},
		// Text inside strings and comments defines nothing.
		{[]string{"commented"}, 0},
		{[]string{"not", "a", "table"}, 0},
		{[]string{"packages", "fake"}, 0},
		{[]string{"packages", "cli-tool", "version", "x"}, 0},
		{[]string{"packages", "cli-tool", "files", Elem(2)}, 0},
		{[]string{"arrays", "y"}, 0},
		{nil, 0},
	})
}

func TestLineLock(t *testing.T) {
	checkLines(t, lockDoc, []lineTest{
		{[]string{"lock_version"}, 2},
		{[]string{"note"}, 3},
		{[]string{"lit"}, 7},
		{[]string{"arr"}, 9},
		{[]string{"arr", Elem(0)}, 10},
		{[]string{"arr", Elem(0), Elem(0)}, 10},
		{[]string{"arr", Elem(0), Elem(0), Elem(0)}, 10},
		{[]string{"arr", Elem(1)}, 11},
		{[]string{"arr", Elem(1), "a"}, 11},
		{[]string{"quoted key"}, 13},
		{[]string{"package"}, 15},
		{[]string{"package", Elem(0)}, 15},
		{[]string{"package", Elem(0), "name"}, 16},
		{[]string{"package", Elem(0), "file"}, 17},
		{[]string{"package", Elem(0), "file", Elem(0)}, 17},
		{[]string{"package", Elem(0), "file", Elem(0), "name"}, 18},
		{[]string{"package", Elem(0), "file", Elem(1)}, 19},
		{[]string{"package", Elem(0), "file", Elem(1), "sha256"}, 20},
		{[]string{"package", Elem(1)}, 22},
		{[]string{"package", Elem(1), "inline"}, 23},
		{[]string{"package", Elem(1), "inline", "a"}, 23},
		{[]string{"package", Elem(1), "inline", "b"}, 23},
		{[]string{"package", Elem(1), "inline", "b", Elem(0)}, 24},
		{[]string{"package", Elem(1), "dotted"}, 26},
		{[]string{"package", Elem(1), "dotted", "key"}, 26},
		{[]string{"package", Elem(1), "file"}, 27},
		{[]string{"package", Elem(1), "file", Elem(0)}, 27},
		{[]string{"package", Elem(1), "file", Elem(0), "size"}, 28},
		{[]string{"table"}, 29},
		{[]string{"table", "with.dot"}, 29},
		{[]string{"table", "with.dot", "k"}, 30},
		// Text inside strings and comments defines nothing, and the
		// elements of an array of tables are counted per parent element.
		{[]string{"package", Elem(2)}, 0},
		{[]string{"package", Elem(1), "file", Elem(1)}, 0},
		{[]string{"package", Elem(0), "file", Elem(2)}, 0},
		{[]string{"package", "name"}, 0},
		{[]string{"package", Elem(0), "name", "not a header"}, 0},
	})
}

func TestNearest(t *testing.T) {
	ix := Scan([]byte(manifestDoc))
	for _, tt := range []lineTest{
		{[]string{"packages", "cli-tool", "project"}, 16},
		{[]string{"packages", "cli-tool", "missing"}, 15},
		{[]string{"packages", "cli-tool", "files", Elem(7)}, 22},
		{[]string{"arrays", Elem(1), "z"}, 39},
		{[]string{"arrays", Elem(5), "z"}, 36},
		{[]string{"nowhere"}, 0},
		{nil, 0},
	} {
		if got := ix.Nearest(tt.path...); got != tt.want {
			t.Errorf("Nearest(%s) = %d, want %d", show(tt.path), got, tt.want)
		}
	}
}

func TestLineExplicitOverImplicit(t *testing.T) {
	checkLines(t, "[packages.a]\nproject = 1\n\n[packages]\n", []lineTest{
		{[]string{"packages"}, 4}, // its own header, not the first mention
		{[]string{"packages", "a"}, 1},
	})
}

func TestLineCRLF(t *testing.T) {
	checkLines(t, "a = 1\r\n\r\n[b]\r\nc = '''x\r\ny'''\r\nd = 2\r\n[[e]]\r\nf = [\r\n1,\r\n]\r\n", []lineTest{
		{[]string{"a"}, 1},
		{[]string{"b"}, 3},
		{[]string{"b", "c"}, 4},
		{[]string{"b", "d"}, 6},
		{[]string{"e", Elem(0)}, 7},
		{[]string{"e", Elem(0), "f", Elem(0)}, 9},
	})
}

func TestLineBOM(t *testing.T) {
	checkLines(t, "\ufeff[packages.a]\nproject = 1\n", []lineTest{
		{[]string{"packages", "a", "project"}, 2},
		{[]string{"packages", "a"}, 1},
		{[]string{"\ufeff"}, 0},
	})
	checkLines(t, "\ufefflock_version = 1\n", []lineTest{{[]string{"lock_version"}, 1}})
}

// TestScanMalformed feeds truncated and malformed input: Scan must return.
func TestScanMalformed(t *testing.T) {
	for _, src := range []string{
		"", "[", "[[", "[[a", "[[a]", "[a", "a", "a =", `a = "`, `a = """`, `a = '''x`, `a = "\`,
		`"a`, "'a", "a.", "[a.]", "[[a.\"b\"]]x", "= 1", "a = [\n", "\x00", "a = \"\"\"\\",
		"a = {", "a = [{", "a = { b = [", "]]", "}", "a = " + strings.Repeat("[", 5000),
	} {
		Scan([]byte(src))
	}
}

func TestElem(t *testing.T) {
	for _, i := range []int{0, 1, 10, 1 << 40} {
		if got, ok := ElemIndex(Elem(i)); !ok || got != i {
			t.Errorf("ElemIndex(Elem(%d)) = %d, %v", i, got, ok)
		}
	}
	for _, seg := range []string{"", "0", "a", "\x000", elemPrefix, elemPrefix + "x", elemPrefix + "-1", elemPrefix + "+1", elemPrefix + "01"} {
		if i, ok := ElemIndex(seg); ok {
			t.Errorf("ElemIndex(%q) = %d, want not an element", seg, i)
		}
	}
}

func TestSplitKey(t *testing.T) {
	for _, tt := range []struct {
		text string
		want []string // nil: not a key
	}{
		{"a", []string{"a"}},
		{"packages.cli-tool", []string{"packages", "cli-tool"}},
		{`packages . "tool.v2"`, []string{"packages", "tool.v2"}},
		{`'a\b'."esc\u0041ped"`, []string{`a\b`, "escAped"}},
		{`""`, []string{""}},
		{"", nil},
		{"a.", nil},
		{"a b", nil},
		{`"a`, nil},
		{`"""a"""`, nil},
		{"a = 1", nil},
	} {
		got, ok := SplitKey(tt.text)
		if ok != (tt.want != nil) || strings.Join(got, "\x00") != strings.Join(tt.want, "\x00") {
			t.Errorf("SplitKey(%q) = %q, %v; want %q", tt.text, got, ok, tt.want)
		}
	}
}

// FuzzScan checks that Scan never panics or hangs on any input, that every
// line it records exists, and that on every document the decoder accepts it
// locates every key and array element the decoder reports.
func FuzzScan(f *testing.F) {
	f.Add(manifestDoc)
	f.Add(lockDoc)
	f.Add("a = [{x = 1}, {y = {z = 2}}]\n[[b]]\n[b.c]\nd = 1")
	f.Add("'a' . \"b\\\"c\" = \"\"\"\\\n\"\"\"\nx = '''''y'''''")
	f.Add("[[a]]\n[[a.b]]\n[[a.b]]\n[[a]]\n[[a.b]]\n[a.b.c]\nd = 1")
	f.Add("[a\n")
	f.Fuzz(func(t *testing.T, doc string) {
		ix := Scan([]byte(doc))
		lines := strings.Count(doc, "\n") + 1
		for _, m := range []map[string]int{ix.explicit, ix.implicit} {
			for k, n := range m {
				if n < 1 || n > lines {
					t.Fatalf("key %q on line %d of %d", k, n, lines)
				}
			}
		}
		var v map[string]any
		if _, err := toml.Decode(doc, &v); err != nil {
			return
		}
		walk(t, ix, nil, v, doc)
	})
}

// walk checks that ix locates every key and element of the decoded value v
// at path, down to maxDepth levels of arrays and inline tables.
func walk(t *testing.T, ix *Index, path []string, v any, doc string) {
	if len(path) > 0 {
		if _, ok := ix.Line(path...); !ok {
			t.Fatalf("%s not located in %s", show(path), strconv.Quote(doc))
		}
	}
	if len(path) > maxDepth {
		return
	}
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			walk(t, ix, append(path[:len(path):len(path)], k), e, doc)
		}
	case []map[string]any:
		for i, e := range v {
			walk(t, ix, append(path[:len(path):len(path)], Elem(i)), e, doc)
		}
	case []any:
		for i, e := range v {
			walk(t, ix, append(path[:len(path):len(path)], Elem(i)), e, doc)
		}
	}
}
