package manifest

import (
	"os"
	"strings"
	"testing"
)

// codeBlocks returns the fenced code blocks of the section of md that starts
// with heading, in order.
func codeBlocks(t *testing.T, md, heading string) []string {
	t.Helper()
	_, sec, ok := strings.Cut(md, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("docs/manifest.md has no %q section", heading)
	}
	if i := strings.Index(sec, "\n## "); i >= 0 {
		sec = sec[:i]
	}
	var blocks []string
	for {
		_, rest, ok := strings.Cut(sec, "```")
		if !ok {
			return blocks
		}
		_, rest, _ = strings.Cut(rest, "\n") // the info string
		body, after, ok := strings.Cut(rest, "```")
		if !ok {
			return blocks
		}
		blocks = append(blocks, body)
		sec = after
	}
}

// TestDocsExamples keeps docs/manifest.md honest: its main example parses,
// and its error example prints what the page says.
func TestDocsExamples(t *testing.T) {
	b, err := os.ReadFile("../../docs/manifest.md")
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)

	ex := codeBlocks(t, md, "## Example")
	if len(ex) < 2 {
		t.Fatalf("## Example has %d code blocks", len(ex))
	}
	for _, doc := range ex {
		m, err := Parse(FileName, []byte(doc))
		if err != nil {
			t.Errorf("example does not parse:\n%v\n%s", err, doc)
		} else if len(m.Packages) == 0 {
			t.Errorf("example declares no package:\n%s", doc)
		}
	}

	errs := codeBlocks(t, md, "## Errors")
	if len(errs) != 2 {
		t.Fatalf("## Errors has %d code blocks, want 2", len(errs))
	}
	_, err = Parse(FileName, []byte(errs[0]))
	if err == nil {
		t.Fatal("error example parses")
	}
	var want []string
	for line := range strings.Lines(strings.TrimSpace(errs[1])) {
		want = append(want, strings.TrimPrefix(strings.TrimSuffix(line, "\n"), "gpm: error: "))
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("error example:\n got: %s\nwant: %s", got, strings.Join(want, "\n"))
	}
}
