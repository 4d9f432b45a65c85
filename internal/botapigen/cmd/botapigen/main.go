// Command botapigen writes the generated files of package botapi from the
// committed trimmed spec, or (with -trim) refreshes that trimmed spec from a
// full api.json of github.com/PaulSonOfLars/telegram-bot-api-spec.
//
// Usage:
//
//	go run ./internal/botapigen/cmd/botapigen -out botapi
//	go run ./internal/botapigen/cmd/botapigen -trim path/to/api.json -spec internal/botapigen/spec.json
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/miniappkit/miniappkit/internal/botapigen"
)

func main() {
	out := flag.String("out", ".", "directory to write the generated Go files to")
	trim := flag.String("trim", "", "full api.json to trim into -spec (instead of generating)")
	spec := flag.String("spec", "", "trimmed spec to write with -trim")
	flag.Parse()
	if err := run(*out, *trim, *spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(out, trim, spec string) error {
	if trim != "" {
		if spec == "" {
			return fmt.Errorf("botapigen: -trim needs -spec")
		}
		full, err := os.ReadFile(trim)
		if err != nil {
			return err
		}
		b, err := botapigen.Trim(full)
		if err != nil {
			return err
		}
		return os.WriteFile(spec, b, 0o644)
	}
	s, err := botapigen.Load()
	if err != nil {
		return err
	}
	files, err := botapigen.Generate(s)
	if err != nil {
		return err
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(out, name), src, 0o644); err != nil {
			return err
		}
	}
	return nil
}
