//go:build !race

package broadcast_test

import "os"

// Sizes of the big simulations: full size with MINIAPPKIT_LONG=1 (which
// .ci/run sets), otherwise a tenth, as under the race detector
// (scale_race_test.go), keeping each simulation's shape, so that
// go test ./... stays quick.
var simN, s2Hot, s3Groups, s3PerGroup = simSizes()

func simSizes() (n, hot, groups, perGroup int) {
	if os.Getenv("MINIAPPKIT_LONG") == "" {
		return 10_000, 60, 200, 10
	}
	// S1's chats (S2, S4, S6, S9 use simN/5, S7 10×simN); S2's messages
	// to the hot chat; S3's groups and messages to each.
	return 100_000, 600, 500, 40
}
