// Package redis keeps miniappkit's state in Redis, on
// github.com/redis/go-redis/v9: deduplication shared by replicas.
//
//	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
//	db := miniredis.New(client, miniredis.WithKeyPrefix("mybot:"))
//	if err := db.Migrate(ctx); err != nil { ... }
//	h := webhook.NewHandler(secret, app, webhook.WithStore(db.UpdateStore()))
//
// (the package's name is redis, as is go-redis's; import one of them
// under another name, as above.)
//
// # Stores
//
// [DB.UpdateStore] is a webhook.Store, [DB.Ledger] a payments.Ledger,
// [DB.BroadcastLog] a broadcast.Log and [DB.RateStore] a ratelimit.Store.
// Every key starts with the key prefix ([WithKeyPrefix], default
// "miniappkit:"), so several bots can share a server. Every operation is
// one Lua script: atomic, and cluster-safe, since a script touching several
// keys names keys of one hash tag (the ledger's {ledger}, for example).
//
// # Context
//
// Every method takes a ctx, but go-redis honours a ctx's deadline only on
// a client with ContextTimeoutEnabled (redis.Options and its cluster and
// ring kin; context_timeout_enabled=true in a URL). Without it a call to a
// server that hangs waits out the client's ReadTimeout (default 3 s)
// whatever the ctx says, so give the client that option. A ctx cancelled
// without a deadline stops a call still waiting for a connection, but not
// one already waiting for its reply: ReadTimeout bounds that.
//
// # Time
//
// Leases and TTLs are measured on the server's clock (TIME, read inside
// the script), so replicas agree on when a lease has passed whatever their
// own clocks say. The payments.Ledger contract passes its times in
// explicitly; the ledger stores and compares those.
//
// # Durability
//
// Redis keeps data in memory and writes it to disk as configured: with
// the default snapshots, a crash of the server loses the last minutes of
// writes, and with them the record of which updates were handled. Where
// that matters (a ledger, exactly-once effects), run Redis with
// appendonly yes and appendfsync everysec or always, or keep that state
// in PostgreSQL or SQLite. Redis shares no transaction with the
// application's database: an update whose effect was written but whose
// completion was not (the process killed between the two) runs again.
//
// All methods are safe for concurrent use.
package redis
