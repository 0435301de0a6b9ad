package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/gpmtool/gpm/internal/manifest"
	"github.com/gpmtool/gpm/internal/resolve"
	versionpkg "github.com/gpmtool/gpm/internal/version"
)

var addFlags struct {
	project, version, pkg, registry string
	files                           []string
	extract                         bool
}

func init() {
	add := lookupCommand("add")
	add.flags = func(fs *pflag.FlagSet) {
		fs.StringVar(&addFlags.project, "project", "", "publisher project `P`: numeric ID or group/sub/project (required)")
		fs.StringVar(&addFlags.version, "version", "", "version constraint `C` (default: ^X.Y.Z of the newest version)")
		fs.StringArrayVar(&addFlags.files, "file", nil, "`GLOB` selecting files of the version (repeatable; default: every file)")
		fs.StringVar(&addFlags.pkg, "package", "", "name `N` in the registry, when it differs from NAME")
		fs.BoolVar(&addFlags.extract, "extract", false, "unpack archives into the package directory")
		fs.StringVar(&addFlags.registry, "registry", "", "registry `R`: one of the manifest's [registries.R]")
	}
	add.run = runAdd
	lookupCommand("remove").run = runRemove
}

// runAdd appends a package to packages.toml (keeping the user's comments
// and layout), then locks and installs it. If anything fails, the manifest
// and the lock are restored.
func runAdd(c *cli, args []string) error {
	if len(args) != 1 {
		return usageError("gpm add takes one package name, got %d arguments", len(args))
	}
	if addFlags.project == "" {
		return withHint(usageError("gpm add %s: --project is required", args[0]), "pass the publisher project's numeric ID or its path, e.g. --project acme/tools")
	}
	m, err := c.loadManifest()
	if err != nil {
		return err
	}
	e := manifest.Entry{Name: args[0], Project: addFlags.project, Package: addFlags.pkg, Version: addFlags.version,
		Files: addFlags.files, Extract: addFlags.extract, Registry: addFlags.registry}
	if _, ok := m.Lookup(e.Name); ok {
		return withHint(usageError("package %q is already in %s", e.Name, c.g.manifest), "to change its version, edit %s and run 'gpm update %s'", c.g.manifest, e.Name)
	}
	path := c.manifestPath()
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	// Validate what the user typed before asking the registry anything.
	if _, err := manifest.Append(path, data, e); err != nil {
		return err
	}
	if e.Version == "" {
		cl, err := c.clients(m).get(e.Registry)
		if err != nil {
			return err
		}
		name := e.Package
		if name == "" {
			name = e.Name
		}
		vs, err := resolve.Versions(c.ctx, cl, e.Project, name)
		if err != nil {
			return localError(e.Name, err)
		}
		v, ok := resolve.Newest(vs, nil)
		if !ok && len(vs) > 0 {
			v, ok = vs[len(vs)-1], true // only non-semver versions: pin the newest exactly
		}
		if !ok {
			return withHint(&kindError{kind: resolve.ErrNoMatch, msg: fmt.Sprintf("%s: no version of package %q in project %q", e.Name, name, e.Project)},
				"check the name (case-sensitive) with 'gpm search %s --project %s'", name, e.Project)
		}
		e.Version = defaultConstraint(v)
	}
	next, err := manifest.Append(path, data, e)
	if err != nil {
		return err
	}
	if err := c.editAndInstall(path, data, next); err != nil {
		return err
	}
	c.printf("added %s %s\n", e.Name, e.Version)
	return nil
}

// defaultConstraint is what gpm add writes for the newest version, as cargo
// add does: ^X.Y.Z, or an exact pin for a version that is not semver.
func defaultConstraint(v versionpkg.Version) string {
	if v.Semver == nil {
		return "=" + v.Raw
	}
	return "^" + v.Semver.String()
}

// runRemove removes a package from packages.toml, then installs, which drops
// its lock entry and removes the files gpm placed for it.
func runRemove(c *cli, args []string) error {
	if len(args) != 1 {
		return usageError("gpm remove takes one package name, got %d arguments", len(args))
	}
	m, err := c.loadManifest()
	if err != nil {
		return err
	}
	name := args[0]
	if _, ok := m.Lookup(name); !ok {
		return c.unknownPackage(m, name, "")
	}
	path := c.manifestPath()
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	next, err := manifest.Remove(path, data, name)
	if err != nil {
		return err
	}
	if err := c.editAndInstall(path, data, next); err != nil {
		return err
	}
	// The install already said "removed NAME" if it removed files.
	c.printf("removed %s from %s\n", name, filepath.Base(path))
	return nil
}

// unknownPackage is the usage error for a name the manifest does not
// declare: its hint is the closest declared name, else fallback (if any).
func (c *cli) unknownPackage(m *manifest.Manifest, name, fallback string) error {
	err := usageError("package %q is not in %s", name, c.g.manifest)
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

// editAndInstall writes the edited manifest and installs. A failed install
// puts the old manifest and lock back, so a failed add or remove changes
// nothing.
func (c *cli) editAndInstall(path string, old, next []byte) error {
	lockPath := c.lockPath()
	oldLock, lerr := os.ReadFile(lockPath)
	if err := writeFileAtomic(path, next); err != nil {
		return err
	}
	err := c.install(installOptions{})
	if err == nil {
		return nil
	}
	if rerr := writeFileAtomic(path, old); rerr != nil {
		return errors.Join(err, fmt.Errorf("restoring %s: %w", path, rerr))
	}
	switch {
	case lerr == nil:
		if rerr := writeFileAtomic(lockPath, oldLock); rerr != nil {
			return errors.Join(err, fmt.Errorf("restoring %s: %w", lockPath, rerr))
		}
	case errors.Is(lerr, os.ErrNotExist):
		os.Remove(lockPath)
	}
	return err
}

// writeFileAtomic replaces path with data through a temp file in the same
// directory, keeping path's permissions.
func writeFileAtomic(path string, data []byte) error {
	perm := os.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		perm = fi.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
