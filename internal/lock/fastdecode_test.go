package lock

import (
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// simpleSeeds are inputs inside and just outside decodeSimple's subset.
var simpleSeeds = []string{
	"lock_version = 1\n",
	"# c\n\n  \t\nx = \"a \\\"b\\\" \\\\ \\u00E9 \\u0001\"\ny = 0\nz = [\"p\", \"\"]\nw = []\nv = true\nu = false\n",
	"[[package]]\nname = \"a\"\n\n  [[package.file]]\n  name = \"f\"\n  size = 9223372036854775807\n[[package]]\n  [[package.file]]\n",
	"x = 1\nx = 2\n",                    // repeated key
	"[[a]]\nb = 1\n[[a.b]]\n",           // b is no array of tables
	"a = 1\n[[a]]\n",                    // a is no array of tables
	"[[a.b]]\n",                         // no [[a]] before
	"x = 01\n", "x = +1\n", "x = 1_0\n", // integers TOML refuses or Encode never writes
	"x = 9223372036854775808\n",          // too large
	"x = \"\\ud800\"\n", "x = \"\\t\"\n", // a surrogate; an escape outside the subset
	"x = \"a\tb\"\n",                       // a raw tab
	"x = \"a\" # c\n", "x = 1 \n", "x=1\n", // comments and spacing outside the subset
	"x = [\"a\",\"b\"]\n", "x = [\"a\", ]\n",
	"x = 1\r\n", "# \r\n", "# \x7f\n", "\ufeffx = 1\n",
	"x = { a = 1 }\n", "[t]\nx = 1\n", "\"x\" = 1\n", "a.b = 1\n",
	"x = \"\xff\"\n",
}

// FuzzDecodeSimple: whatever decodeSimple accepts, toml.Decode accepts and
// decodes to the same tree, so the fast path never changes what a lock
// means or lets through what the decoder would refuse.
func FuzzDecodeSimple(f *testing.F) {
	golden, err := os.ReadFile("testdata/golden.lock")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	r := rand.New(rand.NewPCG(5, 6))
	for range 5 {
		f.Add(randomFile(r).Encode())
	}
	for _, s := range simpleSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSimple(t, data)
	})
}

// checkSimple fails when decodeSimple accepts data and toml.Decode does
// not agree.
func checkSimple(t *testing.T, data []byte) {
	t.Helper()
	got, ok := decodeSimple(data)
	if !ok {
		return
	}
	var want map[string]any
	if _, err := toml.Decode(string(data), &want); err != nil {
		t.Fatalf("decodeSimple accepted what toml.Decode refuses (%v):\n%q", err, data)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeSimple disagrees with toml.Decode on\n%q\ngot  %#v\nwant %#v", data, got, want)
	}
}

func TestDecodeSimpleSeeds(t *testing.T) {
	for _, s := range simpleSeeds {
		checkSimple(t, []byte(s))
	}
}

// TestDecodeSimpleTakesWhatEncodeWrites: the fast path is used for the
// locks gpm writes without inline tables (no bin, no replacements), golden
// and random ones, and gives Parse the same File as the decoder does.
func TestDecodeSimpleTakesWhatEncodeWrites(t *testing.T) {
	golden, err := os.ReadFile("testdata/golden.lock")
	if err != nil {
		t.Fatal(err)
	}
	inputs := [][]byte{golden}
	r := rand.New(rand.NewPCG(7, 8))
	for range 50 {
		f := randomFile(r)
		for i := range f.Packages {
			f.Packages[i].Bin, f.Packages[i].Replacements = nil, nil
		}
		inputs = append(inputs, f.Encode())
	}
	for _, data := range inputs {
		if strings.Contains(string(data), "{") {
			continue
		}
		if _, ok := decodeSimple(data); !ok {
			t.Fatalf("decodeSimple declined a lock Encode wrote:\n%s", data)
		}
		checkSimple(t, data)
		fast, err := Parse("packages.lock", data)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if _, err := toml.Decode(string(data), &doc); err != nil {
			t.Fatal(err)
		}
		slow, err := (&parser{path: "packages.lock", data: data}).file(doc)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("Parse differs from the decoder's path on\n%s", data)
		}
	}
}

// TestDecodeSimpleDeclines: inputs outside the subset go to the decoder,
// which keeps its error messages for the ones that are not TOML.
func TestDecodeSimpleDeclines(t *testing.T) {
	for _, s := range simpleSeeds[3:] {
		if _, ok := decodeSimple([]byte(s)); ok {
			t.Errorf("decodeSimple accepted %q", s)
		}
	}
}
