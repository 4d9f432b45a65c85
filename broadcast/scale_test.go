package broadcast_test

import "os"

// Sizes of the big simulations: at full size with MINIAPPKIT_LONG=1 (as
// .ci/run sets) and without the race detector (about ten times slower);
// otherwise a tenth, keeping each simulation's shape (the hot chat still
// needs most of S2's makespan; S3 still has enough groups to fill the
// bot-wide limit), so that go test stays fast.
var simN, s2Hot, s3Groups, s3PerGroup = simSizes() // S1's chats (S2, S4, S6, S9 use simN/5, S7 10×simN); S2's messages to the hot chat; S3's groups and messages to each

func simSizes() (n, hot, groups, perGroup int) {
	if os.Getenv("MINIAPPKIT_LONG") == "1" && !raceEnabled {
		return 100_000, 600, 500, 40
	}
	return 10_000, 60, 200, 10
}
