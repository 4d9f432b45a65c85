// Package botapigen generates the types, unions and methods of package botapi
// from a committed, trimmed copy of the Bot API spec.
//
// # Input
//
// spec.json is trimmed by [Trim] from api.json of
// github.com/PaulSonOfLars/telegram-bot-api-spec (see SPEC.md for the commit
// and SPEC-LICENSE for its licence): names, kinds, types, required flags,
// return types, union members and discriminator values, and the descriptions
// of fields and parameters, which become the generated doc comments.
// spec_additions.json adds what is newer than that file, each entry with a
// note of its source. overrides.go is the reviewed table of facts the spec
// does not encode (int64 fields, literal-true fields, attach:// fields,
// Message-or-True returns, meaningful zero values).
//
// # Output
//
// [Generate] renders botapi's zz_generated_types.go (structs),
// zz_generated_unions.go (union interfaces, Unknown… fallbacks, decoders,
// discriminator-adding MarshalJSON and wire-type UnmarshalJSON),
// zz_generated_methods.go (parameter structs and Client methods) and
// zz_generated_table_test.go (every method and union member, for tests);
// go generate ./botapi runs it through cmd/botapigen. A test fails when the
// committed files differ from its output.
//
// # Decoding
//
// A struct with union-typed fields decodes through a generated wire type:
// the struct's fields plus a box per union field whose UnmarshalJSON peeks
// the discriminator and decodes the member once. On the getUpdates hot path
// (every field of Update, every field holding a Message) nested structs are
// decoded inline through their own wire types, so a batch takes one
// json.Unmarshal pass with no UnmarshalJSON call per message.
package botapigen
