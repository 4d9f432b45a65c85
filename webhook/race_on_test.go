//go:build race

package webhook

// raceEnabled: the race detector slows memory-bound loops ~10x. The memory
// proofs skip under it (CI runs them in the plain `go test ./...` pass);
// the concurrency proofs always run.
const raceEnabled = true
