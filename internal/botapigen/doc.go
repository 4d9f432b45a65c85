// Package botapigen generates the types, unions and methods of package botapi
// from a committed, trimmed copy of the Bot API spec.
//
// # Input
//
// spec.json is trimmed by [Trim] from api.json of
// github.com/PaulSonOfLars/telegram-bot-api-spec (see SPEC.md for the commit
// and SPEC-LICENSE for its licence): names, kinds, types, required flags,
// return types, union members and discriminator values, no prose.
// spec_additions.json adds what is newer than that file, each entry with a
// note of its source. overrides.go is the reviewed table of facts the spec
// does not encode (int64 fields, literal-true fields, attach:// fields,
// Message-or-True returns, meaningful zero values).
//
// # Output
//
// [Generate] renders botapi's zz_generated_types.go, zz_generated_unions.go and
// zz_generated_methods.go; go generate ./botapi runs it through
// cmd/botapigen. A test fails when the committed files differ from its output.
package botapigen
