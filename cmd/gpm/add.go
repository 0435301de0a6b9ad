package main

import (
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/project"
)

func addCmd() *command {
	var e manifest.Entry
	return &command{
		name: "add", args: "NAME[@C] --project P [--version C] [--file GLOB]... [--package N] [--extract] [--registry R]",
		summary: "add a package to packages.toml, lock and install it",
		example: "gpm add cli-tool@^1.4 --project 12345",
		flags: func(fs *pflag.FlagSet) {
			fs.StringVar(&e.Project, "project", "", "publisher project `P`: numeric ID or group/sub/project (required)")
			fs.StringVar(&e.Version, "version", "", "version constraint `C` (default: ^X.Y.Z of the newest version)")
			fs.StringArrayVar(&e.Files, "file", nil, "`GLOB` selecting files of the version (repeatable; default: a template for files named by OS/arch, else every file)")
			fs.StringVar(&e.Package, "package", "", "name `N` in the registry, when it differs from NAME")
			fs.BoolVar(&e.Extract, "extract", false, "unpack archives into the package directory")
			fs.StringVar(&e.Registry, "registry", "", "registry `R`: one of the manifest's [registries.R]")
		},
		run: func(c *cli, args []string) error { return runAdd(c, args, e) },
	}
}

func removeCmd() *command {
	return &command{name: "remove", args: "NAME", summary: "remove a package, its lock entry and its installed files", example: "gpm remove cli-tool", run: runRemove}
}

// runAdd appends a package to packages.toml (keeping the user's comments
// and layout), then locks and installs it. If anything fails, the manifest
// and the lock are restored.
func runAdd(c *cli, args []string, e manifest.Entry) error {
	if len(args) != 1 {
		return usageError("gpm add takes one package name, got %d arguments", len(args))
	}
	// NAME@CONSTRAINT, as cargo add foo@1.2 and npm i foo@^1 take it.
	if name, constraint, ok := strings.Cut(args[0], "@"); ok {
		if constraint == "" {
			return withHint(usageError("gpm add %s: no version constraint after @", args[0]), "write NAME@CONSTRAINT such as %s@^1.2, or leave out the @ for ^X.Y.Z of the newest version", name)
		}
		if e.Version != "" && e.Version != constraint {
			return usageError("gpm add %s: the constraint after @ and --version %q disagree; give one of them", args[0], e.Version)
		}
		args[0], e.Version = name, constraint
	}
	if err := manifest.ValidName(args[0]); err != nil {
		return withHint(usageError("gpm add: invalid package name %q: %v", args[0], err), "the name is the directory under [install] dir; pass the registry's name with --package N when it differs")
	}
	if e.Project == "" {
		return withHint(usageError("gpm add %s: --project is required", args[0]), "pass the publisher project's numeric ID or its path, e.g. --project acme/tools")
	}
	p, err := c.loadProject()
	if err != nil {
		return err
	}
	e.Name = args[0]
	if _, ok := p.Manifest.Lookup(e.Name); ok {
		return withHint(usageError("package %q is already in %s", e.Name, filepath.Base(c.manifestPath())), "to change its version, edit %s and run 'gpm update %s'", c.manifestPath(), e.Name)
	}
	_, err = c.installWith(p, project.InstallOptions{}, func(o project.InstallOptions) (*project.Result, error) {
		var res *project.Result
		var err error
		e, res, err = p.Add(c.ctx, e, o)
		return res, err
	})
	if err != nil {
		return err
	}
	c.printf("added %s %s\n", e.Name, e.Version)
	return nil
}

// runRemove removes a package from packages.toml, then installs, which drops
// its lock entry and removes the files gpm placed for it.
func runRemove(c *cli, args []string) error {
	if len(args) != 1 {
		return usageError("gpm remove takes one package name, got %d arguments", len(args))
	}
	p, err := c.loadProject()
	if err != nil {
		return err
	}
	name := args[0]
	if _, ok := p.Manifest.Lookup(name); !ok {
		return c.unknownPackage(p.Manifest, name, "")
	}
	_, err = c.installWith(p, project.InstallOptions{}, func(o project.InstallOptions) (*project.Result, error) {
		return p.Remove(c.ctx, name, o)
	})
	if err != nil {
		return err
	}
	// The install already said "removed NAME" if it removed files.
	c.printf("removed %s from %s\n", name, filepath.Base(p.ManifestPath))
	return nil
}

// unknownPackage is the usage error for a name the manifest does not
// declare: its hint is the closest declared name, else fallback (if any).
func (c *cli) unknownPackage(m *manifest.Manifest, name, fallback string) error {
	err := usageError("package %q is not in %s", name, filepath.Base(c.manifestPath()))
	var names []string
	for _, p := range m.Packages {
		names = append(names, p.Name)
	}
	if s := suggest(name, names); s != "" {
		return withHint(err, "did you mean %q?", s)
	}
	if fallback != "" {
		return withHint(err, "%s", fallback)
	}
	return err
}
