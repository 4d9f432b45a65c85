//go:build stdjson

package benchmarks

import "encoding/json"

// With -tags stdjson telego decodes with encoding/json
// (telego/internal/json/lib.std.go).
var telegoUnmarshal = json.Unmarshal

const telegoJSONName = "stdjson"
