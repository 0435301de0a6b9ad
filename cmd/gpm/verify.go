package main

import (
	"errors"
	"fmt"

	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"

	"github.com/gpmtool/gpm/internal/fetch"
	"github.com/gpmtool/gpm/internal/hint"
	"github.com/gpmtool/gpm/internal/lock"
	"github.com/gpmtool/gpm/internal/registry"
)

var verifyRemote bool

func init() {
	cmd := lookupCommand("verify")
	cmd.flags = func(fs *pflag.FlagSet) {
		fs.BoolVar(&verifyRemote, "remote", false, "also check that the registry still serves each locked file (no download)")
	}
	cmd.run = runVerify
}

// jsonVerify is the --json document of gpm verify.
type jsonVerify struct {
	OK       bool                  `json:"ok"`
	Stale    []staleEntry          `json:"stale,omitempty"`
	Packages []fetch.VerifyPackage `json:"packages"`
	Remote   []remoteCheck         `json:"remote,omitempty"`
}

// staleEntry is a lock entry that no longer matches the manifest.
type staleEntry struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// remoteCheck is the registry's answer for one locked file.
type remoteCheck struct {
	Package string `json:"package"`
	Version string `json:"version"`
	File    string `json:"file"`
	Status  string `json:"status"` // ok, republished, missing, unchecked
	Detail  string `json:"detail,omitempty"`
}

// runVerify rehashes the vendor directory against the lock and, with
// --remote, asks the registry whether it still serves the locked files.
func runVerify(c *cli, args []string) error {
	if len(args) > 0 {
		return usageError("gpm verify takes no arguments")
	}
	p, err := c.loadProject()
	if err != nil {
		return err
	}
	// Read the lock and the vendor directory under the vendor lock, shared:
	// an install running now is waited for, and may have changed the lock.
	unlock, err := fetch.RLockDir(p.dir)
	if err != nil {
		return err
	}
	defer unlock()
	if err := p.readLock(); err != nil {
		return err
	}
	if p.lock == nil {
		return withHint(usageError("no %s to verify against", p.lockPath), "run 'gpm install' first")
	}
	out := jsonVerify{OK: true}
	var staleErr *lock.StaleError
	if err := lock.Check(p.m, p.lock); errors.As(err, &staleErr) {
		for _, s := range staleErr.Entries {
			out.Stale = append(out.Stale, staleEntry{s.Name, s.Reason})
			c.warnf("%s: lock is out of date: %s", s.Name, s.Reason)
		}
	}

	rep, verr := fetch.VerifyLocked(c.ctx, p.dir, p.lock, 0)
	// The registry is asked without the vendor lock: an install need not
	// wait for the network.
	unlock()
	if verr != nil && !errors.Is(verr, fetch.ErrIntegrity) {
		return verr
	}
	out.Packages = rep.Packages
	if out.Packages == nil {
		out.Packages = []fetch.VerifyPackage{} // [], not null
	}
	for _, w := range rep.Warnings {
		c.warnf("%s", w)
	}
	problems := 0
	for _, vp := range rep.Packages {
		if vp.Status == fetch.PackageOK {
			continue
		}
		problems++
		c.printf("%s@%s: %s\n", vp.Name, vp.Version, vp.Status)
		for _, f := range vp.Files {
			c.printf("  %s %s\n", f.Status, f.Path)
		}
	}

	var remoteErr error
	if verifyRemote {
		out.Remote, remoteErr = c.verifyRemote(p)
		for _, rc := range out.Remote {
			if rc.Status != "ok" {
				c.printf("%s@%s: %s: %s %s\n", rc.Package, rc.Version, rc.File, rc.Status, rc.Detail)
			}
		}
	}
	if remoteErr != nil && !errors.Is(remoteErr, fetch.ErrIntegrity) {
		// The registry could not be asked: there is no verdict to print,
		// and the error document says why.
		return remoteErr
	}
	out.OK = verr == nil && remoteErr == nil
	if out.OK {
		c.printf("verified %s of %s (%s)\n", plural(rep.Files, "file"), plural(len(rep.Packages), "package"), formatBytes(rep.Bytes))
	}
	if c.g.json {
		if err := writeJSON(c, out); err != nil {
			return err
		}
	}
	if verr != nil {
		return verr
	}
	return remoteErr
}

// verifyRemote checks, for every locked file, that the newest file of that
// name in the locked package is still the locked one: GitLab serves the
// newest duplicate, so a re-published file would be installed by anyone
// without the lock. It lists each package's files once; it downloads nothing.
func (c *cli) verifyRemote(p *project) ([]remoteCheck, error) {
	cls := c.clients(p.m)
	results := make([][]remoteCheck, len(p.lock.Packages))
	g, ctx := errgroup.WithContext(c.ctx)
	g.SetLimit(c.g.jobs)
	for i, lp := range p.lock.Packages {
		g.Go(func() error {
			cl, err := cls.get(lp.Registry)
			if err != nil {
				return err
			}
			files, err := cl.ListPackageFiles(ctx, lp.Project, lp.PackageID)
			if errors.Is(err, registry.ErrNotFound) {
				for _, f := range lp.Files {
					results[i] = append(results[i], remoteCheck{lp.Name, lp.Version, f.Name, "missing", "the package is gone (deleted, hidden, or no longer visible to this credential)"})
				}
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s@%s: %w", lp.Name, lp.Version, err)
			}
			newest := map[string]registry.PackageFile{}
			for _, f := range files {
				if cur, ok := newest[f.FileName]; !ok || f.ID > cur.ID {
					newest[f.FileName] = f
				}
			}
			for _, f := range lp.Files {
				rc := remoteCheck{Package: lp.Name, Version: lp.Version, File: f.Name, Status: "ok"}
				served, ok := newest[f.Name]
				switch {
				case !ok:
					rc.Status, rc.Detail = "missing", "no file of that name in the package"
				case served.SHA256 != "" && served.SHA256 != f.SHA256:
					rc.Status, rc.Detail = "republished", fmt.Sprintf("the registry now serves sha256 %s (file id %d), locked %s (file id %d)", served.SHA256, served.ID, f.SHA256, f.FileID)
				case served.ID != f.FileID && served.Size != f.Size:
					rc.Status, rc.Detail = "republished", fmt.Sprintf("the registry now serves file id %d of %d bytes, locked file id %d of %d bytes", served.ID, served.Size, f.FileID, f.Size)
				}
				results[i] = append(results[i], rc)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var all []remoteCheck
	bad := 0
	for _, rs := range results {
		for _, rc := range rs {
			if rc.Status != "ok" {
				bad++
			}
			all = append(all, rc)
		}
	}
	if bad > 0 {
		return all, hint.Wrap(&kindError{kind: fetch.ErrIntegrity, msg: fmt.Sprintf("%d locked files are no longer served as locked by the registry", bad)},
			"GitLab keeps re-published files as duplicates and serves the newest: find out who re-published and why; if the new file is trustworthy, run 'gpm update NAME' to lock it")
	}
	return all, nil
}
