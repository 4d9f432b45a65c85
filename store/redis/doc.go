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
// # Exactly once
//
// [UpdateStore.CompleteTx] applies the handler's effect, Redis commands it
// queues on a redis.Pipeliner, and completes the update's claim in one
// MULTI/EXEC, WATCHing the claim's entry from its read to EXEC: both
// happen or neither, and only while the key is in flight, so the effect is
// applied exactly once per update even when the process is killed at any
// point (the crash tests kill it 100 times across 5 000 updates, in sync
// and async mode: 0 lost, 0 duplicates). It mirrors the SQL stores'
// CompleteTx, whose effect shares the claim's SQL transaction.
//
// A Redis Cluster runs a transaction on one slot only, so every key of the
// effect must carry the entry's hash tag, [UpdateStore.HashTag]: with a
// key prefix holding a hash tag ([WithKeyPrefix]("app{7}:")) that is the
// prefix's, shared by every update (one counter for all of them is
// possible); otherwise it is the entry's own key, so the effect's keys are
// the update's own. CompleteTx refuses a key without it, on any server,
// before anything is sent ([ErrCrossSlot]). An effect outside Redis (a
// message sent) stays at least once under a crash, as with any store.
//
// # Layout
//
// An update store entry is one string, <prefix>wh:<key>: its state, its
// owner and its data, written and read by one GET and at most one SET per
// script. Its lease is its expiry: an in-flight key expires
// [InFlightGrace] after its lease ends, so its lease has passed once its
// PTTL is at most the grace (or it has no expiry).
// [DB.Migrate] records this as the "updates" feature's layout 2. Layout 1
// (releases before it) kept each entry in a hash; the scripts and
// CompleteTx still read such entries, so that updates handled before an
// upgrade keep being recognised until their keys expire (24 h by default),
// and their first write replaces them. A process of a release with layout
// 1 must not run beside this one: its Migrate fails with [ErrNewerLayout]
// once this release has migrated the server, and one already running
// answers entries in layout 2 with an error (a 5xx: Telegram retries
// once it is replaced).
//
// A key holding '{' or '}' (a client's Idempotency-Key, say) is kept at
// <prefix>wh%:<key> with '%', '{' and '}' escaped as %25, %7B and %7D, so
// that no part of it forms or breaks a Redis Cluster hash tag: a client
// can neither make an entry whose effects CompleteTx must refuse ("a}b")
// nor pick the slot and tag of its entry ("{x}"). Escaped rather than
// hashed or base64-encoded: keys stay readable in redis-cli, need no
// stored copy of the key to rule out collisions (the escape is one-to-one,
// and "wh%:" is not "wh:"), and every key without a brace stays where it
// was. [DB.Migrate] records this as layout 3. Entries of such keys written by a release with layout
// 2 (at <prefix>wh:<key>) are still answered by Claim (one more read)
// until they expire; every other key is where it was. A process of a
// release with layout 2 must not run beside this one: its Migrate fails
// with [ErrNewerLayout] once this release has migrated the server, but one
// already running is not refused: it claims such keys where this one no
// longer looks, so a request carrying such a key, retried during a rolling
// upgrade, can run once on each release. Stop every layout 2 process
// before starting this release when clients send keys with braces.
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
// Leases and TTLs are key expiries, kept by the server on its clock
// (PX, PTTL; the update store reads no TIME), so replicas agree on when a
// lease has passed whatever their own clocks say. The payments.Ledger contract passes its times in
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
// application's SQL database: an effect written there, outside
// [UpdateStore.CompleteTx], whose completion was not (the process killed
// between the two) runs again.
//
// All methods are safe for concurrent use.
package redis
