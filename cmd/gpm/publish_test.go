package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpmtool/gpm/internal/registry"
	"github.com/gpmtool/gpm/internal/server"
)

func TestCheckPublishName(t *testing.T) {
	for _, tc := range []struct {
		name    string
		wantErr string // "" for valid
		warn    bool
	}{
		{"cli-tool-1.4.2-linux-amd64.tar.gz", "", false},
		{"a+b_c.d-e", "", false},
		{"README", "", false},
		{"tool~1.bin", "", true},
		{"tool@2x.png", "", true},
		{"~tool", `GitLab refuses "~" at the start or end`, false},
		{"tool@", `GitLab refuses "@" at the start or end`, false},
		{"my file", "GitLab allows only ASCII", false},
		{"naïve.txt", "GitLab allows only ASCII", false},
		{"a%2Fb", "GitLab allows only ASCII", false},
		{"a:b", "GitLab allows only ASCII", false},
		{"..", "invalid file name", false},
		{"", "invalid file name", false},
	} {
		warns, err := checkPublishName(tc.name)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("checkPublishName(%q) = %v, want ok", tc.name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("checkPublishName(%q) = %v, want error containing %q", tc.name, err, tc.wantErr)
		case (len(warns) > 0) != tc.warn:
			t.Errorf("checkPublishName(%q) warnings = %q, want warning %v", tc.name, warns, tc.warn)
		}
	}
}

func TestCheckPackageName(t *testing.T) {
	for name, ok := range map[string]bool{
		"cli-tool": true, "My.Tool+x_1": true, "a": true,
		"": false, ".": false, "..": false, "a/b": false, "a b": false, "tool~1": false, "tool@2": false,
		strings.Repeat("a", 255): true, strings.Repeat("a", 256): false,
	} {
		if err := checkPackageName(name); (err == nil) != ok {
			t.Errorf("checkPackageName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func TestCheckProjectArg(t *testing.T) {
	for p, ok := range map[string]bool{
		"12345": true, "acme/tools": true, "acme/sub/tools": true, "acme/my.project": true,
		"0": false, "012": false, "-1": false, "+1": false, "tools": false, "/acme": false,
		"acme/": false, "acme//x": false, "acme/../x": false, "acme/a b": false,
	} {
		if err := checkProjectArg(p); (err == nil) != ok {
			t.Errorf("checkProjectArg(%q) = %v, want ok=%v", p, err, ok)
		}
	}
}

func TestSizeWarning(t *testing.T) {
	if w := sizeWarning("a.bin", defaultMaxFileSize); w != "" {
		t.Errorf("sizeWarning at the limit = %q, want none", w)
	}
	w := sizeWarning("a.bin", defaultMaxFileSize+1)
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
		if got := consumerSnippet(tc.pkg, tc.project, tc.version); got != tc.want {
			t.Errorf("consumerSnippet(%q, %q, %q) =\n%s\nwant\n%s", tc.pkg, tc.project, tc.version, got, tc.want)
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

func TestBackoff(t *testing.T) {
	base := 10 * time.Millisecond
	for n, ceil := range map[int]time.Duration{1: 10 * time.Millisecond, 2: 20 * time.Millisecond, 3: 40 * time.Millisecond} {
		for range 20 {
			if d := backoff(base, n, errors.New("x")); d < ceil/2 || d > ceil {
				t.Fatalf("backoff(%v, %d) = %v, want in [%v, %v]", base, n, d, ceil/2, ceil)
			}
		}
	}
	if d := backoff(time.Second, 30, errors.New("x")); d > 30*time.Second {
		t.Errorf("backoff is not capped: %v", d)
	}
	ra := &registry.HTTPError{Status: 429, RetryAfter: 3 * time.Second}
	if d := backoff(base, 1, &registry.TransientError{Attempts: 1, Err: ra}); d != 3*time.Second {
		t.Errorf("backoff with Retry-After 3s = %v", d)
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
		flags   publishFlags
		want    string // project pkg version, or the error
		wantErr bool
	}{
		{"all from CI", ci, publishFlags{}, "42 tool v1.0.0", false},
		{"flags win", ci, publishFlags{project: "acme/x", pkg: "p", version: "2.0.0"}, "acme/x p 2.0.0", false},
		{"CI name only for the CI project", ci, publishFlags{project: "7"}, "no package name", true},
		{"CI name with --package", ci, publishFlags{project: "7", pkg: "p"}, "7 p v1.0.0", false},
		{"no tag", map[string]string{"CI_PROJECT_ID": "42", "CI_PROJECT_NAME": "tool"}, publishFlags{}, "no version to publish", true},
		{"outside CI", nil, publishFlags{pkg: "p", version: "1"}, "no project to publish to", true},
		{"bad CI name", map[string]string{"CI_PROJECT_ID": "42", "CI_PROJECT_NAME": "my tool", "CI_COMMIT_TAG": "1"}, publishFlags{}, `(from $CI_PROJECT_NAME)`, true},
	} {
		c := &cli{ctx: context.Background(), stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return tc.env[k] }}
		c.g.dir = dir
		req, err := c.publishRequest(tc.flags, []string{"tool.bin"})
		if tc.wantErr {
			if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err) != exitUsage {
				t.Errorf("%s: err = %v (exit %d), want usage error containing %q", tc.name, err, exitCode(err), tc.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := req.project + " " + req.pkg + " " + req.version; got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
		if len(req.files) != 1 || req.files[0].Name != "tool.bin" || req.files[0].Size != 1 {
			t.Errorf("%s: files = %+v", tc.name, req.files)
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
	a := &publishFile{Name: "a", SHA256: "a-ours", Path: "dist/a"}
	b := &publishFile{Name: "b", SHA256: "b-ours", Path: "dist/b"}
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
		files := []*publishFile{a}
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

// GitLab's file_sha256 in the answer to an upload must equal the local
// SHA-256: bytes changed on the way (here by a proxy that flips one) are an
// integrity failure, exit 4, naming both hashes.
func TestPublishComparesStoredSHA256(t *testing.T) {
	srv := server.New(server.Options{})
	if err := srv.AddProject(server.Project{ID: 1, Path: "acme/tools"}); err != nil {
		t.Fatal(err)
	}
	srv.AddUser("alice")
	srv.AddMember(1, "alice", server.Developer)
	srv.AddToken(server.Token{Value: "alice-token", User: "alice"})
	proxy := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			body, err := io.ReadAll(r.Body)
			if err != nil || len(body) == 0 {
				http.Error(w, "bad body", http.StatusBadRequest)
				return
			}
			body[0] ^= 0x20
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		srv.ServeHTTP(w, r)
	})
	hs := httptest.NewServer(proxy)
	defer hs.Close()

	const content = "the build\n"
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"tool.bin": content})
	p := runGPM(t, dir, hermeticEnv(t, hs.URL, filepath.Join(dir, "cache"), "GPM_TOKEN=alice-token"),
		"publish", "--project", "1", "--package", "tool", "--version", "1.0.0", "tool.bin")
	corrupted := "T" + content[1:]
	if p.code != exitIntegrity || !strings.Contains(p.stderr, "tool.bin: GitLab stored different bytes than were sent") ||
		!strings.Contains(p.stderr, "local:     sha256 "+sha256Hex(content)) || !strings.Contains(p.stderr, "published: sha256 "+sha256Hex(corrupted)) {
		t.Errorf("exit %d, want %d naming both SHA-256s; stderr:\n%s", p.code, exitIntegrity, p.stderr)
	}
	if strings.Contains(p.stderr, "published tool@1.0.0") {
		t.Errorf("the summary claims success:\n%s", p.stderr)
	}
}
