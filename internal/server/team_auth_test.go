package server

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

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
