package main

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
)

// source describes the commit a release is built from.
type source struct {
	Commit string    // full commit hash
	Time   time.Time // commit time, the time of every archive entry
	Tag    string    // the newest v-semver tag reachable from the commit ("" if none)
	Exact  bool      // Tag names the commit itself
	Dirty  bool      // the work tree has uncommitted changes
}

// semverTag matches the tags gpm releases from: v1.2.3, v1.2.3-rc.1.
var semverTag = regexp.MustCompile(`^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?$`)

// version is the release version of s, as Go names module versions: the
// tag on a tagged commit, otherwise a pseudo-version that sorts after the
// newest reachable tag and before the next release (v1.2.4-0.20261201093000-abcdef123456
// after v1.2.3; v0.0.0-20261201093000-abcdef123456 before any tag). A dirty
// tree adds "+dirty", as go build does, so such a build never passes for a
// release.
func (s source) version() string {
	v := s.pseudo()
	if s.Dirty {
		v += "+dirty"
	}
	return v
}

func (s source) pseudo() string {
	if s.Commit == "" {
		return "devel"
	}
	if s.Exact && s.Tag != "" {
		return s.Tag
	}
	rev := s.Commit
	if len(rev) > 12 {
		rev = rev[:12]
	}
	ts := s.Time.UTC().Format("20060102150405")
	m := semverTag.FindStringSubmatch(s.Tag)
	if m == nil {
		return fmt.Sprintf("v0.0.0-%s-%s", ts, rev)
	}
	if m[4] != "" { // a prerelease: v1.2.3-rc.1 -> v1.2.3-rc.1.0.TS-REV
		return fmt.Sprintf("%s.0.%s-%s", s.Tag, ts, rev)
	}
	patch, _ := strconv.Atoi(m[3])
	return fmt.Sprintf("v%s.%s.%d-0.%s-%s", m[1], m[2], patch+1, ts, rev)
}

// newestTag is the highest semver release tag of tags ("" if none).
func newestTag(tags []string) string {
	var best *semver.Version
	name := ""
	for _, t := range tags {
		if !semverTag.MatchString(t) {
			continue
		}
		v, err := semver.StrictNewVersion(strings.TrimPrefix(t, "v"))
		if err != nil {
			continue
		}
		if best == nil || v.GreaterThan(best) {
			best, name = v, t
		}
	}
	return name
}

// readSource asks git about the commit checked out in dir.
func readSource(dir string) (source, error) {
	git := func(args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
				return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(ee.Stderr)))
			}
			return "", fmt.Errorf("git %s: %v", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out)), nil
	}
	var s source
	var err error
	if s.Commit, err = git("rev-parse", "HEAD"); err != nil {
		return s, err
	}
	ct, err := git("log", "-1", "--format=%ct", "HEAD")
	if err != nil {
		return s, err
	}
	sec, err := strconv.ParseInt(ct, 10, 64)
	if err != nil {
		return s, fmt.Errorf("commit time %q: %v", ct, err)
	}
	s.Time = time.Unix(sec, 0).UTC()
	// The newest release tag reachable from HEAD (merged tags of other
	// branches do not count); none is fine.
	if tags, err := git("tag", "--merged", "HEAD", "--list", "v*"); err == nil {
		s.Tag = newestTag(strings.Fields(tags))
	}
	if s.Tag != "" {
		if at, err := git("tag", "--points-at", "HEAD", "--list", "v*"); err == nil {
			for _, t := range strings.Fields(at) {
				if t == s.Tag {
					s.Exact = true
				}
			}
		}
	}
	status, err := git("status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return s, err
	}
	s.Dirty = status != ""
	return s, nil
}
