//go:build !stdjson

package benchmarks

import gojson "github.com/grbit/go-json"

// telego's default build decodes with this goccy/go-json fork
// (telego/internal/json/lib.gojson.go); build with -tags stdjson for
// encoding/json.
var telegoUnmarshal = gojson.Unmarshal

const telegoJSONName = "gojson"
