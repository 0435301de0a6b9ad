package fetch

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gpmtool/gpm/internal/manifest"
)

func TestExtractGood(t *testing.T) {
	e := newEnv(t)
	tgz := makeTar(t, true,
		ent{name: "./", typ: tar.TypeDir, mode: 0o755},
		ent{name: "./bin/", typ: tar.TypeDir, mode: 0o775},
		file0("./bin/tool", "#!/bin/sh\necho tool\n", 0o4775), // setuid, group write: dropped
		ent{name: "./bin/t", typ: tar.TypeSymlink, link: "tool"},
		ent{name: "./bin/tool2", typ: tar.TypeLink, link: "./bin/tool"},
		file0("share/doc/README", "read me", 0o666),
		ent{name: "lib/current", typ: tar.TypeSymlink, link: "../share/doc"},
		ent{name: "var/empty/", typ: tar.TypeDir, mode: 0o700},
		file0("readonly.txt", "ro", 0o444),
	)
	zipData := makeZip(t,
		ent{name: "app/", typ: '5', mode: 0o755},
		ent{name: "app/run.sh", typ: '0', body: "#!/bin/sh\n", mode: 0o755},
		ent{name: "app/data/x.txt", typ: '0', body: "x", mode: 0o644},
		ent{name: "app/link", typ: '2', link: "run.sh"},
	)
	p := e.pkg("bundle", "1.0.0", true,
		file{"bundle-linux.tar.gz", tgz}, file{"extras.zip", zipData}, f("notes.txt", "plain file"))
	e.mustInstall(p)

	equal(t, "vendor tree", tree(t, e.dir), []string{
		"bundle/", "bundle/app/", "bundle/app/data/", "bundle/app/data/x.txt", "bundle/app/link -> run.sh", "bundle/app/run.sh",
		"bundle/bin/", "bundle/bin/t -> tool", "bundle/bin/tool", "bundle/bin/tool2",
		"bundle/lib/", "bundle/lib/current -> ../share/doc",
		"bundle/notes.txt", "bundle/readonly.txt",
		"bundle/share/", "bundle/share/doc/", "bundle/share/doc/README",
		"bundle/var/", "bundle/var/empty/",
	})
	if runtime.GOOS != "windows" {
		for rel, want := range map[string]fs.FileMode{
			"bundle/bin/tool":         0o755,
			"bundle/bin":              0o755,
			"bundle/share/doc/README": 0o644,
			"bundle/app/run.sh":       0o755,
			"bundle/app/data/x.txt":   0o644,
			"bundle/readonly.txt":     0o444,
			"bundle/var/empty":        0o700,
		} {
			fi, err := os.Stat(filepath.Join(e.dir, rel))
			if err != nil {
				t.Error(err)
				continue
			}
			if got := fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky); got != want {
				t.Errorf("%s: mode %v, want %v", rel, got, want)
			}
		}
	}
	if s, _ := e.read("bundle/lib/current/README"); s != "read me" {
		t.Errorf("in-root directory symlink does not resolve: %q", s)
	}
	if s, _ := e.read("bundle/bin/tool2"); s != "#!/bin/sh\necho tool\n" {
		t.Errorf("hard link content %q", s)
	}
	if _, ok := e.read("bundle/bundle-linux.tar.gz"); ok {
		t.Errorf("the archive itself was placed")
	}

	// The state records every extracted path with its hash.
	st := readState(e.dir, t.Errorf).Packages["bundle"]
	byPath := st.byPath()
	if f := byPath["bin/tool"]; f == nil || f.SHA256 != sum([]byte("#!/bin/sh\necho tool\n")) || f.Mode != 0o755 {
		t.Errorf("state for bin/tool: %+v", f)
	}
	if f := byPath["bin/t"]; f == nil || f.Type != typeSymlink || f.Link != "tool" {
		t.Errorf("state for bin/t: %+v", f)
	}
	if f := byPath["var/empty"]; f == nil || f.Type != typeDir {
		t.Errorf("state for var/empty: %+v", f)
	}
	if _, err := verify(context.Background(), e.dir, lockOf(p), 0); err != nil {
		t.Errorf("verify: %v", err)
	}
	reads := filesRead.Load()
	if rep := e.mustInstall(p); rep.Changed() {
		t.Errorf("second install changed something: %+v", rep.Packages)
	}
	if n := filesRead.Load() - reads; n != 0 {
		t.Errorf("no-op install of an extracted package read %d files", n)
	}

	// An update prunes the old version's extracted files, keeps the user's.
	e.write("bundle/bin/mine", "user")
	p2 := e.pkg("bundle", "2.0.0", true, file{"bundle.tgz", makeTar(t, true, file0("bin/tool", "v2", 0o755))})
	e.mustInstall(p2)
	equal(t, "tree after update", tree(t, e.dir), []string{"bundle/", "bundle/bin/", "bundle/bin/mine", "bundle/bin/tool"})
}

func TestExtractHostile(t *testing.T) {
	abs := filepath.Join(t.TempDir(), "abs-evil")
	absName := filepath.ToSlash(abs)
	zeros := ent{name: "zeros", typ: tar.TypeReg, size: 16 << 20}
	cases := []struct {
		name       string
		archive    string // file name: decides the format
		data       func(t *testing.T) []byte
		maxExtract int64
		maxEntries int
		want       string // in the message
	}{
		{"tar slip", "x.tar", func(t *testing.T) []byte { return makeTar(t, false, file0("../evil", "x", 0)) }, 0, 0, `".." segment`},
		{"tgz nested slip", "x.tgz", func(t *testing.T) []byte { return makeTar(t, true, file0("a/../../evil", "x", 0)) }, 0, 0, `".." segment`},
		{"zip slip", "x.zip", func(t *testing.T) []byte { return makeZip(t, ent{name: "../evil", typ: '0', body: "x"}) }, 0, 0, `".." segment`},
		{"tar absolute", "x.tar", func(t *testing.T) []byte { return makeTar(t, false, file0(absName, "x", 0)) }, 0, 0, "absolute path"},
		{"zip absolute", "x.zip", func(t *testing.T) []byte { return makeZip(t, ent{name: absName, typ: '0', body: "x"}) }, 0, 0, "absolute path"},
		{"zip drive letter", "x.zip", func(t *testing.T) []byte { return makeZip(t, ent{name: "c:/evil", typ: '0', body: "x"}) }, 0, 0, "drive letter"},
		{"backslash", "x.tar", func(t *testing.T) []byte { return makeTar(t, false, file0(`a\..\..\evil`, "x", 0)) }, 0, 0, "backslash"},
		{"root as file", "x.tar", func(t *testing.T) []byte { return makeTar(t, false, file0(".", "x", 0)) }, 0, 0, "package directory itself"},
		{"symlink escape", "x.tar", func(t *testing.T) []byte {
			return makeTar(t, false, ent{name: "l", typ: tar.TypeSymlink, link: "../../evil"})
		}, 0, 0, "escapes the package directory"},
		{"symlink escape and back", "x.tar", func(t *testing.T) []byte {
			return makeTar(t, false, ent{name: "l", typ: tar.TypeSymlink, link: "../evil/x"})
		}, 0, 0, "escapes the package directory"},
		{"symlink absolute", "x.tgz", func(t *testing.T) []byte {
			return makeTar(t, true, ent{name: "l", typ: tar.TypeSymlink, link: abs})
		}, 0, 0, "is absolute"},
		{"zip symlink escape", "x.zip", func(t *testing.T) []byte { return makeZip(t, ent{name: "l", typ: '2', link: "../evil"}) }, 0, 0, "escapes"},
		{"write through symlink", "x.tar", func(t *testing.T) []byte {
			return makeTar(t, false, ent{name: "l", typ: tar.TypeSymlink, link: "."}, file0("l/evil", "x", 0))
		}, 0, 0, `parent "l" is a symlink`},
		{"symlink chain", "x.tar", func(t *testing.T) []byte {
			return makeTar(t, false, file0("c", "x", 0),
				ent{name: "b", typ: tar.TypeSymlink, link: "c"},
				ent{name: "a", typ: tar.TypeSymlink, link: "b"})
		}, 0, 0, `through another symlink "b"`},
		{"symlink chain through dir link", "x.tar", func(t *testing.T) []byte {
			return makeTar(t, false,
				ent{name: "d", typ: tar.TypeSymlink, link: "."},
				ent{name: "sub/e", typ: tar.TypeSymlink, link: "../d/../x"})
		}, 0, 0, `through another symlink "d"`},
		{"symlink inside symlinked dir", "x.tar", func(t *testing.T) []byte {
			return makeTar(t, false,
				ent{name: "d", typ: tar.TypeSymlink, link: "real"},
				ent{name: "d/e", typ: tar.TypeSymlink, link: "x"})
		}, 0, 0, `parent "d" is a symlink`},
		{"hardlink escape", "x.tar", func(t *testing.T) []byte {
			return makeTar(t, false, ent{name: "h", typ: tar.TypeLink, link: "../evil"})
		}, 0, 0, "hard link target"},
		{"hardlink to missing", "x.tar", func(t *testing.T) []byte {
			return makeTar(t, false, ent{name: "h", typ: tar.TypeLink, link: "nothere"})
		}, 0, 0, "not an earlier file"},
		{"hardlink to symlink", "x.tar", func(t *testing.T) []byte {
			return makeTar(t, false, ent{name: "s", typ: tar.TypeSymlink, link: "x"}, ent{name: "h", typ: tar.TypeLink, link: "s"})
		}, 0, 0, "not an earlier file"},
		{"char device", "x.tar", func(t *testing.T) []byte { return makeTar(t, false, ent{name: "dev", typ: tar.TypeChar}) }, 0, 0, "device"},
		{"block device", "x.tar", func(t *testing.T) []byte { return makeTar(t, false, ent{name: "dev", typ: tar.TypeBlock}) }, 0, 0, "device"},
		{"fifo", "x.tar", func(t *testing.T) []byte { return makeTar(t, false, ent{name: "p", typ: tar.TypeFifo}) }, 0, 0, "fifo"},
		{"zip device", "x.zip", func(t *testing.T) []byte {
			return makeZip(t, ent{name: "dev", typ: '0', mode: int64(fs.ModeDevice | fs.ModeCharDevice | 0o644)})
		}, 0, 0, "device"},
		{"duplicate file", "x.tar", func(t *testing.T) []byte { return makeTar(t, false, file0("a", "1", 0), file0("./a", "2", 0)) }, 0, 0, "duplicate entry"},
		{"file then dir", "x.tar", func(t *testing.T) []byte {
			return makeTar(t, false, file0("a", "1", 0), ent{name: "a/", typ: tar.TypeDir})
		}, 0, 0, "already a file"},
		{"file below file", "x.zip", func(t *testing.T) []byte {
			return makeZip(t, ent{name: "a", typ: '0', body: "1"}, ent{name: "a/b", typ: '0', body: "2"})
		}, 0, 0, `parent "a" is a file`},
		{"gzip bomb", "x.tar.gz", func(t *testing.T) []byte { return makeTar(t, true, zeros) }, 0, 0, "expands more than 1000 times"},
		{"zip bomb", "x.zip", func(t *testing.T) []byte { return makeZip(t, zeros) }, 0, 0, "expands more than 1000 times"},
		{"size limit", "x.tar", func(t *testing.T) []byte { return makeTar(t, false, file0("big", strings.Repeat("x", 2000), 0)) }, 1000, 0, "exceeds the limit of 1000 bytes"},
		{"entry limit", "x.tar", func(t *testing.T) []byte {
			return makeTar(t, false, file0("a", "", 0), file0("b", "", 0), file0("c", "", 0))
		}, 0, 2, "more than 2 entries"},
		{"directories made for one entry count", "x.tgz", func(t *testing.T) []byte {
			return makeTar(t, true, file0(strings.Repeat("d/", 20)+"f", "x", 0))
		}, 0, 10, "more than 10 entries"},
		{"name too long to open whole", "x.tgz", func(t *testing.T) []byte {
			return makeTar(t, true, file0(strings.Repeat("d/", 600)+"f", "x", 0))
		}, 0, 0, "longer than 1024 bytes"},
		{"segment too long", "x.tar", func(t *testing.T) []byte { return makeTar(t, false, file0(strings.Repeat("x", 256), "x", 0)) }, 0, 0, "longer than 255 bytes"},
		{"corrupt gzip", "x.tgz", func(t *testing.T) []byte { return []byte("not gzip at all") }, 0, 0, "cannot read gzip data"},
		{"corrupt zip", "x.zip", func(t *testing.T) []byte { return []byte("PK\x03\x04 broken") }, 0, 0, "cannot read"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			good := e.pkg("good", "1.0.0", false, f("good", "fine"))
			evil := e.pkg("evil", "6.6.6", true, file{tc.archive, tc.data(t)}, f("zzz-plain", "plain"))
			o := e.opts()
			o.MaxExtract, o.MaxEntries = tc.maxExtract, tc.maxEntries
			_, err := install(context.Background(), lockOf(good, evil), o)
			if !errors.Is(err, ErrUnsafeArchive) {
				t.Fatalf("err = %v, want ErrUnsafeArchive", err)
			}
			var pe *PackageError
			if !errors.As(err, &pe) || pe.Name != "evil" {
				t.Errorf("err = %v, want a PackageError for evil", err)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.archive) {
				t.Errorf("message %q lacks %q or the archive name", err, tc.want)
			}
			// Nothing placed, nothing written outside.
			equal(t, "vendor tree", tree(t, e.dir), nil)
			project := filepath.Dir(e.dir)
			equal(t, "project dir", tree(t, project), []string{"vendor/", "vendor/.gpm/", "vendor/.gpm/.gitignore", "vendor/.gpm/lock"})
			if _, err := os.Lstat(abs); err == nil {
				t.Errorf("%s was created", abs)
			}
			e.assertNoTemps()
		})
	}
}

// A hard link the file system refuses (one with no hard links, or a file
// at its link limit: 65,000 on ext4) becomes a copy, and copies count
// against the size limit as extracted data does: 5 links to 2,000 bytes
// are not 12,000 bytes under a limit of 5,000.
func TestExtractHardLinkCopiesCount(t *testing.T) {
	old := linkEntry
	linkEntry = func(*os.Root, string, string) error { return errors.New("too many links") }
	t.Cleanup(func() { linkEntry = old })
	ents := []ent{file0("f", strings.Repeat("x", 2000), 0o644)}
	for i := range 5 {
		ents = append(ents, ent{name: fmt.Sprint("l", i), typ: tar.TypeLink, link: "f"})
	}
	e := newEnv(t)
	p := e.pkg("p", "1.0.0", true, file{"x.tar", makeTar(t, false, ents...)})
	o := e.opts()
	o.MaxExtract = 5000
	_, err := install(context.Background(), lockOf(p), o)
	if !errors.Is(err, ErrUnsafeArchive) || !strings.Contains(err.Error(), "exceeds the limit of 5000 bytes") {
		t.Fatalf("err = %v, want the size limit", err)
	}
	equal(t, "vendor tree", tree(t, e.dir), nil)
	e.assertNoTemps()

	// Under the limit, the copies are placed and verify.
	o.MaxExtract = 0
	if _, err := install(context.Background(), lockOf(p), o); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if b, err := os.ReadFile(filepath.Join(e.dir, "p", fmt.Sprint("l", i))); err != nil || len(b) != 2000 {
			t.Errorf("l%d: %d bytes, %v", i, len(b), err)
		}
	}
}

func TestEntryPath(t *testing.T) {
	for raw, want := range map[string]string{
		strings.Repeat("d/", 511) + "f": strings.Repeat("d/", 511) + "f", // 1,023 bytes
		strings.Repeat("x", 255):        strings.Repeat("x", 255),
		"a":                             "a",
		"./a":                           "a",
		"././a/":                        "a",
		"a/b/":                          "a/b",
		"./":                            ".",
		".":                             ".",
		"":                              ".",
		"a/b.txt":                       "a/b.txt",
		"..a":                           "..a",
		"a..":                           "a..",
	} {
		got, err := entryPath(raw)
		if err != nil || got != want {
			t.Errorf("entryPath(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for _, raw := range []string{"/a", "../a", "a/..", "a/../b", "a//b", "a/./b", `a\b`, "a\x00b", "a\nb", "C:/x", "c:x",
		strings.Repeat("d/", 512) + "f", strings.Repeat("x", 256)} {
		if got, err := entryPath(raw); err == nil {
			t.Errorf("entryPath(%q) = %q, want an error", raw, got)
		}
	}
}

func TestWalkTarget(t *testing.T) {
	cases := []struct {
		dir, target string
		walk        []string
		ok          bool
	}{
		{".", "a", []string{"a"}, true},
		{"bin", "../lib/x", []string{".", "lib", "lib/x"}, true},
		{"bin", "./tool", []string{"bin/tool"}, true},
		{".", "../x", nil, false},
		{"a", "../../x", nil, false},
		{"a", "../b/../../x", nil, false},
		{".", "a/../../x", nil, false},
	}
	for _, c := range cases {
		walk, ok := walkTarget(c.dir, c.target)
		if ok != c.ok || !equalStrings(walk, c.walk) {
			t.Errorf("walkTarget(%q, %q) = %q, %v; want %q, %v", c.dir, c.target, walk, ok, c.walk, c.ok)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestExtractNonArchiveWarns(t *testing.T) {
	e := newEnv(t)
	p := e.pkg("x", "1.0.0", true, f("data.tar.xz", "xz data"), f("plain.bin", "bin"))
	e.mustInstall(p)
	if s, _ := e.read("x/data.tar.xz"); s != "xz data" {
		t.Errorf("unsupported archive not placed as a file")
	}
	if len(e.warnings) != 1 || !strings.Contains(e.warnings[0], "not a format gpm unpacks") {
		t.Errorf("warnings = %q", e.warnings)
	}
}

func TestExtractConflictBetweenArchiveAndFile(t *testing.T) {
	e := newEnv(t)
	p := e.pkg("x", "1.0.0", true, file{"a.tar", makeTar(t, false, file0("readme", "from archive", 0))}, f("readme", "plain"))
	_, err := install(context.Background(), lockOf(p), e.opts())
	if err == nil || !strings.Contains(err.Error(), "duplicate entry") {
		t.Fatalf("err = %v, want a duplicate entry", err)
	}
	var pe *PackageError
	if !errors.As(err, &pe) {
		t.Errorf("not a PackageError: %v", err)
	}
}

// TestArchiveKindAgreesWithManifest pins manifest.Unpacks, which gpm add
// and gpm publish's snippet use to write extract = true, to the names
// extraction unpacks.
func TestArchiveKindAgreesWithManifest(t *testing.T) {
	for _, n := range []string{"a.tar.gz", "A.TGZ", "a.tar", "a.zip", "a.Zip", "a.tar.xz", "a.gz", "a.7z", "tar", "a.zip.sha256", "zip"} {
		if got, want := manifest.Unpacks(n), archiveKind(n) != ""; got != want {
			t.Errorf("manifest.Unpacks(%q) = %v, archiveKind = %q", n, got, archiveKind(n))
		}
	}
}

func TestStripPath(t *testing.T) {
	for _, tc := range []struct {
		p    string
		n    int
		want string
		ok   bool
	}{
		{"a/b/c", 0, "a/b/c", true},
		{"a/b/c", 1, "b/c", true},
		{"a/b/c", 2, "c", true},
		{"a/b/c", 3, "", false},
		{"a", 1, "", false},
		{"a/b", 5, "", false},
	} {
		if got, ok := stripPath(tc.p, tc.n); got != tc.want || ok != tc.ok {
			t.Errorf("stripPath(%q, %d) = %q, %v; want %q, %v", tc.p, tc.n, got, ok, tc.want, tc.ok)
		}
	}
}

func TestExtractStrip(t *testing.T) {
	e := newEnv(t)
	tgz := makeTar(t, true,
		ent{name: "./", typ: tar.TypeDir, mode: 0o755},
		ent{name: "./tool-1.0.0/", typ: tar.TypeDir, mode: 0o755},
		file0("./tool-1.0.0/bin/tool", "#!/bin/sh\necho tool\n", 0o755),
		ent{name: "tool-1.0.0/bin/t", typ: tar.TypeSymlink, link: "tool"},
		ent{name: "tool-1.0.0/bin/tool2", typ: tar.TypeLink, link: "tool-1.0.0/bin/tool"},
		ent{name: "tool-1.0.0/lib", typ: tar.TypeSymlink, link: "bin"}, // stripped, still inside
		file0("README", "top-level file: skipped", 0o644),
	)
	zipData := makeZip(t,
		ent{name: "other-1.0.0/share/doc.txt", typ: '0', body: "doc", mode: 0o644},
		ent{name: "LICENSE", typ: '0', body: "skipped", mode: 0o644},
	)
	p := e.pkg("tool", "1.0.0", true, file{"tool-1.0.0.tar.gz", tgz}, file{"extras.zip", zipData}, f("notes.txt", "plain file"))
	p.Strip = 1
	e.mustInstall(p)
	equal(t, "vendor tree", tree(t, e.dir), []string{
		"tool/", "tool/bin/", "tool/bin/t -> tool", "tool/bin/tool", "tool/bin/tool2",
		"tool/lib -> bin", "tool/notes.txt", "tool/share/", "tool/share/doc.txt",
	})
	if s, _ := e.read("tool/bin/tool2"); s != "#!/bin/sh\necho tool\n" {
		t.Errorf("hard link content %q", s)
	}
	if rep := e.mustInstall(p); rep.Changed() {
		t.Errorf("second install changed something: %+v", rep.Packages)
	}
	// Another strip is another installed tree.
	p.Strip = 2
	e.mustInstall(p)
	equal(t, "tree with strip = 2", tree(t, e.dir), []string{
		"tool/", "tool/doc.txt", "tool/notes.txt", "tool/t -> tool", "tool/tool", "tool/tool2",
	})
}

func TestExtractStripHostile(t *testing.T) {
	cases := []struct {
		name  string
		strip int
		ents  []ent
		want  string
	}{
		{"two entries land on one path", 1, []ent{file0("a-1/bin/tool", "x", 0o755), file0("a-2/bin/tool", "y", 0o755)},
			`duplicate entry (after strip = 1, as "bin/tool")`},
		{"file over a stripped directory", 1, []ent{file0("a/x/y", "x", 0o644), file0("b/x", "y", 0o644)},
			`(after strip = 1, as "x")`},
		{"symlink escapes from its stripped place", 1, []ent{ent{name: "top/l", typ: tar.TypeSymlink, link: "../evil"}},
			"escapes the package directory"},
		{"hard link to a skipped entry", 1, []ent{file0("top", "x", 0o644), ent{name: "d/l", typ: tar.TypeLink, link: "top"}},
			"skipped by strip = 1"},
		{"slip is still refused", 1, []ent{file0("a/../../evil", "x", 0)}, `".." segment`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p := e.pkg("pkg", "1.0.0", true, file{"x.tar", makeTar(t, false, tc.ents...)})
			p.Strip = tc.strip
			_, err := e.install(p)
			if !errors.Is(err, ErrUnsafeArchive) {
				t.Fatalf("err = %v, want ErrUnsafeArchive", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
			if _, ok := e.read("pkg"); ok {
				t.Errorf("something was placed")
			}
		})
	}
}
