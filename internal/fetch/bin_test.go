package fetch

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/lock"
)

func TestResolveBins(t *testing.T) {
	files := []placed{
		{Path: "bin", Type: typeDir},
		{Path: "bin/tool"},
		{Path: "bin/tool.exe"},
		{Path: "lib/run.sh"},
		{Path: "lib/l", Type: typeSymlink, Link: "run.sh"},
		{Path: "lib/d", Type: typeSymlink, Link: "../bin"},
		{Path: "lib/gone", Type: typeSymlink, Link: "nothere"},
	}
	for _, tc := range []struct {
		name string
		bin  map[string]string
		want map[string]string
		err  string
	}{
		{"none", nil, nil, ""},
		{"literal", map[string]string{"tool": "bin/tool"}, map[string]string{"tool": "bin/tool"}, ""},
		{"glob", map[string]string{"run": "*/run.*"}, map[string]string{"run": "lib/run.sh"}, ""},
		{"symlink", map[string]string{"l": "lib/l"}, map[string]string{"l": "lib/l"}, ""},
		{"no match", map[string]string{"x": "bin/x"}, nil, `bin "x": "bin/x" matches no file of the installed package; it must match exactly one`},
		{"directory does not count", map[string]string{"b": "bin"}, nil, `"bin" matches no file`},
		{"two matches", map[string]string{"tool": "bin/tool*"}, nil, `"bin/tool*" matches 2 files (bin/tool, bin/tool.exe)`},
		{"symlink to a directory", map[string]string{"d": "lib/d"}, nil, `bin "d": "lib/d" leads to the directory "bin", not to a file`},
		{"symlink to nothing", map[string]string{"g": "lib/gone"}, nil, `bin "g": "lib/gone" is a symlink to "lib/nothere", which the package does not hold`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := resolveBins(&lock.Package{Name: "p", Bin: tc.bin}, files)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				if h := hint.Of(err); len(h) == 0 || !strings.Contains(h[0], "the package has: bin/tool, bin/tool.exe, lib/run.sh, lib/l") && !strings.Contains(h[0], "name a file of the package") {
					t.Errorf("hints = %q", h)
				}
				return
			}
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s -> %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

// TestBinLinksWindows runs the Windows way of linking commands here: an
// .exe is hard-linked (or copied) as NAME.exe, a script gets a NAME.cmd
// shim; both are recognised, replaced when wrong, and removed.
func TestBinLinksWindows(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, binDirName)
	if err := os.MkdirAll(filepath.Join(dir, "pkg", "bin"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(bin, 0o777); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "pkg", "bin", "tool.exe"), []byte("MZ tool"), 0o755)
	os.WriteFile(filepath.Join(dir, "pkg", "bin", "run.ps1"), []byte("echo"), 0o644)

	if got := binEntry("windows", "tool", "bin/tool.exe"); got != "tool.exe" {
		t.Errorf("binEntry(.exe) = %q", got)
	}
	if got := binEntry("windows", "run", "bin/run.ps1"); got != "run.cmd" {
		t.Errorf("binEntry(script) = %q", got)
	}
	if got := binEntry("linux", "tool", "bin/tool.exe"); got != "tool" {
		t.Errorf("binEntry(linux) = %q", got)
	}
	if got := shimText("pkg", "bin/run.ps1"); got != "@\"%~dp0..\\pkg\\bin\\run.ps1\" %*\r\n" {
		t.Errorf("shimText = %q", got)
	}
	if got := shimText("pkg", "bin/run%20me.bat"); got != "@\"%~dp0..\\pkg\\bin\\run%%20me.bat\" %*\r\n" {
		t.Errorf("shimText of a path with %%: %q", got)
	}

	for _, l := range [][2]string{{"tool", "bin/tool.exe"}, {"run", "bin/run.ps1"}} {
		if linkOK(dir, "windows", "pkg", l[0], l[1]) {
			t.Errorf("%s: linkOK before linking", l[0])
		}
		if err := writeLink(bin, "windows", "pkg", l[0], l[1]); err != nil {
			t.Fatal(err)
		}
		if !linkOK(dir, "windows", "pkg", l[0], l[1]) {
			t.Errorf("%s: not linkOK after linking", l[0])
		}
	}
	if data, _ := os.ReadFile(filepath.Join(bin, "tool.exe")); string(data) != "MZ tool" {
		t.Errorf("tool.exe holds %q", data)
	}
	// A changed copy is not the link; writing it again repairs it.
	os.Remove(filepath.Join(bin, "tool.exe"))
	os.WriteFile(filepath.Join(bin, "tool.exe"), []byte("MZ tOol"), 0o755)
	if linkOK(dir, "windows", "pkg", "tool", "bin/tool.exe") {
		t.Errorf("linkOK with other content")
	}
	if err := writeLink(bin, "windows", "pkg", "tool", "bin/tool.exe"); err != nil || !linkOK(dir, "windows", "pkg", "tool", "bin/tool.exe") {
		t.Errorf("repair: %v", err)
	}
	removeLink(bin, "windows", "pkg", "tool", "bin/tool.exe")
	removeLink(bin, "windows", "pkg", "run", "bin/run.ps1")
	if _, err := os.Lstat(bin); !errors.Is(err, os.ErrNotExist) {
		t.Errorf(".bin left after removing its links: %v", err)
	}
}

func TestBinLinksUnix(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, binDirName)
	os.MkdirAll(filepath.Join(dir, "pkg", "bin"), 0o777)
	os.MkdirAll(bin, 0o777)
	os.WriteFile(filepath.Join(dir, "pkg", "bin", "tool"), []byte("#!/bin/sh\n"), 0o755)
	if err := writeLink(bin, "linux", "pkg", "tool", "bin/tool"); err != nil {
		t.Fatal(err)
	}
	if tgt, _ := os.Readlink(filepath.Join(bin, "tool")); tgt != "../pkg/bin/tool" {
		t.Errorf("link target %q", tgt)
	}
	if !linkOK(dir, "linux", "pkg", "tool", "bin/tool") {
		t.Errorf("not linkOK")
	}
	// A dangling link is not in place.
	os.Remove(filepath.Join(dir, "pkg", "bin", "tool"))
	if linkOK(dir, "linux", "pkg", "tool", "bin/tool") {
		t.Errorf("dangling link is linkOK")
	}
	// A user's file is not removed as a link.
	os.Remove(filepath.Join(bin, "tool"))
	os.WriteFile(filepath.Join(bin, "tool"), []byte("mine"), 0o755)
	removeLink(bin, "linux", "pkg", "tool", "bin/tool")
	if data, _ := os.ReadFile(filepath.Join(bin, "tool")); string(data) != "mine" {
		t.Errorf("user's file removed")
	}
}
