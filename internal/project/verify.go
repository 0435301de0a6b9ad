package project

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"golang.org/x/sync/errgroup"

	"github.com/gpmtool/gpm/internal/fetch"
	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/lock"
	"github.com/gpmtool/gpm/internal/registry"
)

// Verify rehashes the vendor directory against the lock. It holds the
// vendor directory's lock shared, so an install running now is waited for,
// and re-reads the lock under it (that install may have changed it).
// Integrity problems are in the report, and the error then matches
// ErrIntegrity; any other error means the directory could not be checked.
// A lock that is missing (or vanished meanwhile) is an error matching
// fs.ErrNotExist.
func (p *Project) Verify(ctx context.Context) (*VerifyReport, error) {
	unlock, err := fetch.RLockDir(p.Dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := p.readLock(); err != nil {
		return nil, err
	}
	if p.Lock == nil {
		return nil, fmt.Errorf("%s: %w", p.LockPath, fs.ErrNotExist)
	}
	view, _, err := p.view(p.Lock)
	if err != nil {
		return nil, err
	}
	return fetch.Verify(ctx, p.Dir, view, 0)
}

// Installed reports, for each locked package, whether it is in place as
// locked for the current platform. It only stats files (gpm verify reads
// them). A package that cannot be installed here is not in place.
func (p *Project) Installed() map[string]bool {
	var view *lock.File
	if p.Lock != nil {
		view, _, _ = p.Lock.ForPlatform(p.Platform)
	}
	return fetch.InPlace(p.Dir, view)
}

// Remote statuses of a locked file.
const (
	RemoteOK          = "ok"
	RemoteRepublished = "republished"
	RemoteMissing     = "missing"
)

// RemoteCheck is the registry's answer for one locked file.
type RemoteCheck struct {
	Package string `json:"package"`
	Version string `json:"version"`
	File    string `json:"file"`
	// Platform is the file's platform; "" for a shared file.
	Platform string `json:"platform,omitempty"`
	Status   string `json:"status"` // ok, republished, missing
	Detail   string `json:"detail,omitempty"`
}

// VerifyRemote checks, for every locked file, that the newest file of that
// name in the locked package is still the locked one: GitLab serves the
// newest duplicate, so a re-published file would be installed by anyone
// without the lock. It lists each package's files once and downloads
// nothing. When a file is not served as locked, the checks come with an
// error matching ErrIntegrity; any other error means the registry could not
// be asked.
func (p *Project) VerifyRemote(ctx context.Context) ([]RemoteCheck, error) {
	results := make([][]RemoteCheck, len(p.Lock.Packages))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(p.env.Jobs)
	for i, lp := range p.Lock.Packages {
		g.Go(func() error {
			cl, err := p.clients.get(lp.Registry)
			if err != nil {
				return err
			}
			files, err := cl.ListPackageFiles(ctx, lp.Project, lp.PackageID)
			if errors.Is(err, registry.ErrNotFound) {
				for _, f := range lp.Files {
					results[i] = append(results[i], RemoteCheck{lp.Name, lp.Version, f.Name, f.Platform, RemoteMissing, "the package is gone (deleted, hidden, or no longer visible to this credential)"})
				}
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s@%s: %w", lp.Name, lp.Version, err)
			}
			served := registry.NewestByName(files)
			for _, f := range lp.Files {
				rc := RemoteCheck{Package: lp.Name, Version: lp.Version, File: f.Name, Platform: f.Platform, Status: RemoteOK}
				s, ok := served[f.Name]
				switch {
				case !ok:
					rc.Status, rc.Detail = RemoteMissing, "no file of that name in the package"
				case s.SHA256 != "" && s.SHA256 != f.SHA256:
					rc.Status, rc.Detail = RemoteRepublished, fmt.Sprintf("the registry now serves sha256 %s (file id %d), locked %s (file id %d)", s.SHA256, s.ID, f.SHA256, f.FileID)
				case s.ID != f.FileID && s.Size != f.Size:
					rc.Status, rc.Detail = RemoteRepublished, fmt.Sprintf("the registry now serves file id %d of %d bytes, locked file id %d of %d bytes", s.ID, s.Size, f.FileID, f.Size)
				}
				results[i] = append(results[i], rc)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var all []RemoteCheck
	bad := 0
	for _, rs := range results {
		for _, rc := range rs {
			if rc.Status != RemoteOK {
				bad++
			}
			all = append(all, rc)
		}
	}
	if bad > 0 {
		files := fmt.Sprintf("%d locked files are", bad)
		if bad == 1 {
			files = "1 locked file is"
		}
		return all, hint.Wrap(kindErrorf(ErrIntegrity, "%s no longer served as locked by the registry", files),
			"GitLab keeps re-published files as duplicates and serves the newest: find out who re-published and why; if the new file is trustworthy, run 'gpm update NAME' to lock it")
	}
	return all, nil
}
