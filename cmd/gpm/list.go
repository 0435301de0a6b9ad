package main

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/gpmtool/gpm/internal/lock"
)

func listCmd() *command {
	return &command{name: "list", summary: "show what packages.lock pins and whether it is installed", example: "gpm list --json", run: runList}
}

// listEntry is one locked package in gpm list.
type listEntry struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	Project   string `json:"project"`
	Package   string `json:"package"`
	Registry  string `json:"registry,omitempty"`
	Installed bool   `json:"installed"`
	// Platforms are the platforms the package has files for; empty for a
	// package whose files serve every platform.
	Platforms []string `json:"platforms,omitempty"`
	// Skipped says the package's platforms exclude the current platform.
	Skipped bool `json:"skipped,omitempty"`
	// Bin are the package's commands in DIR/.bin: name -> the file they
	// run, relative to the package directory, for the current platform.
	Bin   map[string]string `json:"bin,omitempty"`
	Files []listFile        `json:"files"`
}

type listFile struct {
	Name     string `json:"name"`
	Platform string `json:"platform,omitempty"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
}

// runList shows what the lock pins and whether each package is in place. It
// makes no network request and reads no file content.
func runList(c *cli, args []string) error {
	if len(args) > 0 {
		return usageError("gpm list takes no arguments")
	}
	p, err := c.loadProject()
	if err != nil {
		return err
	}
	if p.Lock == nil {
		if c.g.json {
			return writeJSON(c, map[string]any{"platform": p.Platform, "packages": []listEntry{}})
		}
		c.printf("no %s yet: run 'gpm install' to resolve and lock %s\n", p.LockPath, plural(len(p.Manifest.Packages), "package"))
		return nil
	}
	installed := p.Installed()
	entries := make([]listEntry, 0, len(p.Lock.Packages))
	for _, lp := range p.Lock.Packages {
		e := listEntry{Name: lp.Name, Version: lp.Version, Project: lp.Project, Package: lp.Package, Registry: lp.Registry, Installed: installed[lp.Name], Platforms: lp.Has(), Files: []listFile{}}
		e.Bin = lp.BinFor(p.Platform)
		e.Skipped = len(lp.PlatformGlobs) > 0 && !slices.ContainsFunc(lp.PlatformGlobs, func(g string) bool { ok, _ := path.Match(g, p.Platform); return ok })
		for _, f := range lp.Files {
			e.Files = append(e.Files, listFile{Name: f.Name, Platform: f.Platform, Size: f.Size, SHA256: f.SHA256})
		}
		entries = append(entries, e)
	}
	if c.g.json {
		return writeJSON(c, map[string]any{"platform": p.Platform, "packages": entries})
	}
	// The PLATFORMS column appears only when platforms are in use, so
	// the table of a lock without them reads as it always did.
	withPlats := slices.ContainsFunc(p.Lock.Packages, func(lp lock.Package) bool { return lp.Specific() || len(lp.PlatformGlobs) > 0 })
	// So does the BIN column, only when a package links commands.
	withBin := slices.ContainsFunc(p.Lock.Packages, func(lp lock.Package) bool { return len(lp.Bin) > 0 })
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	head := "NAME\tVERSION\tFILES\tSIZE"
	if withPlats {
		head += "\tPLATFORMS"
	}
	if withBin {
		head += "\tBIN"
	}
	fmt.Fprintln(tw, head+"\tINSTALLED")
	for _, e := range entries {
		var size int64
		n := 0
		for _, f := range e.Files {
			// The files installed here: shared ones and this platform's.
			if f.Platform == "" || f.Platform == p.Platform {
				size += f.Size
				n++
			}
		}
		inst := "yes"
		switch {
		case e.Skipped:
			inst = "skipped"
		case !e.Installed:
			inst = "no"
		}
		plats := "all"
		if len(e.Platforms) > 0 {
			plats = strings.Join(e.Platforms, ",")
		}
		row := fmt.Sprintf("%s\t%s\t%d\t%s", e.Name, e.Version, n, formatBytes(size))
		if withPlats {
			row += "\t" + plats
		}
		if withBin {
			bins := "-"
			if len(e.Bin) > 0 {
				bins = strings.Join(slices.Sorted(maps.Keys(e.Bin)), ",")
			}
			row += "\t" + bins
		}
		fmt.Fprintln(tw, row+"\t"+inst)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if withPlats {
		c.printf("installing for %s\n", p.Platform)
	}
	return nil
}
