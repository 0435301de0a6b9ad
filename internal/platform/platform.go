// Package platform names the machines gpm installs for and expands the
// {os}, {arch}, {exe} and {version} placeholders of files globs.
//
// A platform is "OS-ARCH" in Go's names (runtime.GOOS, runtime.GOARCH):
// "linux-amd64", "darwin-arm64", "windows-amd64". The current platform is
// the running one unless GPM_PLATFORM (or gpm's global --platform, which
// the command layer passes the same way) names another, as when an image
// for another architecture is built.
package platform

import (
	"errors"
	"fmt"
	"path"
	"runtime"
	"slices"
	"strings"
)

// Env is the environment variable that overrides the current platform.
const Env = "GPM_PLATFORM"

// ErrInvalid is matched by errors about a platform name given on the command
// line or in the environment, and by a current platform that packages.toml
// does not cover: both are fixed by the user (exit 2).
var ErrInvalid = errors.New("invalid platform")

// OSes and Arches are Go's operating system and architecture names
// (`go tool dist list`), the names a platform is written with.
var (
	OSes = []string{
		"aix", "android", "darwin", "dragonfly", "freebsd", "illumos", "ios", "js",
		"linux", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows",
	}
	Arches = []string{
		"386", "amd64", "arm", "arm64", "loong64", "mips", "mips64", "mips64le",
		"mipsle", "ppc64", "ppc64le", "riscv64", "s390x", "wasm",
	}
)

// Default is the platform set of a manifest without [install] platforms:
// what teams of Mac, Linux and Windows machines run.
var Default = []string{"linux-amd64", "linux-arm64", "darwin-amd64", "darwin-arm64", "windows-amd64"}

// Platform is one OS and architecture.
type Platform struct {
	OS, Arch string
}

// String returns "OS-ARCH".
func (p Platform) String() string { return p.OS + "-" + p.Arch }

// Exe returns what {exe} expands to: ".exe" on Windows, else "".
func (p Platform) Exe() string {
	if p.OS == "windows" {
		return ".exe"
	}
	return ""
}

// Parse parses "OS-ARCH" with Go's names.
func Parse(s string) (Platform, error) {
	os, arch, ok := strings.Cut(s, "-")
	if !ok || os == "" || arch == "" {
		return Platform{}, fmt.Errorf("platform %q is not OS-ARCH in Go's names, as in %q", s, "linux-amd64")
	}
	if !slices.Contains(OSes, os) {
		return Platform{}, fmt.Errorf("platform %q: unknown operating system %q%s (Go's names: %s)", s, os, didYouMean(os, OSes), strings.Join(OSes, ", "))
	}
	if !slices.Contains(Arches, arch) {
		return Platform{}, fmt.Errorf("platform %q: unknown architecture %q%s (Go's names: %s)", s, arch, didYouMean(arch, Arches), strings.Join(Arches, ", "))
	}
	return Platform{OS: os, Arch: arch}, nil
}

// spellings maps names other tools use to Go's.
var spellings = map[string]string{
	"macos": "darwin", "osx": "darwin", "mac": "darwin", "win": "windows", "win32": "windows", "win64": "windows",
	"x86_64": "amd64", "x64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "i386": "386", "i686": "386", "x86": "386",
}

func didYouMean(s string, names []string) string {
	if g, ok := spellings[strings.ToLower(s)]; ok && slices.Contains(names, g) {
		return fmt.Sprintf("; did you mean %q?", g)
	}
	if l := strings.ToLower(s); l != s && slices.Contains(names, l) {
		return fmt.Sprintf("; did you mean %q?", l)
	}
	return ""
}

// Current returns the platform gpm installs for: $GPM_PLATFORM (read through
// getenv) when set, else the running one. An invalid $GPM_PLATFORM is an
// error matching ErrInvalid.
func Current(getenv func(string) string) (Platform, error) {
	if getenv != nil {
		if s := getenv(Env); s != "" {
			p, err := Parse(s)
			if err != nil {
				return Platform{}, &invalidError{msg: Env + ": " + err.Error()}
			}
			return p, nil
		}
	}
	return Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}, nil
}

type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

// Invalidf returns an error matching ErrInvalid.
func Invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// ValidGlob reports why g cannot be a package's platforms entry: a glob
// (path.Match syntax) of "OS-ARCH" that matches at least one platform made of
// Go's names.
func ValidGlob(g string) error {
	if g == "" {
		return errors.New("empty platform")
	}
	if _, err := path.Match(g, ""); err != nil {
		return fmt.Errorf("invalid platform glob %q: %v", g, err)
	}
	if !strings.ContainsAny(g, `*?[\`) {
		_, err := Parse(g)
		return err
	}
	for _, os := range OSes {
		for _, arch := range Arches {
			if ok, _ := path.Match(g, os+"-"+arch); ok {
				return nil
			}
		}
	}
	return fmt.Errorf("platform glob %q matches no OS-ARCH in Go's names, as in %q or %q", g, "linux-amd64", "linux-*")
}

// MatchAny reports whether platform p (as "OS-ARCH") matches one of globs.
func MatchAny(globs []string, p string) bool {
	for _, g := range globs {
		if ok, _ := path.Match(g, p); ok {
			return true
		}
	}
	return false
}

// Select returns the platforms of set that match globs, in set's order;
// all of set when globs is empty.
func Select(set, globs []string) []string {
	if len(globs) == 0 {
		return slices.Clone(set)
	}
	var out []string
	for _, p := range set {
		if MatchAny(globs, p) {
			out = append(out, p)
		}
	}
	return out
}
