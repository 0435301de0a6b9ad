package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpmtool/gpm/internal/registry"
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
