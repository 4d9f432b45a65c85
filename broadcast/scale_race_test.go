//go:build race

package broadcast_test

// simN under the race detector: a tenth of the full size.
const simN = 10_000
