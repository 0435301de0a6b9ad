// Package renovate holds gpm's Renovate preset (default.json) and the test
// that pins what its custom manager extracts from packages.toml files.
//
// Renovate compiles matchStrings with RE2 when its re2 module loads, else as
// JavaScript regular expressions; the two differ in corners (captures inside
// repetitions, lookarounds, which RE2 lacks). The test therefore applies the
// recursive strategy twice: with Go's regexp, which is RE2, and with node
// (testdata/extract.mjs), and wants the same dependencies from both.
// scripts/renovate-check.sh runs Renovate itself; it is too slow for CI.
package renovate

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

type customManager struct {
	CustomType           string   `json:"customType"`
	ManagerFilePatterns  []string `json:"managerFilePatterns"`
	MatchStringsStrategy string   `json:"matchStringsStrategy"`
	MatchStrings         []string `json:"matchStrings"`
	PackageNameTemplate  string   `json:"packageNameTemplate"`
	DatasourceTemplate   string   `json:"datasourceTemplate"`
	RegistryURLTemplate  string   `json:"registryUrlTemplate"`
	VersioningTemplate   string   `json:"versioningTemplate"`
	DepTypeTemplate      string   `json:"depTypeTemplate"`
}

type preset struct {
	CustomManagers []customManager `json:"customManagers"`
	PackageRules   []struct {
		MatchDepTypes   []string `json:"matchDepTypes"`
		RegistryURLs    []string `json:"registryUrls"`
		RangeStrategy   string   `json:"rangeStrategy"`
		Enabled         *bool    `json:"enabled"`
		PostUpgradeTask *struct {
			Commands           []string `json:"commands"`
			WorkingDirTemplate string   `json:"workingDirTemplate"`
			FileFilters        []string `json:"fileFilters"`
		} `json:"postUpgradeTasks"`
	} `json:"packageRules"`
}

func loadPreset(t *testing.T) customManager {
	t.Helper()
	data, err := os.ReadFile("default.json")
	if err != nil {
		t.Fatal(err)
	}
	var p preset
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatalf("default.json: %v", err)
	}
	if len(p.CustomManagers) != 1 {
		t.Fatalf("default.json has %d custom managers, want 1", len(p.CustomManagers))
	}
	return p.CustomManagers[0]
}

// match is one dependency before templates: the merged named groups of
// every level and the last level's match, which Renovate rewrites.
type match struct {
	Groups        map[string]string `json:"groups"`
	ReplaceString string            `json:"replaceString"`
}

// extractRE2 applies the recursive strategy with Go's regexp (RE2).
func extractRE2(t *testing.T, m customManager, content string) []match {
	t.Helper()
	var res []*regexp.Regexp
	for _, s := range m.MatchStrings {
		re, err := regexp.Compile(s)
		if err != nil {
			t.Fatalf("matchString %q is not valid RE2: %v", s, err)
		}
		res = append(res, re)
	}
	var recurse func(content string, level int, groups map[string]string) []match
	recurse = func(content string, level int, groups map[string]string) []match {
		if level == len(res) {
			return []match{{Groups: groups, ReplaceString: content}}
		}
		var out []match
		re := res[level]
		for _, loc := range re.FindAllStringSubmatchIndex(content, -1) {
			merged := map[string]string{}
			for k, v := range groups {
				merged[k] = v
			}
			for i, name := range re.SubexpNames() {
				if name == "" {
					continue
				}
				if loc[2*i] >= 0 {
					merged[name] = content[loc[2*i]:loc[2*i+1]]
				} else {
					delete(merged, name) // JavaScript: an unmatched group is undefined
				}
			}
			out = append(out, recurse(content[loc[0]:loc[1]], level+1, merged)...)
		}
		return out
	}
	return recurse(content, 0, map[string]string{})
}

// dep is what Renovate makes of a match: the templates applied.
type dep struct {
	DepName, PackageName, CurrentValue, RegistryURL, DepType, ReplaceString string
}

func toDep(t *testing.T, m customManager, mt match) dep {
	t.Helper()
	return dep{
		DepName:       mt.Groups["depName"],
		PackageName:   render(t, m.PackageNameTemplate, mt.Groups),
		CurrentValue:  mt.Groups["currentValue"],
		RegistryURL:   mt.Groups["registryUrl"], // no template: an empty one is a repository problem to Renovate
		DepType:       render(t, m.DepTypeTemplate, mt.Groups),
		ReplaceString: mt.ReplaceString,
	}
}

// render evaluates the subset of Handlebars the preset uses: {{{name}}},
// {{#if name}}...{{else}}...{{/if}} and {{#unless name}}...{{/unless}}.
func render(t *testing.T, tmpl string, vars map[string]string) string {
	t.Helper()
	out, rest := renderUntil(t, tmpl, vars, "")
	if rest != "" {
		t.Fatalf("template %q: unbalanced block", tmpl)
	}
	return out
}

// renderUntil renders s up to the block end tag stop ("" for the end of
// input) and returns the output and what follows the tag.
func renderUntil(t *testing.T, s string, vars map[string]string, stop string) (string, string) {
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			if stop != "" {
				t.Fatalf("missing %s", stop)
			}
			return b.String() + s, ""
		}
		b.WriteString(s[:i])
		s = s[i:]
		switch {
		case strings.HasPrefix(s, "{{{"):
			j := strings.Index(s, "}}}")
			b.WriteString(vars[strings.TrimSpace(s[3:j])])
			s = s[j+3:]
		case stop != "" && strings.HasPrefix(s, stop):
			return b.String(), s[len(stop):]
		case strings.HasPrefix(s, "{{#if "), strings.HasPrefix(s, "{{#unless "):
			j := strings.Index(s, "}}")
			kw, name, _ := strings.Cut(s[3:j], " ")
			s = s[j+2:]
			end := "{{/" + kw + "}}"
			var yes, no string
			yes, s = renderUntilElse(t, s, vars, end, &no)
			cond := vars[strings.TrimSpace(name)] != ""
			if kw == "unless" {
				cond = !cond
			}
			if cond {
				b.WriteString(yes)
			} else {
				b.WriteString(no)
			}
		default:
			t.Fatalf("template construct not supported by this test: %.20q", s)
		}
	}
}

// renderUntilElse renders a block body up to end, splitting it at a
// top-level {{else}} into the returned part and *no.
func renderUntilElse(t *testing.T, s string, vars map[string]string, end string, no *string) (string, string) {
	// Find the matching {{else}} or end at depth 0.
	depth := 0
	for i := 0; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "{{#"):
			depth++
		case strings.HasPrefix(s[i:], "{{/"):
			if depth == 0 {
				if !strings.HasPrefix(s[i:], end) {
					t.Fatalf("mismatched block end at %.20q", s[i:])
				}
				yes, _ := renderUntil(t, s[:i]+"{{/stop}}", vars, "{{/stop}}")
				return yes, s[i+len(end):]
			}
			depth--
		case depth == 0 && strings.HasPrefix(s[i:], "{{else}}"):
			yes, _ := renderUntil(t, s[:i]+"{{/stop}}", vars, "{{/stop}}")
			rest := s[i+len("{{else}}"):]
			var tail string
			*no, tail = renderUntilElse(t, rest, vars, end, new(string))
			return yes, tail
		}
	}
	t.Fatalf("missing %s", end)
	return "", ""
}

func TestRender(t *testing.T) {
	vars := map[string]string{"a": "A", "b": ""}
	for tmpl, want := range map[string]string{
		"x{{{a}}}y":                                           "xAy",
		"{{#if a}}1{{else}}2{{/if}}":                          "1",
		"{{#if b}}1{{else}}2{{/if}}":                          "2",
		"{{#unless b}}{{{a}}}{{/unless}}":                     "A",
		"{{#if b}}1{{else}}{{#if a}}3{{else}}4{{/if}}{{/if}}": "3",
	} {
		if got := render(t, tmpl, vars); got != want {
			t.Errorf("render(%q) = %q, want %q", tmpl, got, want)
		}
	}
}

func TestPresetExtractsPackagesToml(t *testing.T) {
	m := loadPreset(t)
	if m.RegistryURLTemplate != "" {
		t.Errorf("registryUrlTemplate %q: Renovate reports an empty one as a repository problem; the registryUrl group is used as it is", m.RegistryURLTemplate)
	}
	if m.CustomType != "regex" || m.MatchStringsStrategy != "recursive" || m.DatasourceTemplate != "gitlab-packages" || m.VersioningTemplate != "npm" {
		t.Fatalf("custom manager = %+v", m)
	}
	tests := map[string][]dep{
		"basic.toml": {
			{DepName: "cli-tool", PackageName: "12345:cli-tool", CurrentValue: "^1.2", RegistryURL: "https://gitlab.example.com", DepType: "registry", ReplaceString: "\nversion = \"^1.2\""},
			// [registry]'s URL is extracted here too; the preset's rule for
			// registries.* replaces it (TestPresetRules).
			{DepName: "schemas", PackageName: "platform/api/schemas:api-schemas", CurrentValue: "=2024.06-b3", RegistryURL: "https://gitlab.example.com", DepType: "registries.partner", ReplaceString: "\nversion = \"=2024.06-b3\""},
			{DepName: "tool.v2", PackageName: "acme/tools:tool", CurrentValue: "~2.1.0", RegistryURL: "https://gitlab.example.com", DepType: "registry", ReplaceString: "\nversion = '~2.1.0'"},
			{DepName: "range", PackageName: "7:range", CurrentValue: ">=1.0, <2", RegistryURL: "https://gitlab.example.com", DepType: "registry", ReplaceString: "\nversion = \">=1.0, <2\""},
		},
		"crlf.toml": {
			{DepName: "a", PackageName: "1:a", CurrentValue: "1.2.3", DepType: "default-registry", ReplaceString: "\nversion = \"1.2.3\""},
			{DepName: "b", PackageName: "g/p:b", CurrentValue: "^0.3", DepType: "default-registry", ReplaceString: "\nversion = \"^0.3\""},
		},
		"ci-server.toml": {
			{DepName: "a", PackageName: "1:a", CurrentValue: "^1", DepType: "default-registry", ReplaceString: "\nversion = \"^1\""},
		},
		"subpath.toml": {
			{DepName: "a", PackageName: "1:a", CurrentValue: "^1", RegistryURL: "http://127.0.0.1:8080/gitlab", DepType: "registry", ReplaceString: "\nversion = \"^1\""},
		},
	}
	var files []string
	for name := range tests {
		files = append(files, filepath.Join("testdata", name))
	}
	js := extractJS(t, files)
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			re2 := extractRE2(t, m, string(data))
			var got []dep
			for _, mt := range re2 {
				got = append(got, toDep(t, m, mt))
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("RE2 extraction:\ngot  %+v\nwant %+v", got, want)
			}
			if js == nil {
				return
			}
			if jm := js[filepath.Join("testdata", name)]; !reflect.DeepEqual(jm, re2) {
				t.Errorf("JavaScript and RE2 disagree:\nJS  %+v\nRE2 %+v", jm, re2)
			}
		})
	}
}

// extractJS runs testdata/extract.mjs; nil when node is not installed.
func extractJS(t *testing.T, files []string) map[string][]match {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Log("node not found: checking the regexes with RE2 only")
		return nil
	}
	out, err := exec.Command(node, append([]string{"testdata/extract.mjs", "default.json"}, files...)...).Output()
	if err != nil {
		t.Fatalf("node extract.mjs: %v", err)
	}
	var res map[string][]match
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("node extract.mjs: %v: %s", err, out)
	}
	for _, ms := range res {
		for i := range ms {
			if ms[i].Groups == nil {
				ms[i].Groups = map[string]string{}
			}
		}
	}
	return res
}

func TestPresetRules(t *testing.T) {
	data, err := os.ReadFile("default.json")
	if err != nil {
		t.Fatal(err)
	}
	var p preset
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	var tasks, disabled int
	for _, r := range p.PackageRules {
		if r.PostUpgradeTask != nil {
			tasks++
			if r.RangeStrategy != "replace" {
				t.Errorf("rangeStrategy %q, want replace: what Renovate 44 does for custom managers whatever it is told", r.RangeStrategy)
			}
			want := []string{"gpm update {{{depName}}} --to {{{newVersion}}} --no-progress"}
			if !reflect.DeepEqual(r.PostUpgradeTask.Commands, want) {
				t.Errorf("post-upgrade commands %q, want %q (docs/renovate.md documents allowedCommands for it)", r.PostUpgradeTask.Commands, want)
			}
			if !reflect.DeepEqual(r.PostUpgradeTask.FileFilters, []string{"**/packages.toml", "**/packages.lock"}) {
				t.Errorf("fileFilters %q", r.PostUpgradeTask.FileFilters)
			}
		}
		if r.Enabled != nil && !*r.Enabled && reflect.DeepEqual(r.MatchDepTypes, []string{"/^registries\\./"}) {
			disabled++
			// Enabled without registryUrls of its own, such an entry
			// must fail, not ask [registry]'s instance.
			if !reflect.DeepEqual(r.RegistryURLs, []string{"https://registries.invalid"}) {
				t.Errorf("registryUrls of the [registries.*] rule: %q", r.RegistryURLs)
			}
		}
	}
	if tasks != 1 || disabled != 1 {
		t.Errorf("%d rules with post-upgrade tasks and %d disabling [registries.*] entries, want 1 and 1", tasks, disabled)
	}
	// The documented allowedCommands pattern accepts what the task runs
	// for any local name and version gpm accepts, and nothing chained.
	allowed := regexp.MustCompile(AllowedCommand)
	for cmd, ok := range map[string]bool{
		"gpm update cli-tool --to 1.5.0 --no-progress":             true,
		"gpm update tool.v2 --to 2024.06-b3+build.1 --no-progress": true,
		"gpm update a --to 1.0.0 --no-progress; rm -rf /":          false,
		"gpm update a --to $(id) --no-progress":                    false,
	} {
		if allowed.MatchString(cmd) != ok {
			t.Errorf("allowedCommands pattern on %q: %v, want %v", cmd, !ok, ok)
		}
	}
	doc, err := os.ReadFile("../docs/renovate.md")
	if err != nil {
		t.Fatal(err)
	}
	if quoted, _ := json.Marshal(AllowedCommand); !strings.Contains(string(doc), string(quoted)) {
		t.Errorf("docs/renovate.md does not show the allowedCommands pattern %s", quoted)
	}
}

// AllowedCommand is the allowedCommands pattern docs/renovate.md gives
// self-hosted Renovate for the preset's post-upgrade task.
const AllowedCommand = `^gpm update [A-Za-z0-9._+-]+ --to [A-Za-z0-9._+-]+ --no-progress$`
