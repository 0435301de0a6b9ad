package main

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/spf13/pflag"

	"github.com/gpmtool/gpm/internal/project"
)

func verifyCmd() *command {
	var remote bool
	return &command{
		name: "verify", args: "[--remote]",
		summary: "rehash the vendor directory against packages.lock",
		example: "gpm verify --remote",
		flags: func(fs *pflag.FlagSet) {
			fs.BoolVar(&remote, "remote", false, "also check that the registry still serves each locked file (no download)")
		},
		run: func(c *cli, args []string) error { return runVerify(c, args, remote) },
	}
}

// jsonVerify is the --json document of gpm verify.
type jsonVerify struct {
	OK       bool                    `json:"ok"`
	Stale    []staleEntry            `json:"stale,omitempty"`
	Packages []project.VerifyPackage `json:"packages"`
	Remote   []project.RemoteCheck   `json:"remote,omitempty"`
}

// staleEntry is a lock entry that no longer matches the manifest.
type staleEntry struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// runVerify rehashes the vendor directory against the lock and, with
// --remote, asks the registry whether it still serves the locked files.
func runVerify(c *cli, args []string, remote bool) error {
	if len(args) > 0 {
		return usageError("gpm verify takes no arguments")
	}
	p, err := c.loadProject()
	if err != nil {
		return err
	}
	if p.Lock == nil {
		return withHint(usageError("no %s to verify against", p.LockPath), "run 'gpm install' first")
	}
	rep, verr := p.Verify(c.ctx)
	if verr != nil && !errors.Is(verr, project.ErrIntegrity) {
		return verr
	}
	out := jsonVerify{OK: true}
	for _, s := range p.Stale() {
		out.Stale = append(out.Stale, staleEntry{s.Name, s.Reason})
		c.warnf("%s: lock is out of date: %s", s.Name, s.Reason)
	}
	out.Packages = rep.Packages
	if out.Packages == nil {
		out.Packages = []project.VerifyPackage{} // [], not null
	}
	for _, w := range rep.Warnings {
		c.warnf("%s", w)
	}
	printSetAside(c, p.Dir, rep.Packages)
	for _, vp := range rep.Packages {
		if vp.Status == project.PackageOK {
			continue
		}
		c.printf("%s@%s: %s\n", vp.Name, vp.Version, vp.Status)
		for _, f := range vp.Files {
			if strings.HasPrefix(f.Got, "(") {
				// A description (a mode, a type), not a hash: worth showing.
				c.printf("  %s %s: %s, want %s\n", f.Status, f.Path, f.Got, f.Want)
				continue
			}
			c.printf("  %s %s\n", f.Status, f.Path)
		}
	}

	var remoteErr error
	if remote {
		out.Remote, remoteErr = p.VerifyRemote(c.ctx)
		for _, rc := range out.Remote {
			if rc.Status != project.RemoteOK {
				c.printf("%s@%s: %s: %s: %s\n", rc.Package, rc.Version, rc.File, rc.Status, rc.Detail)
			}
		}
	}
	if remoteErr != nil && !errors.Is(remoteErr, project.ErrIntegrity) {
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

// printSetAside tells about the files gpm install set aside in the vendor
// directory dir: a notice each, not a failure, and one hint with the
// command that removes them.
func printSetAside(c *cli, dir string, pkgs []project.VerifyPackage) {
	var paths []string
	for _, vp := range pkgs {
		for _, a := range vp.SetAside {
			c.printf("gpm: notice: %s@%s: %s is your changed file that 'gpm install' set aside; verify does not count it\n", vp.Name, vp.Version, sanitize(a))
			paths = append(paths, shellQuote(displayPath(filepath.Join(dir, vp.Name, filepath.FromSlash(a)))))
		}
	}
	if len(paths) == 0 {
		return
	}
	rm, it := "rm", "it"
	if runtime.GOOS == "windows" {
		rm = "del"
	}
	if len(paths) > 1 {
		it = "them"
	}
	c.printf("gpm: hint: keep what you need of your changes elsewhere, then remove %s: %s %s\n", it, rm, sanitize(strings.Join(paths, " ")))
}

// displayPath returns p relative to the working directory when it is below
// it, else p.
func displayPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if rel, err := filepath.Rel(wd, p); err == nil && filepath.IsLocal(rel) {
		return rel
	}
	return p
}

// shellQuote quotes s for a shell command line when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t'\"$`\\*?[]{}()<>|&;#~!") {
		return s
	}
	if runtime.GOOS == "windows" {
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
