package main

import (
	"fmt"
	"text/tabwriter"
)

func listCmd() *command {
	return &command{name: "list", summary: "show what packages.lock pins and whether it is installed", example: "gpm list --json", run: runList}
}

// listEntry is one locked package in gpm list.
type listEntry struct {
	Name      string     `json:"name"`
	Version   string     `json:"version"`
	Project   string     `json:"project"`
	Package   string     `json:"package"`
	Registry  string     `json:"registry,omitempty"`
	Installed bool       `json:"installed"`
	Files     []listFile `json:"files"`
}

type listFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
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
			return writeJSON(c, map[string]any{"packages": []listEntry{}})
		}
		c.printf("no %s yet: run 'gpm install' to resolve and lock %s\n", p.LockPath, plural(len(p.Manifest.Packages), "package"))
		return nil
	}
	installed := p.Installed()
	entries := make([]listEntry, 0, len(p.Lock.Packages))
	for _, lp := range p.Lock.Packages {
		e := listEntry{Name: lp.Name, Version: lp.Version, Project: lp.Project, Package: lp.Package, Registry: lp.Registry, Installed: installed[lp.Name], Files: []listFile{}}
		for _, f := range lp.Files {
			e.Files = append(e.Files, listFile{Name: f.Name, Size: f.Size, SHA256: f.SHA256})
		}
		entries = append(entries, e)
	}
	if c.g.json {
		return writeJSON(c, map[string]any{"packages": entries})
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVERSION\tFILES\tSIZE\tINSTALLED")
	for _, e := range entries {
		var size int64
		for _, f := range e.Files {
			size += f.Size
		}
		inst := "yes"
		if !e.Installed {
			inst = "no"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", e.Name, e.Version, len(e.Files), formatBytes(size), inst)
	}
	return tw.Flush()
}
