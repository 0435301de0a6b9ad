package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// allowedImports is DESIGN.md's import graph ("Layout"), for every package
// of the module: cmd/gpm -> {project, publish, doctor, server} -> {fetch,
// resolve} -> {registry, lock, manifest} -> {hint, version, atomicfile}.
// Imports flow one way; a layer may skip layers below it, except that the
// shell (cmd/gpm) reaches fetch and resolve only through the engines.
// registry knows nothing of manifests or vendor directories, manifest and
// lock do no network I/O, and server is an independent reading of GitLab's
// API that imports no client package. atomicfile is a leaf like hint and
// version: the one way gpm replaces a file whole. tomlpos is a leaf too:
// the one reading of TOML source for the line of a key, which manifest and
// lock errors both cite. tomlsimple is a leaf as well: the fast decoder of
// the plain TOML that manifests and locks are mostly written in. platform
// is a leaf: what a platform is and how files globs expand for one.
var allowedImports = map[string][]string{
	"version":    {},
	"hint":       {},
	"atomicfile": {},
	"tomlpos":    {},
	"tomlsimple": {},
	"platform":   {},
	"manifest":   {"registry", "version", "hint", "tomlpos", "tomlsimple", "platform"},
	"lock":       {"manifest", "version", "hint", "atomicfile", "tomlpos", "tomlsimple", "platform"},
	"registry":   {"version", "hint"},
	"resolve":    {"registry", "lock", "manifest", "version", "hint", "platform"},
	"fetch":      {"registry", "lock", "manifest", "version", "hint", "atomicfile"},
	"project":    {"fetch", "resolve", "registry", "lock", "manifest", "version", "hint", "atomicfile", "platform"},
	"publish":    {"registry", "manifest", "version", "hint", "platform"},
	"doctor":     {"fetch", "registry", "lock", "manifest", "version", "hint", "platform"},
	"server":     {},
	// The shell: flags, output, exit codes. Not fetch, resolve or
	// atomicfile: what it needs of them is an engine's job.
	"cmd/gpm": {"project", "publish", "doctor", "server", "registry", "lock", "manifest", "version", "hint", "platform"},
	"bench":   {"server"},
}

// packageDir returns the directory of a package of allowedImports,
// relative to this one.
func packageDir(pkg string) string {
	switch pkg {
	case "cmd/gpm":
		return "."
	case "bench":
		return "../../bench"
	}
	return filepath.Join("../../internal", pkg)
}

func TestImportGraph(t *testing.T) {
	const prefix = "github.com/gpmtool/gpm/internal/"
	dirs, err := os.ReadDir("../../internal")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if _, known := allowedImports[d.Name()]; d.IsDir() && !known {
			t.Errorf("internal/%s is not in the import graph of depcheck_test.go: add it on purpose", d.Name())
		}
	}
	for pkg, allowed := range allowedImports {
		files, _ := filepath.Glob(filepath.Join(packageDir(pkg), "*.go"))
		if len(files) == 0 {
			t.Errorf("%s: no Go files in %s", pkg, packageDir(pkg))
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range ast.Imports {
				path := strings.Trim(imp.Path.Value, `"`)
				dep, ok := strings.CutPrefix(path, prefix)
				if !ok {
					continue
				}
				dep, _, _ = strings.Cut(dep, "/")
				if !contains(allowed, dep) {
					t.Errorf("%s imports internal/%s, which the design forbids", f, dep)
				}
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
