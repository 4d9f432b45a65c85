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
// spec_additions.json brings it to Bot API 10.3: what 10.2 and 10.3 added or
// changed, each entry with its source (aiogram's schema for 10.2, the
// @grammyjs/types 4.0.0 to 5.0.0 diff for 10.3; see SPEC.md). overrides.go is
// the reviewed table of facts the spec does not encode (int64 fields,
// literal-true fields, attach:// fields, Message-or-True returns, unions the
// spec does not name, meaningful zero values).
//
// # Zero values that mean something
//
// An optional field whose false, 0 or "" differs from leaving it out
// ("pass False to request regular users", "Pass an empty string to remove
// the icon", "defaults to True") is a pointer in Go, so both can be said;
// botapi.Ptr builds one. [ScanMeaningfulZero] finds these fields in the
// descriptions by fixed rules, and a test keeps overrides.go's list, where
// each has its reason, equal to what the scan finds. A pointer was chosen over
// an explicit-set wrapper (an Opt[T] with a Set flag) because it is what
// encoding/json omits and decodes without custom methods, what the package
// already used for these fields, and what Go users of other REST clients
// (go-github) know.
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
