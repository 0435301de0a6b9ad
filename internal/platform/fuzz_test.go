package platform

import (
	"path"
	"strings"
	"testing"
)

// FuzzExpand checks template expansion on any glob: a glob CheckTemplate
// accepts expands, for every default platform, to a glob without
// placeholders that path.Match accepts whenever the glob itself is valid;
// a glob that is not Specific expands the same on every platform.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{
		"tool-{version}-{os}-{arch}.tar.gz", "bin/tool{exe}", "a[{]b", "{os}", "{exe}x", "x{", "}", `\{os}`, "[]{]", "*-{arch}",
	} {
		f.Add(s, "macos", "x86_64")
	}
	f.Fuzz(func(t *testing.T, glob, osName, archName string) {
		repl := map[string]string{}
		if CheckReplacement("darwin", osName) == nil {
			repl["darwin"] = osName
		}
		if CheckReplacement("amd64", archName) == nil {
			repl["amd64"] = archName
		}
		if CheckTemplate(glob) != nil {
			return
		}
		_, globErr := path.Match(glob, "")
		var first string
		for i, s := range Default {
			p, err := Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			got := Expand(glob, p, "1.0.0", repl)
			for _, ph := range Placeholders {
				// A bracket or escape may hold a literal "{os}" text only
				// when the template had one outside a placeholder, which
				// CheckTemplate refuses unless bracketed or escaped.
				if strings.Contains(got, "{"+ph+"}") && !strings.ContainsAny(glob, `[\`) {
					t.Fatalf("Expand(%q, %s) = %q still holds {%s}", glob, s, got, ph)
				}
			}
			if _, err := path.Match(got, ""); globErr == nil && err != nil && !strings.ContainsAny(glob, `[\`) {
				t.Fatalf("Expand(%q, %s) = %q is not a valid glob: %v", glob, s, got, err)
			}
			if i == 0 {
				first = got
			} else if !Specific(glob) && got != first {
				t.Fatalf("glob %q is not Specific but expands to %q and %q", glob, first, got)
			}
		}
	})
}
