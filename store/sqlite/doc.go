// Package sqlite keeps miniappkit's state in one SQLite file, on
// modernc.org/sqlite (pure Go, no cgo, so the binary stays static and
// cross-compiles): the embedded default that survives a restart.
//
//	db, err := sqlite.Open("bot.db")
//	if err != nil { ... }
//	defer db.Close()
//	if err := db.Migrate(ctx); err != nil { ... }
//	h := webhook.NewHandler(secret, app, webhook.WithStore(db.UpdateStore()))
//	p, err := payments.NewHandler(api, codec, db.Ledger(), fulfil)
//
// # Stores
//
// [DB.Ledger] is a payments.Ledger, [DB.UpdateStore] a webhook.Store and
// [DB.BroadcastLog] a broadcast.Log. Each feature keeps its own tables and
// its own migrations (migrations/<feature>/NNNN_name.sql, embedded),
// recorded per feature in the table miniappkit_migrations, so features add
// migrations independently. The tables' names are the stores' own
// (miniappkit_*, broadcast_*), so the file can hold the application's
// tables too: an update's effect and the completion of its claim can then
// commit in one transaction ([UpdateStore.CompleteTx]).
//
// # Connections
//
// The file is opened in WAL mode with a busy timeout: readers never block
// the writer nor each other. Writes go through one connection (SQLite
// allows one writer at a time; one connection queues writers in the pool
// instead of in SQLite's busy loop), reads through a pool of read-only
// connections ([WithReaders]). Several processes may open the same file;
// their writes take turns under the busy timeout.
//
// # Time
//
// Leases and TTLs are measured on SQLite's clock (unixepoch('subsec')),
// which is the clock of the machine that holds the file: every process
// sharing the file shares it. The payments.Ledger contract passes its times
// in explicitly; the ledger stores and compares those.
//
// # Durability
//
// synchronous=FULL by default: a committed write survives a power loss.
// [WithSynchronous]("NORMAL") keeps it across a process crash (SIGKILL)
// but may lose the last commits on power loss, for fewer fsyncs.
// Back the file up with the sqlite3 shell's ".backup" or "VACUUM INTO",
// which take a consistent copy while the bot runs; copying the file alone
// is not enough in WAL mode.
//
// All methods are safe for concurrent use.
package sqlite
