package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gpmtool/gpm/internal/registry"

	"github.com/gpmtool/gpm/internal/version"
)

// FuzzManifest checks that Parse never panics, that every failure is an
// *Error matching ErrInvalid, and that everything it accepts is complete and
// valid. The committed corpus is in testdata/fuzz/FuzzManifest.
func FuzzManifest(f *testing.F) {
	for _, seed := range []string{
		fullManifest,
		starter,
		trickyDoc,
		"[packages.a]\nproject = 1\n",
		"packages = { a = { project = \"g/p\", files = [\"*\"] } }",
		"[registry]\ntoken = \"glpat-x\"\n",
		"[packages.a]\nproject = 1\nproject = 2\n",
		"[packges.a]\nverison = \"^1\"\n",
		"[[packages]]\nproject = 1\n",
		"[install]\ndir = \"../x\"\n[packages.\"a/b\"]\nproject = \"0\"\n",
		"\ufeff[packages.a]\nproject = 1\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse("p.toml", data)
		if err != nil {
			checkError(t, err)
			if _, again := Parse("p.toml", data); again == nil || again.Error() != err.Error() {
				t.Fatalf("Parse is not deterministic: %v, then %v", err, again)
			}
			return
		}
		checkManifest(t, m)
	})
}

func checkError(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("error does not match ErrInvalid: %v", err)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error is %T, want *Error", err)
	}
	if len(e.Problems) == 0 || len(e.Problems) > maxProblems {
		t.Fatalf("%d problems listed", len(e.Problems))
	}
	for i, p := range e.Problems {
		if p.File != "p.toml" || p.Msg == "" {
			t.Fatalf("problem %+v", p)
		}
		if i > 0 && p.Line < e.Problems[i-1].Line {
			t.Fatalf("problems not sorted by line: %v", err)
		}
	}
}

func checkManifest(t *testing.T, m *Manifest) {
	t.Helper()
	if err := validDir(m.Dir); err != nil {
		t.Fatalf("accepted dir %q: %v", m.Dir, err)
	}
	if m.Registries == nil {
		t.Fatal("Registries is nil")
	}
	checkRegistry := func(r Registry) {
		if r.URLSet != (r.URL != "") {
			t.Fatalf("registry %q: URL %q, URLSet %v", r.Name, r.URL, r.URLSet)
		}
		if r.URL != "" {
			if err := validURL(r.URL); err != nil {
				t.Fatalf("registry %q: accepted url: %v", r.Name, err)
			}
		}
		if r.Token != nil && (!validEnvName(r.Token.Env) || !slices.Contains(tokenTypes, r.Token.Type)) {
			t.Fatalf("registry %q: accepted token %+v", r.Name, *r.Token)
		}
	}
	checkRegistry(m.Registry)
	for name, r := range m.Registries {
		if r.Name != name || r.URL == "" {
			t.Fatalf("registries[%q] = %+v", name, r)
		}
		checkRegistry(r)
	}
	for i, p := range m.Packages {
		if p.Name == "" || p.Project == "" || p.Package == "" {
			t.Fatalf("incomplete package %+v", p)
		}
		if i > 0 && m.Packages[i-1].Name >= p.Name {
			t.Fatalf("packages not sorted and unique: %q, %q", m.Packages[i-1].Name, p.Name)
		}
		if err := validLocalName(p.Name); err != nil {
			t.Fatalf("accepted local name %q: %v", p.Name, err)
		}
		if err := registry.ValidPackageName(p.Package); err != nil {
			t.Fatalf("accepted package name %q: %v", p.Package, err)
		}
		if err := validProject(p.Project); err != nil {
			t.Fatalf("accepted project %q: %v", p.Project, err)
		}
		c, err := version.ParseConstraint(p.Version)
		if err != nil {
			t.Fatalf("package %q: constraint %q does not re-parse: %v", p.Name, p.Version, err)
		}
		if c.String() != p.Version || p.Constraint.String() != p.Version {
			t.Fatalf("package %q: constraint %q, parsed %q", p.Name, p.Version, p.Constraint.String())
		}
		for _, g := range p.Files {
			if err := validGlob(g); err != nil {
				t.Fatalf("package %q: accepted glob: %v", p.Name, err)
			}
		}
		if p.Registry != "" {
			if _, ok := m.Registries[p.Registry]; !ok {
				t.Fatalf("package %q: unknown registry %q accepted", p.Name, p.Registry)
			}
		}
		if p.Line < 1 {
			t.Fatalf("package %q: line %d", p.Name, p.Line)
		}
	}
}

// TestFuzzCorpus keeps the committed corpus honest: files named valid-*
// parse, files named invalid-* do not.
func TestFuzzCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzManifest", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		_, arg, _ := strings.Cut(string(b), "\n")
		arg = strings.TrimSpace(arg)
		q, ok := strings.CutPrefix(arg, "[]byte(")
		if !ok || !strings.HasSuffix(q, ")") {
			t.Fatalf("%s: not a []byte corpus entry", file)
		}
		data, err := strconv.Unquote(strings.TrimSuffix(q, ")"))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		_, err = Parse("p.toml", []byte(data))
		switch name := filepath.Base(file); {
		case strings.HasPrefix(name, "valid-") && err != nil:
			t.Errorf("%s: %v", name, err)
		case strings.HasPrefix(name, "invalid-") && err == nil:
			t.Errorf("%s: parsed", name)
		}
	}
}

// trickyDoc writes keys and values every way TOML allows, with headers
// and keys in strings and comments; not every key is one the manifest knows.
const trickyDoc = `# [commented] = 1
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
