package tomlsimple

import (
	"os"
	"reflect"
	"testing"

	"github.com/BurntSushi/toml"
)

// accepted are inputs inside Decode's subset.
var accepted = []string{
	"lock_version = 1\n",
	"# c\n\n  \t\nx = \"a \\\"b\\\" \\\\ \\u00E9 \\u0001\"\ny = 0\nz = [\"p\", \"\"]\nw = []\nv = true\nu = false\n",
	"[[package]]\nname = \"a\"\n\n  [[package.file]]\n  name = \"f\"\n  size = 9223372036854775807\n[[package]]\n  [[package.file]]\n",
	"x = 1\r\n# c\r\n[t]\r\ny = \"a\"\r\n",
	"[registry]\nurl = \"http://127.0.0.1:1\"\n\n[packages.tool]\nproject = 1\nversion = \"^1\"\nfiles = [\"a\", \"b\"]\n\n[packages.lib-2]\nproject = \"group/tools\"\n",
	"[a]\nx = 1\n[a.b]\ny = 2\n[a.b.c]\n[a.d]\n",
	"[a.b]\n[a.c]\n",
	"[t]\n",
}

// declined are inputs just outside the subset, or not TOML at all: they
// go to the decoder, which keeps its error messages for the ones that are
// not TOML.
var declined = []string{
	"x = 1\nx = 2\n",                   // repeated key
	"[[a]]\nb = 1\n[[a.b]]\n",          // b is no array of tables
	"a = 1\n[[a]]\n",                   // a is no array of tables
	"[[a.b]]\n",                        // no [[a]] before
	"[t]\n[t]\n",                       // a table defined twice
	"[a.b]\n[a]\n",                     // TOML allows this; the subset does not
	"a = 1\n[a.b]\n", "[[a]]\n[a.b]\n", // a parent that is no table
	"[t]\nx = 1\n[t.x]\n",          // a value, then a table of the same name
	"[a]\n[[a]]\n", "[[a]]\n[a]\n", // a table and an array of tables of one name
	"[]\n", "[a..b]\n", "[ a ]\n", "[a] \n", "[a] # c\n", "[\"a\"]\n", "[a\n", "[a]]\n",
	"x = 01\n", "x = +1\n", "x = 1_0\n", // integers TOML refuses or gpm never writes
	"x = 9223372036854775808\n",          // too large
	"x = \"\\ud800\"\n", "x = \"\\t\"\n", // a surrogate; an escape outside the subset
	"x = \"a\tb\"\n",                       // a raw tab
	"x = \"a\" # c\n", "x = 1 \n", "x=1\n", // comments and spacing outside the subset
	"x = [\"a\",\"b\"]\n", "x = [\"a\", ]\n",
	"x = 1\r", "x = \"a\rb\"\n", "# a\rb\n", "# \x7f\n", "\ufeffx = 1\n",
	"x = { a = 1 }\n", "\"x\" = 1\n", "a.b = 1\n",
	"x = \"\xff\"\n",
}

// FuzzDecode: whatever Decode accepts, toml.Decode accepts and decodes to
// the same tree, so the fast path never changes what a file means or lets
// through what the decoder would refuse.
func FuzzDecode(f *testing.F) {
	for _, p := range []string{"../lock/testdata/golden.lock", "../lock/testdata/platform.toml"} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range append(accepted, declined...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		check(t, data)
	})
}

// check fails when Decode accepts data and toml.Decode does not agree.
func check(t *testing.T, data []byte) {
	t.Helper()
	got, ok := Decode(data)
	if !ok {
		return
	}
	var want map[string]any
	if _, err := toml.Decode(string(data), &want); err != nil {
		t.Fatalf("Decode accepted what toml.Decode refuses (%v):\n%q", err, data)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode disagrees with toml.Decode on\n%q\ngot  %#v\nwant %#v", data, got, want)
	}
}

func TestAccepted(t *testing.T) {
	for _, s := range accepted {
		if _, ok := Decode([]byte(s)); !ok {
			t.Errorf("Decode declined %q", s)
		}
		check(t, []byte(s))
	}
}

func TestDeclined(t *testing.T) {
	for _, s := range declined {
		if _, ok := Decode([]byte(s)); ok {
			t.Errorf("Decode accepted %q", s)
		}
	}
}
