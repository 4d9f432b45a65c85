// Package benchmarks compares miniappkit with peer libraries side by side.
//
// It is a nested module with its own go.mod, so the peers (init-data-golang,
// telego, go-telegram/bot, standard-webhooks, svix) never enter the main
// module's dependency graph. Run everything with:
//
//	cd benchmarks && go test -run '^$' -bench . -benchmem
package benchmarks
