package manifest

import (
	"strconv"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

const locateDoc = `# [commented] = 1
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

func TestLocate(t *testing.T) {
	l := locate([]byte(locateDoc))
	tests := []struct {
		path []string
		want int
	}{
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
		{[]string{"packages", "cli-tool", "files", indexSeg(0)}, 23},
		{[]string{"packages", "cli-tool", "files", indexSeg(1)}, 24},
		{[]string{"packages", "cli-tool", "extract"}, 26},
		{[]string{"packages", "tool.v2"}, 28},
		{[]string{"packages", "tool.v2", "when"}, 30},
		{[]string{"packages", "tool.v2", "nested"}, 31},
		{[]string{"packages", "tool.v2", "nested", "deep", "key"}, 31},
		{[]string{"packages", "escAped"}, 33},
		{[]string{"packages", "escAped", "project"}, 34},
		{[]string{"arrays"}, 36},
		{[]string{"arrays", "y"}, 40},
		// Fallbacks: the nearest located table.
		{[]string{"packages", "cli-tool", "missing"}, 15},
		{[]string{"packages", "cli-tool", "files", indexSeg(7)}, 22},
		{[]string{"nowhere"}, 0},
		{nil, 0},
	}
	for _, tt := range tests {
		if got := l.line(tt.path...); got != tt.want {
			t.Errorf("line(%s) = %d, want %d", formatKey(tt.path), got, tt.want)
		}
	}
	// Text inside strings and comments defines nothing.
	for _, path := range [][]string{
		{"commented"}, {"not", "a", "table"}, {"packages", "fake"}, {"packages", "cli-tool", "version", "x"},
	} {
		if n, ok := l.exact(path...); ok {
			t.Errorf("exact(%s) = line %d, want not found", formatKey(path), n)
		}
	}
}

func TestLocateExplicitOverImplicit(t *testing.T) {
	l := locate([]byte("[packages.a]\nproject = 1\n\n[packages]\n"))
	if got := l.line("packages"); got != 4 {
		t.Errorf(`line("packages") = %d, want 4 (its own header)`, got)
	}
	if got := l.line("packages", "a"); got != 1 {
		t.Errorf(`line("packages", "a") = %d, want 1`, got)
	}
}

func TestLocateCRLF(t *testing.T) {
	l := locate([]byte("a = 1\r\n\r\n[b]\r\nc = '''x\r\ny'''\r\nd = 2\r\n"))
	for path, want := range map[string]int{"a": 1, "b": 3, "b.c": 4, "b.d": 6} {
		if got := l.line(strings.Split(path, ".")...); got != want {
			t.Errorf("line(%s) = %d, want %d", path, got, want)
		}
	}
}

func TestLocateBOM(t *testing.T) {
	l := locate([]byte("\ufeff[packages.a]\nproject = 1\n"))
	if got := l.line("packages", "a", "project"); got != 2 {
		t.Errorf("line(packages.a.project) = %d, want 2", got)
	}
	if got := l.line("packages", "a"); got != 1 {
		t.Errorf("line(packages.a) = %d, want 1", got)
	}
}

// splitPathKey decodes pathKey, dropping array index segments.
func splitPathKey(k string) []string {
	var out []string
	for k != "" {
		i := strings.IndexByte(k, ':')
		n, err := strconv.Atoi(k[:i])
		if err != nil {
			panic(err)
		}
		seg := k[i+1 : i+1+n]
		k = k[i+1+n:]
		if !strings.HasPrefix(seg, "\x00") {
			out = append(out, seg)
		}
	}
	return out
}

// FuzzLocate checks that the locator never panics or hangs on any input,
// and that on every document the TOML parser accepts it finds every key the
// parser reports, on a line that exists.
func FuzzLocate(f *testing.F) {
	f.Add(locateDoc)
	f.Add(fullManifest)
	f.Add(starter)
	f.Add("a = [{x = 1}, {y = {z = 2}}]\n[[b]]\n[b.c]\nd = 1")
	f.Add("'a' . \"b\\\"c\" = \"\"\"\\\n\"\"\"\nx = '''''y'''''")
	f.Add("[a\n")
	f.Fuzz(func(t *testing.T, doc string) {
		l := locate([]byte(doc))
		lines := strings.Count(doc, "\n") + 1
		found := map[string]bool{}
		for _, m := range []map[string]int{l.explicit, l.implicit} {
			for k, n := range m {
				if n < 1 || n > lines {
					t.Fatalf("key %q on line %d of %d", k, n, lines)
				}
				found[strings.Join(splitPathKey(k), "\x00")] = true
			}
		}
		var v map[string]any
		md, err := toml.Decode(doc, &v)
		if err != nil {
			return
		}
		for _, k := range md.Keys() {
			if !found[strings.Join(k, "\x00")] {
				t.Fatalf("key %q not located in %q", k.String(), doc)
			}
		}
	})
}
