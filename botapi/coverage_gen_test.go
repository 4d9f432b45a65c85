package botapi

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/internal/botapigen"
)

// coverageLine is the sentence the README's botapi section carries, computed
// here from the committed spec (spec.json merged with spec_additions.json)
// rather than typed by hand.
func coverageLine(c tally, version string) string {
	return fmt.Sprintf("**Coverage:** %d of %d methods and %d of %d types of %s.",
		c.methods, c.methodsTotal, c.types, c.typesTotal, version)
}

// tally counts covered and total methods and types.
type tally struct{ methods, methodsTotal, types, typesTotal int }

// declaredTypes returns the names of the types declared in the package's
// non-test files.
func declaredTypes(t *testing.T) map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	names := map[string]bool{}
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE {
				for _, s := range g.Specs {
					names[s.(*ast.TypeSpec).Name.Name] = true
				}
			}
		}
	}
	return names
}

// TestCoverage computes how much of the spec package botapi covers: a
// method counts when *Client has it, a type when the package declares it.
// It asserts full coverage and that the README states the figure.
func TestCoverage(t *testing.T) {
	s, err := botapigen.Load()
	require.NoError(t, err)
	client := reflect.TypeOf(&Client{})
	var missingMethods, missingTypes []string
	var c tally
	for _, m := range s.Methods {
		c.methodsTotal++
		if _, ok := client.MethodByName(botapigen.GoName(m.Name)); ok {
			c.methods++
		} else {
			missingMethods = append(missingMethods, m.Name)
		}
	}
	declared := declaredTypes(t)
	for _, ty := range s.Types {
		c.typesTotal++
		if declared[botapigen.GoName(ty.Name)] {
			c.types++
		} else {
			missingTypes = append(missingTypes, ty.Name)
		}
	}
	line := coverageLine(c, s.Version)
	t.Log(line)
	require.Empty(t, missingMethods, "methods without a Client method")
	require.Empty(t, missingTypes, "types not declared")

	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	require.Contains(t, string(readme), line, "README.md's botapi section must state the computed coverage")
}
