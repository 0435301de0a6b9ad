package lock

import (
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/gpmtool/gpm/internal/tomlsimple"
)

// TestFastPathTakesWhatEncodeWrites: the fast path (tomlsimple, whose
// fuzz test checks it against the decoder) is used for the locks gpm writes
// without inline tables (no bin, no replacements), golden and random ones,
// and gives Parse the same File as the decoder does.
func TestFastPathTakesWhatEncodeWrites(t *testing.T) {
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
		tree, ok := tomlsimple.Decode(data)
		if !ok {
			t.Fatalf("the fast path declined a lock Encode wrote:\n%s", data)
		}
		var doc map[string]any
		if _, err := toml.Decode(string(data), &doc); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(tree, doc) {
			t.Fatalf("the fast path and the decoder disagree on\n%s", data)
		}
		fast, err := Parse("packages.lock", data)
		if err != nil {
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
