package botapi

// The generated files zz_generated_*.go come from the trimmed Bot API spec
// committed in internal/botapigen (spec.json, spec_additions.json) and its
// override table (overrides.go). Regenerate them with go generate ./botapi.

//go:generate go run ../internal/botapigen/cmd/botapigen -out .
