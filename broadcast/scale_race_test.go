//go:build race

package broadcast_test

// Sizes of the big simulations under the race detector: a tenth, keeping
// each simulation's shape (the hot chat still needs most of S2's makespan;
// S3 still has enough groups to fill the bot-wide limit).
const (
	simN       = 10_000
	s2Hot      = 60
	s3Groups   = 200
	s3PerGroup = 10
)
