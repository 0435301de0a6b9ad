package lock

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestKeyLines(t *testing.T) {
	const src = `# [[package]] in a comment
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
	// Each key is built the way the parser builds it.
	key := func(parts ...any) string {
		var b strings.Builder
		for _, p := range parts {
			switch p := p.(type) {
			case string:
				b.WriteString(keySeg(p))
			case int:
				b.WriteString(indexSeg(p))
			}
		}
		return b.String()
	}
	want := map[string]int{
		key("lock_version"):                    2,
		key("note"):                            3,
		key("lit"):                             7,
		key("arr"):                             9,
		key("quoted key"):                      13,
		key("package"):                         15,
		key("package", 0):                      15,
		key("package", 0, "name"):              16,
		key("package", 0, "file"):              17,
		key("package", 0, "file", 0):           17,
		key("package", 0, "file", 0, "name"):   18,
		key("package", 0, "file", 1):           19,
		key("package", 0, "file", 1, "sha256"): 20,
		key("package", 1):                      22,
		key("package", 1, "inline"):            23,
		key("package", 1, "dotted"):            26,
		key("package", 1, "dotted", "key"):     26,
		key("package", 1, "file"):              27,
		key("package", 1, "file", 0):           27,
		key("package", 1, "file", 0, "size"):   28,
		key("table"):                           29,
		key("table", "with.dot"):               29,
		key("table", "with.dot", "k"):          30,
	}
	var doc map[string]any
	if _, err := toml.Decode(src, &doc); err != nil {
		t.Fatalf("test source is not valid TOML: %v", err)
	}
	got := keyLines([]byte(src))
	for k, line := range want {
		if got[k] != line {
			t.Errorf("line of %s = %d, want %d", k, got[k], line)
		}
	}
	for k, line := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected key %s (line %d)", k, line)
		}
	}
}

// TestKeyLinesRobust feeds truncated and malformed input: keyLines must
// return without panicking.
func TestKeyLinesRobust(t *testing.T) {
	for _, src := range []string{
		"", "[", "[[", "[[a", "[[a]", "[a", "a", "a =", `a = "`, `a = """`, `a = '''x`, `a = "\`,
		`"a`, "'a", "a.", "[a.]", "[[a.\"b\"]]x", "= 1", "a = [\n", "\x00", "a = \"\"\"\\",
	} {
		keyLines([]byte(src))
	}
}
