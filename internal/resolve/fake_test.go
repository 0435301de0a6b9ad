package resolve

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/gpmtool/gpm/internal/registry"
)

// fakeSource is an in-memory registry. Like GitLab's list API (and unlike
// registry.Client, which filters), ListPackages answers the name filter as a
// case-insensitive substring search over every row, whatever its status, so
// the tests show that Resolve filters for itself. It counts calls and the
// peak number of calls in flight.
type fakeSource struct {
	rows    []registry.Package
	files   map[int64][]registry.PackageFile
	content map[string][]byte // by FileRef.String(), for Download

	listErr     error
	filesErr    error
	downloadErr error
	latency     func() time.Duration

	mu          sync.Mutex
	calls       map[string]int // "list:NAME", "files:ID", "download:REF", "all:QUERY"
	inflight    int
	maxInflight int
}

func newFake() *fakeSource {
	return &fakeSource{files: map[int64][]registry.PackageFile{}, content: map[string][]byte{}, calls: map[string]int{}}
}

// add appends a package row and its files; ids must be unique.
func (s *fakeSource) add(p registry.Package, files ...registry.PackageFile) *fakeSource {
	if p.PackageType == "" {
		p.PackageType = "generic"
	}
	if p.Status == "" {
		p.Status = "default"
	}
	s.rows = append(s.rows, p)
	for i := range files {
		files[i].PackageID = p.ID
	}
	s.files[p.ID] = append(s.files[p.ID], files...)
	return s
}

func (s *fakeSource) enter(key string) func() {
	s.mu.Lock()
	s.calls[key]++
	s.inflight++
	s.maxInflight = max(s.maxInflight, s.inflight)
	lat := s.latency
	s.mu.Unlock()
	if lat != nil {
		time.Sleep(lat())
	}
	return func() {
		s.mu.Lock()
		s.inflight--
		s.mu.Unlock()
	}
}

func (s *fakeSource) count(prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, v := range s.calls {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

func (s *fakeSource) ListPackages(ctx context.Context, project, name string) ([]registry.Package, error) {
	defer s.enter("list:" + name)()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.listErr != nil {
		return nil, s.listErr
	}
	return s.search(name), nil
}

func (s *fakeSource) search(q string) []registry.Package {
	var out []registry.Package
	for _, p := range s.rows {
		if strings.Contains(strings.ToLower(p.Name), strings.ToLower(q)) {
			out = append(out, p)
		}
	}
	return out
}

func (s *fakeSource) ListPackageFiles(ctx context.Context, project string, packageID int64) ([]registry.PackageFile, error) {
	defer s.enter(fmt.Sprintf("files:%d", packageID))()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.filesErr != nil {
		return nil, s.filesErr
	}
	return append([]registry.PackageFile(nil), s.files[packageID]...), nil
}

func (s *fakeSource) Download(ctx context.Context, f registry.FileRef, want registry.Expect, dst io.Writer) (registry.Result, error) {
	defer s.enter("download:" + f.String())()
	if s.downloadErr != nil {
		return registry.Result{}, s.downloadErr
	}
	b, ok := s.content[f.String()]
	if !ok {
		return registry.Result{}, fmt.Errorf("download %s: %w", f, registry.ErrNotFound)
	}
	if want.Size >= 0 && int64(len(b)) != want.Size {
		return registry.Result{}, fmt.Errorf("download %s: %w", f, registry.ErrSizeMismatch)
	}
	// Write in two parts after a failed first attempt, as a retrying
	// client would, to exercise the destination's Reset.
	if r, ok := dst.(registry.Resetter); ok && len(b) > 1 {
		dst.Write(b[:1])
		if err := r.Reset(); err != nil {
			return registry.Result{}, err
		}
	}
	if _, err := dst.Write(b); err != nil {
		return registry.Result{}, err
	}
	return registry.Result{Size: int64(len(b)), SHA256: sum(b)}, nil
}

// searchSource adds GitLab's fuzzy search, for name suggestions.
type searchSource struct{ *fakeSource }

func (s searchSource) ListAllPackages(ctx context.Context, project, query string) ([]registry.Package, error) {
	defer s.enter("all:" + query)()
	return s.search(query), nil
}

// filteringSource behaves like registry.Client: exact names, downloadable
// statuses only.
type filteringSource struct{ *fakeSource }

func (s filteringSource) ListPackages(ctx context.Context, project, name string) ([]registry.Package, error) {
	all, err := s.fakeSource.ListPackages(ctx, project, name)
	var out []registry.Package
	for _, p := range all {
		if p.Name == name && (p.Status == "default" || p.Status == "deprecated") {
			out = append(out, p)
		}
	}
	return out, err
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// hexOf returns a distinct valid sha256 for a file name.
func hexOf(name string) string { return sum([]byte(name)) }
