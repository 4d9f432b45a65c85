//go:build !race

package broadcast_test

// simN is the size of the big simulations (S1's chat count). Under the race
// detector (about ten times slower) scale_race_test.go makes it smaller.
const simN = 100_000
