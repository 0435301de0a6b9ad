package manifest

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestAppend(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		e              Entry
	}{
		{
			name: "after a table, keeping comments",
			in:   "# my deps\n[packages.a] # inline comment\nproject = 1\n",
			e:    Entry{Name: "b", Project: "acme/tools", Version: "^1.2.0"},
			want: "# my deps\n[packages.a] # inline comment\nproject = 1\n\n[packages.b]\nproject = \"acme/tools\"\nversion = \"^1.2.0\"\n",
		},
		{
			name: "no trailing newline",
			in:   "[packages.a]\nproject = 1",
			e:    Entry{Name: "b", Project: "7"},
			want: "[packages.a]\nproject = 1\n\n[packages.b]\nproject = 7\n",
		},
		{
			name: "empty file, every key",
			in:   "",
			e:    Entry{Name: "x.y", Project: "3", Package: "X", Version: "=2024.06", Files: []string{"*.tgz", "a b"}, Extract: true},
			want: "[packages.\"x.y\"]\nproject = 3\npackage = \"X\"\nversion = \"=2024.06\"\nfiles = [\"*.tgz\", \"a b\"]\nextract = true\n",
		},
		{
			name: "already blank-terminated",
			in:   "[install]\ndir = \"deps\"\n\n",
			e:    Entry{Name: "b", Project: "1"},
			want: "[install]\ndir = \"deps\"\n\n[packages.b]\nproject = 1\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Append("packages.toml", []byte(tc.in), tc.e)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestAppendRefusesDuplicateAndInvalid(t *testing.T) {
	if _, err := Append("p.toml", []byte("[packages.a]\nproject = 1\n"), Entry{Name: "a", Project: "1"}); err == nil {
		t.Error("Append of an existing name succeeded")
	}
	if _, err := Append("p.toml", nil, Entry{Name: "../x", Project: "1"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Append of a bad name = %v, want ErrInvalid", err)
	}
}

func TestRemove(t *testing.T) {
	for _, tc := range []struct {
		name, in, pkg, want string
	}{
		{
			name: "middle entry with its comment",
			in:   "# top\n[registry]\nurl = \"https://gitlab.example.com\"\n\n# the a tool\n[packages.a]\nproject = 1\n\n# b stays\n[packages.b]\nproject = 2 # two\n",
			pkg:  "a",
			want: "# top\n[registry]\nurl = \"https://gitlab.example.com\"\n\n# b stays\n[packages.b]\nproject = 2 # two\n",
		},
		{
			name: "last entry",
			in:   "[packages.a]\nproject = 1\n\n[packages.b]\nproject = 2\n",
			pkg:  "b",
			want: "[packages.a]\nproject = 1\n",
		},
		{
			name: "first entry",
			in:   "[packages.a]\nproject = 1\n\n[packages.b]\nproject = 2\n",
			pkg:  "a",
			want: "[packages.b]\nproject = 2\n",
		},
		{
			name: "quoted name",
			in:   "[packages.\"x.y\"]\nproject = 1\n[packages.z]\nproject = 2\n",
			pkg:  "x.y",
			want: "[packages.z]\nproject = 2\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Remove("packages.toml", []byte(tc.in), tc.pkg)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestRemoveRefusesLayoutsItCannotEdit(t *testing.T) {
	for _, in := range []string{
		"[packages]\na = { project = 1 }\nb = { project = 2 }\n",
		"packages.a.project = 1\n",
	} {
		if _, err := Remove("p.toml", []byte(in), "a"); !errors.Is(err, ErrCannotEdit) {
			t.Errorf("Remove(%q) = %v, want ErrCannotEdit", in, err)
		}
	}
	if _, err := Remove("p.toml", []byte("[packages.a]\nproject = 1\n"), "nope"); err == nil {
		t.Error("Remove of an unknown name succeeded")
	}
}

// A packages.toml with Windows line endings keeps them through gpm add and
// gpm remove: every line of the result ends in CRLF.
func TestEditKeepsCRLF(t *testing.T) {
	for _, in := range []string{
		"# deps\r\n[packages.a]\r\nproject = 1\r\n",
		"[packages.a]\r\nproject = 1",
		"[install]\r\ndir = \"deps\"\r\n\r\n",
		"[packages.a]\r\nproject = 1\r\n\r\n# z\r\n[packages.z]\r\nproject = 2\r\n",
	} {
		added, err := Append("packages.toml", []byte(in), Entry{Name: "b", Project: "acme/tools", Version: "^1.2.0", Files: []string{"*.tgz"}, Extract: true})
		if err != nil {
			t.Fatal(err)
		}
		checkCRLF(t, "after Append to "+strconv.Quote(in), string(added))
		removed, err := Remove("packages.toml", added, "b")
		if err != nil {
			t.Fatal(err)
		}
		checkCRLF(t, "after Append and Remove on "+strconv.Quote(in), string(removed))
		if m, err := Parse("packages.toml", []byte(in)); err == nil {
			if _, ok := m.Lookup("a"); ok {
				out, err := Remove("packages.toml", []byte(in), "a")
				if err != nil {
					t.Fatal(err)
				}
				checkCRLF(t, "after Remove from "+strconv.Quote(in), string(out))
			}
		}
	}
	// A file with Unix line endings keeps them.
	out, err := Append("packages.toml", []byte("[packages.a]\nproject = 1\n"), Entry{Name: "b", Project: "1"})
	if err != nil || strings.Contains(string(out), "\r") {
		t.Errorf("Append to a LF file = %q, %v; want no CR", out, err)
	}
}

func checkCRLF(t *testing.T, what, s string) {
	t.Helper()
	for i, line := range strings.SplitAfter(s, "\n") {
		if strings.HasSuffix(line, "\n") && !strings.HasSuffix(line, "\r\n") {
			t.Errorf("%s: line %d %q ends in LF, not CRLF; whole file:\n%q", what, i+1, line, s)
		}
	}
}
