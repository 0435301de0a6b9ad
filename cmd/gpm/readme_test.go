package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsMatchRepo keeps two claims of the docs true: they cite only files
// that are in the repository (there is no DESIGN file here), and the README
// names every command that CI (.ci/run) runs.
func TestDocsMatchRepo(t *testing.T) {
	docs, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs, "../../README.md", "../../SECURITY.md")
	for _, p := range docs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if regexp.MustCompile(`\bDESIGN\b`).Match(b) {
			if _, err := os.Stat("../../DESIGN.md"); err != nil {
				t.Errorf("%s cites DESIGN, which is not in the repository", filepath.Base(p))
			}
		}
	}

	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(ci), "\n") {
		if cmd, ok := strings.CutPrefix(strings.TrimSpace(line), "make "); ok {
			target := "make " + strings.Fields(cmd)[0]
			if !strings.Contains(string(readme), target) {
				t.Errorf("CI runs %q, which README.md does not mention", target)
			}
		}
	}
	if strings.Contains(string(readme), "(what CI runs)") {
		t.Error("README.md says one command is what CI runs; CI runs several")
	}
}
