package platform

import (
	"fmt"
	"strings"
	"testing"
)

func TestRecognize(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string
		v     string
		want  string // templates | shared globs | replacements | platforms, or "none"
	}{
		{"go names", []string{"tool-1.4.2-linux-amd64.tar.gz", "tool-1.4.2-darwin-arm64.tar.gz", "LICENSE"}, "1.4.2",
			"[tool-{version}-{os}-{arch}.tar.gz] | [LICENSE] | map[] | [darwin-arm64 linux-amd64]"},
		{"publisher spellings", []string{"tool-v2.0.0-macos-aarch64.zip", "tool-v2.0.0-linux-x86_64.zip", "tool-v2.0.0-macos-x86_64.zip"}, "2.0.0",
			"[tool-v{version}-{os}-{arch}.zip] | [] | map[amd64:x86_64 arm64:aarch64 darwin:macos] | [darwin-amd64 darwin-arm64 linux-amd64]"},
		{"tag with v, names with v", []string{"tool_v1.0.0_linux_amd64.tgz", "tool_v1.0.0_windows_amd64.tgz"}, "v1.0.0",
			"[tool_{version}_{os}_{arch}.tgz] | [] | map[] | [linux-amd64 windows-amd64]"},
		{"exe on windows", []string{"bin/tool-linux-amd64", "bin/tool-windows-amd64.exe", "bin/tool-darwin-arm64", "checksums-1.0.txt"}, "1.0",
			"[bin/tool-{os}-{arch}{exe}] | [checksums-{version}.txt] | map[] | [darwin-arm64 linux-amd64 windows-amd64]"},
		{"os only", []string{"cli-tool-linux.tar.gz", "cli-tool-darwin.tar.gz"}, "1.4.2",
			"[cli-tool-{os}.tar.gz] | [] | map[] | [darwin-* linux-*]"},
		{"capitalised and apple-darwin", []string{"t-Linux-x64", "t-apple-darwin-x64", "t-win64-x64.exe"}, "1",
			"[t-{os}-{arch}{exe}] | [] | map[amd64:x64 darwin:apple-darwin linux:Linux windows:win64] | [darwin-amd64 linux-amd64 windows-amd64]"},
		{"osx and 386", []string{"t.osx.386", "t.linux.386", "t.linux.arm"}, "1",
			"[t.{os}.{arch}] | [] | map[darwin:osx] | [darwin-386 linux-386 linux-arm]"},
		{"two shapes, same platforms", []string{"t-linux-amd64.tar.gz", "t-linux-amd64.tar.gz.sha256", "t-darwin-arm64.tar.gz", "t-darwin-arm64.tar.gz.sha256"}, "1",
			"[t-{os}-{arch}.tar.gz t-{os}-{arch}.tar.gz.sha256] | [] | map[] | [darwin-arm64 linux-amd64]"},
		{"the version as a whole piece only", []string{"x11-1-linux-amd64", "x11-1-darwin-amd64"}, "1",
			"[x11-{version}-{os}-{arch}] | [] | map[] | [darwin-amd64 linux-amd64]"},

		{"one platform", []string{"tool-linux-amd64.tar.gz", "LICENSE"}, "1", "none"},
		{"no platform at all", []string{"a.txt", "b.txt"}, "1", "none"},
		{"tar.gz and zip", []string{"t-linux-amd64.tar.gz", "t-darwin-arm64.tar.gz", "t-windows-amd64.zip"}, "1", "none"},
		{"a platform missing from one shape", []string{"t-linux-amd64.tar.gz", "t-linux-amd64.sha256", "t-darwin-arm64.tar.gz"}, "1", "none"},
		{"two spellings of darwin", []string{"t-macos-arm64", "t-darwin-amd64", "t-linux-amd64"}, "1", "none"},
		{"two spellings of amd64", []string{"t-linux-x86_64", "t-windows-x64", "t-darwin-arm64"}, "1", "none"},
		{"arch without os", []string{"t-amd64.deb", "t-arm64.deb"}, "1", "none"},
		{"arch-only name next to platforms", []string{"t-linux-amd64", "t-darwin-amd64", "t-arm64.deb"}, "1", "none"},
		{"unknown architecture", []string{"t-linux-amd64", "t-darwin-universal"}, "1", "none"},
		{"two names, one platform", []string{"t-linux-amd64", "t-linux-x86_64", "t-darwin-amd64"}, "1", "none"},
		{"two oses in a name", []string{"t-linux-darwin-amd64", "t-linux-amd64"}, "1", "none"},
		{"tag v, names without", []string{"t-1.0.0-linux-amd64", "t-1.0.0-darwin-amd64"}, "v1.0.0", "none"},
		{"glob characters", []string{"t[1]-linux-amd64", "t[1]-darwin-amd64"}, "1", "none"},
		{"braces", []string{"t{x}-linux-amd64", "t{x}-darwin-amd64"}, "1", "none"},
		{"no tokens inside words", []string{"linuxtool-amd64x", "darwinian"}, "1", "none"},
	} {
		r, ok := Recognize(tc.files, tc.v)
		got := "none"
		if ok {
			got = fmt.Sprintf("%v | %v | %v | %v", r.Templates, r.SharedGlobs, r.Replacements, r.Platforms)
		}
		if got != tc.want {
			t.Errorf("%s: Recognize(%q, %q) =\n\t%s\nwant\n\t%s", tc.name, tc.files, tc.v, got, tc.want)
		}
		if ok && strings.Join(r.Files(), " ") != strings.Join(append(r.Templates, r.SharedGlobs...), " ") {
			t.Errorf("%s: Files = %v", tc.name, r.Files())
		}
	}
}
