package lock

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gpmtool/gpm/internal/hint"
)

var golden = &File{
	Version: 1,
	Packages: []Package{
		{
			Name:       "cli-tool",
			Project:    "12345",
			Package:    "cli-tool",
			Version:    "1.4.2",
			Constraint: "^1.2",
			PackageID:  42,
			Files: []FileEntry{{
				Name:   "cli-tool-1.4.2-linux-amd64.tar.gz",
				Size:   7340032,
				SHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
				FileID: 225,
			}},
		},
		{
			Name:       "schemas",
			Registry:   "partner",
			Project:    "platform/api/schemas",
			Package:    "api-schemas",
			Version:    "v2.0.0-rc.1",
			Constraint: ">=2.0.0-rc.1, <3",
			Globs:      []string{"*.json", "docs/*.md"},
			Extract:    true,
			PackageID:  7,
			Files: []FileEntry{
				{Name: "bundle.tar.gz", Size: 0, SHA256: strings.Repeat("0", 64), FileID: 8},
				{Name: "docs/README.md", Size: 12, SHA256: strings.Repeat("f", 64), FileID: 9},
			},
		},
	},
}

func TestParseGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/golden.lock")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse("packages.lock", data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f, golden) {
		t.Errorf("Parse(golden.lock) =\n%#v\nwant\n%#v", f, golden)
	}
	if got := golden.Encode(); string(got) != string(data) {
		t.Errorf("Encode() =\n%s\nwant golden.lock\n%s", got, data)
	}
}

// TestParseLenient pins what Parse accepts beyond Encode's own layout: any
// order of entries, inline tables, comments, defaults written out.
func TestParseLenient(t *testing.T) {
	const src = `lock_version = 1 # comment
package = [
  { name = "b", project = "1", package = "b", version = "1.0.0", constraint = "*", package_id = 2, files = [], extract = false,
    file = [ { name = "z", size = 1, sha256 = "` + hex64 + `", file_id = 3 }, { name = "a", size = 1, sha256 = "` + hex64 + `", file_id = 4 } ] },
  { name = "a", project = "g/p", package = 'a', version = "x", constraint = "=x", package_id = 1 },
]
`
	f, err := Parse("packages.lock", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := &File{Version: 1, Packages: []Package{
		{Name: "a", Project: "g/p", Package: "a", Version: "x", Constraint: "=x", PackageID: 1},
		{Name: "b", Project: "1", Package: "b", Version: "1.0.0", Constraint: "*", PackageID: 2, Files: []FileEntry{
			{Name: "a", Size: 1, SHA256: hex64, FileID: 4},
			{Name: "z", Size: 1, SHA256: hex64, FileID: 3},
		}},
	}}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("Parse =\n%#v\nwant\n%#v", f, want)
	}
}

const hex64 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// pkgA is a valid [[package]] entry starting on line 3 of a document that
// begins with "lock_version = 1\n\n".
const pkgA = `[[package]]
name = "cli-tool"
project = "12345"
package = "cli-tool"
version = "1.4.2"
constraint = "^1.2"
package_id = 42
`

// fileX is a valid [[package.file]] entry.
const fileX = `
  [[package.file]]
  name = "x"
  size = 1
  sha256 = "` + hex64 + `"
  file_id = 2
`

func TestParseErrors(t *testing.T) {
	const top = "lock_version = 1\n\n"
	// drop removes the line of pkgA+fileX starting with key.
	drop := func(src, key string) string {
		var out []string
		for _, l := range strings.SplitAfter(src, "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), key+" =") {
				out = append(out, l)
			}
		}
		return strings.Join(out, "")
	}
	set := func(src, key, val string) string {
		var out []string
		for _, l := range strings.SplitAfter(src, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), key+" =") {
				indent := l[:len(l)-len(strings.TrimLeft(l, " "))]
				l = indent + key + " = " + val + "\n"
			}
			out = append(out, l)
		}
		return strings.Join(out, "")
	}
	full := top + pkgA + fileX // package header on line 3, file header on line 12
	tests := []struct {
		name, src, want string
	}{
		// TOML syntax.
		{"syntax", "lock_version = 1\nname = \n", `packages.lock:2: expected value but found '\n' instead`},
		{"duplicate key", top + pkgA + "name = \"x\"\n", `packages.lock:10: key 'package.name' has already been defined`},

		// Top level.
		{"empty file", "", `packages.lock: missing required key "lock_version"`},
		{"missing lock_version", pkgA, `packages.lock: missing required key "lock_version"`},
		{"lock_version type", `lock_version = "1"`, `packages.lock:1: lock_version must be an integer, not string`},
		{"lock_version newer", "lock_version = 4\nwhatever = 1\n", `packages.lock:1: lock_version 4 needs a newer gpm (this gpm reads lock_version 3)`},
		{"lock_version zero", "\nlock_version = 0\n", `packages.lock:2: lock_version 0 is not supported (this gpm reads lock_version 1 to 3)`},
		{"unknown top key", top + "url = \"https://gitlab.example.com\"\n", `packages.lock:3: unknown key "url"`},
		{"unknown top table", top + "[registry]\nurl = \"x\"\n", `packages.lock:3: unknown key "registry"`},
		{"package not array", top + "[package]\nname = \"x\"\n", `packages.lock:3: package must be an array of tables ([[package]]), not table`},
		{"package array of strings", top + "package = [\"x\"]\n", `packages.lock:3: package must be an array of tables ([[package]]), not array`},

		// Package keys.
		{"missing name", top + drop(pkgA, "name"), `packages.lock:3: package #1: missing required key "name"`},
		{"name type", top + set(pkgA, "name", "1"), `packages.lock:4: package #1: name must be a string, not integer`},
		{"empty name", top + set(pkgA, "name", `""`), `packages.lock:4: package #1: name "" is empty`},
		{"bad name", top + set(pkgA, "name", `"a b"`), `packages.lock:4: package #1: name "a b" is not a valid package name (letters, digits, '.', '_', '+', '-')`},
		{"dot-dot name", top + set(pkgA, "name", `".."`), `packages.lock:4: package #1: name ".." is not a valid package name`},
		{"slash name", top + set(pkgA, "name", `"a/b"`), `packages.lock:4: package #1: name "a/b" is not a valid package name (letters, digits, '.', '_', '+', '-')`},
		{"unknown package key", top + pkgA + "url = \"x\"\n", `packages.lock:10: package "cli-tool": unknown key "url"`},
		{"missing project", top + drop(pkgA, "project"), `packages.lock:3: package "cli-tool": missing required key "project"`},
		{"project integer", top + set(pkgA, "project", "12345"), `packages.lock:5: package "cli-tool": project must be a string, not integer`},
		{"empty project", top + set(pkgA, "project", `""`), `packages.lock:5: package "cli-tool": project "" is empty`},
		{"project control", top + set(pkgA, "project", `"a\u0000b"`), `packages.lock:5: package "cli-tool": project "a\x00b" contains a control character`},
		{"empty registry", top + pkgA + "registry = \"\"\n", `packages.lock:10: package "cli-tool": registry "" is empty (omit the key for the default registry)`},
		{"registry type", top + pkgA + "registry = true\n", `packages.lock:10: package "cli-tool": registry must be a string, not boolean`},
		{"missing package", top + drop(pkgA, "package"), `packages.lock:3: package "cli-tool": missing required key "package"`},
		{"bad package", top + set(pkgA, "package", `"cli tool"`), `packages.lock:6: package "cli-tool": package "cli tool" is not a valid package name (letters, digits, '.', '_', '+', '-')`},
		{"missing version", top + drop(pkgA, "version"), `packages.lock:3: package "cli-tool": missing required key "version"`},
		{"version float", top + set(pkgA, "version", "1.4"), `packages.lock:7: package "cli-tool": version must be a string, not float`},
		{"bad version", top + set(pkgA, "version", `"1..4"`), `packages.lock:7: package "cli-tool": version "1..4" is not a version GitLab accepts (letters, digits, '.', '_', '-', '+', no "..")`},
		{"missing constraint", top + drop(pkgA, "constraint"), `packages.lock:3: package "cli-tool": missing required key "constraint"`},
		{"bad constraint", top + set(pkgA, "constraint", `""`), `packages.lock:8: package "cli-tool": constraint: invalid version constraint: empty`},
		{"files type", top + pkgA + "files = \"*.tgz\"\n", `packages.lock:10: package "cli-tool": files must be an array of strings, not string`},
		{"files element type", top + pkgA + "files = [1]\n", `packages.lock:10: package "cli-tool": files must be an array of strings, not of integer`},
		{"empty glob", top + pkgA + "files = [\"a\", \"\"]\n", `packages.lock:10: package "cli-tool": files: empty glob`},
		{"bad glob", top + pkgA + "files = [\"[a\"]\n", `packages.lock:10: package "cli-tool": files: invalid glob "[a"`},
		{"extract type", top + pkgA + "extract = \"yes\"\n", `packages.lock:10: package "cli-tool": extract must be a boolean, not string`},
		{"missing package_id", top + drop(pkgA, "package_id"), `packages.lock:3: package "cli-tool": missing required key "package_id"`},
		{"package_id string", top + set(pkgA, "package_id", `"42"`), `packages.lock:9: package "cli-tool": package_id must be an integer, not string`},
		{"package_id zero", top + set(pkgA, "package_id", "0"), `packages.lock:9: package "cli-tool": package_id 0 is not a positive ID`},
		{"file not array", top + pkgA + "file = 1\n", `packages.lock:10: package "cli-tool": file must be an array of tables ([[package.file]]), not integer`},
		{"duplicate package", top + pkgA + "\n" + pkgA, `packages.lock:12: package "cli-tool" is locked twice (also at line 3)`},
		{"second package bad", top + pkgA + "\n" + set(set(pkgA, "name", `"b"`), "version", `"a b"`), `packages.lock:15: package "b": version "a b" is not a version GitLab accepts (letters, digits, '.', '_', '-', '+', no "..")`},

		// File keys.
		{"missing file name", top + pkgA + drop(fileX, "name"), `packages.lock:11: package "cli-tool": file #1: missing required key "name"`},
		{"file name absolute", top + pkgA + set(fileX, "name", `"/etc/passwd"`), `packages.lock:12: package "cli-tool": file #1: name "/etc/passwd" is an absolute path`},
		{"file name dot-dot", top + pkgA + set(fileX, "name", `"a/../../b"`), `packages.lock:12: package "cli-tool": file #1: name "a/../../b" has a ".." path segment`},
		{"file name dot", top + pkgA + set(fileX, "name", `"./a"`), `packages.lock:12: package "cli-tool": file #1: name "./a" has a "." path segment`},
		{"file name backslash", top + pkgA + set(fileX, "name", `'a\b'`), `packages.lock:12: package "cli-tool": file #1: name "a\\b" contains a backslash`},
		{"file name empty segment", top + pkgA + set(fileX, "name", `"a//b"`), `packages.lock:12: package "cli-tool": file #1: name "a//b" has an empty path segment`},
		{"file name trailing slash", top + pkgA + set(fileX, "name", `"a/"`), `packages.lock:12: package "cli-tool": file #1: name "a/" has an empty path segment`},
		{"file name empty", top + pkgA + set(fileX, "name", `""`), `packages.lock:12: package "cli-tool": file #1: name "" is empty`},
		{"file name newline", top + pkgA + set(fileX, "name", `"a\nb"`), `packages.lock:12: package "cli-tool": file #1: name "a\nb" contains a control character`},
		{"file name NUL", top + pkgA + set(fileX, "name", `"a\u0000"`), `packages.lock:12: package "cli-tool": file #1: name "a\x00" contains a control character`},
		{"unknown file key", full + "  url = \"x\"\n", `packages.lock:16: package "cli-tool": file "x": unknown key "url"`},
		{"missing size", top + pkgA + drop(fileX, "size"), `packages.lock:11: package "cli-tool": file "x": missing required key "size"`},
		{"size string", top + pkgA + set(fileX, "size", `"1"`), `packages.lock:13: package "cli-tool": file "x": size must be an integer, not string`},
		{"negative size", top + pkgA + set(fileX, "size", "-1"), `packages.lock:13: package "cli-tool": file "x": size -1 is negative`},
		{"missing sha256", top + pkgA + drop(fileX, "sha256"), `packages.lock:11: package "cli-tool": file "x": missing required key "sha256"`},
		{"sha256 uppercase", top + pkgA + set(fileX, "sha256", `"`+strings.ToUpper(hex64)+`"`), `packages.lock:14: package "cli-tool": file "x": sha256 "` + strings.ToUpper(hex64) + `" is not 64 lowercase hex digits`},
		{"sha256 short", top + pkgA + set(fileX, "sha256", `"abc"`), `packages.lock:14: package "cli-tool": file "x": sha256 "abc" is not 64 lowercase hex digits`},
		{"sha256 non-hex", top + pkgA + set(fileX, "sha256", `"`+strings.Repeat("g", 64)+`"`), `packages.lock:14: package "cli-tool": file "x": sha256 "` + strings.Repeat("g", 64) + `" is not 64 lowercase hex digits`},
		{"missing file_id", top + pkgA + drop(fileX, "file_id"), `packages.lock:11: package "cli-tool": file "x": missing required key "file_id"`},
		{"file_id negative", top + pkgA + set(fileX, "file_id", "-5"), `packages.lock:15: package "cli-tool": file "x": file_id -5 is not a positive ID`},
		{"duplicate file", full + fileX, `packages.lock:18: package "cli-tool": file "x" is listed twice (also at line 11)`},
		{"file in inline table", top + pkgA + "file = [{ name = \"x\", size = -1, sha256 = \"" + hex64 + "\", file_id = 1 }]\n", `packages.lock:10: package "cli-tool": file "x": size -1 is negative`},
		{"commented header before", top + "# [[package]]\n" + strings.Replace(pkgA, "package_id = 42", "package_id = 0", 1), `packages.lock:10: package "cli-tool": package_id 0 is not a positive ID`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("packages.lock", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded: %#v\nsource:\n%s", f, tt.src)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %s\nwant %s\nsource:\n%s", err, tt.want, tt.src)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
			}
			var le *Error
			if !errors.As(err, &le) || le.Path != "packages.lock" {
				t.Errorf("errors.As(*Error) failed or wrong path: %#v", le)
			}
			if hs := hint.Of(err); len(hs) != 1 || !strings.Contains(hs[0], "gpm install") {
				t.Errorf("hints = %q, want one naming gpm install", hs)
			}
		})
	}
}

func TestParseNewerVersionHint(t *testing.T) {
	_, err := Parse("sub/packages.lock", []byte("lock_version = 7\n"))
	hs := hint.Of(err)
	if len(hs) != 1 || !strings.HasPrefix(hs[0], "upgrade gpm") || !strings.Contains(hs[0], "delete sub/packages.lock") {
		t.Errorf("hints = %q, want upgrade gpm, or delete sub/packages.lock", hs)
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	_, err := Read(filepath.Join(dir, "packages.lock"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read(missing) = %v, want fs.ErrNotExist", err)
	}
	if errors.Is(err, ErrInvalid) {
		t.Errorf("Read(missing) = %v, must not match ErrInvalid", err)
	}

	path := filepath.Join(dir, "bad.lock")
	if err := os.WriteFile(path, []byte("lock_version = 1\nx = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(path); !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), path+":2: ") {
		t.Errorf("Read(bad) = %v, want %s:2: ... matching ErrInvalid", err, path)
	}

	path = filepath.Join(dir, "good.lock")
	if err := os.WriteFile(path, golden.Encode(), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Read(path)
	if err != nil || !reflect.DeepEqual(f, golden) {
		t.Errorf("Read(good) = %#v, %v; want golden", f, err)
	}
}

func TestLookup(t *testing.T) {
	if p, ok := golden.Lookup("schemas"); !ok || p.Package != "api-schemas" {
		t.Errorf("Lookup(schemas) = %v, %v", p, ok)
	}
	if _, ok := golden.Lookup("api-schemas"); ok {
		t.Error("Lookup found a package by its registry name, want local names only")
	}
	var nilFile *File
	if _, ok := nilFile.Lookup("x"); ok {
		t.Error("nil File Lookup found something")
	}
	// Sorted packages are binary-searched; unsorted ones are still found.
	for _, names := range [][]string{{"a", "b", "c", "d"}, {"d", "b", "a", "c"}, {"c", "a"}, {"b"}, nil} {
		f := &File{}
		for _, n := range names {
			f.Packages = append(f.Packages, Package{Name: n, Version: "v-" + n})
		}
		for _, n := range names {
			if p, ok := f.Lookup(n); !ok || p.Version != "v-"+n {
				t.Errorf("%v: Lookup(%s) = %v, %v", names, n, p, ok)
			}
		}
		for _, n := range []string{"", "0", "bb", "e"} {
			if p, ok := f.Lookup(n); ok {
				t.Errorf("%v: Lookup(%q) found %v", names, n, p)
			}
		}
	}
}
