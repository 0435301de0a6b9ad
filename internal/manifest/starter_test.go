package manifest

import (
	"regexp"
	"strings"
	"testing"
)

func TestStarterParses(t *testing.T) {
	m, err := Parse(FileName, Starter("https://gitlab.example.com"))
	if err != nil {
		t.Fatalf("starter does not parse:\n%v", err)
	}
	if m.Registry.URL != "https://gitlab.example.com" || !m.Registry.URLSet {
		t.Errorf("starter registry = %+v, want its url written out", m.Registry)
	}
	if len(m.Packages) != 0 || m.Dir != DefaultDir || m.Registry.Token != nil || len(m.Registries) != 0 {
		t.Errorf("starter = %+v, want no packages, registries or token and the default dir", m)
	}
}

// exampleLine matches a commented-out TOML line: "# key = ..." or
// "# [table]", not prose.
var exampleLine = regexp.MustCompile(`^# ((\[[a-z.-]+\])|([a-z_]+ = .*))$`)

// TestStarterExamplesParse uncomments every example line of the starter and
// checks that the result is the manifest the comments describe, so the
// examples cannot drift from what the parser accepts.
func TestStarterExamplesParse(t *testing.T) {
	var b strings.Builder
	n := 0
	for line := range strings.Lines(string(Starter("https://gitlab.example.com"))) {
		line = strings.TrimSuffix(line, "\n")
		if exampleLine.MatchString(line) {
			line = strings.TrimPrefix(line, "# ")
			n++
		}
		b.WriteString(line + "\n")
	}
	if n != 11 {
		t.Errorf("uncommented %d example lines, want 11:\n%s", n, b.String())
	}
	m, err := Parse(FileName, []byte(b.String()))
	if err != nil {
		t.Fatalf("uncommented starter does not parse:\n%v\n%s", err, b.String())
	}
	if m.Registry.URL != "https://gitlab.example.com" || *m.Registry.Token != (TokenRef{Env: "GITLAB_TOKEN", Type: TokenPrivate}) {
		t.Errorf("registry = %+v", m.Registry)
	}
	if r := m.Registries["partner"]; r.URL == "" || r.Token == nil || r.Token.Type != TokenDeploy {
		t.Errorf("registries.partner = %+v", r)
	}
	if len(m.Packages) != 1 {
		t.Fatalf("packages = %+v", m.Packages)
	}
	p := m.Packages[0]
	if p.Name != "cli-tool" || p.Project != "12345" || p.Package != "cli-tool" || p.Version != "^1.2" ||
		len(p.Files) != 1 || p.Extract || p.Registry != "partner" {
		t.Errorf("package = %+v", p)
	}
}

func TestStarterTeaches(t *testing.T) {
	s := string(Starter(DefaultURL))
	for _, want := range []string{
		"[registry]", "$CI_SERVER_URL", DefaultURL, // where the instance comes from
		"Never write a token in this file", `token = { env = "`, // the token rule
		"private", "job", "deploy", "bearer",
		"[install]", `dir = "vendor"`,
		"[packages.cli-tool]", "project =", "package =", "version =", "files =", "extract =", "registry =",
		"^1.2", "~1.2.3", "=2024.06-b3", `"*"`, // constraint syntax
		"packages.lock",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("starter does not mention %q", want)
		}
	}
	if strings.Contains(s, "REGISTRY_URL") || !strings.Contains(s, "\nurl = \""+DefaultURL+"\"\n") {
		t.Error("starter placeholder not replaced")
	}
	for i, line := range strings.Split(s, "\n") {
		if len(line) > 90 {
			t.Errorf("starter line %d is %d bytes long", i+1, len(line))
		}
	}
}
