package resolve

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/lock"
	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/registry"
	"github.com/gpmtool/gpm/internal/version"
)

const project = "12345"

func mpkg(t testing.TB, name, constraint string, globs ...string) manifest.Package {
	t.Helper()
	c, err := version.ParseConstraint(constraint)
	if err != nil {
		t.Fatal(err)
	}
	return manifest.Package{Name: name, Project: project, Package: name, Version: constraint, Constraint: c, Files: globs}
}

func row(id int64, name, ver string) registry.Package {
	return registry.Package{ID: id, Name: name, Version: ver, CreatedAt: time.Unix(1_700_000_000+id, 0)}
}

func rowS(id int64, name, ver, status string) registry.Package {
	p := row(id, name, ver)
	p.Status = status
	return p
}

func pf(id int64, name string) registry.PackageFile {
	return registry.PackageFile{ID: id, FileName: name, Size: int64(len(name)), SHA256: hexOf(name)}
}

// resolveOne resolves a single entry and returns its lock entry, error and
// warnings.
func resolveOne(t testing.TB, src Source, p manifest.Package) (lock.Package, error, []string) {
	t.Helper()
	var warns []string
	got, err := Resolve(context.Background(), []Request{{Pkg: p, Source: src}}, Options{Jobs: 4, Warnf: func(f string, a ...any) {
		warns = append(warns, fmt.Sprintf(f, a...))
	}})
	if err != nil {
		return lock.Package{}, err, warns
	}
	if len(got) != 1 {
		t.Fatalf("Resolve returned %d entries for 1 request", len(got))
	}
	return got[0], nil, warns
}

func TestResolveVersionChoice(t *testing.T) {
	tests := []struct {
		name       string
		pkg        string // registry name asked for; default "cli-tool"
		constraint string
		rows       []registry.Package
		wantVer    string
		wantID     int64
	}{
		{
			name:       "highest match",
			constraint: "^1.2",
			rows:       []registry.Package{row(1, "cli-tool", "1.2.0"), row(2, "cli-tool", "1.4.2"), row(3, "cli-tool", "1.3.0"), row(4, "cli-tool", "2.0.0"), row(5, "cli-tool", "1.1.9")},
			wantVer:    "1.4.2", wantID: 2,
		},
		{
			name:       "string-sorted API order: 1.10.0 beats 1.9.0",
			constraint: "^1",
			rows:       []registry.Package{row(10, "cli-tool", "1.10.0"), row(11, "cli-tool", "1.2.0"), row(12, "cli-tool", "1.9.0")},
			wantVer:    "1.10.0", wantID: 10,
		},
		{
			name:       "scrambled API order",
			constraint: "~1.9",
			rows:       []registry.Package{row(7, "cli-tool", "1.9.3"), row(3, "cli-tool", "1.10.0"), row(9, "cli-tool", "1.9.10"), row(1, "cli-tool", "1.9.9")},
			wantVer:    "1.9.10", wantID: 9,
		},
		{
			name:       "prereleases excluded by a plain range",
			constraint: "^1.2",
			rows:       []registry.Package{row(1, "cli-tool", "1.4.2"), row(2, "cli-tool", "1.5.0-rc.1")},
			wantVer:    "1.4.2", wantID: 1,
		},
		{
			name:       "prereleases excluded by *",
			constraint: "*",
			rows:       []registry.Package{row(1, "cli-tool", "1.4.2"), row(2, "cli-tool", "2.0.0-beta.1")},
			wantVer:    "1.4.2", wantID: 1,
		},
		{
			name:       "prerelease when the constraint names one",
			constraint: ">=1.5.0-0",
			rows:       []registry.Package{row(1, "cli-tool", "1.4.2"), row(2, "cli-tool", "1.5.0-rc.1"), row(3, "cli-tool", "1.5.0-beta.2")},
			wantVer:    "1.5.0-rc.1", wantID: 2,
		},
		{
			name:       "release beats its prereleases",
			constraint: "^1.5.0-rc.1",
			rows:       []registry.Package{row(1, "cli-tool", "1.5.0-rc.2"), row(2, "cli-tool", "1.5.0"), row(3, "cli-tool", "1.5.0-rc.1")},
			wantVer:    "1.5.0", wantID: 2,
		},
		{
			name:       "v prefix compares as semver and is kept raw",
			constraint: "^1",
			rows:       []registry.Package{row(1, "cli-tool", "v1.3.0"), row(2, "cli-tool", "v1.4.2"), row(3, "cli-tool", "1.4.1")},
			wantVer:    "v1.4.2", wantID: 2,
		},
		{
			name:       "exact pin of a non-semver version",
			constraint: "=2024.06-b3",
			rows:       []registry.Package{row(1, "cli-tool", "2024.05"), row(2, "cli-tool", "2024.06-b3"), row(3, "cli-tool", "3.0.0")},
			wantVer:    "2024.06-b3", wantID: 2,
		},
		{
			name:       "exact semver pin matches a v spelling",
			constraint: "=1.2.0",
			rows:       []registry.Package{row(1, "cli-tool", "v1.2.0"), row(2, "cli-tool", "1.3.0")},
			wantVer:    "v1.2.0", wantID: 1,
		},
		{
			name:       "exact pin prefers its own spelling",
			constraint: "=1.2.0",
			rows:       []registry.Package{row(9, "cli-tool", "v1.2.0"), row(4, "cli-tool", "1.2.0")},
			wantVer:    "1.2.0", wantID: 4,
		},
		{
			name:       "non-semver versions ignored by ranges",
			constraint: "*",
			rows:       []registry.Package{row(1, "cli-tool", "latest"), row(2, "cli-tool", "0.1.0"), row(3, "cli-tool", "2024.06-b3"), row(4, "cli-tool", "1.2"), row(5, "cli-tool", "deadbeef")},
			wantVer:    "0.1.0", wantID: 2,
		},
		{
			name:       "fuzzy names from the server are filtered",
			constraint: "*",
			rows: []registry.Package{
				row(1, "cli-tool-extra", "9.0.0"), row(2, "CLI-TOOL", "8.0.0"), row(3, "libcli-tool", "7.0.0"),
				row(4, "cli-tool", "1.0.0"), row(5, "Cli-Tool", "6.0.0"),
			},
			wantVer: "1.0.0", wantID: 4,
		},
		{
			name:       "undownloadable statuses are skipped, deprecated is kept",
			constraint: "*",
			rows: []registry.Package{
				rowS(1, "cli-tool", "2.0.0", "error"), rowS(2, "cli-tool", "1.9.0", "hidden"), rowS(3, "cli-tool", "1.8.0", "processing"),
				rowS(4, "cli-tool", "1.7.0", "pending_destruction"), rowS(5, "cli-tool", "1.6.0", "deprecated"), rowS(6, "cli-tool", "1.5.0", "default"),
			},
			wantVer: "1.6.0", wantID: 5,
		},
		{
			name:       "other package types are skipped",
			constraint: "*",
			rows:       []registry.Package{{ID: 1, Name: "cli-tool", Version: "3.0.0", PackageType: "npm"}, row(2, "cli-tool", "1.0.0")},
			wantVer:    "1.0.0", wantID: 2,
		},
		{
			name:       "same version twice: the newest package wins",
			constraint: "^1",
			rows:       []registry.Package{row(12, "cli-tool", "1.4.2"), row(7, "cli-tool", "1.4.2"), row(30, "cli-tool", "1.3.0")},
			wantVer:    "1.4.2", wantID: 12,
		},
		{
			name:       "same version twice, one in error: the downloadable one",
			constraint: "^1",
			rows:       []registry.Package{row(7, "cli-tool", "1.4.2"), rowS(12, "cli-tool", "1.4.2", "error")},
			wantVer:    "1.4.2", wantID: 7,
		},
		{
			name:       "case-sensitive name",
			pkg:        "MyTool",
			constraint: "*",
			rows:       []registry.Package{row(1, "mytool", "2.0.0"), row(2, "MyTool", "1.0.0")},
			wantVer:    "1.0.0", wantID: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := tt.pkg
			if name == "" {
				name = "cli-tool"
			}
			src := newFake()
			for _, r := range tt.rows {
				src.add(r, pf(r.ID*100, "tool-"+r.Version+".tar.gz"))
			}
			got, err, warns := resolveOne(t, src, mpkg(t, name, tt.constraint))
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if got.Version != tt.wantVer || got.PackageID != tt.wantID {
				t.Errorf("got %s (package id %d), want %s (package id %d)", got.Version, got.PackageID, tt.wantVer, tt.wantID)
			}
			want := []lock.FileEntry{{Name: "tool-" + tt.wantVer + ".tar.gz", Size: int64(len("tool-" + tt.wantVer + ".tar.gz")), SHA256: hexOf("tool-" + tt.wantVer + ".tar.gz"), FileID: tt.wantID * 100}}
			if !reflect.DeepEqual(got.Files, want) {
				t.Errorf("files = %+v, want %+v", got.Files, want)
			}
			if len(warns) != 0 {
				t.Errorf("unexpected warnings: %q", warns)
			}
			if n, m := src.count("list:"), src.count("files:"); n != 1 || m != 1 {
				t.Errorf("listing calls: %d package lists and %d file lists, want 1 and 1", n, m)
			}
			if n := src.count("files:" + fmt.Sprint(tt.wantID)); n != 1 {
				t.Errorf("files of package %d listed %d times, want 1", tt.wantID, n)
			}
		})
	}
}

func TestResolveRecordsEntry(t *testing.T) {
	src := newFake().add(row(42, "cli-tool", "v1.4.2"), pf(225, "b.tar.gz"), pf(226, "a.zip"))
	p := mpkg(t, "local", "^1.2", "*.tar.gz", "*.zip")
	p.Package = "cli-tool"
	p.Registry = "partner"
	p.Extract = true
	got, err, _ := resolveOne(t, src, p)
	if err != nil {
		t.Fatal(err)
	}
	want := lock.Package{
		Name: "local", Registry: "partner", Project: project, Package: "cli-tool",
		Version: "v1.4.2", Constraint: "^1.2", Globs: []string{"*.tar.gz", "*.zip"}, Extract: true, PackageID: 42,
		Files: []lock.FileEntry{
			{Name: "a.zip", Size: 5, SHA256: hexOf("a.zip"), FileID: 226},
			{Name: "b.tar.gz", Size: 8, SHA256: hexOf("b.tar.gz"), FileID: 225},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	// The lock's globs must not alias the manifest's.
	p.Files[0] = "changed"
	if got.Globs[0] != "*.tar.gz" {
		t.Error("lock entry shares the manifest's files slice")
	}
}

func TestResolveFiles(t *testing.T) {
	tests := []struct {
		name      string
		files     []registry.PackageFile
		globs     []string
		want      []string // locked file names, in order
		wantIDs   []int64
		wantWarns []string
		wantErr   []string // substrings of the error; nil means success
		wantHints []string // substrings of some hint
	}{
		{
			name:  "no globs: every file, sorted",
			files: []registry.PackageFile{pf(3, "z.txt"), pf(1, "a.tar.gz"), pf(2, "linux/m.bin")},
			want:  []string{"a.tar.gz", "linux/m.bin", "z.txt"}, wantIDs: []int64{1, 2, 3},
		},
		{
			name:  "globs select, overlapping globs select once",
			files: []registry.PackageFile{pf(1, "cli-1.4.2-linux-amd64.tar.gz"), pf(2, "cli-1.4.2-darwin-arm64.tar.gz"), pf(3, "cli-1.4.2-linux-arm64.tar.gz"), pf(4, "SHA256SUMS")},
			globs: []string{"cli-*-linux-*.tar.gz", "*-linux-amd64.tar.gz", "SHA256SUMS"},
			want:  []string{"SHA256SUMS", "cli-1.4.2-linux-amd64.tar.gz", "cli-1.4.2-linux-arm64.tar.gz"}, wantIDs: []int64{4, 1, 3},
		},
		{
			name:  "globs and directory paths: * does not cross /",
			files: []registry.PackageFile{pf(1, "linux/amd64/tool.tar.gz"), pf(2, "darwin/tool.tar.gz"), pf(3, "README.md"), pf(4, "docs/README.md")},
			globs: []string{"linux/*/*.tar.gz", "*.md"},
			want:  []string{"README.md", "linux/amd64/tool.tar.gz"}, wantIDs: []int64{3, 1},
		},
		{
			name:  "duplicate uploads: the newest is locked, with a warning",
			files: []registry.PackageFile{pf(230, "x.tar.gz"), pf(225, "x.tar.gz"), pf(226, "y.zip"), pf(228, "x.tar.gz")},
			want:  []string{"x.tar.gz", "y.zip"}, wantIDs: []int64{230, 226},
			wantWarns: []string{`cli-tool@1.4.2: "x.tar.gz" was uploaded 3 times; locking the newest (file id 230), which is what GitLab serves`},
		},
		{
			name:  "duplicates outside the globs are not warned about",
			files: []registry.PackageFile{pf(1, "x.tar.gz"), pf(2, "x.tar.gz"), pf(3, "y.zip")},
			globs: []string{"*.zip"},
			want:  []string{"y.zip"}, wantIDs: []int64{3},
		},
		{
			name:      "a glob matching nothing lists what exists",
			files:     []registry.PackageFile{pf(1, "cli-linux.tar.gz"), pf(2, "cli-darwin.tar.gz")},
			globs:     []string{"cli-linux.tar.gz", "*-windows.zip"},
			wantErr:   []string{`cli-tool@1.4.2: files glob "*-windows.zip" matches no file; its 2 files are: "cli-darwin.tar.gz", "cli-linux.tar.gz"`},
			wantHints: []string{"change files in [packages.cli-tool] to match"},
		},
		{
			name:    "several globs matching nothing",
			files:   []registry.PackageFile{pf(1, "a.bin")},
			globs:   []string{"*.zip", "a.bin", "*.tgz"},
			wantErr: []string{`files globs "*.zip", "*.tgz" match no file; its 1 file is: "a.bin"`},
		},
		{
			name:      "a glob that would need * to cross / gets a suggestion",
			files:     []registry.PackageFile{pf(1, "linux/amd64/tool.tar.gz"), pf(2, "notes.txt")},
			globs:     []string{"*.tar.gz"},
			wantErr:   []string{`files glob "*.tar.gz" matches no file`, `"linux/amd64/tool.tar.gz"`},
			wantHints: []string{`write "*/*/*.tar.gz" instead of "*.tar.gz"`},
		},
		{
			name:    "the listed names are capped",
			files:   manyFiles(25),
			globs:   []string{"*.exe"},
			wantErr: []string{`the first 20 of its 25 files: "f00.bin", `, `"f19.bin"`},
		},
		{
			name:      "a version without files",
			files:     nil,
			wantErr:   []string{"cli-tool@1.4.2: the version has no files"},
			wantHints: []string{"pin another version"},
		},
		{
			name:    "an invalid glob",
			files:   []registry.PackageFile{pf(1, "a.bin")},
			globs:   []string{"[a-"},
			wantErr: []string{`cli-tool@1.4.2: invalid files glob "[a-": syntax error in pattern`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newFake().add(row(42, "cli-tool", "1.4.2"), tt.files...)
			got, err, warns := resolveOne(t, src, mpkg(t, "cli-tool", "^1", tt.globs...))
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("no error; locked %+v", got.Files)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q\ndoes not contain %q", err, s)
					}
				}
				if strings.Contains(err.Error(), "f20.bin") {
					t.Errorf("error lists more than 20 files: %q", err)
				}
				if !strings.Contains(err.Error(), "invalid files glob") && !errors.Is(err, ErrNoMatch) {
					t.Errorf("error %q does not match ErrNoMatch", err)
				}
				checkHints(t, err, tt.wantHints)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			var ids []int64
			for _, f := range got.Files {
				names = append(names, f.Name)
				ids = append(ids, f.FileID)
				if f.SHA256 != hexOf(f.Name) || f.Size != int64(len(f.Name)) {
					t.Errorf("file %q: size %d sha256 %s, want the listed ones", f.Name, f.Size, f.SHA256)
				}
			}
			if !slices.Equal(names, tt.want) || !slices.Equal(ids, tt.wantIDs) {
				t.Errorf("locked %q %v, want %q %v", names, ids, tt.want, tt.wantIDs)
			}
			if !slices.Equal(warns, tt.wantWarns) {
				t.Errorf("warnings %q, want %q", warns, tt.wantWarns)
			}
			if n := src.count("download:"); n != 0 {
				t.Errorf("%d downloads, want none", n)
			}
		})
	}
}

func manyFiles(n int) []registry.PackageFile {
	var fs []registry.PackageFile
	for i := n - 1; i >= 0; i-- {
		fs = append(fs, pf(int64(i+1), fmt.Sprintf("f%02d.bin", i)))
	}
	return fs
}

func checkHints(t *testing.T, err error, want []string) {
	t.Helper()
	hs := hint.Of(err)
	for _, w := range want {
		if !slices.ContainsFunc(hs, func(h string) bool { return strings.Contains(h, w) }) {
			t.Errorf("no hint contains %q; hints: %q", w, hs)
		}
	}
}

func TestResolveMissingChecksumIsHashed(t *testing.T) {
	body := []byte("old gitlab did not hash me")
	src := newFake().add(row(42, "cli-tool", "1.4.2"),
		registry.PackageFile{ID: 1, FileName: "dir/old.bin", Size: int64(len(body))},
		pf(2, "new.bin"))
	src.content["cli-tool@1.4.2/dir/old.bin"] = body
	got, err, warns := resolveOne(t, src, mpkg(t, "cli-tool", "^1"))
	if err != nil {
		t.Fatal(err)
	}
	want := []lock.FileEntry{
		{Name: "dir/old.bin", Size: int64(len(body)), SHA256: sum(body), FileID: 1},
		{Name: "new.bin", Size: 7, SHA256: hexOf("new.bin"), FileID: 2},
	}
	if !reflect.DeepEqual(got.Files, want) {
		t.Errorf("files %+v\nwant  %+v", got.Files, want)
	}
	if n := src.count("download:"); n != 1 {
		t.Errorf("%d downloads, want 1 (only the file without a checksum)", n)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], `cli-tool@1.4.2: the registry gave no sha256 for "dir/old.bin"`) {
		t.Errorf("warnings %q", warns)
	}

	// A failed download fails the entry, naming the version once.
	src.downloadErr = fmt.Errorf("download: %w", registry.ErrUnauthorized)
	_, err, _ = resolveOne(t, src, mpkg(t, "cli-tool", "^1"))
	if !errors.Is(err, registry.ErrUnauthorized) {
		t.Fatalf("error %v does not match registry.ErrUnauthorized", err)
	}
	if got := err.Error(); got != "cli-tool@1.4.2: download: access denied" {
		t.Errorf("error %q", got)
	}
}

func TestResolveNoMatch(t *testing.T) {
	semverRows := func(vs ...string) []registry.Package {
		var rs []registry.Package
		for i, v := range vs {
			rs = append(rs, row(int64(i+1), "cli-tool", v))
		}
		return rs
	}
	tests := []struct {
		name       string
		constraint string
		rows       []registry.Package
		search     bool // the source implements AllLister
		wantMsg    string
		wantNewest []string
		wantHints  []string
		noHints    []string
		wantCalls  map[string]int
	}{
		{
			name:       "nothing satisfies: newest versions listed, non-semver counted",
			constraint: "^2",
			rows:       semverRows("1.0.0", "1.7.0", "1.2.0", "latest", "1.6.0", "1.3.0", "v1.5.0", "1.4.0", "2024.06-b3"),
			wantMsg:    `cli-tool: no version of package "cli-tool" in project "12345" satisfies "^2"; newest: 1.7.0, 1.6.0, v1.5.0, 1.4.0, 1.3.0; 2 versions are not semver, ignored`,
			wantNewest: []string{"1.7.0", "1.6.0", "v1.5.0", "1.4.0", "1.3.0"},
			wantHints:  []string{`to use 1.7.0, widen the constraint, e.g. version = "^1.7.0" in [packages.cli-tool]`, `pinned exactly, e.g. version = "=2024.06-b3"`, "gpm search cli-tool --project 12345"},
			noHints:    []string{"prerelease"},
			wantCalls:  map[string]int{"list:": 1, "files:": 0, "all:": 0},
		},
		{
			name:       "only prereleases match",
			constraint: "^2",
			rows:       semverRows("1.0.0", "2.0.0-rc.1", "2.0.0-beta.3", "3.0.0-alpha"),
			wantMsg:    `newest: 3.0.0-alpha, 2.0.0-rc.1, 2.0.0-beta.3, 1.0.0`,
			wantHints:  []string{`only prereleases match: a constraint allows them when it names one, e.g. version = "^2.0.0-rc.1"`},
			noHints:    []string{"widen"},
		},
		{
			name:       "prereleases above the range get no prerelease hint",
			constraint: "<2.0.0",
			rows:       semverRows("2.0.0-rc.1", "2.1.0"),
			wantMsg:    `satisfies "<2.0.0"; newest: 2.1.0, 2.0.0-rc.1`,
			noHints:    []string{"prerelease"},
		},
		{
			name:       "exact pin not found lists recent non-semver versions",
			constraint: "=2024.06-b4",
			rows:       semverRows("2024.05", "1.0.0", "2024.06-b3"),
			wantMsg:    `cli-tool: package "cli-tool" in project "12345" has no version "2024.06-b4"; newest: 1.0.0; not semver: 2024.06-b3, 2024.05`,
			noHints:    []string{"pinned exactly"},
		},
		{
			name:       "no such package",
			constraint: "*",
			rows:       []registry.Package{row(1, "cli-tool-extra", "1.0.0")},
			wantMsg:    `cli-tool: package "cli-tool" does not exist in project "12345"`,
			wantHints:  []string{"check project and package in [packages.cli-tool]"},
			wantCalls:  map[string]int{"list:": 1, "files:": 0},
		},
		{
			name:       "case suggestion from the fuzzy listing itself",
			constraint: "*",
			rows:       []registry.Package{row(1, "Cli-Tool", "1.0.0"), row(2, "cli-tool-extra", "1.0.0")},
			search:     true,
			wantMsg:    `package "cli-tool" does not exist in project "12345"; names are case-sensitive: did you mean "Cli-Tool"?`,
			wantHints:  []string{`set package = "Cli-Tool" in [packages.cli-tool]`},
			wantCalls:  map[string]int{"list:": 1, "files:": 0, "all:": 0},
		},
		{
			name:       "only undownloadable versions",
			constraint: "*",
			rows:       []registry.Package{rowS(1, "cli-tool", "1.0.0", "error"), rowS(2, "cli-tool", "1.1.0", "error"), rowS(3, "cli-tool", "1.2.0", "processing")},
			wantMsg:    `package "cli-tool" in project "12345" has no downloadable version (2 with status "error", 1 with status "processing")`,
			wantHints:  []string{`publish a new version of "cli-tool"`},
			noHints:    []string{"check project"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake()
			for _, r := range tt.rows {
				fake.add(r)
			}
			var src Source = fake
			if tt.search {
				src = searchSource{fake}
			}
			_, err, _ := resolveOne(t, src, mpkg(t, "cli-tool", tt.constraint))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrNoMatch) {
				t.Errorf("error %v does not match ErrNoMatch", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q\ndoes not contain %q", err, tt.wantMsg)
			}
			var nm *NoMatchError
			if !errors.As(err, &nm) {
				t.Fatalf("error %T is not a *NoMatchError", err)
			}
			if tt.wantNewest != nil && !slices.Equal(nm.Newest, tt.wantNewest) {
				t.Errorf("Newest = %q, want %q", nm.Newest, tt.wantNewest)
			}
			checkHints(t, err, tt.wantHints)
			for _, h := range hint.Of(err) {
				for _, no := range tt.noHints {
					if strings.Contains(h, no) {
						t.Errorf("unexpected hint %q", h)
					}
				}
			}
			for prefix, n := range tt.wantCalls {
				if got := fake.count(prefix); got != n {
					t.Errorf("%s calls: %d, want %d", prefix, got, n)
				}
			}
		})
	}
}

// The prerelease hint must name a constraint that really selects the
// prerelease.
func TestPrereleaseHintResolves(t *testing.T) {
	src := newFake().add(row(1, "cli-tool", "v2.0.0-rc.1"), pf(1, "a")).add(row(2, "cli-tool", "1.0.0"), pf(2, "b"))
	_, err, _ := resolveOne(t, src, mpkg(t, "cli-tool", "^2"))
	var nm *NoMatchError
	if !errors.As(err, &nm) || nm.Prerelease != "2.0.0-rc.1" {
		t.Fatalf("err = %v, want a NoMatchError with Prerelease 2.0.0-rc.1", err)
	}
	got, err, _ := resolveOne(t, src, mpkg(t, "cli-tool", "^"+nm.Prerelease))
	if err != nil || got.Version != "v2.0.0-rc.1" {
		t.Errorf("with the hinted constraint: %v, %v", got.Version, err)
	}
}

// The real client drops fuzzy names, so a case suggestion needs a second,
// fuzzy listing; it is made only when nothing exact was found.
func TestCaseSuggestionViaSearch(t *testing.T) {
	fake := newFake().add(row(1, "MyTool", "1.0.0"), pf(1, "a")).add(row(2, "mytool-extra", "1.0.0"), pf(2, "b"))
	_, err, _ := resolveOne(t, filteringSearch{filteringSource{fake}}, mpkg(t, "mytool", "*"))
	if !errors.Is(err, ErrNoMatch) || !strings.Contains(err.Error(), `did you mean "MyTool"?`) {
		t.Fatalf("error %v", err)
	}
	if l, a, f := fake.count("list:"), fake.count("all:"), fake.count("files:"); l != 1 || a != 1 || f != 0 {
		t.Errorf("calls: %d list, %d search, %d files; want 1, 1, 0", l, a, f)
	}

	// With an exact match, no search is made.
	fake.calls = map[string]int{}
	got, err, _ := resolveOne(t, filteringSearch{filteringSource{fake}}, mpkg(t, "MyTool", "*"))
	if err != nil || got.PackageID != 1 {
		t.Fatalf("got %+v, %v", got, err)
	}
	if l, a, f := fake.count("list:"), fake.count("all:"), fake.count("files:"); l != 1 || a != 0 || f != 1 {
		t.Errorf("calls: %d list, %d search, %d files; want 1, 0, 1", l, a, f)
	}
}

type filteringSearch struct{ filteringSource }

func (s filteringSearch) ListAllPackages(ctx context.Context, project, query string) ([]registry.Package, error) {
	return searchSource{s.fakeSource}.ListAllPackages(ctx, project, query)
}

func TestResolveRegistryErrors(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(*fakeSource)
		wantIs  error
		wantMsg string
		wantVer string
	}{
		{
			name: "listing versions unauthorized",
			setup: func(s *fakeSource) {
				s.listErr = fmt.Errorf("GET https://gitlab.example.com/api/v4/projects/12345/packages: 403: %w", registry.ErrUnauthorized)
			},
			wantIs:  registry.ErrUnauthorized,
			wantMsg: "cli-tool: GET https://gitlab.example.com/api/v4/projects/12345/packages: 403: access denied",
		},
		{
			name:    "project not found",
			setup:   func(s *fakeSource) { s.listErr = fmt.Errorf("project: %w", registry.ErrNotFound) },
			wantIs:  registry.ErrNotFound,
			wantMsg: "cli-tool: project: not found",
		},
		{
			name:    "listing files not found",
			setup:   func(s *fakeSource) { s.filesErr = fmt.Errorf("package files: %w", registry.ErrNotFound) },
			wantIs:  registry.ErrNotFound,
			wantMsg: "cli-tool@1.4.2: package files: not found",
			wantVer: "1.4.2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newFake().add(row(42, "cli-tool", "1.4.2"), pf(1, "a"))
			tt.setup(src)
			_, err, _ := resolveOne(t, src, mpkg(t, "cli-tool", "^1"))
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("error %v does not match %v", err, tt.wantIs)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("error %q, want %q", err, tt.wantMsg)
			}
			var e *Error
			if !errors.As(err, &e) || e.Name != "cli-tool" || e.Version != tt.wantVer {
				t.Fatalf("error %#v is not an *Error for cli-tool@%s", err, tt.wantVer)
			}
			var inner *Error
			if errors.As(e.Err, &inner) {
				t.Errorf("error wrapped twice: %v", err)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	cause := errors.New("boom")
	if got := (&Error{Name: "cli-tool", Err: cause}).Error(); got != "cli-tool: boom" {
		t.Errorf("got %q", got)
	}
	e := &Error{Name: "cli-tool", Version: "1.4.2", Err: cause}
	if got := e.Error(); got != "cli-tool@1.4.2: boom" {
		t.Errorf("got %q", got)
	}
	if !errors.Is(e, cause) {
		t.Error("Unwrap does not reach the cause")
	}
	if w := wrap("other", "9", e); w != e {
		t.Errorf("wrap wrapped an *Error again: %v", w)
	}
	if w := wrap("other", "9", fmt.Errorf("ctx: %w", e)); strings.Count(w.Error(), "@") != 1 {
		t.Errorf("wrap wrapped an *Error chain again: %v", w)
	}
}

// Failures are collected from every entry, in request order, while the
// other entries still resolve.
func TestResolveCollectsAllErrors(t *testing.T) {
	src := newFake().
		add(row(1, "good", "1.0.0"), pf(1, "g")).
		add(row(2, "old", "1.0.0"), pf(2, "o")).
		add(row(3, "noglob", "1.0.0"), pf(3, "n.bin"))
	reqs := []Request{
		{Pkg: mpkg(t, "missing", "*"), Source: src},
		{Pkg: mpkg(t, "good", "^1"), Source: src},
		{Pkg: mpkg(t, "old", "^2"), Source: src},
		{Pkg: mpkg(t, "noglob", "*", "*.zip"), Source: src},
	}
	got, err := Resolve(context.Background(), reqs, Options{Jobs: 4})
	if err == nil || got != nil {
		t.Fatalf("got %v, %v; want nil and an error", got, err)
	}
	lines := strings.Split(err.Error(), "\n")
	wantPrefixes := []string{"missing: ", "old: ", "noglob@1.0.0: "}
	if len(lines) != len(wantPrefixes) {
		t.Fatalf("error has %d lines, want %d:\n%v", len(lines), len(wantPrefixes), err)
	}
	for i, p := range wantPrefixes {
		if !strings.HasPrefix(lines[i], p) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], p)
		}
	}
	if !errors.Is(err, ErrNoMatch) {
		t.Error("joined error does not match ErrNoMatch")
	}
	if n := src.count("files:1"); n != 1 {
		t.Errorf("the good entry's files were listed %d times, want 1", n)
	}
	if hs := hint.Of(err); len(hs) < 3 {
		t.Errorf("hints of the joined error: %q", hs)
	}
}

func TestResolveCancelled(t *testing.T) {
	src := newFake().add(row(1, "a", "1.0.0"), pf(1, "a"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var reqs []Request
	for range 20 {
		reqs = append(reqs, Request{Pkg: mpkg(t, "a", "*"), Source: src})
	}
	_, err := Resolve(ctx, reqs, Options{Jobs: 2})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if err.Error() != context.Canceled.Error() {
		t.Errorf("err = %q, want the cancellation reported once", err)
	}
	if n := src.count(""); n != 0 {
		t.Errorf("%d registry calls after cancellation", n)
	}
}

// With random latencies and 8 jobs, the result and the warnings come in
// request order, at most 8 entries are in flight, and each entry costs
// exactly two listing calls.
func TestResolveParallelDeterministic(t *testing.T) {
	const n = 50
	src := newFake()
	var reqs []Request
	for i := range n {
		name := fmt.Sprintf("pkg-%02d", (i*37)%n) // requests not in name order
		base := int64(i * 10)
		src.add(row(base+1, name, "1.0.0"), pf(base*10+1, "a.bin"))
		src.add(row(base+2, name, fmt.Sprintf("1.%d.0", i)), pf(base*10+2, "dup.bin"), pf(base*10+3, "dup.bin"))
		reqs = append(reqs, Request{Pkg: mpkg(t, name, "^1"), Source: src})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var mu = make(chan struct{}, 1)
	src.latency = func() time.Duration {
		mu <- struct{}{}
		d := time.Duration(rng.IntN(1500)) * time.Microsecond
		<-mu
		return d
	}

	var first []lock.Package
	for round := range 3 {
		var warns []string
		got, err := Resolve(context.Background(), reqs, Options{Jobs: 8, Warnf: func(f string, a ...any) {
			warns = append(warns, fmt.Sprintf(f, a...))
		}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != n || len(warns) != n {
			t.Fatalf("%d entries and %d warnings, want %d each", len(got), len(warns), n)
		}
		for i, p := range got {
			if p.Name != reqs[i].Pkg.Name {
				t.Fatalf("round %d: entry %d is %q, want %q", round, i, p.Name, reqs[i].Pkg.Name)
			}
			if !strings.HasPrefix(warns[i], p.Name+"@"+p.Version+": ") {
				t.Fatalf("round %d: warning %d is %q, want one for %s", round, i, warns[i], p.Name)
			}
		}
		if first == nil {
			first = got
		} else if !reflect.DeepEqual(got, first) {
			t.Fatalf("round %d differs from round 0", round)
		}
	}
	if src.maxInflight > 8 {
		t.Errorf("%d calls in flight, want at most 8", src.maxInflight)
	}
	if src.maxInflight < 2 {
		t.Errorf("at most %d call in flight: entries did not resolve in parallel", src.maxInflight)
	}
	if l, f := src.count("list:"), src.count("files:"); l != 3*n || f != 3*n {
		t.Errorf("%d package lists and %d file lists for %d entries in 3 rounds", l, f, n)
	}
}

func TestResolveJobsBound(t *testing.T) {
	src := newFake()
	var reqs []Request
	for i := range 6 {
		name := fmt.Sprintf("p%d", i)
		src.add(row(int64(i+1), name, "1.0.0"), pf(int64(i+1), "f"))
		reqs = append(reqs, Request{Pkg: mpkg(t, name, "*"), Source: src})
	}
	src.latency = func() time.Duration { return 200 * time.Microsecond }
	for _, jobs := range []int{0, 1} {
		src.maxInflight = 0
		if _, err := Resolve(context.Background(), reqs, Options{Jobs: jobs}); err != nil {
			t.Fatal(err)
		}
		if src.maxInflight != 1 {
			t.Errorf("Jobs %d: %d calls in flight, want 1", jobs, src.maxInflight)
		}
	}
}

func TestResolveUnparsedConstraint(t *testing.T) {
	// An entry built without a parsed constraint falls back to Version.
	src := newFake().add(row(1, "cli-tool", "1.2.0"), pf(1, "a")).add(row(2, "cli-tool", "2.0.0"), pf(2, "b"))
	p := manifest.Package{Name: "cli-tool", Project: project, Version: "^1"}
	got, err, _ := resolveOne(t, src, p)
	if err != nil || got.Version != "1.2.0" || got.Package != "cli-tool" {
		t.Fatalf("got %+v, %v", got, err)
	}
	p.Version = "not a constraint"
	_, err, _ = resolveOne(t, src, p)
	if !errors.Is(err, version.ErrInvalidConstraint) || !strings.HasPrefix(err.Error(), "cli-tool: ") {
		t.Errorf("err = %v", err)
	}
}

func TestVersions(t *testing.T) {
	src := newFake().
		add(row(1, "cli-tool", "1.10.0")).add(row(2, "cli-tool", "1.9.0")).add(row(3, "cli-tool", "v1.9.5")).
		add(row(4, "cli-tool", "nightly")).add(row(5, "cli-tool", "2.0.0-rc.1")).add(row(6, "cli-tool", "1.9.0")).
		add(rowS(7, "cli-tool", "3.0.0", "error")).add(row(8, "cli-tool-extra", "4.0.0")).add(row(9, "CLI-tool", "5.0.0"))
	vs, err := Versions(context.Background(), src, project, "cli-tool")
	if err != nil {
		t.Fatal(err)
	}
	var raws []string
	for _, v := range vs {
		raws = append(raws, v.Raw)
	}
	want := []string{"nightly", "1.9.0", "v1.9.5", "1.10.0", "2.0.0-rc.1"}
	if !slices.Equal(raws, want) {
		t.Errorf("Versions = %q, want %q", raws, want)
	}

	src.listErr = fmt.Errorf("list: %w", registry.ErrUnauthorized)
	_, err = Versions(context.Background(), src, project, "cli-tool")
	if !errors.Is(err, registry.ErrUnauthorized) || err.Error() != "cli-tool: list: access denied" {
		t.Errorf("err = %v", err)
	}
}

func BenchmarkResolve1000Versions(b *testing.B) {
	src := newFake()
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 1000 {
		v := fmt.Sprintf("%d.%d.%d", i/100, (i/10)%10, i%10)
		if i%7 == 0 {
			v += "-rc.1"
		}
		src.add(row(int64(i+1), "cli-tool", v))
	}
	rng.Shuffle(len(src.rows), func(i, j int) { src.rows[i], src.rows[j] = src.rows[j], src.rows[i] })
	src.files[1000] = []registry.PackageFile{pf(1, "cli-tool.tar.gz")} // 9.9.9
	reqs := []Request{{Pkg: mpkg(b, "cli-tool", "^9"), Source: src}}
	b.ReportAllocs()
	for b.Loop() {
		got, err := Resolve(context.Background(), reqs, Options{Jobs: 8})
		if err != nil {
			b.Fatal(err)
		}
		if got[0].Version != "9.9.9" {
			b.Fatalf("resolved %s", got[0].Version)
		}
	}
}

func TestResolvePrecise(t *testing.T) {
	rows := func() *fakeSource {
		s := newFake()
		for i, v := range []string{"1.0.0", "1.1.0", "v1.2.0", "1.3.0", "2.0.0", "1.4.0-rc.1", "2024.06-b3"} {
			id := int64(i + 1)
			s.add(row(id, "cli-tool", v), pf(id*100, "tool-"+v+".tar.gz"))
		}
		return s
	}
	tests := []struct {
		constraint, precise string
		wantVer, wantErr    string
	}{
		{constraint: "^1", precise: "1.1.0", wantVer: "1.1.0"},                 // older than the newest match
		{constraint: "^1", precise: "1.2.0", wantVer: "v1.2.0"},                // the registry's spelling
		{constraint: "^1.4.0-0", precise: "1.4.0-rc.1", wantVer: "1.4.0-rc.1"}, // a prerelease the range allows
		{constraint: "=2024.06-b3", precise: "2024.06-b3", wantVer: "2024.06-b3"},
		{constraint: "^1", precise: "2.0.0", wantErr: `version "2.0.0" does not satisfy "^1"`},
		{constraint: "^1", precise: "1.9.0", wantErr: `has no version "1.9.0"; newest: 2.0.0, 1.4.0-rc.1, 1.3.0, v1.2.0, 1.1.0; not semver: 2024.06-b3`},
	}
	for _, tt := range tests {
		t.Run(tt.constraint+" "+tt.precise, func(t *testing.T) {
			src := rows()
			got, err := Resolve(context.Background(), []Request{{Pkg: mpkg(t, "cli-tool", tt.constraint), Source: src, Precise: tt.precise}}, Options{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got[0].Version != tt.wantVer || got[0].Constraint != tt.constraint {
				t.Errorf("locked %s with constraint %q, want %s with %q", got[0].Version, got[0].Constraint, tt.wantVer, tt.constraint)
			}
		})
	}
}

// The real client's package listing leaves out versions that cannot be
// installed, so an entry whose versions are all in status error would read
// "does not exist". The search made for a case suggestion shows them, and
// the error then says why none can be installed, as it does when the
// project was listed whole.
func TestUndownloadableVersionsViaSearch(t *testing.T) {
	fake := newFake().add(rowS(1, "mytool", "1.0.0", "error")).add(rowS(2, "mytool", "1.1.0", "processing"))
	_, err, _ := resolveOne(t, filteringSearch{filteringSource{fake}}, mpkg(t, "mytool", "*"))
	want := `package "mytool" in project "12345" has no downloadable version (1 with status "error", 1 with status "processing")`
	if !errors.Is(err, ErrNoMatch) || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v\nwant it to contain %s", err, want)
	}
	checkHints(t, err, []string{`publish a new version of "mytool"`})
	if l, a := fake.count("list:"), fake.count("all:"); l != 1 || a != 1 {
		t.Errorf("calls: %d list, %d search; want 1, 1", l, a)
	}
}
