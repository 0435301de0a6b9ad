package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// allowedImports is DESIGN.md's import graph: cmd/gpm -> {fetch, resolve} ->
// {registry, lock, manifest}. registry knows nothing of manifests or vendor
// directories, manifest and lock do no network I/O, and server is an
// independent reading of GitLab's API that imports no client package.
var allowedImports = map[string][]string{
	"version":  {},
	"hint":     {},
	"manifest": {"version", "hint"},
	"lock":     {"manifest", "version", "hint"},
	"registry": {"version", "hint"},
	"resolve":  {"registry", "lock", "manifest", "version", "hint"},
	"fetch":    {"registry", "lock", "manifest", "version", "hint"},
	"server":   {},
}

func TestImportGraph(t *testing.T) {
	const prefix = "github.com/gpmtool/gpm/internal/"
	dirs, err := os.ReadDir("../../internal")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		pkg := d.Name()
		allowed, known := allowedImports[pkg]
		if !known {
			t.Errorf("internal/%s is not in the import graph of depcheck_test.go: add it on purpose", pkg)
			continue
		}
		files, _ := filepath.Glob(filepath.Join("../../internal", pkg, "*.go"))
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
