package publish

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpmtool/gpm/internal/registry"
)

func TestCheckProjectArg(t *testing.T) {
	for p, ok := range map[string]bool{
		"12345": true, "acme/tools": true, "acme/sub/tools": true, "acme/my.project": true,
		"0": false, "012": false, "-1": false, "+1": false, "tools": false, "/acme": false,
		"acme/": false, "acme//x": false, "acme/../x": false, "acme/a b": false,
	} {
		if err := CheckProject(p); (err == nil) != ok {
			t.Errorf("CheckProject(%q) = %v, want ok=%v", p, err, ok)
		}
	}
}

func TestSizeWarning(t *testing.T) {
	if w := sizeWarning("a.bin", registry.DefaultMaxFileSize); w != "" {
		t.Errorf("sizeWarning at the limit = %q, want none", w)
	}
	w := sizeWarning("a.bin", registry.DefaultMaxFileSize+1)
	if !strings.Contains(w, "a.bin is 5.0 GiB") || !strings.Contains(w, "generic_packages_max_file_size") {
		t.Errorf("sizeWarning above the limit = %q", w)
	}
}

func TestConsumerSnippet(t *testing.T) {
	for _, tc := range []struct{ pkg, project, version, want string }{
		{"cli-tool", "12345", "1.4.2", "[packages.cli-tool]\nproject = 12345\nversion = \"^1.4.2\"\n"},
		{"cli-tool", "12345", "v1.4.2", "[packages.cli-tool]\nproject = 12345\nversion = \"^1.4.2\"\n"},
		{"cli", "acme/tools", "0.3.1", "[packages.cli]\nproject = \"acme/tools\"\nversion = \"^0.3.1\"\n"},
		{"cli", "1", "2.0.0-rc.1", "[packages.cli]\nproject = 1\nversion = \"=2.0.0-rc.1\"\n"},
		{"cli", "1", "1.2.3+build.5", "[packages.cli]\nproject = 1\nversion = \"=1.2.3+build.5\"\n"},
		{"cli", "1", "2024.06-b3", "[packages.cli]\nproject = 1\nversion = \"=2024.06-b3\"\n"},
		{"cli", "1", "1.2", "[packages.cli]\nproject = 1\nversion = \"=1.2\"\n"},
		{"api.schemas", "1", "1.0.0", "[packages.\"api.schemas\"]\nproject = 1\nversion = \"^1.0.0\"\n"},
		{"c++", "1", "1.0.0", "[packages.\"c++\"]\nproject = 1\nversion = \"^1.0.0\"\n"},
	} {
		if got := Snippet(tc.pkg, tc.project, tc.version, []string{"tool.bin"}); got != tc.want {
			t.Errorf("Snippet(%q, %q, %q) =\n%s\nwant\n%s", tc.pkg, tc.project, tc.version, got, tc.want)
		}
	}
}

func TestConsumerSnippetFiles(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  string
	}{
		{[]string{"cli-1.4.2-linux-x86_64.tar.gz", "cli-1.4.2-macos-arm64.tar.gz", "cli-1.4.2-macos-x86_64.tar.gz", "LICENSE"},
			"files = [\"cli-{version}-{os}-{arch}.tar.gz\", \"LICENSE\"]\nreplacements = { darwin = \"macos\", amd64 = \"x86_64\" }\nextract = true\n"},
		{[]string{"bin/cli-linux-amd64", "bin/cli-windows-amd64.exe"},
			"files = [\"bin/cli-{os}-{arch}{exe}\"]\n"},
		{[]string{"cli-linux.zip", "cli-darwin.zip", "cli-linux.zip.sha256", "cli-darwin.zip.sha256"},
			"files = [\"cli-{os}.zip\", \"cli-{os}.zip.sha256\"]\n"},
		{[]string{"cli.tar.gz"}, "extract = true\n"},
		{[]string{"cli.bin"}, ""},
		{[]string{"cli.tar.gz", "cli.zip"}, ""},
		{[]string{"cli-linux-amd64.tar.gz", "notes.txt"}, ""},
		{[]string{"cli-linux-amd64.tar.gz", "cli-windows-amd64.zip"}, ""},
	} {
		head := "[packages.cli]\nproject = 1\nversion = \"^1.4.2\"\n"
		if got := Snippet("cli", "1", "1.4.2", tc.names); got != head+tc.want {
			t.Errorf("Snippet for %q =\n%s\nwant\n%s", tc.names, got, head+tc.want)
		}
	}
}

func TestNewestByName(t *testing.T) {
	got := newestByName([]registry.PackageFile{
		{ID: 3, FileName: "a", SHA256: "new"},
		{ID: 1, FileName: "a", SHA256: "old"},
		{ID: 2, FileName: "b", SHA256: "bb", Size: 7},
	})
	want := map[string]remoteFile{
		"a": {found: true, sha256: "new", id: 3},
		"b": {found: true, sha256: "bb", id: 2, size: 7},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("newestByName = %v, want %v", got, want)
	}
}

func TestPublishRequestDefaults(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tool.bin"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	ci := map[string]string{"CI_PROJECT_ID": "42", "CI_PROJECT_NAME": "tool", "CI_COMMIT_TAG": "v1.0.0"}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		in      Input
		want    string // project pkg version, or the error
		wantErr bool
	}{
		{"all from CI", ci, Input{}, "42 tool v1.0.0", false},
		{"flags win", ci, Input{Project: "acme/x", Package: "p", Version: "2.0.0"}, "acme/x p 2.0.0", false},
		{"CI name only for the CI project", ci, Input{Project: "7"}, "no package name", true},
		{"CI name with --package", ci, Input{Project: "7", Package: "p"}, "7 p v1.0.0", false},
		{"no tag", map[string]string{"CI_PROJECT_ID": "42", "CI_PROJECT_NAME": "tool"}, Input{}, "no version to publish", true},
		{"outside CI", nil, Input{Package: "p", Version: "1"}, "no project to publish to", true},
		{"bad CI name", map[string]string{"CI_PROJECT_ID": "42", "CI_PROJECT_NAME": "my tool", "CI_COMMIT_TAG": "1"}, Input{}, `(from $CI_PROJECT_NAME)`, true},
	} {
		in := tc.in
		in.Dir, in.Files, in.Getenv = dir, []string{"tool.bin"}, func(k string) string { return tc.env[k] }
		req, err := NewRequest(in)
		if tc.wantErr {
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: err = %v, want ErrInvalid containing %q", tc.name, err, tc.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := req.Project + " " + req.Package + " " + req.Version; got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
		if len(req.Files) != 1 || req.Files[0].Name != "tool.bin" || req.Files[0].Size != 1 {
			t.Errorf("%s: files = %+v", tc.name, req.Files)
		}
	}
}

// listedSnap is a snapshot from a listing of the given files.
func listedSnap(files ...registry.PackageFile) snapshot {
	return snapshot{newest: newestByName(files), all: allByName(files)}
}

// probedSnap is a snapshot from the download route: name -> newest sha256.
func probedSnap(newest map[string]string) snapshot {
	s := snapshot{newest: map[string]remoteFile{}}
	for name, sha := range newest {
		s.newest[name] = remoteFile{found: true, sha256: sha}
	}
	return s
}

func TestSinceBefore(t *testing.T) {
	pf := func(id int64, sha string) registry.PackageFile {
		return registry.PackageFile{ID: id, FileName: "a", SHA256: sha}
	}
	nothing := probedSnap(nil) // a version that does not exist yet
	for _, tc := range []struct {
		name        string
		before, now snapshot
		want        string // `landed|- TWINS ["DIFFERENT"...]`
	}{
		{"new version, ours landed", nothing, listedSnap(pf(1, "ours")), "landed 1 []"},
		{"new version, another's landed", nothing, listedSnap(pf(1, "theirs")), `- 0 ["theirs"]`},
		{"new version, both landed", nothing, listedSnap(pf(1, "theirs"), pf(2, "ours")), `landed 1 ["theirs"]`},
		{"new version, two copies of ours", nothing, listedSnap(pf(1, "ours"), pf(2, "ours")), "landed 2 []"},
		{"nothing landed", nothing, listedSnap(), "- 0 []"},
		{"older different file was there (--allow-duplicate)", listedSnap(pf(1, "old")), listedSnap(pf(1, "old"), pf(2, "ours")), "landed 1 []"},
		{"ours was there, another's appeared", listedSnap(pf(1, "ours")), listedSnap(pf(1, "ours"), pf(2, "theirs")), `- 0 ["theirs"]`},
		{"ours was there, a copy appeared", listedSnap(pf(1, "ours")), listedSnap(pf(1, "ours"), pf(2, "ours")), "landed 1 []"},
		{"the same file was there twice before", listedSnap(pf(1, "old"), pf(2, "ours")), listedSnap(pf(1, "old"), pf(2, "ours")), "- 0 []"},
		// Only the newest file of a name is visible.
		{"probed: ours landed", nothing, probedSnap(map[string]string{"a": "ours"}), "landed 0 []"},
		{"probed: another's landed", nothing, probedSnap(map[string]string{"a": "theirs"}), `- 0 ["theirs"]`},
		{"probed: unchanged", probedSnap(map[string]string{"a": "old"}), probedSnap(map[string]string{"a": "old"}), "- 0 []"},
		{"probed: ours was there", probedSnap(map[string]string{"a": "ours"}), probedSnap(map[string]string{"a": "ours"}), "- 0 []"},
		{"probed: a new newest", probedSnap(map[string]string{"a": "old"}), probedSnap(map[string]string{"a": "theirs"}), `- 0 ["theirs"]`},
		{"listed, then hidden by the upload", listedSnap(), probedSnap(map[string]string{"a": "ours"}), "landed 0 []"},
		{"probed: sha256 not sent", nothing, probedSnap(map[string]string{"a": ""}), "- 0 []"},
		// A hidden version made visible: the older files were there but
		// not seen; only the newest counts.
		{"probed, then listed", probedSnap(map[string]string{"a": "old"}), listedSnap(pf(1, "older"), pf(2, "old"), pf(3, "ours")), "landed 0 []"},
	} {
		r := sinceBefore("a", "ours", tc.before, tc.now)
		landed := "-"
		if r.landed {
			landed = "landed"
		}
		var diff []string
		for _, d := range r.different {
			diff = append(diff, d.sha256)
		}
		if got := fmt.Sprintf("%s %d %q", landed, r.twins, diff); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestPostCheck(t *testing.T) {
	a := &File{Name: "a", SHA256: "a-ours", Path: "dist/a"}
	b := &File{Name: "b", SHA256: "b-ours", Path: "dist/b"}
	pf := func(id int64, name, sha string) registry.PackageFile {
		return registry.PackageFile{ID: id, FileName: name, SHA256: sha}
	}
	for _, tc := range []struct {
		name        string
		uploaded    map[string]bool
		before, now snapshot
		conflicts   string // name: other shas; GitLab serves
		copies      map[string]int
	}{
		{"alone", map[string]bool{"a": true, "b": true}, probedSnap(nil),
			listedSnap(pf(1, "a", "a-ours"), pf(2, "b", "b-ours")), "", nil},
		{"b skipped, alone", map[string]bool{"a": true}, listedSnap(pf(1, "b", "b-ours")),
			listedSnap(pf(1, "b", "b-ours"), pf(2, "a", "a-ours")), "", nil},
		{"another publisher's a landed first", map[string]bool{"a": true}, probedSnap(nil),
			listedSnap(pf(1, "a", "a-theirs"), pf(2, "a", "a-ours")), "a: [a-theirs] serves a-ours", nil},
		{"another publisher's a landed after", map[string]bool{"a": true}, probedSnap(nil),
			listedSnap(pf(1, "a", "a-ours"), pf(2, "a", "a-theirs")), "a: [a-theirs] serves a-theirs", nil},
		{"a different b appeared next to the skipped one", map[string]bool{"a": true}, listedSnap(pf(1, "b", "b-ours")),
			listedSnap(pf(1, "b", "b-ours"), pf(2, "a", "a-ours"), pf(3, "b", "b-theirs")), "b: [b-theirs] serves b-theirs", nil},
		{"--allow-duplicate over an older a", map[string]bool{"a": true}, listedSnap(pf(1, "a", "a-old")),
			listedSnap(pf(1, "a", "a-old"), pf(2, "a", "a-ours")), "", nil},
		{"an identical a from another publisher", map[string]bool{"a": true}, probedSnap(nil),
			listedSnap(pf(1, "a", "a-ours"), pf(2, "a", "a-ours")), "", map[string]int{"a": 2}},
		{"an identical copy of the skipped b", map[string]bool{"a": true}, listedSnap(pf(1, "b", "b-ours")),
			listedSnap(pf(1, "b", "b-ours"), pf(2, "a", "a-ours"), pf(3, "b", "b-ours")), "", map[string]int{"b": 2}},
		{"a found after a failed attempt: another publisher's copy", map[string]bool{"a": true}, probedSnap(nil),
			listedSnap(pf(1, "a", "a-ours")), "", nil},
		// Only the newest file of a name is visible (hidden versions,
		// deploy tokens): a newest file that is not this run's conflicts.
		{"probed: ours is served", map[string]bool{"a": true}, probedSnap(nil),
			probedSnap(map[string]string{"a": "a-ours"}), "", nil},
		{"probed: another's is served", map[string]bool{"a": true}, probedSnap(nil),
			probedSnap(map[string]string{"a": "a-theirs"}), "a: [a-theirs] serves a-theirs", nil},
		{"probed: the served file's sha256 is not sent", map[string]bool{"a": true}, probedSnap(nil),
			probedSnap(map[string]string{"a": ""}), "", nil},
		{"probed: the older file is served again", map[string]bool{"a": true}, probedSnap(map[string]string{"a": "a-old"}),
			probedSnap(map[string]string{"a": "a-old"}), "a: [a-old] serves a-old", nil},
	} {
		files := []*File{a}
		if tc.now.newest["b"].found {
			files = append(files, b)
		}
		conflicts, copies := postCheck(files, tc.uploaded, tc.before, tc.now)
		var got []string
		for _, c := range conflicts {
			var other []string
			for _, d := range c.raced.different {
				other = append(other, d.sha256)
			}
			got = append(got, fmt.Sprintf("%s: %v serves %s", c.f.Name, other, c.serves.sha256))
		}
		if g := strings.Join(got, "; "); g != tc.conflicts {
			t.Errorf("%s: conflicts %q, want %q", tc.name, g, tc.conflicts)
		}
		if !maps.Equal(copies, tc.copies) && len(copies)+len(tc.copies) > 0 {
			t.Errorf("%s: copies %v, want %v", tc.name, copies, tc.copies)
		}
	}
}
