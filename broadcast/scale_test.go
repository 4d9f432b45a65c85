//go:build !race

package broadcast_test

// Sizes of the big simulations. Under the race detector (about ten times
// slower) scale_race_test.go makes them smaller, keeping their shape.
const (
	simN       = 100_000 // S1's chats; S2, S4, S6, S9 use simN/5, S7 10×simN
	s2Hot      = 600     // S2's messages to the hot chat
	s3Groups   = 500     // S3's groups
	s3PerGroup = 40      // and messages to each
)
