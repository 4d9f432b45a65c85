// Package postgres keeps miniappkit's state in PostgreSQL, on
// github.com/jackc/pgx/v5 (pgxpool): the store for several replicas and
// the ledger of record.
//
//	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
//	if err != nil { ... }
//	db := postgres.New(pool, postgres.WithSchema("mybot"))
//	if err := db.Migrate(ctx); err != nil { ... }
//	h := webhook.NewHandler(secret, app, webhook.WithStore(db.UpdateStore()))
//
// # Stores
//
// [DB.Ledger] is a payments.Ledger, [DB.UpdateStore] a webhook.Store and
// [DB.BroadcastLog] a broadcast.Log.
// All tables live in one schema ([WithSchema], default "miniappkit"), so
// two applications can share a database. Each feature keeps its own
// tables and migrations (migrations/<feature>/NNNN_name.sql, embedded),
// recorded per feature in <schema>.migrations as (component, version).
//
// # Time
//
// Leases and TTLs are measured on the server's clock (now()), so every
// replica agrees on when a lease has passed whatever its own clock says.
// The payments.Ledger contract passes its times in explicitly; the ledger
// stores and compares those.
//
// # Pool size
//
// Every store call is one statement on one pooled connection, held for a
// round trip. A webhook handler holds none while the user's handler runs,
// except inside [UpdateStore.CompleteTx]'s transaction. pgxpool's default
// (max(4, number of CPUs)) serves a bot on one machine; size the pool for
// the concurrent deliveries you allow (Telegram's max_connections, 40 by
// default) and keep the sum over replicas under the server's
// max_connections.
//
// All methods are safe for concurrent use.
package postgres
