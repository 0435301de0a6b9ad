package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gpmtool/gpm/internal/version"
)

const fullManifest = `[registry]
url = "https://gitlab.example.com"
token = { env = "MY_TOKEN", type = "job" }

[registries.partner]
url = "https://gitlab.partner.example/api/v4"
token = { env = "PARTNER_TOKEN" }

[install]
dir = "./third_party/bin/"

[packages.zeta]
project = "group/sub/project"
package = "zeta-tool"
version = "=2024.06-b3"
files = ["zeta-*-linux-amd64.tar.gz", "zeta.sha256"]
extract = true
registry = "partner"

[packages.cli-tool]
project = 12345
version = "^1.2"
`

func TestParseFull(t *testing.T) {
	m, err := Parse("packages.toml", []byte(fullManifest))
	if err != nil {
		t.Fatal(err)
	}
	want := &Manifest{
		Path: "packages.toml",
		Registry: Registry{
			URL: "https://gitlab.example.com", URLSet: true,
			Token: &TokenRef{Env: "MY_TOKEN", Type: TokenJob},
		},
		Registries: map[string]Registry{
			"partner": {
				Name: "partner", URL: "https://gitlab.partner.example/api/v4", URLSet: true,
				Token: &TokenRef{Env: "PARTNER_TOKEN", Type: TokenPrivate},
			},
		},
		Dir:       "third_party/bin",
		Platforms: []string{"linux-amd64", "linux-arm64", "darwin-amd64", "darwin-arm64", "windows-amd64"},
		Packages: []Package{
			{Name: "cli-tool", Project: "12345", Package: "cli-tool", Version: "^1.2", Line: 20},
			{
				Name: "zeta", Project: "group/sub/project", Package: "zeta-tool", Version: "=2024.06-b3",
				Files: []string{"zeta-*-linux-amd64.tar.gz", "zeta.sha256"}, Extract: true,
				Registry: "partner", Line: 12,
			},
		},
	}
	if pin, ok := m.Packages[1].Constraint.Exact(); !ok || pin != "2024.06-b3" {
		t.Errorf("zeta constraint Exact() = %q, %v", pin, ok)
	}
	for i := range m.Packages {
		p := &m.Packages[i]
		if got := p.Constraint.String(); got != p.Version {
			t.Errorf("package %s: Constraint.String() = %q, want %q", p.Name, got, p.Version)
		}
		p.Constraint = want.Packages[i].Constraint // compared above
	}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("Parse:\n got %+v\nwant %+v", m, want)
	}
}

func TestParseDefaults(t *testing.T) {
	m, err := Parse("p.toml", []byte("[packages.tool]\nproject = 7\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Dir != DefaultDir || m.Registry.URL != "" || m.Registry.URLSet || m.Registry.Token != nil {
		t.Errorf("defaults: dir %q, registry %+v", m.Dir, m.Registry)
	}
	if m.Registries == nil {
		t.Error("Registries is nil")
	}
	p := m.Packages[0]
	if p.Package != "tool" || p.Version != "*" || p.Constraint.String() != "*" || p.Files != nil || p.Extract || p.Registry != "" {
		t.Errorf("package defaults: %+v", p)
	}
	// The default constraint is a usable one, not a zero value.
	if _, exact := p.Constraint.Exact(); exact {
		t.Error(`default constraint is an exact pin`)
	}

	empty, err := Parse("p.toml", nil)
	if err != nil {
		t.Fatalf("empty file: %v", err)
	}
	if len(empty.Packages) != 0 || empty.Dir != DefaultDir {
		t.Errorf("empty file: %+v", empty)
	}
}

func TestParseAccepts(t *testing.T) {
	// Each document is valid; the check names what it demonstrates.
	tests := []struct {
		name, src string
		check     func(*Manifest) bool
	}{
		{"project as numeric string", "[packages.a]\nproject = \"12345\"",
			func(m *Manifest) bool { return m.Packages[0].Project == "12345" }},
		{"project path with dots and dashes", "[packages.a]\nproject = \"my.group/sub_1/tool-x\"",
			func(m *Manifest) bool { return m.Packages[0].Project == "my.group/sub_1/tool-x" }},
		{"dotted keys", "packages.a.project = 1\npackages.a.version = \"~1.2.3\"",
			func(m *Manifest) bool { return m.Packages[0].Version == "~1.2.3" && m.Packages[0].Line == 1 }},
		{"inline package table", "packages = { a = { project = 1 } }",
			func(m *Manifest) bool { return m.Packages[0].Project == "1" }},
		{"quoted local name", "[packages.\"tool.v2+x\"]\nproject = 1",
			func(m *Manifest) bool {
				return m.Packages[0].Name == "tool.v2+x" && m.Packages[0].Package == "tool.v2+x"
			}},
		{"range constraint", "[packages.a]\nproject = 1\nversion = \">=1.0, <2\"",
			func(m *Manifest) bool { return m.Packages[0].Version == ">=1.0, <2" }},
		{"token as a table", "[registry.token]\nenv = \"T\"\ntype = \"bearer\"",
			func(m *Manifest) bool { return *m.Registry.Token == TokenRef{Env: "T", Type: TokenBearer} }},
		{"http url with port and path", "[registry]\nurl = \"http://127.0.0.1:8080/gitlab/\"",
			func(m *Manifest) bool { return m.Registry.URL == "http://127.0.0.1:8080/gitlab/" }},
		{"glob with a directory and escapes", "[packages.a]\nproject = 1\nfiles = [\"dir/*.bin\", \"a\\\\*b\"]",
			func(m *Manifest) bool { return len(m.Packages[0].Files) == 2 }},
		{"multi-line inline table (TOML 1.1)", "[registry]\ntoken = {\n  env = \"T\", # the variable\n}",
			func(m *Manifest) bool { return m.Registry.Token.Env == "T" }},
		{"strip with extract", "[packages.a]\nproject = 1\nextract = true\nstrip = 1",
			func(m *Manifest) bool { return m.Packages[0].Strip == 1 }},
		{"bin array: named after the base name less {exe}", "[packages.a]\nproject = 1\nbin = [\"*/bin/tool{exe}\", \"run.sh\"]",
			func(m *Manifest) bool {
				return reflect.DeepEqual(m.Packages[0].Bin, map[string]string{"tool": "*/bin/tool{exe}", "run.sh": "run.sh"})
			}},
		{"bin table with placeholders", "[packages.a]\nproject = 1\nbin = { cli = \"cli-{version}-{os}-{arch}/cli{exe}\" }",
			func(m *Manifest) bool {
				return reflect.DeepEqual(m.Packages[0].Bin, map[string]string{"cli": "cli-{version}-{os}-{arch}/cli{exe}"})
			}},
		{"CRLF line endings", "[packages.a]\r\nproject = 1\r\n\r\n[packages.b]\r\nproject = 2\r\n",
			func(m *Manifest) bool { return m.Packages[1].Line == 4 }},
		{"platform template with replacements", "[packages.a]\nproject = 1\nfiles = [\"a-{version}-{os}-{arch}.tgz\", \"a{exe}\", \"notes-{version}.txt\"]\nreplacements = { darwin = \"macos\", amd64 = \"x86_64\" }",
			func(m *Manifest) bool {
				p := m.Packages[0]
				return p.Specific() && p.Replacements["darwin"] == "macos" && len(p.Targets) == 5 && !m.PlatformsSet
			}},
		{"install platforms and package platforms", "[install]\nplatforms = [\"linux-amd64\", \"darwin-arm64\"]\n[packages.a]\nproject = 1\nfiles = [\"a-{os}\"]\nplatforms = [\"linux-*\"]",
			func(m *Manifest) bool {
				p := m.Packages[0]
				return m.PlatformsSet && len(m.Platforms) == 2 && slices.Equal(p.Targets, []string{"linux-amd64"}) &&
					p.AppliesTo("linux-arm64") && !p.AppliesTo("darwin-arm64")
			}},
		{"shared files are not platform-specific", "[packages.a]\nproject = 1\nfiles = [\"a-{version}.txt\", \"b[{]x[}]\"]",
			func(m *Manifest) bool { return !m.Packages[0].Specific() && m.Packages[0].Targets == nil }},
		{"sorted by local name", "[packages.b]\nproject = 1\n[packages.a]\nproject = 2\n[packages.C]\nproject = 3",
			func(m *Manifest) bool {
				return m.Packages[0].Name == "C" && m.Packages[1].Name == "a" && m.Packages[1].Line == 3
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse("p.toml", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(m) {
				t.Errorf("unexpected result: %+v", m)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // the lines of err.Error(), without "p.toml:"
	}{
		// Syntax errors come from the TOML parser.
		{"syntax", "[packages.a]\nproject = 1\nversion = \"^1\n",
			[]string{"3: packages.a.version: strings cannot contain newlines"}},
		{"duplicate key", "[packages.a]\nproject = 1\nversion = \"^1\"\nproject = 2\n",
			[]string{"4: packages.a.project: duplicate key (first defined on line 2)"}},
		{"duplicate table", "[packages.a]\nproject = 1\n\n[packages.a]\nproject = 2\n",
			[]string{"4: packages.a: duplicate key (first defined on line 1)"}},
		{"unterminated table header", "[registry]\nurl = \"https://gitlab.example.com\"\n\n[packages.x\nproject = 1\n",
			[]string{"4: table header [packages.x is not closed; write [packages.x]"}},
		{"latest is not a version alias", "[packages.a]\nproject = 1\nversion = \"latest\"\n",
			[]string{`3: packages.a.version: invalid version constraint "latest": GitLab has no "latest" version alias; write "*" (or leave version out) for the newest stable version`}},
		{"syntax error on a token line hides the text", "[registry]\ntoken = glpat-abcdef\n",
			[]string{`2: registry.token: invalid TOML syntax (details not shown: the line may hold a secret); a token belongs in an environment variable: write token = { env = "NAME" }`}},

		// Unknown keys, at every level.
		{"unknown top-level table", "[packges.a]\nproject = 1\n",
			[]string{`1: packges: unknown key; did you mean "packages"?`}},
		{"unknown top-level key", "name = \"x\"\n",
			[]string{"1: name: unknown key (known keys: registry, registries, install, packages)"}},
		{"alias suggestion", "[dependencies.a]\nproject = 1\n",
			[]string{`1: dependencies: unknown key; did you mean "packages"?`}},
		{"unknown package key", "[packages.a]\nproject = 1\nverison = \"^1\"\n",
			[]string{`3: packages.a.verison: unknown key; did you mean "version"?`}},
		{"unknown package key, case", "[packages.a]\nProject = 1\n",
			[]string{
				`1: packages.a: missing required key "project" (the publisher's numeric project ID or "group/project" path)`,
				`2: packages.a.Project: unknown key; did you mean "project"?`,
			}},
		{"unknown registry key", "[registry]\nhost = \"https://gitlab.example.com\"\n",
			[]string{`2: registry.host: unknown key; did you mean "url"?`}},
		{"unknown install key", "[install]\ndirs = \"v\"\n",
			[]string{`2: install.dirs: unknown key; did you mean "dir"?`}},
		{"unknown token key", "[registry]\ntoken = { env = \"T\", value = \"glpat-x\" }\n",
			[]string{`2: registry.token.value: unknown key (known keys: env, type)`}},

		// Platforms.
		{"unknown placeholder", "[packages.a]\nproject = 1\nfiles = [\"a-{platform}.tgz\"]\n",
			[]string{`3: packages.a.files[0]: glob "a-{platform}.tgz": unknown placeholder {platform} (known: {os} {arch} {exe} {version}); a literal brace is written "[{]"`}},
		{"exe not at the end", "[packages.a]\nproject = 1\nfiles = [\"a{exe}.zip\"]\n",
			[]string{`3: packages.a.files[0]: glob "a{exe}.zip": {exe} must end the glob: it expands to ".exe" on windows and to "" elsewhere, as in "bin/tool{exe}"`}},
		{"malformed install platform", "[install]\nplatforms = [\"linux-amd64\", \"macos-arm64\", \"linux\", \"linux-amd64\"]\n",
			[]string{
				`2: install.platforms[1]: platform "macos-arm64": unknown operating system "macos"; did you mean "darwin"? (Go's names: aix, android, darwin, dragonfly, freebsd, illumos, ios, js, linux, netbsd, openbsd, plan9, solaris, wasip1, windows)`,
				`2: install.platforms[2]: platform "linux" is not OS-ARCH in Go's names, as in "linux-amd64"`,
				`2: install.platforms[3]: duplicate platform "linux-amd64"`,
			}},
		{"install platforms not a list", "[install]\nplatforms = \"linux-amd64\"\n",
			[]string{`2: install.platforms: expected array of platforms such as ["linux-amd64", "darwin-arm64"], got string`}},
		{"empty install platforms", "[install]\nplatforms = []\n",
			[]string{`2: install.platforms: empty list covers no platform; leave the key out for the default (linux-amd64, linux-arm64, darwin-amd64, darwin-arm64, windows-amd64)`}},
		{"malformed package platform glob", "[packages.a]\nproject = 1\nplatforms = [\"mac*\"]\n",
			[]string{`3: packages.a.platforms[0]: platform glob "mac*" matches no OS-ARCH in Go's names, as in "linux-amd64" or "linux-*"`}},
		{"package platforms outside the set", "[install]\nplatforms = [\"linux-amd64\"]\n[packages.a]\nproject = 1\nplatforms = [\"darwin-*\"]\n",
			[]string{`5: packages.a.platforms: matches none of the platforms packages.toml covers (linux-amd64); add the platform to [install] platforms`}},
		{"replacements of the wrong type", "[packages.a]\nproject = 1\nfiles = [\"a-{os}\"]\nreplacements = [\"darwin=macos\"]\n",
			[]string{`4: packages.a.replacements: expected table such as { darwin = "macos", amd64 = "x86_64" }, got array`}},
		{"replacement value of the wrong type", "[packages.a]\nproject = 1\nfiles = [\"a-{os}\"]\nreplacements = { darwin = 1 }\n",
			[]string{`4: packages.a.replacements.darwin: expected string, got integer`}},
		{"replacement of an unknown name", "[packages.a]\nproject = 1\nfiles = [\"a-{os}\"]\nreplacements = { x86_64 = \"x64\" }\n",
			[]string{`4: packages.a.replacements.x86_64: "x86_64" is not one of Go's OS or architecture names; did you mean "amd64"?; a replacement maps Go's name to the publisher's, as in darwin = "macos"`}},
		{"replacements without a template", "[packages.a]\nproject = 1\nfiles = [\"a-linux\"]\nreplacements = { darwin = \"macos\" }\n",
			[]string{`4: packages.a.replacements: replacements apply to {os} and {arch} in files, and files uses neither; write files = ["NAME-{os}-{arch}..."] or leave replacements out`}},

		// Wrong types.
		{"version not a string", "[packages.a]\nproject = 1\nversion = 1.2\n",
			[]string{"3: packages.a.version: expected string, got float"}},
		{"project a float", "[packages.a]\nproject = 1.5\n",
			[]string{"2: packages.a.project: expected integer or string, got float"}},
		{"extract a string", "[packages.a]\nproject = 1\nextract = \"yes\"\n",
			[]string{"3: packages.a.extract: expected boolean, got string"}},
		{"strip without extract", "[packages.a]\nproject = 1\nstrip = 1\n",
			[]string{"3: packages.a.strip: strip applies to archive entries, and the package does not extract its archives; add extract = true or leave strip out"}},
		{"strip negative", "[packages.a]\nproject = 1\nextract = true\nstrip = -1\n",
			[]string{"4: packages.a.strip: strip = -1: must be 0 to 16"}},
		{"strip a string", "[packages.a]\nproject = 1\nextract = true\nstrip = \"1\"\n",
			[]string{"4: packages.a.strip: expected integer (the number of leading path components to drop), got string"}},
		{"bin a string", "[packages.a]\nproject = 1\nbin = \"bin/tool\"\n",
			[]string{`3: packages.a.bin: expected array of paths such as ["bin/tool{exe}"] or table such as { tool = "bin/tool{exe}" }, got string`}},
		{"bin escaping the package", "[packages.a]\nproject = 1\nbin = [\"../b/tool\"]\n",
			[]string{`3: packages.a.bin[0]: glob "../b/tool" must not contain a ".." segment`}},
		{"bin array with a glob base name", "[packages.a]\nproject = 1\nbin = [\"bin/tool-*\"]\n",
			[]string{`3: packages.a.bin[0]: command name "tool-*" (the base name of "bin/tool-*") has "*": use letters, digits, '.', '_', '+' and '-'; name the command with the table form, bin = { NAME = "bin/tool-*" }`}},
		{"bin name twice in a package", "[packages.a]\nproject = 1\nbin = [\"a/tool\", \"b/tool\"]\n",
			[]string{`3: packages.a.bin[1]: command "tool" is given twice (also for "a/tool")`}},
		{"bin name claimed by two packages", "[packages.a]\nproject = 1\nbin = [\"bin/tool\"]\n[packages.b]\nproject = 2\nbin = { tool = \"tool{exe}\" }\n",
			[]string{`6: packages.b.bin: command "tool" is also linked by package "a"; both would be .bin/tool: leave it out of one, or rename it with the table form, bin = { NEWNAME = "tool{exe}" }`}},
		{"bin names of one package that differ in case", "[packages.a]\nproject = 1\nbin = { tool = \"bin/tool\", Tool = \"bin/Tool\" }\n",
			[]string{`3: packages.a.bin: commands "Tool" and "tool" differ only in case, and would be one file on macOS and Windows: rename one`}},
		{"files a string", "[packages.a]\nproject = 1\nfiles = \"*.tgz\"\n",
			[]string{"3: packages.a.files: expected array of strings, got string"}},
		{"files element not a string", "[packages.a]\nproject = 1\nfiles = [\n  \"a\",\n  2,\n]\n",
			[]string{"5: packages.a.files[1]: expected string, got integer"}},
		{"package a date", "[packages.a]\nproject = 1\npackage = 1979-05-27\n",
			[]string{"3: packages.a.package: expected string, got date-time"}},
		{"registry a string", "registry = \"https://gitlab.example.com\"\n",
			[]string{`1: registry: expected table [registry] with url = "...", got string`}},
		{"install a string", "install = \"vendor\"\n",
			[]string{"1: install: expected table [install], got string"}},
		{"dir an integer", "[install]\ndir = 1\n",
			[]string{"2: install.dir: expected string, got integer"}},
		{"url an array", "[registry]\nurl = [\"a\"]\n",
			[]string{"2: registry.url: expected string, got array"}},
		{"package shorthand", "[packages]\ncli = \"^1.2\"\n",
			[]string{`2: packages.cli: expected table, got string; declare the package as [packages.cli] with project = ... and version = "..."`}},
		{"array of package tables", "[[packages]]\nproject = 1\n",
			[]string{"1: packages: expected table, got array of tables; declare each package as [packages.NAME], not [[packages]]"}},
		{"registries entry not a table", "[registries]\nurl = \"https://gitlab.example.com\"\n",
			[]string{`2: registries.url: expected table [registries.NAME] with url = "..." (the default instance is [registry]), got string`}},
		{"token type not a string", "[registry]\ntoken = { env = \"T\", type = 1 }\n",
			[]string{"2: registry.token.type: expected string, got integer"}},

		// Constraints: the message after the key is internal/version's.
		{"invalid constraint", "[packages.cli-tool]\nproject = 1\nversion = \"^1.x.y\"\n",
			[]string{`3: packages.cli-tool.version: ` + constraintErr("^1.x.y")}},
		{"non-semver without =", "[packages.a]\nproject = 1\nversion = \"2024.06-b3\"\n",
			[]string{`3: packages.a.version: ` + constraintErr("2024.06-b3")}},
		{"empty constraint", "[packages.a]\nproject = 1\nversion = \"\"\n",
			[]string{`3: packages.a.version: ` + constraintErr("")}},
		{"bad pin", "[packages.a]\nproject = 1\nversion = \"=1..2\"\n",
			[]string{`3: packages.a.version: ` + constraintErr("=1..2")}},

		// Local names.
		{"name with slash", "[packages.\"a/b\"]\nproject = 1\n",
			[]string{`1: packages."a/b": invalid local name: contains a path separator "/"; the name is one directory under [install] dir`}},
		{"name dot-dot", "[packages.\"..\"]\nproject = 1\n",
			[]string{`1: packages."..": invalid local name: "." and ".." are not directory names`}},
		{"hidden name", "[packages.\".gpm\"]\nproject = 1\n",
			[]string{`1: packages.".gpm": invalid local name: starts with "."; hidden directories are not allowed (gpm keeps its state in .gpm)`}},
		{"empty name", "[packages.\"\"]\nproject = 1\n",
			[]string{`1: packages."": invalid local name: empty name`}},
		{"control character", "[packages.\"a\\u0001\"]\nproject = 1\n",
			[]string{`1: packages."a\x01": invalid local name: contains a control character`}},
		{"space", "[packages.\"my tool\"]\nproject = 1\n",
			[]string{`1: packages."my tool": invalid local name: contains " "; use ASCII letters, digits, '.', '_', '+' and '-'`}},
		{"windows device", "[packages.nul]\nproject = 1\n",
			[]string{`1: packages.nul: invalid local name: is a reserved device name on Windows`}},
		{"too long", "[packages." + strings.Repeat("a", 129) + "]\nproject = 1\n",
			[]string{`1: packages.` + strings.Repeat("a", 129) + `: invalid local name: longer than 128 bytes`}},
		{"case collision", "[packages.Tool]\nproject = 1\n[packages.tool]\nproject = 2\n",
			[]string{`3: packages.tool: local name differs from "Tool" only in case; the two would share one directory on case-insensitive file systems`}},

		// GitLab package names.
		{"package with space", "[packages.a]\nproject = 1\npackage = \"my tool\"\n",
			[]string{`3: packages.a.package: invalid package name "my tool": GitLab allows only ASCII letters, digits, '.', '_', '+' and '-'`}},
		{"package empty", "[packages.a]\nproject = 1\npackage = \"\"\n",
			[]string{`3: packages.a.package: empty package name`}},

		// Projects.
		{"missing project", "[packages.a]\nversion = \"^1\"\n",
			[]string{`1: packages.a: missing required key "project" (the publisher's numeric project ID or "group/project" path)`}},
		{"project zero", "[packages.a]\nproject = 0\n",
			[]string{"2: packages.a.project: invalid project ID 0: must be a positive integer"}},
		{"project negative", "[packages.a]\nproject = -5\n",
			[]string{"2: packages.a.project: invalid project ID -5: must be a positive integer"}},
		{"project leading zero", "[packages.a]\nproject = \"0123\"\n",
			[]string{`2: packages.a.project: invalid project ID "0123": must be a positive integer without leading zeros`}},
		{"project sign", "[packages.a]\nproject = \"+12\"\n",
			[]string{`2: packages.a.project: invalid project ID "+12": must be a positive integer without a sign`}},
		{"project one segment", "[packages.a]\nproject = \"tool\"\n",
			[]string{`2: packages.a.project: invalid project "tool": write the numeric project ID or the full path including its group, as in "group/project"`}},
		{"project url-encoded", "[packages.a]\nproject = \"group%2Ftool\"\n",
			[]string{`2: packages.a.project: invalid project path "group%2Ftool": write it with plain "/", not URL-encoded`}},
		{"project URL", "[packages.a]\nproject = \"https://gitlab.example.com/g/p\"\n",
			[]string{`2: packages.a.project: invalid project "https://gitlab.example.com/g/p": write the project's path ("group/project") or ID, not a URL`}},
		{"project trailing slash", "[packages.a]\nproject = \"g/p/\"\n",
			[]string{`2: packages.a.project: invalid project path "g/p/": no leading or trailing "/"`}},
		{"project empty segment", "[packages.a]\nproject = \"g//p\"\n",
			[]string{`2: packages.a.project: invalid project path "g//p": empty segment ("//")`}},
		{"project .git", "[packages.a]\nproject = \"g/p.git\"\n",
			[]string{`2: packages.a.project: invalid project path "g/p.git": segment "p.git" ends in ".git"`}},
		{"project leading dash", "[packages.a]\nproject = \"g/-p\"\n",
			[]string{`2: packages.a.project: invalid project path "g/-p": segment "-p" starts with "-"`}},
		{"project bad char", "[packages.a]\nproject = \"g/p q\"\n",
			[]string{`2: packages.a.project: invalid project path "g/p q": segment "p q" contains " "; paths use letters, digits, '_', '-' and '.'`}},

		// Registry references and URLs.
		{"unknown registry", "[registries.partner]\nurl = \"https://gitlab.example.com\"\n[packages.a]\nproject = 1\nregistry = \"partnr\"\n",
			[]string{`5: packages.a.registry: unknown registry "partnr"; did you mean "partner"?`}},
		{"undefined registry", "[packages.a]\nproject = 1\nregistry = \"mirror\"\n",
			[]string{`3: packages.a.registry: unknown registry "mirror"; define it as [registries.mirror] with url = "..."`}},
		{"registry without url", "[registries.m]\ntoken = { env = \"T\" }\n",
			[]string{`1: registries.m: missing required key "url"`}},
		{"registry name", "[registries.\"a.b\"]\nurl = \"https://gitlab.example.com\"\n",
			[]string{`1: registries."a.b": invalid registry name: use ASCII letters, digits, '_' and '-'`}},
		{"url with credentials", "[registry]\nurl = \"https://oauth2:glpat-secret@gitlab.example.com\"\n",
			[]string{`2: registry.url: credentials in the url are not allowed (value not shown); put the token in an environment variable and write token = { env = "NAME" }`}},
		{"url not absolute", "[registry]\nurl = \"gitlab.example.com\"\n",
			[]string{`2: registry.url: url must be absolute, starting with "https://" (or "http://")`}},
		{"url scheme", "[registries.x]\nurl = \"ftp://gitlab.example.com\"\n",
			[]string{`2: registries.x.url: url scheme "ftp" is not supported; use "https://" (or "http://")`}},
		{"url without host", "[registry]\nurl = \"https:///api/v4\"\n",
			[]string{`2: registry.url: url has no host; write it as "https://HOST"`}},
		{"url with query", "[registry]\nurl = \"https://gitlab.example.com/?private_token=x\"\n",
			[]string{`2: registry.url: url must not have a query (value not shown); put the token in an environment variable and write token = { env = "NAME" }`}},
		{"url with fragment", "[registry]\nurl = \"https://gitlab.example.com/#x\"\n",
			[]string{`2: registry.url: url must not have a fragment`}},
		{"url empty", "[registry]\nurl = \"\"\n",
			[]string{`2: registry.url: empty url; leave the key out to use $CI_SERVER_URL or the default instance`}},

		// Tokens.
		{"token as a string", "[registry]\ntoken = \"glpat-secret\"\n",
			[]string{`2: registry.token: a token must not be written in packages.toml (value not shown); put the token in an environment variable and write token = { env = "NAME" }`}},
		{"token without env", "[registries.x]\nurl = \"https://gitlab.example.com\"\ntoken = { type = \"deploy\" }\n",
			[]string{`3: registries.x.token: missing required key "env"`}},
		{"token env invalid", "[registry]\ntoken = { env = \"glpat-secret\" }\n",
			[]string{`2: registry.token.env: env must name an environment variable: letters, digits and '_', not starting with a digit (value not shown)`}},
		{"token type unknown", "[registry]\ntoken = { env = \"T\", type = \"privat\" }\n",
			[]string{`2: registry.token.type: unknown token type "privat" (want private, job, deploy, bearer); did you mean "private"?`}},
		{"token an integer", "[registry]\ntoken = 5\n",
			[]string{`2: registry.token: expected table { env = "NAME", type = "private" }, got integer`}},

		// Globs.
		{"bad glob", "[packages.a]\nproject = 1\nfiles = [\"a[\"]\n",
			[]string{`3: packages.a.files[0]: invalid glob "a[": syntax error in pattern`}},
		{"empty glob", "[packages.a]\nproject = 1\nfiles = [\"\"]\n",
			[]string{`3: packages.a.files[0]: empty glob`}},
		{"absolute glob", "[packages.a]\nproject = 1\nfiles = [\"/etc/*\"]\n",
			[]string{`3: packages.a.files[0]: glob "/etc/*" must be relative: file names in a package never start with "/"`}},
		{"dot-dot glob", "[packages.a]\nproject = 1\nfiles = [\"x/../*\"]\n",
			[]string{`3: packages.a.files[0]: glob "x/../*" must not contain a ".." segment`}},
		{"duplicate glob", "[packages.a]\nproject = 1\nfiles = [\n  \"*.tgz\",\n  \"*.zip\",\n  \"*.tgz\",\n]\n",
			[]string{`6: packages.a.files[2]: duplicate glob "*.tgz" (also files[0])`}},
		{"empty files", "[packages.a]\nproject = 1\nfiles = []\n",
			[]string{`3: packages.a.files: empty list selects no file; leave the key out to install every file of the version`}},

		// Install dir.
		{"dir escapes", "[install]\ndir = \"../vendor\"\n",
			[]string{`2: install.dir: dir "../vendor" must not contain "..": packages are installed inside the project`}},
		{"dir absolute", "[install]\ndir = \"/opt/vendor\"\n",
			[]string{`2: install.dir: dir "/opt/vendor" must be relative to the manifest's directory`}},
		{"dir windows absolute", "[install]\ndir = \"C:/vendor\"\n",
			[]string{`2: install.dir: dir "C:/vendor" must be relative to the manifest's directory`}},
		{"dir dot", "[install]\ndir = \"./\"\n",
			[]string{`2: install.dir: dir "./" is the project directory itself; name a subdirectory such as "vendor"`}},
		{"dir empty", "[install]\ndir = \"\"\n",
			[]string{`2: install.dir: empty dir; leave the key out for the default "vendor"`}},
		{"dir backslash", "[install]\ndir = \"a\\\\b\"\n",
			[]string{`2: install.dir: dir "a\\b" must use "/" as the separator`}},

		// Several problems, sorted by line, across tables.
		{"several", "[packages.b]\nproject = 0\n\n[packages.a]\nproject = 1\nversion = \">>1\"\n\n[install]\ndir = \"/v\"\n",
			[]string{
				`2: packages.b.project: invalid project ID 0: must be a positive integer`,
				`6: packages.a.version: ` + constraintErr(">>1"),
				`9: install.dir: dir "/v" must be relative to the manifest's directory`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse("p.toml", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", m)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false for %v", err)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is %T, want *Error", err)
			}
			for _, p := range e.Problems {
				if p.File != "p.toml" {
					t.Errorf("problem %+v: File = %q", p, p.File)
				}
			}
			want := make([]string, len(tt.want))
			for i, w := range tt.want {
				want[i] = "p.toml:" + w
			}
			if got := err.Error(); got != strings.Join(want, "\n") {
				t.Errorf("error:\n got: %s\nwant: %s", got, strings.Join(want, "\n"))
			}
		})
	}
}

// constraintErr returns the message internal/version gives for s, which
// must be an invalid constraint.
func constraintErr(s string) string {
	_, err := version.ParseConstraint(s)
	if err == nil {
		panic(fmt.Sprintf("constraint %q is valid", s))
	}
	return err.Error()
}

// TestSecretsNotEchoed checks that values that may be tokens never appear in
// error messages, whatever goes wrong around them.
func TestSecretsNotEchoed(t *testing.T) {
	const secret = "glpatSECRET0123456789"
	docs := []string{
		"[registry]\ntoken = \"" + secret + "\"\n",
		"[registry]\ntoken = " + secret + "\n",
		"[registry]\ntoken = { env = \"" + secret + "-x\" }\n",
		"[registry]\ntoken = { env = " + secret + " }\n",
		"[registries.x]\nurl = \"https://u:" + secret + "@gitlab.example.com\"\n",
		"[registries.x]\nurl = \"https://gitlab.example.com/?private_token=" + secret + "\"\n",
		"[registries.x]\nurl = \"https://u:" + secret + "@gitlab example.com\"\n",
		"[registries.x]\ntoken = [\"" + secret + "\"]\n",
		"GITLAB_TOKEN = " + secret + "\n",
	}
	for _, doc := range docs {
		_, err := Parse("p.toml", []byte(doc))
		if err == nil {
			t.Errorf("Parse(%q) succeeded", doc)
			continue
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("Parse(%q) error shows the secret: %v", doc, err)
		}
	}
}

func TestProblemCap(t *testing.T) {
	var b strings.Builder
	for i := range maxProblems + 5 {
		fmt.Fprintf(&b, "[packages.p%02d]\nproject = 0\n", i)
	}
	_, err := Parse("p.toml", []byte(b.String()))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error is %T, want *Error", err)
	}
	if len(e.Problems) != maxProblems || e.Omitted != 5 {
		t.Fatalf("got %d problems and %d omitted, want %d and 5", len(e.Problems), e.Omitted, maxProblems)
	}
	for i, p := range e.Problems {
		if p.Line != 2*i+2 {
			t.Errorf("problem %d on line %d, want %d (sorted by line)", i, p.Line, 2*i+2)
		}
	}
	lines := strings.Split(err.Error(), "\n")
	if last := lines[len(lines)-1]; last != "p.toml: and 5 more problems not shown" {
		t.Errorf("last line = %q", last)
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "a.toml", Line: 3, Key: "x.y", Msg: "bad"}, "a.toml:3: x.y: bad"},
		{Problem{File: "a.toml", Msg: "bad"}, "a.toml: bad"},
		{Problem{Line: 3, Msg: "bad"}, "bad"},
		{Problem{File: "a.toml", Line: 1, Msg: "bad"}, "a.toml:1: bad"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	_, err := Load(path)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want fs.ErrNotExist", err)
	}
	if errors.Is(err, ErrInvalid) {
		t.Errorf("Load(missing) matches ErrInvalid")
	}
	if err := os.WriteFile(path, []byte("[packages.a]\nproject = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Path != path || len(m.Packages) != 1 {
		t.Errorf("Load = %+v", m)
	}
	if err := os.WriteFile(path, []byte("[packages.a]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	if !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), path+":1: ") {
		t.Errorf("Load(invalid) = %v", err)
	}
}

func TestResolvedURL(t *testing.T) {
	env := func(m map[string]string) func(string) string {
		return func(k string) string { return m[k] }
	}
	tests := []struct {
		name   string
		r      Registry
		getenv func(string) string
		want   string
	}{
		{"manifest wins", Registry{URL: "https://a.example", URLSet: true},
			env(map[string]string{"CI_SERVER_URL": "https://ci.example"}), "https://a.example"},
		{"CI server", Registry{}, env(map[string]string{"CI_SERVER_URL": "https://ci.example"}), "https://ci.example"},
		{"default", Registry{}, env(nil), DefaultURL},
		{"nil getenv", Registry{}, nil, DefaultURL},
	}
	for _, tt := range tests {
		if got := tt.r.ResolvedURL(tt.getenv); got != tt.want {
			t.Errorf("%s: ResolvedURL = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct {
		key  string
		sc   schema
		want string
	}{
		{"verison", packageSchema, "version"},
		{"Version", packageSchema, "version"},
		{"projetc", packageSchema, "project"},
		{"file", packageSchema, "files"},
		{"extrct", packageSchema, "extract"},
		{"colour", packageSchema, ""},
		{"packge", topSchema, "packages"},
		{"regsitry", topSchema, "registry"},
		{"registrys", topSchema, "registry"},
		{"registrie", topSchema, "registries"},
		{"x", installSchema, ""},
		{"dri", installSchema, "dir"},
		{"directory", installSchema, "dir"},
		{"uri", registrySchema, "url"},
	}
	for _, tt := range tests {
		if got := suggest(tt.key, tt.sc); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

// TestMessageFormat pins the shape users see: file, line, key, message.
func TestMessageFormat(t *testing.T) {
	src := "[packages.cli-tool]\nproject = 12345\nversion = \"^1.x.y\"\n"
	_, err := Parse("packages.toml", []byte(src))
	want := `packages.toml:3: packages.cli-tool.version: invalid version constraint "^1.x.y": `
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %v, want prefix %q", err, want)
	}
}

func TestLookup(t *testing.T) {
	// Parse sorts packages, which are binary-searched; unsorted ones are
	// still found.
	for _, names := range [][]string{{"a", "b", "c", "d"}, {"d", "b", "a", "c"}, {"c", "a"}, {"b"}, nil} {
		m := &Manifest{}
		for _, n := range names {
			m.Packages = append(m.Packages, Package{Name: n, Version: "v-" + n})
		}
		for _, n := range names {
			if p, ok := m.Lookup(n); !ok || p.Version != "v-"+n {
				t.Errorf("%v: Lookup(%s) = %v, %v", names, n, p, ok)
			}
		}
		for _, n := range []string{"", "0", "bb", "e"} {
			if p, ok := m.Lookup(n); ok {
				t.Errorf("%v: Lookup(%q) found %v", names, n, p)
			}
		}
	}
}
