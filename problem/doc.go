// Package problem writes and reads RFC 9457 problem details, the
// application/problem+json error bodies every HTTP middleware of miniappkit
// answers with (initdata, ratelimit, webhook), so a user's own handlers can
// answer in the same shape:
//
//	problem.Error(w, http.StatusNotFound, "no such order")
//
// writes
//
//	{"type":"about:blank","title":"Not Found","status":404,"detail":"no such order"}
//
// with Content-Type: application/problem+json. [Write] takes a full
// [Details] value, for a type URI of your own or extension members such as
// the public "reason" of initdata's 401.
//
// # Why a package of its own
//
// It is a leaf that imports only the standard library, so initdata and
// ratelimit (leaves themselves) can use it without importing each other or
// anything heavier, and a user who wants one error format imports one small
// package. Putting it in initdata or webhook would have made the other
// middlewares depend on an unrelated package; putting it in internal/ would
// have hidden it from the users' handlers, which need it most.
//
// RFC 9457: https://www.rfc-editor.org/rfc/rfc9457
package problem
