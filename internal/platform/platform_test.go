package platform

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct{ in, err string }{
		{"linux-amd64", ""},
		{"darwin-arm64", ""},
		{"windows-386", ""},
		{"linux", "not OS-ARCH"},
		{"-amd64", "not OS-ARCH"},
		{"macos-arm64", `did you mean "darwin"?`},
		{"linux-x86_64", `did you mean "amd64"?`},
		{"Linux-amd64", `did you mean "linux"?`},
		{"linux-amd64-v3", "unknown architecture"},
	} {
		p, err := Parse(tc.in)
		if tc.err == "" {
			if err != nil || p.String() != tc.in {
				t.Errorf("Parse(%q) = %v, %v", tc.in, p, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("Parse(%q) error = %v, want %q", tc.in, err, tc.err)
		}
	}
}

func TestCurrent(t *testing.T) {
	p, err := Current(func(k string) string {
		if k == Env {
			return "windows-arm64"
		}
		return ""
	})
	if err != nil || p.String() != "windows-arm64" || p.Exe() != ".exe" {
		t.Fatalf("Current = %v, %v", p, err)
	}
	_, err = Current(func(string) string { return "win-x64" })
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), Env) {
		t.Fatalf("bad GPM_PLATFORM: %v", err)
	}
}

func TestValidGlob(t *testing.T) {
	for _, g := range []string{"linux-*", "*-arm64", "darwin-amd64", "*"} {
		if err := ValidGlob(g); err != nil {
			t.Errorf("ValidGlob(%q) = %v", g, err)
		}
	}
	for _, g := range []string{"", "macos-*", "linux-[", "mac*", "linux-x86_64"} {
		if err := ValidGlob(g); err == nil {
			t.Errorf("ValidGlob(%q) = nil, want an error", g)
		}
	}
	if got := Select(Default, []string{"linux-*"}); strings.Join(got, " ") != "linux-amd64 linux-arm64" {
		t.Errorf("Select = %v", got)
	}
}

func TestCheckTemplate(t *testing.T) {
	for _, g := range []string{"tool-{version}-{os}-{arch}.tar.gz", "bin/tool{exe}", "a[{]b[}]", `a\{b`, "plain-*.zip", "x[]{]"} {
		if err := CheckTemplate(g); err != nil {
			t.Errorf("CheckTemplate(%q) = %v", g, err)
		}
	}
	for g, want := range map[string]string{
		"tool-{platform}":   "unknown placeholder {platform}",
		"tool-{OS}":         "unknown placeholder {OS}",
		"tool-{os":          `"{" opens no placeholder`,
		"tool-os}":          `"}" closes no placeholder`,
		"tool{exe}.tar.gz":  "{exe} must end the glob",
		"{exe}-{os}-{arch}": "{exe} must end the glob",
	} {
		if err := CheckTemplate(g); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckTemplate(%q) = %v, want %q", g, err, want)
		}
	}
}

func TestExpand(t *testing.T) {
	repl := map[string]string{"darwin": "macos", "amd64": "x86_64"}
	for _, tc := range []struct {
		glob, plat, want string
	}{
		{"tool-{version}-{os}-{arch}.tar.gz", "darwin-amd64", "tool-1.4.2-macos-x86_64.tar.gz"},
		{"tool-{version}-{os}-{arch}.tar.gz", "linux-arm64", "tool-1.4.2-linux-arm64.tar.gz"},
		{"bin/tool{exe}", "windows-amd64", "bin/tool.exe"},
		{"bin/tool{exe}", "linux-amd64", "bin/tool"},
	} {
		p, _ := Parse(tc.plat)
		if got := Expand(tc.glob, p, "1.4.2", repl); got != tc.want {
			t.Errorf("Expand(%q, %s) = %q, want %q", tc.glob, tc.plat, got, tc.want)
		}
	}
	if got := Expand("notes-{version}.txt", Platform{}, "2.0", nil); got != "notes-2.0.txt" {
		t.Errorf("shared expand = %q", got)
	}
}

func TestCheckReplacement(t *testing.T) {
	if err := CheckReplacement("darwin", "macos"); err != nil {
		t.Error(err)
	}
	for _, tc := range [][3]string{
		{"macos", "mac", "not one of Go's"},
		{"x86_64", "x64", `did you mean "amd64"?`},
		{"amd64", "", "empty replacement"},
		{"amd64", "x*", "plain text"},
		{"amd64", "a/b", "plain text"},
	} {
		if err := CheckReplacement(tc[0], tc[1]); err == nil || !strings.Contains(err.Error(), tc[2]) {
			t.Errorf("CheckReplacement(%q, %q) = %v, want %q", tc[0], tc[1], err, tc[2])
		}
	}
}
