package manifest

import (
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/gpmtool/gpm/internal/tomlsimple"
)

// TestParseFastPath: manifests written the plain way, as gpm init and
// gpm add write them, skip the TOML decoder (tomlsimple, whose fuzz test
// checks it against the decoder), and Parse gives the same Manifest, or
// the same problems, as through the decoder.
func TestParseFastPath(t *testing.T) {
	plain := `[registry]
url = "https://gitlab.example.com"

[install]
dir = "third_party"
platforms = ["linux-amd64", "darwin-arm64"]

[packages.cli-tool]
project = 12345
version = "^1.2"
files = ["cli-tool-*-linux-amd64.tar.gz"]
extract = true

[packages.lib]
project = "group/sub/project"
package = "lib-c"
version = "=2024.06-b3"
`
	inputs := map[string]string{
		"starter":        string(Starter("https://gitlab.example.com")),
		"plain":          plain,
		"plain, CRLF":    strings.ReplaceAll(plain, "\n", "\r\n"),
		"missing key":    "[packages.a]\nversion = \"^1\"\n",
		"bad constraint": "[packages.a]\nproject = 1\nversion = \"^^1\"\n",
	}
	decoded := 0
	decodeTOML = func(s string, v any) (toml.MetaData, error) {
		decoded++
		return toml.Decode(s, v)
	}
	defer func() { decodeTOML = toml.Decode }()
	for name, in := range inputs {
		data := []byte(in)
		raw, ok := tomlsimple.Decode(data)
		if !ok {
			t.Errorf("%s: the fast path declined it", name)
			continue
		}
		var doc map[string]any
		if _, err := toml.Decode(in, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(raw, doc) {
			t.Fatalf("%s: the fast path and the decoder disagree", name)
		}
		decoded = 0
		fast, ferr := Parse("packages.toml", data)
		if decoded != 0 {
			t.Errorf("%s: Parse used the TOML decoder", name)
		}
		slow, serr := fromTree("packages.toml", data, doc)
		if !reflect.DeepEqual(fast, slow) || (ferr == nil) != (serr == nil) || ferr != nil && ferr.Error() != serr.Error() {
			t.Errorf("%s: Parse gives %+v, %v; through the decoder %+v, %v", name, fast, ferr, slow, serr)
		}
		if strings.HasPrefix(name, "plain") || name == "starter" {
			if ferr != nil {
				t.Errorf("%s: %v", name, ferr)
			}
		} else if ferr == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
