package server

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func openDisk(t *testing.T, dir string) *DiskStore {
	t.Helper()
	d, err := NewDiskStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// writeBlob stores data under its SHA-256 and returns the key.
func writeBlob(t *testing.T, s Store, data string) string {
	t.Helper()
	w, err := s.NewBlob()
	must(t, err)
	if _, err := io.WriteString(w, data); err != nil {
		t.Fatal(err)
	}
	key := sum(data)
	must(t, w.Commit(key))
	return key
}

func readBlob(t *testing.T, s Store, key string) string {
	t.Helper()
	b, err := s.OpenBlob(key)
	must(t, err)
	defer b.Close()
	data, err := io.ReadAll(b)
	must(t, err)
	if b.Size() != int64(len(data)) {
		t.Errorf("blob %s: Size %d, read %d bytes", key[:8], b.Size(), len(data))
	}
	return string(data)
}

// dirEntries lists the names in dir, which must exist.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	must(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// storeKinds are the Stores the contract tests hold to the same semantics.
var storeKinds = []struct {
	name string
	new  func(t *testing.T) Store
}{
	{"mem", func(t *testing.T) Store { return NewMemStore() }},
	{"disk", func(t *testing.T) Store { return openDisk(t, t.TempDir()) }},
}

// DeleteProject undoes CreateProject for a project with no package: the
// project goes, and so do the groups above it that no other project is
// below; a project with a package stays.
func TestStoreDeleteProject(t *testing.T) {
	for _, tc := range storeKinds {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.new(t)
			keep, err := s.CreateProject(Project{Path: "acme/tools/keep"})
			must(t, err)
			gone, err := s.CreateProject(Project{Path: "Acme/other/sub/gone"})
			must(t, err)
			full, err := s.CreateProject(Project{Path: "full/one"})
			must(t, err)
			_, _, err = s.CreatePackage(Package{ProjectID: full.ID, Name: "p", Version: "1", Type: "generic", Status: StatusDefault}, PackageFile{FileName: "f", SHA256: sum("x")})
			must(t, err)

			must(t, s.DeleteProject(gone.ID))
			if _, err := s.Project(gone.ID); !errors.Is(err, ErrNotExist) {
				t.Errorf("deleted project still there: %v", err)
			}
			groups, err := s.Groups()
			must(t, err)
			var paths []string
			for _, g := range groups {
				paths = append(paths, g.Path)
			}
			if want := []string{"acme", "acme/tools", "full"}; !slices.Equal(paths, want) {
				t.Errorf("groups after the delete: %q, want %q", paths, want)
			}
			if err := s.DeleteProject(full.ID); !errors.Is(err, ErrExist) {
				t.Errorf("deleting a project with a package: %v, want ErrExist", err)
			}
			if err := s.DeleteProject(gone.ID); !errors.Is(err, ErrNotExist) {
				t.Errorf("deleting it twice: %v, want ErrNotExist", err)
			}
			if _, err := s.Project(keep.ID); err != nil {
				t.Errorf("the other project: %v", err)
			}
			if d, ok := s.(*DiskStore); ok {
				must(t, d.Close())
				r := openDisk(t, d.Dir())
				if _, err := r.Project(gone.ID); !errors.Is(err, ErrNotExist) {
					t.Errorf("deleted project back after reopening: %v", err)
				}
			}
		})
	}
}

// TestStoreContract holds MemStore and DiskStore to the same Store
// semantics.
func TestStoreContract(t *testing.T) {
	for _, tc := range storeKinds {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.new(t)

			// Blobs: invisible until committed, aborted ones never
			// appear, a taken key keeps its first blob.
			w, err := s.NewBlob()
			must(t, err)
			io.WriteString(w, "hello ")
			if _, err := s.OpenBlob(sum("hello world")); !errors.Is(err, ErrNotExist) {
				t.Fatalf("uncommitted blob visible: %v", err)
			}
			io.WriteString(w, "world")
			must(t, w.Commit(sum("hello world")))
			if _, err := w.Write([]byte("more")); err == nil {
				t.Error("write after commit succeeded")
			}
			if err := w.Abort(); err != nil {
				t.Errorf("abort after commit: %v", err)
			}
			if got := readBlob(t, s, sum("hello world")); got != "hello world" {
				t.Errorf("blob %q", got)
			}
			a, _ := s.NewBlob()
			io.WriteString(a, "partial")
			must(t, a.Abort())
			if _, err := s.OpenBlob(sum("partial")); !errors.Is(err, ErrNotExist) {
				t.Error("aborted blob visible")
			}
			writeBlob(t, s, "hello world")
			if got := readBlob(t, s, sum("hello world")); got != "hello world" {
				t.Errorf("blob after a second commit %q", got)
			}
			if _, err := s.OpenBlob(sum("never")); !errors.Is(err, ErrNotExist) {
				t.Errorf("missing blob: %v", err)
			}

			// Metadata.
			p, err := s.CreateProject(Project{Path: "a/b"})
			if err != nil || p.ID != 1 {
				t.Fatalf("auto ID: %+v %v", p, err)
			}
			if _, err := s.CreateProject(Project{ID: 7, Path: "A/B"}); !errors.Is(err, ErrExist) {
				t.Errorf("duplicate path ignoring case: %v", err)
			}
			if _, err := s.CreateProject(Project{ID: 1, Path: "c/d"}); !errors.Is(err, ErrExist) {
				t.Errorf("duplicate ID: %v", err)
			}
			if q, err := s.CreateProject(Project{Path: "c/d"}); err != nil || q.ID != 2 {
				t.Errorf("second auto ID: %+v %v", q, err)
			}
			if q, err := s.ProjectByPath("A/b"); err != nil || q.ID != 1 {
				t.Errorf("ProjectByPath: %+v %v", q, err)
			}
			if _, err := s.ProjectByPath("x/y"); !errors.Is(err, ErrNotExist) {
				t.Errorf("ProjectByPath of a missing project: %v", err)
			}
			if _, err := s.Project(99); !errors.Is(err, ErrNotExist) {
				t.Errorf("missing project: %v", err)
			}
			if _, _, err := s.CreatePackage(Package{ProjectID: 99}, PackageFile{}); !errors.Is(err, ErrNotExist) {
				t.Errorf("package in a missing project: %v", err)
			}
			pkg, f, err := s.CreatePackage(Package{ProjectID: 1, Name: "n"}, PackageFile{FileName: "x", SHA256: sum("x")})
			must(t, err)
			if f.PackageID != pkg.ID || pkg.ID != 1 || f.ID != 1 {
				t.Errorf("first package %d, file %d of package %d", pkg.ID, f.ID, f.PackageID)
			}
			g, err := s.CreateFile(PackageFile{PackageID: pkg.ID, FileName: "y", SHA256: sum("y")})
			must(t, err)
			files, _ := s.Files(pkg.ID)
			if len(files) != 2 || files[0].ID != f.ID || files[1].ID != g.ID {
				t.Errorf("files %+v", files)
			}
			g.Status = StatusPendingDestruction
			must(t, s.UpdateFile(g))
			if got, _ := s.File(g.ID); got.Status != StatusPendingDestruction {
				t.Errorf("updated file %+v", got)
			}
			// FilesNamed: the files of one name in one package, in ID
			// order, whatever their status.
			g2, err := s.CreateFile(PackageFile{PackageID: pkg.ID, FileName: "y", SHA256: sum("y2")})
			must(t, err)
			other, _, err := s.CreatePackage(Package{ProjectID: 1, Name: "m"}, PackageFile{FileName: "y", SHA256: sum("y")})
			must(t, err)
			if named, _ := s.FilesNamed(pkg.ID, "y"); len(named) != 2 || named[0].ID != g.ID || named[1].ID != g2.ID ||
				named[0].Status != StatusPendingDestruction {
				t.Errorf("FilesNamed(y) %+v", named)
			}
			if named, _ := s.FilesNamed(other.ID, "y"); len(named) != 1 || named[0].PackageID != other.ID {
				t.Errorf("FilesNamed(y) of the other package %+v", named)
			}
			if named, _ := s.FilesNamed(pkg.ID, "z"); len(named) != 0 {
				t.Errorf("FilesNamed(z) %+v", named)
			}
			if files, _ := s.Files(pkg.ID); len(files) != 3 || files[2].ID != g2.ID {
				t.Errorf("files after a third %+v", files)
			}
			// A file keeps its package and name.
			moved := g2
			moved.FileName = "z"
			if err := s.UpdateFile(moved); err == nil {
				t.Error("UpdateFile renamed a file")
			}
			moved = g2
			moved.PackageID = other.ID
			if err := s.UpdateFile(moved); err == nil {
				t.Error("UpdateFile moved a file to another package")
			}
			if got, _ := s.File(g2.ID); got != g2 {
				t.Errorf("refused updates changed the file: %+v", got)
			}
			if _, err := s.CreateFile(PackageFile{PackageID: 99}); !errors.Is(err, ErrNotExist) {
				t.Errorf("file of a missing package: %v", err)
			}
			if err := s.UpdatePackage(Package{ID: 99}); !errors.Is(err, ErrNotExist) {
				t.Errorf("update of a missing package: %v", err)
			}
			if err := s.UpdateFile(PackageFile{ID: 99}); !errors.Is(err, ErrNotExist) {
				t.Errorf("update of a missing file: %v", err)
			}
			pkg.Status = StatusHidden
			must(t, s.UpdatePackage(pkg))
			if got, _ := s.Package(pkg.ID); got.Status != StatusHidden {
				t.Errorf("updated package %+v", got)
			}
			// PackagesNamed: a project's packages of one name, in ID
			// order, whatever their status.
			again, _, err := s.CreatePackage(Package{ProjectID: 1, Name: "n", Version: "2"}, PackageFile{FileName: "x", SHA256: sum("x")})
			must(t, err)
			elsewhere, _, err := s.CreatePackage(Package{ProjectID: 2, Name: "n"}, PackageFile{FileName: "x", SHA256: sum("x")})
			must(t, err)
			if named, _ := s.PackagesNamed(1, "n"); len(named) != 2 || named[0].ID != pkg.ID || named[1].ID != again.ID ||
				named[0].Status != StatusHidden {
				t.Errorf("PackagesNamed(1, n) %+v", named)
			}
			if named, _ := s.PackagesNamed(2, "n"); len(named) != 1 || named[0].ID != elsewhere.ID {
				t.Errorf("PackagesNamed(2, n) %+v", named)
			}
			if named, _ := s.PackagesNamed(1, "N"); len(named) != 0 {
				t.Errorf("PackagesNamed(1, N) %+v", named)
			}
			if pkgs, _ := s.Packages(1); len(pkgs) != 3 || pkgs[0].ID != pkg.ID || pkgs[2].ID != again.ID {
				t.Errorf("Packages(1) %+v", pkgs)
			}
			// A package keeps its project and name.
			renamed := again
			renamed.Name = "o"
			if err := s.UpdatePackage(renamed); err == nil {
				t.Error("UpdatePackage renamed a package")
			}
			renamed = again
			renamed.ProjectID = 2
			if err := s.UpdatePackage(renamed); err == nil {
				t.Error("UpdatePackage moved a package to another project")
			}
			if got, _ := s.Package(again.ID); got != again {
				t.Errorf("refused updates changed the package: %+v", got)
			}
			if pkgs, _ := s.Packages(3); len(pkgs) != 0 {
				t.Errorf("packages of a missing project: %+v", pkgs)
			}
		})
	}
}

// seedDisk fills a store through its API and returns what it stored.
func seedDisk(t *testing.T, s Store) ([]Project, []Package, []PackageFile) {
	t.Helper()
	now := time.Date(2025, 3, 4, 5, 6, 7, 890000000, time.UTC)
	p1, err := s.CreateProject(Project{ID: 12, Path: "acme/tools", Visibility: Public})
	must(t, err)
	p2, err := s.CreateProject(Project{Path: "acme/private", PackageRegistryPublic: true})
	must(t, err)
	var pkgs []Package
	var files []PackageFile
	for i, data := range []string{"one", "two", "three"} {
		key := writeBlob(t, s, data)
		pkg, f, err := s.CreatePackage(
			Package{ProjectID: p1.ID, Name: "cli", Version: fmt.Sprintf("1.%d.0", i), Type: "generic", Status: StatusDefault, CreatedAt: now, UpdatedAt: now},
			PackageFile{FileName: "cli.tar.gz", Size: int64(len(data)), SHA256: key, Status: StatusDefault, CreatedAt: now, UpdatedAt: now})
		must(t, err)
		pkgs, files = append(pkgs, pkg), append(files, f)
	}
	g, err := s.CreateFile(PackageFile{PackageID: pkgs[0].ID, FileName: "dir%2Fnotes.txt", Size: 3, SHA256: sum("two"), Status: StatusDefault, CreatedAt: now, UpdatedAt: now})
	must(t, err)
	files = append(files, g)
	pkgs[2].Status, pkgs[2].LastDownloadedAt = StatusDeprecated, now.Add(time.Hour)
	must(t, s.UpdatePackage(pkgs[2]))
	return []Project{p1, p2}, pkgs, files
}

func TestDiskStorePersists(t *testing.T) {
	dir := t.TempDir()
	d, err := NewDiskStore(dir)
	must(t, err)
	projects, pkgs, files := seedDisk(t, d)
	must(t, d.Close())

	d = openDisk(t, dir)
	gotProjects, _ := d.Projects()
	if !reflect.DeepEqual(gotProjects, projects) {
		t.Errorf("projects after reopening:\n got %+v\nwant %+v", gotProjects, projects)
	}
	gotPkgs, _ := d.Packages(projects[0].ID)
	if len(gotPkgs) != len(pkgs) {
		t.Fatalf("packages after reopening: %+v", gotPkgs)
	}
	for i := range pkgs {
		if g, w := gotPkgs[i], pkgs[i]; !g.CreatedAt.Equal(w.CreatedAt) || !g.LastDownloadedAt.Equal(w.LastDownloadedAt) {
			t.Errorf("package %d times: got %+v, want %+v", w.ID, g, w)
		}
		gotPkgs[i].CreatedAt, gotPkgs[i].UpdatedAt, gotPkgs[i].LastDownloadedAt = pkgs[i].CreatedAt, pkgs[i].UpdatedAt, pkgs[i].LastDownloadedAt
	}
	if !reflect.DeepEqual(gotPkgs, pkgs) {
		t.Errorf("packages after reopening:\n got %+v\nwant %+v", gotPkgs, pkgs)
	}
	var gotFiles []PackageFile
	for _, p := range gotPkgs {
		fs, _ := d.Files(p.ID)
		for _, f := range fs {
			f.CreatedAt, f.UpdatedAt = files[0].CreatedAt, files[0].UpdatedAt
			gotFiles = append(gotFiles, f)
		}
	}
	// Files by package: package 1 holds files 1 and 4.
	wantFiles := []PackageFile{files[0], files[3], files[1], files[2]}
	if !reflect.DeepEqual(gotFiles, wantFiles) {
		t.Errorf("files after reopening:\n got %+v\nwant %+v", gotFiles, wantFiles)
	}
	if named, _ := d.FilesNamed(pkgs[0].ID, "dir%2Fnotes.txt"); len(named) != 1 || named[0].ID != files[3].ID {
		t.Errorf("FilesNamed after reopening: %+v", named)
	}
	if named, _ := d.PackagesNamed(projects[0].ID, "cli"); len(named) != 3 || named[2].ID != pkgs[2].ID {
		t.Errorf("PackagesNamed after reopening: %+v", named)
	}
	for _, f := range wantFiles {
		if got := readBlob(t, d, f.SHA256); sum(got) != f.SHA256 {
			t.Errorf("blob of file %d: %q", f.ID, got)
		}
	}
	// IDs continue where they stopped: none is handed out twice.
	pkg, f, err := d.CreatePackage(Package{ProjectID: projects[1].ID, Name: "x", Version: "1"}, PackageFile{FileName: "x", SHA256: sum("x")})
	must(t, err)
	if pkg.ID != 4 || f.ID != 5 {
		t.Errorf("IDs after reopening: package %d, file %d; want 4 and 5", pkg.ID, f.ID)
	}
	if q, err := d.CreateProject(Project{Path: "acme/new"}); err != nil || q.ID != 14 {
		t.Errorf("project ID after reopening: %+v %v", q, err)
	}
}

// A download's LastDownloadedAt costs no write; Close saves it.
func TestDiskStoreLastDownloadedAt(t *testing.T) {
	dir := t.TempDir()
	d, err := NewDiskStore(dir)
	must(t, err)
	_, pkgs, _ := seedDisk(t, d)
	before, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	must(t, err)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := pkgs[0]
	p.LastDownloadedAt = at
	must(t, d.UpdatePackage(p))
	if got, _ := d.Package(p.ID); !got.LastDownloadedAt.Equal(at) {
		t.Errorf("LastDownloadedAt in memory: %v", got.LastDownloadedAt)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "meta.json"))
	if string(before) != string(after) {
		t.Error("a LastDownloadedAt change rewrote meta.json")
	}
	must(t, d.Close())
	d = openDisk(t, dir)
	if got, _ := d.Package(p.ID); !got.LastDownloadedAt.Equal(at) {
		t.Errorf("LastDownloadedAt after Close and reopening: %v", got.LastDownloadedAt)
	}
}

func TestDiskStoreLocked(t *testing.T) {
	defer func(w time.Duration) { diskLockWait = w }(diskLockWait)
	diskLockWait = 20 * time.Millisecond
	dir := t.TempDir()
	d, err := NewDiskStore(dir)
	must(t, err)
	if _, err := NewDiskStore(dir); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second open: %v, want ErrLocked naming the directory", err)
	}
	must(t, d.Close())
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := d.CreateProject(Project{Path: "a/b"}); err == nil {
		t.Error("CreateProject on a closed store succeeded")
	}
	if _, err := d.NewBlob(); err == nil {
		t.Error("NewBlob on a closed store succeeded")
	}
	// The abandoned attempt lets go as soon as it gets the lock, so the
	// directory opens again.
	deadline := time.Now().Add(5 * time.Second)
	for {
		d2, err := NewDiskStore(dir)
		if err == nil {
			d2.Close()
			break
		}
		if !errors.Is(err, ErrLocked) || time.Now().After(deadline) {
			t.Fatalf("open after Close: %v", err)
		}
	}
}

// What a crash leaves behind (an upload in progress, a half-written
// meta.json temp) is invisible and removed when the store is opened.
func TestDiskStoreCrashLeftovers(t *testing.T) {
	dir := t.TempDir()
	d, err := NewDiskStore(dir)
	must(t, err)
	seedDisk(t, d)
	w, err := d.NewBlob()
	must(t, err)
	io.WriteString(w, "half an upl")
	must(t, os.WriteFile(filepath.Join(dir, "tmp", "meta-123"), []byte(`{"format":1,"proj`), 0o666))
	if got := dirEntries(t, filepath.Join(dir, "tmp")); len(got) != 2 {
		t.Fatalf("tmp holds %q, want the upload and the meta temp", got)
	}
	// Crash: the lock goes with the process, nothing is cleaned up.
	d.unlock()
	// What gpm did not write there stays (gpm serve --dir . in a project
	// that has a tmp of its own).
	must(t, os.WriteFile(filepath.Join(dir, "tmp", "notes.txt"), []byte("mine"), 0o666))
	must(t, os.Mkdir(filepath.Join(dir, "tmp", "blob-dir"), 0o777))

	d = openDisk(t, dir)
	if got := dirEntries(t, filepath.Join(dir, "tmp")); !slices.Equal(got, []string{"blob-dir", "notes.txt"}) {
		t.Errorf("tmp after reopening holds %q, want only what gpm did not write", got)
	}
	if got := dirEntries(t, filepath.Join(dir, "blobs", "sha256")); len(got) != 3 {
		t.Errorf("blobs after reopening: %q, want the 3 committed ones", got)
	}
	if pkgs, _ := d.Packages(12); len(pkgs) != 3 {
		t.Errorf("packages after reopening: %d, want 3", len(pkgs))
	}
}

func TestDiskStoreAbortAndBadCommit(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir)
	tmp := filepath.Join(dir, "tmp")

	w, _ := d.NewBlob()
	io.WriteString(w, "aborted")
	must(t, w.Abort())
	if got := dirEntries(t, tmp); len(got) != 0 {
		t.Errorf("tmp after Abort holds %q", got)
	}

	w, _ = d.NewBlob()
	io.WriteString(w, "content")
	if err := w.Commit(sum("other")); err == nil || !strings.Contains(err.Error(), sum("content")) {
		t.Errorf("Commit under a key that is not the content's sha256: %v", err)
	}
	if _, err := d.OpenBlob(sum("other")); !errors.Is(err, ErrNotExist) {
		t.Errorf("blob committed under a wrong key is visible: %v", err)
	}
	if got := dirEntries(t, tmp); len(got) != 0 {
		t.Errorf("tmp after a refused Commit holds %q", got)
	}
	if got := dirEntries(t, filepath.Join(dir, "blobs", "sha256")); len(got) != 0 {
		t.Errorf("blobs after a refused Commit: %q", got)
	}

	must(t, os.WriteFile(filepath.Join(dir, "outside"), []byte("secret"), 0o666))
	for _, key := range []string{"../../outside", "", strings.ToUpper(sum("x")), sum("x")[:63] + "/"} {
		if _, err := d.OpenBlob(key); !errors.Is(err, ErrNotExist) {
			t.Errorf("OpenBlob(%q): %v, want ErrNotExist", key, err)
		}
	}
}

// A change whose meta.json cannot be written is undone.
func TestDiskStoreWriteFailureUndoes(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir)
	_, pkgs, files := seedDisk(t, d)
	must(t, os.RemoveAll(filepath.Join(dir, "tmp")))

	if _, err := d.CreateProject(Project{Path: "x/y"}); err == nil {
		t.Error("CreateProject succeeded without a writable tmp")
	}
	if _, err := d.ProjectByPath("x/y"); !errors.Is(err, ErrNotExist) {
		t.Errorf("failed CreateProject left the project: %v", err)
	}
	if _, _, err := d.CreatePackage(Package{ProjectID: 12, Name: "n"}, PackageFile{}); err == nil {
		t.Error("CreatePackage succeeded without a writable tmp")
	}
	if _, err := d.CreateFile(PackageFile{PackageID: pkgs[0].ID}); err == nil {
		t.Error("CreateFile succeeded without a writable tmp")
	}
	p := pkgs[0]
	p.Status = StatusError
	if err := d.UpdatePackage(p); err == nil {
		t.Error("UpdatePackage succeeded without a writable tmp")
	}
	f := files[0]
	f.Status = StatusError
	if err := d.UpdateFile(f); err == nil {
		t.Error("UpdateFile succeeded without a writable tmp")
	}
	if got, _ := d.Package(p.ID); got.Status != StatusDefault {
		t.Errorf("failed UpdatePackage left status %q", got.Status)
	}
	if got, _ := d.File(f.ID); got.Status != StatusDefault {
		t.Errorf("failed UpdateFile left status %q", got.Status)
	}
	if got, _ := d.Packages(12); len(got) != 3 {
		t.Errorf("failed CreatePackage left %d packages", len(got))
	}
	if got, _ := d.Files(pkgs[0].ID); len(got) != 2 {
		t.Errorf("failed CreateFile left %d files in the package", len(got))
	}
	if got, _ := d.FilesNamed(pkgs[0].ID, ""); len(got) != 0 {
		t.Errorf("failed CreateFile left a file of its name: %+v", got)
	}
	if got, _ := d.PackagesNamed(12, "n"); len(got) != 0 {
		t.Errorf("failed CreatePackage left a package of its name: %+v", got)
	}

	must(t, os.Mkdir(filepath.Join(dir, "tmp"), 0o777))
	pkg, file, err := d.CreatePackage(Package{ProjectID: 12, Name: "n"}, PackageFile{SHA256: sum("n")})
	must(t, err)
	if pkg.ID != 4 || file.ID != 5 {
		t.Errorf("IDs after failed writes: package %d, file %d; want 4 and 5", pkg.ID, file.ID)
	}
}

func TestDiskStoreBadMeta(t *testing.T) {
	for _, tc := range []struct {
		name, meta, want string
	}{
		{"not json", `{"format":1,`, "meta.json"},
		{"format", `{"format":2}`, "format 2"},
		{"dangling package", `{"format":1,"last_package_id":1,"packages":[{"id":1,"project_id":9}]}`, "no project 9"},
		{"dangling file", `{"format":1,"last_file_id":1,"files":[{"id":1,"package_id":3,"sha256":"` + sum("") + `"}]}`, "no package 3"},
		{"id beyond counter", `{"format":1,"projects":[{"id":1,"path":"a/b"}],"last_package_id":1,"packages":[{"id":2,"project_id":1}]}`, "package id 2"},
		{"bad sha", `{"format":1,"projects":[{"id":1,"path":"a/b"}],"last_package_id":1,"packages":[{"id":1,"project_id":1}],"last_file_id":1,"files":[{"id":1,"package_id":1,"sha256":"../x"}]}`, "bad sha256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			must(t, os.WriteFile(filepath.Join(dir, "meta.json"), []byte(tc.meta), 0o666))
			_, err := NewDiskStore(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewDiskStore: %v, want an error with %q", err, tc.want)
			}
			// The failed open released the directory.
			must(t, os.Remove(filepath.Join(dir, "meta.json")))
			openDisk(t, dir)
		})
	}
}

// Concurrent uploads and downloads through the server: every upload lands,
// every download reads whole files, and it all survives reopening.
func TestDiskStoreConcurrentServer(t *testing.T) {
	dir := t.TempDir()
	d, err := NewDiskStore(dir)
	must(t, err)
	srv := New(Options{Store: d, AutoCreateProjects: true})
	srv.AddToken(Token{Value: "tok", User: "gpm"})
	ts := httptest.NewServer(srv)
	defer ts.Close()

	put := func(path, body string) error {
		req, _ := http.NewRequest(http.MethodPut, ts.URL+"/api/v4/projects/7/packages/generic/"+path, strings.NewReader(body))
		req.Header.Set("Private-Token", "tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("PUT %s: %s", path, resp.Status)
		}
		return nil
	}
	get := func(path string) (string, error) {
		resp, err := http.Get(ts.URL + "/api/v4/projects/7/packages/generic/" + path)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return string(b), err
	}
	content := func(v, f int) string { return strings.Repeat(fmt.Sprintf("v%d f%d ", v, f), 1000+v*10+f) }
	must(t, put("base/1.0.0/a.bin", content(0, 0)))

	const versions, filesPer = 8, 3
	var wg sync.WaitGroup
	errs := make(chan error, versions*filesPer*2)
	for v := 1; v <= versions; v++ {
		wg.Add(1)
		// Files of one version go up serially, as GitLab requires;
		// versions go up in parallel, next to downloads.
		go func() {
			defer wg.Done()
			for f := range filesPer {
				errs <- put(fmt.Sprintf("pkg/1.%d.0/f%d.bin", v, f), content(v, f))
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range filesPer {
				got, err := get("base/1.0.0/a.bin")
				if err == nil && got != content(0, 0) {
					err = fmt.Errorf("download of base read %d bytes, want %d", len(got), len(content(0, 0)))
				}
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	ts.Close()
	must(t, d.Close())

	d = openDisk(t, dir)
	srv = New(Options{Store: d})
	ts = httptest.NewServer(srv)
	defer ts.Close()
	for v := 1; v <= versions; v++ {
		for f := range filesPer {
			got, err := get(fmt.Sprintf("pkg/1.%d.0/f%d.bin", v, f))
			if err != nil || got != content(v, f) {
				t.Errorf("after reopening, 1.%d.0/f%d.bin: %d bytes, %v", v, f, len(got), err)
			}
		}
	}
	if got := dirEntries(t, filepath.Join(dir, "tmp")); len(got) != 0 {
		t.Errorf("tmp holds %q", got)
	}
}

// An upload whose client goes away mid-body leaves nothing: no package, no
// blob, no temp file.
func TestDiskStoreInterruptedUpload(t *testing.T) {
	dir := t.TempDir()
	d := openDisk(t, dir)
	done := make(chan string, 10)
	srv := New(Options{Store: d, AutoCreateProjects: true, Logf: func(format string, args ...any) {
		done <- fmt.Sprintf(format, args...)
	}})
	srv.AddToken(Token{Value: "tok", User: "gpm"})
	ts := httptest.NewServer(srv)
	defer ts.Close()

	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	must(t, err)
	fmt.Fprintf(conn, "PUT /api/v4/projects/7/packages/generic/pkg/1.0.0/big.bin HTTP/1.1\r\nHost: x\r\nPrivate-Token: tok\r\nContent-Length: 100000\r\n\r\n")
	conn.Write([]byte(strings.Repeat("x", 40000)))
	// Wait until the server has written part of the upload to disk.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ents := dirEntries(t, filepath.Join(dir, "tmp"))
		if len(ents) == 1 {
			if fi, err := os.Stat(filepath.Join(dir, "tmp", ents[0])); err == nil && fi.Size() > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the upload never reached tmp")
		}
		time.Sleep(time.Millisecond)
	}
	conn.Close()
	select {
	case line := <-done:
		if !strings.HasPrefix(line, "PUT ") {
			t.Errorf("log line %q", line)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the interrupted upload never finished")
	}

	if got := dirEntries(t, filepath.Join(dir, "tmp")); len(got) != 0 {
		t.Errorf("tmp after the interrupted upload holds %q", got)
	}
	if got := dirEntries(t, filepath.Join(dir, "blobs", "sha256")); len(got) != 0 {
		t.Errorf("blobs after the interrupted upload: %q", got)
	}
	// It was the project's first upload: the project goes with it.
	if _, err := d.Project(7); !errors.Is(err, ErrNotExist) {
		t.Errorf("the interrupted upload left its project: %v", err)
	}
	if pkgs, _ := d.Packages(7); len(pkgs) != 0 {
		t.Errorf("the interrupted upload left packages %+v", pkgs)
	}
	req, err := http.NewRequest(http.MethodGet, ts.URL+"/api/v4/projects/7/packages/generic/pkg/1.0.0/big.bin", nil)
	must(t, err)
	req.Header.Set("Private-Token", "tok")
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("download of the interrupted upload: %s", resp.Status)
	}
}
