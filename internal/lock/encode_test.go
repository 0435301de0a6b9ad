package lock

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/gpmtool/gpm/internal/hint"
)

func TestEncodeEscapes(t *testing.T) {
	tests := []struct {
		project, want string
	}{
		{`g/"quoted"`, `project = "g/\"quoted\""`},
		{`back\slash`, `project = "back\\slash"`},
		{"tab\there", `project = "tab\u0009here"`},
		{"nl\ncr\r", `project = "nl\u000Acr\u000D"`},
		{"nul\x00del\x7f", `project = "nul\u0000del\u007F"`},
		{"esc\x1b[31m", `project = "esc\u001B[31m"`},
		{"grüße/日本", `project = "grüße/日本"`},
		{"'single'", `project = "'single'"`},
		{"bad\xffutf8", "project = \"bad\uFFFDutf8\""},
	}
	for _, tt := range tests {
		f := &File{Version: 1, Packages: []Package{{Name: "a", Project: tt.project, Package: "a", Version: "1.0.0", Constraint: "*", PackageID: 1}}}
		data := f.Encode()
		if !bytes.Contains(data, []byte("\n"+tt.want+"\n")) {
			t.Errorf("Encode(project %q) does not contain line %s:\n%s", tt.project, tt.want, data)
			continue
		}
		// The TOML decoder must read back the same string. Parse itself
		// rejects control characters in a project, so decode directly.
		var doc struct {
			Package []struct{ Project string }
		}
		if err := decodeTOML(data, &doc); err != nil {
			t.Errorf("Encode(project %q) is not valid TOML: %v\n%s", tt.project, err, data)
			continue
		}
		want := strings.ToValidUTF8(tt.project, "\uFFFD")
		if got := doc.Package[0].Project; got != want {
			t.Errorf("project %q decoded as %q", tt.project, got)
		}
	}
}

func TestEncodeSortsWithoutModifying(t *testing.T) {
	f := &File{Version: 0, Packages: []Package{
		{Name: "b", Project: "1", Package: "b", Version: "1.0.0", Constraint: "*", PackageID: 1, Files: []FileEntry{
			{Name: "z", SHA256: hex64, FileID: 1}, {Name: "a/b", SHA256: hex64, FileID: 2}, {Name: "a", SHA256: hex64, FileID: 3},
		}},
		{Name: "B", Project: "1", Package: "b", Version: "1.0.0", Constraint: "*", PackageID: 1},
		{Name: "a", Project: "1", Package: "a", Version: "1.0.0", Constraint: "*", PackageID: 1},
	}}
	before := fmt.Sprintf("%#v", f)
	data := string(f.Encode())
	if after := fmt.Sprintf("%#v", f); after != before {
		t.Errorf("Encode modified its receiver:\n%s\nwas\n%s", after, before)
	}
	order := func(prefix string) []string {
		var names []string
		for _, l := range strings.Split(data, "\n") {
			if v, ok := strings.CutPrefix(l, prefix+`name = "`); ok {
				names = append(names, strings.TrimSuffix(v, `"`))
			}
		}
		return names
	}
	if got, want := order(""), []string{"B", "a", "b"}; !slices.Equal(got, want) {
		t.Errorf("package order %q, want %q", got, want)
	}
	if got, want := order("  "), []string{"a", "a/b", "z"}; !slices.Equal(got, want) {
		t.Errorf("file order %q, want %q", got, want)
	}
	if !strings.Contains(data, "\nlock_version = 1\n") {
		t.Errorf("lock_version is not 1 for a zero File.Version:\n%s", data)
	}
	if !strings.HasPrefix(data, Header+"\n") || !strings.HasSuffix(data, "\n") || strings.HasSuffix(data, "\n\n") {
		t.Errorf("Encode output lacks the header or a single trailing newline:\n%q", data)
	}
}

func TestEncodeOmitsDefaults(t *testing.T) {
	f := &File{Version: 1, Packages: []Package{{Name: "a", Project: "1", Package: "a", Version: "1.0.0", Constraint: "*", PackageID: 1, Globs: []string{}}}}
	want := Header + `
lock_version = 1

[[package]]
name = "a"
project = "1"
package = "a"
version = "1.0.0"
constraint = "*"
package_id = 1
`
	if got := string(f.Encode()); got != want {
		t.Errorf("Encode =\n%s\nwant\n%s", got, want)
	}
	empty := Header + "\nlock_version = 1\n"
	if got := string((&File{}).Encode()); got != empty {
		t.Errorf("empty File encodes as\n%s\nwant\n%s", got, empty)
	}
	if f, err := Parse("packages.lock", []byte(empty)); err != nil || len(f.Packages) != 0 {
		t.Errorf("Parse(empty lock) = %#v, %v", f, err)
	}
}

// TestRoundTripRandom builds random valid Files and checks that Parse reads
// back exactly what Encode wrote.
func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		f := randomFile(r)
		data := f.Encode()
		got, err := Parse("packages.lock", data)
		if err != nil {
			t.Fatalf("case %d: Parse(Encode(f)): %v\n%s", i, err, data)
		}
		if !reflect.DeepEqual(got, f) {
			t.Fatalf("case %d: Parse(Encode(f)) =\n%#v\nwant\n%#v\n%s", i, got, f, data)
		}
		if again := got.Encode(); !bytes.Equal(again, data) {
			t.Fatalf("case %d: encoding is not stable:\n%s\nthen\n%s", i, data, again)
		}
	}
}

func randomFile(r *rand.Rand) *File {
	const (
		nameChars = "abcxyzABZ019._+-"
		textChars = `abz09 /."'\#=[]{}*?-_é日` + "\u2028"
		globChars = `abz09/."'#={}*?-_é`
	)
	str := func(chars string, min, max int) string {
		rs := []rune(chars)
		var b strings.Builder
		for range min + r.IntN(max-min+1) {
			b.WriteRune(rs[r.IntN(len(rs))])
		}
		return b.String()
	}
	text := func() string {
		// No surrounding space: Parse rejects it.
		return "p" + str(textChars, 0, 12) + "q"
	}
	name := func() string {
		for {
			if s := str(nameChars, 1, 10); s != "." && s != ".." {
				return s
			}
		}
	}
	versions := []string{"1.0.0", "v1.4.2", "2.0.0-rc.1+build.5", "2024.06-b3", "0", "abc_DEF"}
	constraints := []string{"*", "^1.2", "~1.2.3", ">=1.0, <2", "1.x", "=2024.06-b3", " ^1 ", "=v1.0.0"}
	f := &File{Version: 1}
	seen := map[string]bool{}
	for range r.IntN(5) {
		p := Package{
			Name:       name(),
			Project:    text(),
			Package:    name(),
			Version:    versions[r.IntN(len(versions))],
			Constraint: constraints[r.IntN(len(constraints))],
			Extract:    r.IntN(2) == 0,
			PackageID:  1 + r.Int64N(1<<62),
		}
		if seen[p.Name] {
			continue
		}
		seen[p.Name] = true
		if r.IntN(2) == 0 {
			p.Registry = text()
		}
		for range r.IntN(3) {
			p.Globs = append(p.Globs, str(globChars, 1, 8))
		}
		files := map[string]bool{}
		for range r.IntN(4) {
			var segs []string
			for range 1 + r.IntN(3) {
				seg := str(`az09.-_ é"'#`, 1, 6)
				if seg == "." || seg == ".." {
					seg += "x"
				}
				segs = append(segs, seg)
			}
			fe := FileEntry{
				Name:   strings.Join(segs, "/"),
				Size:   r.Int64N(1 << 40),
				SHA256: str("0123456789abcdef", 64, 64),
				FileID: 1 + r.Int64N(1<<40),
			}
			if !files[fe.Name] {
				files[fe.Name] = true
				p.Files = append(p.Files, fe)
			}
		}
		sortFiles(p.Files)
		f.Packages = append(f.Packages, p)
	}
	sortPackages(f.Packages)
	return f
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "packages.lock")

	// A new file gets 0644 and the encoded bytes.
	changed, err := Write(path, golden)
	if err != nil || !changed {
		t.Fatalf("Write(new) = %v, %v; want true, nil", changed, err)
	}
	assertFile(t, path, golden.Encode(), 0o644)
	assertNoTemp(t, dir)

	// Identical bytes: no write at all, so the modification time stays.
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	same := *golden // an equal File, not the same pointer
	changed, err = Write(path, &same)
	if err != nil || changed {
		t.Fatalf("Write(unchanged) = %v, %v; want false, nil", changed, err)
	}
	if fi, err := os.Stat(path); err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("unchanged Write touched the file: mtime %v, want %v (err %v)", fi.ModTime(), old, err)
	}

	// Changed content replaces the file and keeps its permission bits.
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	next := &File{Version: 1, Packages: golden.Packages[:1]}
	changed, err = Write(path, next)
	if err != nil || !changed {
		t.Fatalf("Write(changed) = %v, %v; want true, nil", changed, err)
	}
	assertFile(t, path, next.Encode(), 0o600)
	assertNoTemp(t, dir)

	// A hand-edited file with the same content but other bytes is rewritten.
	if err := os.WriteFile(path, append([]byte("# edited\n"), next.Encode()...), 0o600); err != nil {
		t.Fatal(err)
	}
	if changed, err := Write(path, next); err != nil || !changed {
		t.Errorf("Write over different bytes = %v, %v; want true, nil", changed, err)
	}
	assertFile(t, path, next.Encode(), 0o600)
}

// A lock with CRLF line endings (git's autocrlf) or a UTF-8 byte order mark
// holds the content Write would write: it is left alone. Other content is
// written the usual way, with LF and no BOM.
func TestWriteKeepsCRLFAndBOM(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "packages.lock")
	lf := golden.Encode()
	crlf := bytes.ReplaceAll(lf, []byte("\n"), []byte("\r\n"))
	bom := append([]byte("\ufeff"), lf...)
	both := append([]byte("\ufeff"), crlf...)
	for name, data := range map[string][]byte{"crlf": crlf, "bom": bom, "crlf and bom": both} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if changed, err := Write(path, golden); err != nil || changed {
			t.Errorf("%s: Write(same content) = %v, %v; want false, nil", name, changed, err)
		}
		assertFile(t, path, data, 0o644)
	}
	for name, data := range map[string][]byte{
		"crlf, other content":    bytes.ReplaceAll(append([]byte("# edited\n"), lf...), []byte("\n"), []byte("\r\n")),
		"a lone carriage return": bytes.Replace(lf, []byte("\n"), []byte("\r"), 1),
		"a bom in the middle":    append(append(lf[:10:10], "\ufeff"...), lf[10:]...),
	} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if changed, err := Write(path, golden); err != nil || !changed {
			t.Errorf("%s: Write = %v, %v; want true, nil", name, changed, err)
		}
		assertFile(t, path, lf, 0o644)
	}
	assertNoTemp(t, dir)
}

func TestWriteRefusesInvalid(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "packages.lock")
	if _, err := Write(path, golden); err != nil {
		t.Fatal(err)
	}
	bad := &File{Version: 1, Packages: []Package{{Name: "../x", Project: "1", Package: "x", Version: "1.0.0", Constraint: "*", PackageID: 1}}}
	changed, err := Write(path, bad)
	if err == nil || changed || !errors.Is(err, ErrInvalid) {
		t.Fatalf("Write(invalid) = %v, %v; want false and an ErrInvalid error", changed, err)
	}
	want := `refusing to write an invalid lock to ` + path + `: package #1: name "../x" is not a valid package name (letters, digits, '.', '_', '+', '-')`
	if err.Error() != want {
		t.Errorf("Write(invalid) error\n got %s\nwant %s", err, want)
	}
	if hs := hint.Of(err); len(hs) != 0 {
		t.Errorf("Write(invalid) hints = %q, want none: deleting the lock does not fix a bug", hs)
	}
	assertFile(t, path, golden.Encode(), 0o644)
	assertNoTemp(t, dir)
}

func TestWriteFailure(t *testing.T) {
	dir := t.TempDir()
	// The lock's directory does not exist: the temp file cannot be created.
	if changed, err := Write(filepath.Join(dir, "missing", "packages.lock"), golden); err == nil || changed {
		t.Errorf("Write into a missing directory = %v, %v; want an error", changed, err)
	}
	// The lock's path is a directory: reading it fails, nothing is renamed over it.
	path := filepath.Join(dir, "packages.lock")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if changed, err := Write(path, golden); err == nil || changed {
		t.Errorf("Write over a directory = %v, %v; want an error", changed, err)
	}
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		t.Errorf("directory at the lock path was replaced: %v %v", fi, err)
	}
	assertNoTemp(t, dir)
}

func assertFile(t *testing.T, path string, want []byte, perm os.FileMode) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s holds\n%s\nwant\n%s", path, got, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != perm {
		t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), perm)
	}
}

func assertNoTemp(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left in %s", e.Name(), dir)
		}
	}
}

func decodeTOML(data []byte, v any) error {
	_, err := toml.Decode(string(data), v)
	return err
}

// TestWriteRemovesStaleTemps: a temporary file that a crashed writer left
// beside the lock is removed by a later Write, changed or not, once it is
// an hour old; a newer one may be another gpm's write in progress and is
// kept, and so is everything else.
func TestWriteRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "packages.lock")
	long := time.Now().Add(-2 * staleTempAge)
	mk := func(name string, mtime time.Time) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	mk(".packages.lock.tmp-1", long)       // a crash's
	mk(".packages.lock.tmp-2", time.Now()) // another gpm's write, in progress
	mk(".packages.toml.tmp-3", long)       // not the lock's
	mk("packages.lock.tmp-4", long)        // not gpm's name
	// Not a file gpm writes.
	if err := os.Mkdir(filepath.Join(dir, ".packages.lock.tmp-5"), 0o755); err != nil {
		t.Fatal(err)
	}
	if changed, err := Write(path, golden); err != nil || !changed {
		t.Fatalf("Write = %v, %v", changed, err)
	}
	ls := func() []string {
		t.Helper()
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}
	want := []string{".packages.lock.tmp-2", ".packages.lock.tmp-5", ".packages.toml.tmp-3", "packages.lock", "packages.lock.tmp-4"}
	if got := ls(); !slices.Equal(got, want) {
		t.Errorf("after Write: %q, want %q", got, want)
	}

	// A Write that changes nothing cleans up too: a no-op install is the
	// usual next run after a crash.
	mk(".packages.lock.tmp-6", long)
	if changed, err := Write(path, golden); err != nil || changed {
		t.Fatalf("Write(unchanged) = %v, %v", changed, err)
	}
	if got := ls(); !slices.Equal(got, want) {
		t.Errorf("after an unchanged Write: %q, want %q", got, want)
	}
}

// TestEncodeStripAndBin pins the layout of strip and bin, the lock_version
// they need, and that Parse reads them back; a lock_version 2 lock with
// them is refused rather than half-read.
func TestEncodeStripAndBin(t *testing.T) {
	f := &File{Packages: []Package{{Name: "a", Project: "1", Package: "a", Version: "1.0.0", Constraint: "*", PackageID: 1,
		Extract: true, Strip: 1, Bin: map[string]string{"run.sh": "scripts/run.sh", "a": "bin/a{exe}"}}}}
	want := Header + `
lock_version = 3

[[package]]
name = "a"
project = "1"
package = "a"
version = "1.0.0"
constraint = "*"
extract = true
strip = 1
bin = { a = "bin/a{exe}", "run.sh" = "scripts/run.sh" }
package_id = 1
`
	got := string(f.Encode())
	if got != want {
		t.Fatalf("Encode =\n%s\nwant\n%s", got, want)
	}
	back, err := Parse("packages.lock", []byte(got))
	if err != nil {
		t.Fatal(err)
	}
	if p := back.Packages[0]; p.Strip != 1 || !maps.Equal(p.Bin, f.Packages[0].Bin) {
		t.Errorf("read back strip %d, bin %v", p.Strip, p.Bin)
	}
	if v, ok := back.Packages[0].ForPlatform("windows-amd64"); !ok || v.Bin["a"] != "bin/a.exe" {
		t.Errorf("ForPlatform(windows-amd64).Bin = %v", v.Bin)
	}
	old := strings.Replace(got, "lock_version = 3", "lock_version = 2", 1)
	if _, err := Parse("packages.lock", []byte(old)); err == nil || !strings.Contains(err.Error(), `unknown key "strip"`) {
		t.Errorf("lock_version 2 with strip: %v", err)
	}
	for _, bad := range []string{`bin = { a = "../x" }`, `bin = { ".a" = "x" }`, `bin = { a = "/x" }`, `bin = {}`} {
		text := strings.Replace(got, `bin = { a = "bin/a{exe}", "run.sh" = "scripts/run.sh" }`, bad, 1)
		if _, err := Parse("packages.lock", []byte(text)); err == nil {
			t.Errorf("Parse accepted %s", bad)
		}
	}
}

// With several bad entries in bin or replacements, Parse reports the same
// one every time (the first by name), not whichever a map walk meets first.
func TestParseReportsOneBadEntryEveryTime(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{`bin = { "x y" = "a", "p q" = "b", "m n" = "c" }`, `command name "m n"`},
		{`replacements = { linux = 1, darwin = 2, amd64 = 3 }`, `replacements: amd64 must be a string`},
	} {
		text := Header + `
lock_version = 3
platforms = ["linux-amd64"]

[[package]]
name = "a"
project = "1"
package = "a"
version = "1.0.0"
constraint = "*"
package_id = 1
` + tc.line + "\n"
		for range 50 {
			_, err := Parse("packages.lock", []byte(text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%s: %v, want an error about %s", tc.line, err, tc.want)
			}
		}
	}
}
