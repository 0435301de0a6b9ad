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

// FuzzRecognize checks that whatever Recognize accepts round-trips: every
// template passes CheckTemplate, covers at least two platforms, and every
// name is a shared one or the expansion of a template for a platform of
// its own; the replacements are valid.
func FuzzRecognize(f *testing.F) {
	f.Add("tool-1.4.2-linux-amd64.tar.gz\ntool-1.4.2-macos-aarch64.tar.gz\nLICENSE", "1.4.2")
	f.Add("bin/t-windows-x64.exe\nbin/t-Linux-x64\nv1-notes.txt", "v1")
	f.Add("t-linux\nt-darwin\nt-win.exe", "2")
	f.Fuzz(func(t *testing.T, list, v string) {
		names := strings.Split(list, "\n")
		r, ok := Recognize(names, v)
		if !ok {
			return
		}
		if len(r.Platforms) < 2 || len(r.Templates) == 0 {
			t.Fatalf("Recognize(%q) = %+v: fewer than two platforms", names, r)
		}
		for k, s := range r.Replacements {
			if err := CheckReplacement(k, s); err != nil {
				t.Fatalf("Recognize(%q): replacement %s = %q: %v", names, k, s, err)
			}
		}
		for _, g := range r.Files() {
			if err := CheckTemplate(g); err != nil {
				t.Fatalf("Recognize(%q): %v", names, err)
			}
		}
		covered := map[string]bool{}
		for _, s := range r.SharedGlobs {
			covered[Expand(s, Platform{}, v, nil)] = true
		}
		for _, tmpl := range r.Templates {
			for _, ps := range r.Platforms {
				os, arch, _ := strings.Cut(ps, "-")
				if arch == "*" {
					arch = "amd64"
				}
				covered[Expand(tmpl, Platform{OS: os, Arch: arch}, v, r.Replacements)] = true
			}
		}
		for _, n := range names {
			if !covered[n] {
				t.Fatalf("Recognize(%q, %q) = %+v: %q is not covered", names, v, r, n)
			}
		}
	})
}
