package httpapi

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestOnlyTheAdapterWritesErrors reads this package's source and holds it
// to the shape routes.go describes: handlers return their errors, handle
// alone passes them to writeError, writeError alone writes an error body,
// and no code answers with an error status of its own, except readyz,
// whose 503 reports the server's state in the shape of its 200.
func TestOnlyTheAdapterWritesErrors(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if ok {
					if problem := errorWrite(fn.Name.Name, call); problem != "" {
						t.Errorf("%s: %s in %s, want the error returned to handle", fset.Position(call.Pos()), problem, fn.Name.Name)
					}
				}
				return true
			})
		}
	}
}

// successStatuses are the statuses a handler may write itself.
var successStatuses = map[string]bool{"StatusOK": true, "StatusCreated": true, "StatusNoContent": true}

// errorWrite says how call, made in the function named in, writes an
// error where it should not, or "".
func errorWrite(in string, call *ast.CallExpr) string {
	switch name := calledName(call); {
	case name == "writeError" && in != "handle":
		return "writeError called"
	case (name == "AbortWithStatusJSON" || name == "AbortWithError") && in != "writeError":
		return name + " called"
	}
	for _, arg := range call.Args {
		sel, ok := arg.(*ast.SelectorExpr)
		if !ok {
			continue
		}
		if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "http" && strings.HasPrefix(sel.Sel.Name, "Status") &&
			!successStatuses[sel.Sel.Name] && in != "readyz" {
			return "http." + sel.Sel.Name + " written"
		}
	}
	return ""
}

// calledName is the name of the function or method call calls.
func calledName(call *ast.CallExpr) string {
	switch f := call.Fun.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		return f.Sel.Name
	}
	return ""
}
