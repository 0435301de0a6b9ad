package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestVersion(t *testing.T) {
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	const c = "abcdef1234567890abcdef1234567890abcdef12"
	for _, tc := range []struct {
		name string
		s    source
		want string
	}{
		{"tagged", source{Commit: c, Time: at, Tag: "v1.2.3", Exact: true}, "v1.2.3"},
		{"tagged prerelease", source{Commit: c, Time: at, Tag: "v1.2.3-rc.1", Exact: true}, "v1.2.3-rc.1"},
		{"after a tag", source{Commit: c, Time: at, Tag: "v1.2.3"}, "v1.2.4-0.20261201093000-abcdef123456"},
		{"after a prerelease", source{Commit: c, Time: at, Tag: "v1.3.0-rc.1"}, "v1.3.0-rc.1.0.20261201093000-abcdef123456"},
		{"no tag", source{Commit: c, Time: at}, "v0.0.0-20261201093000-abcdef123456"},
		{"commit time in UTC", source{Commit: c, Time: at.In(time.FixedZone("X", 5*3600))}, "v0.0.0-20261201093000-abcdef123456"},
		{"dirty tag", source{Commit: c, Time: at, Tag: "v1.2.3", Exact: true, Dirty: true}, "v1.2.3+dirty"},
		{"not git", source{}, "devel"},
	} {
		if got := tc.s.version(); got != tc.want {
			t.Errorf("%s: version() = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestNewestTag(t *testing.T) {
	for _, tc := range []struct {
		tags []string
		want string
	}{
		{[]string{"v1.2.3", "v1.10.0", "v1.9.9"}, "v1.10.0"},
		{[]string{"v1.2.3-rc.1", "v1.2.3"}, "v1.2.3"},
		{[]string{"v1.2", "vnext", "v01.2.3"}, ""},
		{nil, ""},
	} {
		if got := newestTag(tc.tags); got != tc.want {
			t.Errorf("newestTag(%q) = %q, want %q", tc.tags, got, tc.want)
		}
	}
}

// TestReadSource runs git on a scratch repository: the pseudo-version
// between tags and the tag on a tagged commit.
func TestReadSource(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_DATE=2026-12-01T09:30:00Z", "GIT_COMMITTER_DATE=2026-12-01T09:30:00Z",
			"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid",
			"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	os.WriteFile(filepath.Join(dir, "f"), []byte("1"), 0o644)
	git("add", "f")
	git("commit", "-qm", "one")
	git("tag", "v1.2.3")
	s, err := readSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.version(); got != "v1.2.3" {
		t.Errorf("on the tag: %q", got)
	}
	os.WriteFile(filepath.Join(dir, "f"), []byte("2"), 0o644)
	if s, _ := readSource(dir); s.version() != "v1.2.3+dirty" {
		t.Errorf("dirty: %q", s.version())
	}
	git("commit", "-qam", "two")
	s, err = readSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1.2.4-0.20261201093000-" + s.Commit[:12]; s.version() != want {
		t.Errorf("after the tag: %q, want %q", s.version(), want)
	}
}

// TestArchivesFixed: entries carry the given time, owner 0, the given
// modes, in order, whatever the machine's umask, user or clock.
func TestArchivesFixed(t *testing.T) {
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	entries := []entry{{"d/gpm", 0o755, []byte("bin")}, {"d/LICENSE", 0o644, []byte("lic")}}
	a, err := tarGz("d", entries, at)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := tarGz("d", entries, at)
	if !bytes.Equal(a, b) {
		t.Fatal("tarGz differs between two runs")
	}
	zr, err := gzip.NewReader(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	if !zr.ModTime.IsZero() || zr.Name != "" {
		t.Errorf("gzip header has time %v name %q", zr.ModTime, zr.Name)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if !h.ModTime.Equal(at) || h.Uid != 0 || h.Gid != 0 || h.Uname != "" {
			t.Errorf("%s: time %v owner %d:%d %q", h.Name, h.ModTime, h.Uid, h.Gid, h.Uname)
		}
		if h.Name == "d/gpm" && h.Mode != 0o755 {
			t.Errorf("gpm mode %o", h.Mode)
		}
	}
	if got := names; len(got) != 3 || got[0] != "d/" || got[1] != "d/gpm" || got[2] != "d/LICENSE" {
		t.Errorf("entries %q", got)
	}

	z1, err := zipArchive("d", entries, at)
	if err != nil {
		t.Fatal(err)
	}
	z2, _ := zipArchive("d", entries, at)
	if !bytes.Equal(z1, z2) {
		t.Fatal("zipArchive differs between two runs")
	}
	zf, err := zip.NewReader(bytes.NewReader(z1), int64(len(z1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zf.File {
		if !f.Modified.Equal(at) {
			t.Errorf("zip %s: time %v", f.Name, f.Modified)
		}
	}
	if zf.File[1].Name != "d/gpm" || zf.File[1].Mode()&0o100 == 0 {
		t.Errorf("zip gpm entry %s mode %v", zf.File[1].Name, zf.File[1].Mode())
	}
}

func TestSumsFile(t *testing.T) {
	got := sumsFile(map[string]string{"b.zip": "22", "a.tar.gz": "11"})
	if want := "11  a.tar.gz\n22  b.zip\n"; got != want {
		t.Errorf("sumsFile = %q, want %q", got, want)
	}
}
