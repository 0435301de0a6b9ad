package server

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// The behaviour gpm serve needs as a registry a team shares: tokens that
// may only read, a size limit that stores nothing, 404 for projects that
// do not exist, groups by ID, project paths GitLab would accept, and a
// store that always starts again.

// serveLike is a fixture configured like gpm serve with tokens: projects
// are created by the first upload, every request needs a token, "rw" may
// publish and "ro" may only read; both also work as Deploy-Token.
func serveLike(t *testing.T, opts Options) *fixture {
	t.Helper()
	opts.AutoCreateProjects, opts.RequireAuth = true, true
	f := newFixture(t, opts)
	f.srv.AddToken(Token{Value: "rw", User: "gpm", DeployHeader: true})
	f.srv.AddToken(Token{Value: "ro", User: "gpm", DeployHeader: true, Scopes: []string{ScopeReadAPI}})
	return f
}

var (
	rw = []string{"PRIVATE-TOKEN", "rw"}
	ro = []string{"PRIVATE-TOKEN", "ro"}
)

func TestReadOnlyTokens(t *testing.T) {
	f := serveLike(t, Options{})
	if res := f.put(genericPath("acme%2Ftools", "tool/1.0.0/a.bin"), "a", rw...); res.status != 201 {
		t.Fatalf("publish with the full token: %d %s", res.status, res.body)
	}
	pkgs := listPackages(t, f, "/api/v4/projects/acme%2Ftools/packages", ro...)
	if len(pkgs) != 1 {
		t.Fatalf("list with the read token: %+v", pkgs)
	}
	if files := listFiles(t, f, fmt.Sprintf("/api/v4/projects/acme%%2Ftools/packages/%d/package_files", pkgs[0].ID), ro...); len(files) != 1 {
		t.Errorf("files with the read token: %+v", files)
	}
	for _, hdr := range [][]string{ro, {"Deploy-Token", "ro"}, {"Deploy-Token", "rw"}, {"basic", "anyone:ro"}} {
		if res := f.get(genericPath("acme%2Ftools", "tool/1.0.0/a.bin"), hdr...); res.status != 200 || string(res.body) != "a" {
			t.Errorf("download with %v: %d %s", hdr, res.status, res.body)
		}
	}
	// Publishing and deleting are refused before anything is stored,
	// whichever header carries the read token, into an existing project or
	// a new one.
	for _, hdr := range [][]string{ro, {"Deploy-Token", "ro"}, {"Authorization", "Bearer ro"}} {
		for _, pid := range []string{"acme%2Ftools", "acme%2Fnew", "77"} {
			if res := f.put(genericPath(pid, "tool/1.0.1/a.bin"), "b", hdr...); res.status != 403 {
				t.Errorf("publish to %s with %v: %d %s", pid, hdr, res.status, res.body)
			}
		}
	}
	del := fmt.Sprintf("/api/v4/projects/acme%%2Ftools/packages/%d", pkgs[0].ID)
	if res := f.do(http.MethodDelete, del, nil, ro...); res.status != 403 {
		t.Errorf("delete with the read token: %d %s", res.status, res.body)
	}
	if ps, _ := f.srv.Store().Projects(); len(ps) != 1 {
		t.Errorf("refused publishes created projects: %+v", ps)
	}
	if res := f.get(genericPath("acme%2Ftools", "tool/1.0.1/a.bin"), rw...); res.status != 404 {
		t.Errorf("a refused publish landed: %d", res.status)
	}
	// The full token publishes through Deploy-Token too; an unknown value
	// there is not a credential.
	if res := f.put(genericPath("acme%2Ftools", "tool/1.0.2/a.bin"), "c", "Deploy-Token", "rw"); res.status != 201 {
		t.Errorf("publish with the full token as Deploy-Token: %d %s", res.status, res.body)
	}
	if res := f.get(genericPath("acme%2Ftools", "tool/1.0.0/a.bin"), "Deploy-Token", "nope"); res.status != 401 {
		t.Errorf("download with an unknown Deploy-Token: %d", res.status)
	}
	if res := f.do(http.MethodDelete, del, nil, rw...); res.status != 204 {
		t.Errorf("delete with the full token: %d %s", res.status, res.body)
	}
}

// TestTokensComparedInConstantTime keeps every lookup of a token value in
// lookupToken, which compares digests with subtle.ConstantTimeCompare: a
// map index or == on token values takes time that depends on how much of
// a guess is right.
func TestTokensComparedInConstantTime(t *testing.T) {
	files, err := filepath.Glob("*.go")
	must(t, err)
	fset := token.NewFileSet()
	constantTime := false
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		must(t, err)
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.SelectorExpr:
					if n.Sel.Name == "tokens" && fn.Name.Name != "lookupToken" && fn.Name.Name != "AddToken" {
						t.Errorf("%s: %s uses the tokens directly; look tokens up with lookupToken", fset.Position(n.Pos()), fn.Name.Name)
					}
					if fn.Name.Name == "lookupToken" && n.Sel.Name == "ConstantTimeCompare" {
						constantTime = true
					}
				case *ast.BinaryExpr:
					for _, side := range []ast.Expr{n.X, n.Y} {
						if sel, ok := side.(*ast.SelectorExpr); ok && sel.Sel.Name == "Value" && (n.Op == token.EQL || n.Op == token.NEQ) {
							t.Errorf("%s: %s compares a token value with %s", fset.Position(n.Pos()), fn.Name.Name, n.Op)
						}
					}
				}
				return true
			})
		}
	}
	if !constantTime {
		t.Error("lookupToken does not use subtle.ConstantTimeCompare")
	}
}
