package deps

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// referenceTests is what .ci/run's differential step runs with -tags
// osvscanner: every test that compares with the reference engine.
var referenceTests = regexp.MustCompile(`Agree|Differ`)

// A test that compares with the reference engine skips in the default
// build (or is not in it), so only its name brings it into the
// differential step: each test function that calls referenceEngine, and
// every test of a file built only with -tags osvscanner, must match
// referenceTests (naming
// one TestEnginesAgreement2 fails nothing; naming one TestReference fails
// this test).
func TestReferenceTestsAreNamedForTheDifferentialStep(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	found := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, err := parser.ParseFile(fset, f, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		// a file built only with the reference: all its tests compare
		tagged := bytes.HasPrefix(src, []byte("//go:build osvscanner\n"))
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil || fn.Recv != nil || len(fn.Name.Name) < 5 || fn.Name.Name[:4] != "Test" || fn.Name.Name == "TestMain" {
				continue
			}
			calls := tagged
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if id, ok := n.(*ast.Ident); ok && (id.Name == "referenceEngine" || id.Name == "scanWithBoth") {
					calls = true
				}
				return !calls
			})
			if !calls {
				continue
			}
			found++
			if !referenceTests.MatchString(fn.Name.Name) {
				t.Errorf("%s: %s compares with the reference engine but does not match %s: .ci/run's differential step would never run it", fset.Position(fn.Pos()), fn.Name.Name, referenceTests)
			}
		}
	}
	if found < 8 {
		t.Errorf("%d tests call referenceEngine, want the 8 or more of today", found)
	}
}
