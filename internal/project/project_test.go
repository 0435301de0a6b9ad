package project

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gpmtool/gpm/internal/lock"
	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/server"
)

// registry starts an in-process registry with project 1 holding tool
// 1.0.0 and 1.1.0 and returns its URL.
func testRegistry(t *testing.T) (*server.Server, string) {
	t.Helper()
	srv := server.New(server.Options{})
	if err := srv.AddProject(server.Project{ID: 1, Path: "acme/tools", Visibility: server.Public}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.0.0", "1.1.0", "2.0.0"} {
		if _, err := srv.Publish(1, "tool", v, "tool.txt", []byte("tool "+v+"\n"), ""); err != nil {
			t.Fatal(err)
		}
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return srv, hs.URL
}

// testProject writes a packages.toml for the registry at url and loads it.
func testProject(t *testing.T, url, packages string) *Project {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "packages.toml")
	if err := os.WriteFile(path, []byte("[registry]\nurl = \""+url+"\"\n"+packages), 0o644); err != nil {
		t.Fatal(err)
	}
	env := Env{Getenv: func(k string) string {
		if k == "GPM_CACHE" {
			return filepath.Join(dir, "cache")
		}
		return ""
	}}
	p, err := Load(path, env)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func readVendor(t *testing.T, p *Project, name, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.Dir, name, file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInstallUpdateRemove(t *testing.T) {
	srv, url := testRegistry(t)
	ctx := context.Background()
	p := testProject(t, url, "[packages.tool]\nproject = 1\nversion = \"~1.0\"\n")

	// --locked without a lock refuses before writing anything.
	if _, err := p.Install(ctx, InstallOptions{Locked: true}); !errors.Is(err, lock.ErrStale) {
		t.Fatalf("locked install without a lock: %v, want ErrStale", err)
	}
	if _, err := os.Stat(p.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("--locked created the vendor directory: %v", err)
	}

	var planned []Change
	res, err := p.Install(ctx, InstallOptions{Planned: func(ch []Change, n int) { planned = ch }})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 1 || res.Changes[0].String() != "tool -> 1.0.0 (new)" || len(planned) != 1 {
		t.Fatalf("changes %v, planned %v", res.Changes, planned)
	}
	if got := readVendor(t, p, "tool", "tool.txt"); got != "tool 1.0.0\n" {
		t.Fatalf("installed %q", got)
	}
	if !p.Installed()["tool"] {
		t.Error("Installed does not report tool")
	}

	// A fresh lock: the second install makes no listing call at all.
	srv.ResetCounts()
	p2, err := Load(p.ManifestPath, p.env)
	if err != nil {
		t.Fatal(err)
	}
	if res, err = p2.Install(ctx, InstallOptions{Locked: true, Offline: true}); err != nil || len(res.Changes) != 0 || res.Report.Changed() {
		t.Fatalf("frozen re-install: %v %+v", err, res)
	}
	if n := srv.Counts()["list_packages"]; n != 0 {
		t.Errorf("fresh lock listed packages %d times", n)
	}

	// Outdated sees the newer versions; update moves within the constraint.
	rows, err := p2.Outdated(ctx)
	if err != nil || len(rows) != 1 || rows[0].Locked != "1.0.0" || rows[0].Matching != "1.0.0" || rows[0].Latest != "2.0.0" {
		t.Fatalf("outdated %+v, %v", rows, err)
	}

	// Add pins ^X.Y.Z of the newest version and installs it.
	e, res, err := p2.Add(ctx, manifest.Entry{Name: "tool2", Project: "1", Package: "tool"}, InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e.Version != "^2.0.0" || readVendor(t, p2, "tool2", "tool.txt") != "tool 2.0.0\n" {
		t.Fatalf("add wrote %q", e.Version)
	}
	if data, _ := os.ReadFile(p2.ManifestPath); !strings.Contains(string(data), "[packages.tool2]") {
		t.Fatalf("manifest after add:\n%s", data)
	}

	// Remove drops the entry, its lock entry and its files.
	if _, err := p2.Remove(ctx, "tool2", InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(p2.Dir, "tool2")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("tool2 still installed: %v", err)
	}
	if _, ok := p2.Lock.Lookup("tool2"); ok {
		t.Error("tool2 still locked")
	}
}

// A failed add leaves the manifest and the lock byte for byte as they were.
func TestAddFailureRestores(t *testing.T) {
	_, url := testRegistry(t)
	ctx := context.Background()
	p := testProject(t, url, "[packages.tool]\nproject = 1\nversion = \"^1\"\n")
	if _, err := p.Install(ctx, InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	manifestBefore, _ := os.ReadFile(p.ManifestPath)
	lockBefore, _ := os.ReadFile(p.LockPath)

	_, _, err := p.Add(ctx, manifest.Entry{Name: "ghost", Project: "1", Version: "^1"}, InstallOptions{})
	if !errors.Is(err, ErrNoMatch) {
		t.Fatalf("adding a missing package: %v, want ErrNoMatch", err)
	}
	manifestAfter, _ := os.ReadFile(p.ManifestPath)
	lockAfter, _ := os.ReadFile(p.LockPath)
	if string(manifestAfter) != string(manifestBefore) || string(lockAfter) != string(lockBefore) {
		t.Errorf("failed add changed files:\n%s\n%s", manifestAfter, lockAfter)
	}
}

// VerifyRemote reports a file re-published under its locked name.
func TestVerifyRemoteRepublished(t *testing.T) {
	srv, url := testRegistry(t)
	ctx := context.Background()
	p := testProject(t, url, "[packages.tool]\nproject = 1\nversion = \"=1.1.0\"\n")
	if _, err := p.Install(ctx, InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	if checks, err := p.VerifyRemote(ctx); err != nil || len(checks) != 1 || checks[0].Status != RemoteOK {
		t.Fatalf("verify remote before: %+v %v", checks, err)
	}
	if _, err := srv.Publish(1, "tool", "1.1.0", "tool.txt", []byte("evil\n"), ""); err != nil {
		t.Fatal(err)
	}
	checks, err := p.VerifyRemote(ctx)
	if !errors.Is(err, ErrIntegrity) || len(checks) != 1 || checks[0].Status != RemoteRepublished {
		t.Fatalf("verify remote after re-publish: %+v %v", checks, err)
	}
	if rep, err := p.Verify(ctx); err != nil || !rep.OK() {
		t.Fatalf("local verify: %+v %v", rep, err)
	}
}

// Under --offline nothing stale may be resolved (ErrOffline, exit 3).
func TestOfflineNeedsLock(t *testing.T) {
	_, url := testRegistry(t)
	p := testProject(t, url, "[packages.tool]\nproject = 1\nversion = \"^1\"\n")
	if _, err := p.Install(context.Background(), InstallOptions{Offline: true}); !errors.Is(err, ErrOffline) {
		t.Fatalf("offline install without a lock: %v, want ErrOffline", err)
	}
}

func TestDiffLocks(t *testing.T) {
	old := &lock.File{Packages: []lock.Package{{Name: "a", Version: "1"}, {Name: "b", Version: "1"}}}
	next := &lock.File{Packages: []lock.Package{{Name: "a", Version: "2"}, {Name: "c", Version: "1"}}}
	var got []string
	for _, ch := range DiffLocks(old, next) {
		got = append(got, ch.String())
	}
	if want := "a 1 -> 2|c -> 1 (new)|b 1 -> removed"; strings.Join(got, "|") != want {
		t.Errorf("DiffLocks = %q, want %q", strings.Join(got, "|"), want)
	}
	if d := DiffLocks(nil, &lock.File{}); d == nil {
		t.Error("DiffLocks returned nil, want []")
	}
}

func TestSuggestConstraint(t *testing.T) {
	tests := []struct{ written, to, want string }{
		{"^1.2", "2.0.0", "^2.0.0"},
		{"~1.2.3", "1.3.0", "~1.3.0"},
		{"=1.2.3", "1.3.0", "=1.3.0"},
		{" ^1 ", "2.0.0", "^2.0.0"},
		{"1.2.3", "1.3.0", "1.3.0"},
		{"v1.2.3", "1.3.0", "1.3.0"},
		{">=1.0, <2", "2.0.0", "^2.0.0"},
		{"1.x", "2.0.0", "^2.0.0"},
		{"*", "2.0.0-rc.1", "^2.0.0-rc.1"},
		{"^1", "2024.06-b3", "=2024.06-b3"},
		{"=2024.05", "2024.06-b3", "=2024.06-b3"},
	}
	for _, tt := range tests {
		if got := SuggestConstraint(tt.written, tt.to); got != tt.want {
			t.Errorf("SuggestConstraint(%q, %q) = %q, want %q", tt.written, tt.to, got, tt.want)
		}
	}
}

// TestInstallEventsFollowPlan: downloads start while entries still
// resolve, yet the caller sees their progress only after Planned, so the
// plan it prints comes first; and every file's events arrive.
func TestInstallEventsFollowPlan(t *testing.T) {
	srv, url := testRegistry(t)
	if _, err := srv.Publish(1, "late", "1.0.0", "late.txt", []byte("late\n"), ""); err != nil {
		t.Fatal(err)
	}
	// late's file listing is slow: tool's download runs meanwhile.
	if err := srv.AddFault(server.Fault{Method: "GET", Path: "/packages/4/package_files", Kind: server.FaultSlow, Delay: 200 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	p := testProject(t, url, "[packages.tool]\nproject = 1\nversion = \"~1.0\"\n[packages.late]\nproject = 1\nversion = \"*\"\n")
	var mu sync.Mutex
	var seq []string
	_, err := p.Install(context.Background(), InstallOptions{
		Planned: func([]Change, int) {
			mu.Lock()
			seq = append(seq, "planned")
			mu.Unlock()
		},
		Events: func(e Event) {
			mu.Lock()
			seq = append(seq, e.Kind.String()+" "+e.Package)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seq) == 0 || seq[0] != "planned" {
		t.Fatalf("events before the plan: %v", seq)
	}
	for _, want := range []string{"file-start tool", "file-done tool", "file-done late", "package-placed tool", "package-placed late"} {
		if !slices.Contains(seq, want) {
			t.Errorf("no %q event: %v", want, seq)
		}
	}
}

// A command reads the lock when it loads the project and again under the
// vendor directory's lock; the second read parses only when the file
// changed in between.
func TestReadLockParsesChangedBytesOnly(t *testing.T) {
	parses := 0
	parseLock = func(path string, data []byte) (*lock.File, error) {
		parses++
		return lock.Parse(path, data)
	}
	t.Cleanup(func() { parseLock = lock.Parse })
	_, url := testRegistry(t)
	ctx := context.Background()
	p := testProject(t, url, "[packages.tool]\nproject = 1\nversion = \"~1.0\"\n")
	if _, err := p.Install(ctx, InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := Load(p.ManifestPath, p.env)
	if err != nil {
		t.Fatal(err)
	}
	parses = 0
	if _, err := p.Install(ctx, InstallOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Verify(ctx); err != nil {
		t.Fatal(err)
	}
	if parses != 0 {
		t.Errorf("a no-op install and verify of an unchanged lock parsed it %d times after Load", parses)
	}

	// Another process rewrites the lock: the next read parses it.
	data, err := os.ReadFile(p.LockPath)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), `constraint = "~1.0"`, `constraint = "~1.0.0"`, 1)
	if edited == string(data) {
		t.Fatalf("no constraint to edit in\n%s", data)
	}
	if err := os.WriteFile(p.LockPath, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.readLock(); err != nil {
		t.Fatal(err)
	}
	if lp, _ := p.Lock.Lookup("tool"); parses != 1 || lp.Constraint != "~1.0.0" {
		t.Errorf("after a rewrite: %d parses, constraint %q", parses, lp.Constraint)
	}
	if err := os.Remove(p.LockPath); err != nil {
		t.Fatal(err)
	}
	if err := p.readLock(); err != nil || p.Lock != nil {
		t.Errorf("after removing the lock: %v, lock %v", err, p.Lock)
	}
}
