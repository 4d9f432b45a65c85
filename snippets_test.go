package miniappkit

import (
	"bytes"
	"fmt"
	"go/scanner"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// snippetImports maps the package names README and docs snippets use to
// their import paths: a snippet is pasted without its imports, the way a
// user's editor (goimports) completes them.
var snippetImports = map[string]string{
	"botapi":     "github.com/miniappkit/miniappkit/botapi",
	"botapitest": "github.com/miniappkit/miniappkit/botapi/botapitest",
	"broadcast":  "github.com/miniappkit/miniappkit/broadcast",
	"initdata":   "github.com/miniappkit/miniappkit/initdata",
	"payments":   "github.com/miniappkit/miniappkit/payments",
	"problem":    "github.com/miniappkit/miniappkit/problem",
	"ratelimit":  "github.com/miniappkit/miniappkit/ratelimit",
	"webhook":    "github.com/miniappkit/miniappkit/webhook",
	"storetest":  "github.com/miniappkit/miniappkit/webhook/storetest",
	"ledgertest": "github.com/miniappkit/miniappkit/payments/ledgertest",
	"router":     "github.com/miniappkit/miniappkit/botapi/router",
	// The engine modules, as their docs name them: store/redis under
	// another name, since go-redis's package is redis too.
	"sqlite":    "github.com/miniappkit/miniappkit/store/sqlite",
	"postgres":  "github.com/miniappkit/miniappkit/store/postgres",
	"miniredis": "miniredis github.com/miniappkit/miniappkit/store/redis",
	"pgxpool":   "github.com/jackc/pgx/v5/pgxpool",
	"redis":     "github.com/redis/go-redis/v9",
	"sql":       "database/sql",
	"context":   "context",
	"errors":    "errors",
	"fmt":       "fmt",
	"http":      "net/http",
	"httptest":  "net/http/httptest",
	"json":      "encoding/json",
	"log":       "log",
	"netip":     "net/netip",
	"os":        "os",
	"signal":    "os/signal",
	"slog":      "log/slog",
	"strings":   "strings",
	"strconv":   "strconv",
	"testing":   "testing",
	"time":      "time",
	"url":       "net/url",
}

// snippet is one ```go block of a Markdown file.
type snippet struct {
	file string // Markdown file, relative to the repository
	line int    // line of the block's first line of code
	code string
}

var fence = regexp.MustCompile("(?m)^```go\n((?s:.*?))^```\n")

// markdownSnippets returns every Go snippet of README.md and docs/*.md.
func markdownSnippets(t *testing.T) []snippet {
	t.Helper()
	files, err := filepath.Glob("docs/*.md")
	require.NoError(t, err)
	files = append([]string{"README.md"}, files...)
	var out []snippet
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range fence.FindAllSubmatchIndex(b, -1) {
			out = append(out, snippet{
				file: f,
				line: bytes.Count(b[:m[2]], []byte("\n")) + 1,
				code: string(b[m[2]:m[3]]),
			})
		}
	}
	return out
}

// program turns a snippet into the main.go a user would end up with after
// pasting it: a whole file stays as it is; declarations (a func at the
// start of a line) go into package main with an empty main if they lack
// one; anything else becomes the body of main. Imports are added for the
// package names the code uses, and //line directives make compile errors
// point at the Markdown file.
func (s snippet) program() string {
	if strings.HasPrefix(s.code, "package ") {
		return fmt.Sprintf("//line %s:%d\n%s", s.file, s.line, s.code)
	}
	var b strings.Builder
	b.WriteString("package main\n\nimport (\n")
	for _, p := range usedPackages(s.code) {
		if name, path, ok := strings.Cut(p, " "); ok {
			fmt.Fprintf(&b, "\t%s %q\n", name, path)
			continue
		}
		fmt.Fprintf(&b, "\t%q\n", p)
	}
	b.WriteString(")\n\n")
	if regexp.MustCompile(`(?m)^func `).MatchString(s.code) {
		fmt.Fprintf(&b, "//line %s:%d\n%s", s.file, s.line, s.code)
		if !strings.Contains(s.code, "\nfunc main()") && !strings.HasPrefix(s.code, "func main()") {
			b.WriteString("\nfunc main() {}\n")
		}
		return b.String()
	}
	fmt.Fprintf(&b, "func main() {\n//line %s:%d\n%s}\n", s.file, s.line, s.code)
	return b.String()
}

// usedPackages returns the import paths of the known package names used
// as "name." in code, comments and strings aside.
func usedPackages(code string) []string {
	var sc scanner.Scanner
	fs := token.NewFileSet()
	src := []byte(code)
	sc.Init(fs.AddFile("", -1, len(src)), src, nil, 0)
	var paths []string
	prev := ""
	for {
		_, tok, lit := sc.Scan()
		if tok == token.EOF {
			break
		}
		if tok == token.PERIOD && prev != "" {
			if p, ok := snippetImports[prev]; ok && !slices.Contains(paths, p) {
				paths = append(paths, p)
			}
		}
		prev = ""
		if tok == token.IDENT {
			prev = lit
		}
	}
	slices.Sort(paths)
	return paths
}

// TestMarkdownSnippetsBuild builds every Go snippet of README.md and
// docs/*.md as a user would paste it: one main package per snippet, in a
// module of their own that sits in a workspace with this checkout's
// modules (the repository's go.work: this one, the store modules, ...), so
// snippets of the engine modules build too. An error names the Markdown
// file and line. The go command runs with GOPROXY=off: the test never
// fetches a module; when a driver module is not in the module cache yet
// (a fresh clone before its first build of the store modules), the test
// skips, unless CI is set.
func TestMarkdownSnippetsBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every snippet with the go command; skipped in -short mode")
	}
	snippets := markdownSnippets(t)
	require.NotEmpty(t, snippets)
	root, err := os.Getwd()
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module snippets\n\ngo 1.25.0\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.work"), workspaceWith(t, root, dir), 0o644))
	for i, s := range snippets {
		d := filepath.Join(dir, fmt.Sprintf("s%03d", i))
		require.NoError(t, os.Mkdir(d, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(d, "main.go"), []byte(s.program()), 0o644))
	}
	cmd := exec.Command("go", "vet", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK="+filepath.Join(dir, "go.work"), "GOPROXY=off", "GOFLAGS=")
	out, err := cmd.CombinedOutput()
	if err != nil && os.Getenv("CI") == "" && bytes.Contains(out, []byte("GOPROXY=off")) {
		t.Skipf("a module the snippets need is not in the module cache (run go build in the store modules once):\n%s", out)
	}
	require.NoError(t, err, "a README or docs snippet does not build:\n%s", out)
}

// workspaceWith returns the repository's go.work with its modules' paths
// made absolute and the snippets' module added.
func workspaceWith(t *testing.T, root, snippets string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "go.work"))
	require.NoError(t, err)
	var out strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(f, "./") || f == ".":
			fmt.Fprintf(&out, "\t%s\n", filepath.Join(root, f))
		case strings.HasPrefix(f, "use ./") || f == "use .":
			fmt.Fprintf(&out, "use %s\n", filepath.Join(root, strings.TrimPrefix(f, "use ")))
		default:
			out.WriteString(line + "\n")
		}
	}
	fmt.Fprintf(&out, "use %s\n", snippets)
	return []byte(out.String())
}

// TestReadmeShape keeps the README a newcomer's page: at most 300 lines,
// with go get and the two commands (run the shop, run the tests) in its
// first 40. Long material belongs in docs/.
func TestReadmeShape(t *testing.T) {
	b, err := os.ReadFile("README.md")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	require.LessOrEqual(t, len(lines), 300, "README.md has %d lines; move detail to docs/", len(lines))
	first := strings.Join(lines[:min(40, len(lines))], "\n")
	for _, cmd := range []string{"go get github.com/miniappkit/miniappkit@latest", "go run ./examples/shop", "go test ./..."} {
		require.Contains(t, first, cmd, "the first 40 lines of README.md must show %q", cmd)
	}
}
