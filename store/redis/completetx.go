package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/miniappkit/miniappkit/webhook"
)

// ErrCrossSlot is the error of [UpdateStore.CompleteTx] when a command of
// the effect names a key without the entry's hash tag
// ([UpdateStore.HashTag]), or when an entry's key has no hash tag that
// another key can carry: in a Redis Cluster that transaction would fail
// with CROSSSLOT. Nothing is written then.
var ErrCrossSlot = errors.New("redis: a key of the effect does not carry the entry's hash tag")

// completeTxAttempts bounds how often CompleteTx starts over when the
// entry changed between its read and EXEC (a renewal of the lease, a
// takeover).
const completeTxAttempts = 16

// CompleteTx moves key's in-flight claim, whoever holds it, to done for
// ttl in one MULTI/EXEC transaction together with the commands effect
// queues on the transaction's pipeline (the update's effect): both are
// applied, or neither. Since a key becomes done once per claim, the effect
// is applied exactly once per key, even if the process is killed at any
// point. It fails with webhook.ErrNotOwner when the key is not in flight
// (done already, released, or dropped after [InFlightGrace]); effect is
// then not applied. The entry is WATCHed from its read to EXEC; when it
// changes in between (its owner renewed the lease, a takeover), CompleteTx
// reads it again and calls effect again on a fresh pipeline, at most 16
// times. effect may be nil (a completion alone).
//
// effect only queues commands: their replies are not known before EXEC,
// and what it reads through other clients is not part of the transaction.
// It must not run EXEC (Pipeliner.Exec) or queue MULTI, DISCARD, WATCH or
// UNWATCH, nor EVALSHA (what Script.Run queues on a pipeline: a script the
// server does not hold, after a restart or a failover, would fail only at
// EXEC, after the completion; queue Script.Eval): CompleteTx refuses
// those before anything is sent, whatever effect did with the error. An
// error from effect aborts the transaction and is returned. A command
// the server refuses when it is queued (an unknown command, wrong
// arguments) aborts EXEC: nothing is applied. One that fails when it runs
// (a wrong type: INCR of a list) does not undo the others, as Redis
// transactions have no rollback: the completion is applied, and
// CompleteTx returns that command's error. A nil reply (GET of a missing
// key) is no failure. Every key a
// queued command names must carry the entry's hash tag
// ([UpdateStore.HashTag]), so that the transaction stays on one slot of a
// Redis Cluster; CompleteTx checks the keys of every command, where the
// server's COMMAND table places them, from numkeys for EVAL and FCALL,
// and for commands with movable keys (ZUNIONSTORE, SORT … STORE, LMPOP,
// XREAD) and container commands (OBJECT ENCODING) by asking the server
// (COMMAND GETKEYS, one round trip each), and fails with [ErrCrossSlot]
// before EXEC, on any server, so that what works on one server works on
// a cluster. It reads the COMMAND table once per [DB], on its first call
// with an effect.
//
// A handler run by webhook.NewHandler or a webhook.Worker calls it with the
// key the handler claimed, webhook.ClaimFromContext(ctx).Key; the
// handler's own Complete that follows finds the key done by its owner and
// succeeds.
func (s *UpdateStore) CompleteTx(ctx context.Context, key string, ttl time.Duration, effect func(redis.Pipeliner) error) error {
	if err := s.check(ctx, ttl); err != nil {
		return err
	}
	k := s.key(key)
	var guard *txGuard
	if effect != nil {
		tag, err := hashTag(k)
		if err != nil {
			return err
		}
		info, err := s.db.commands(ctx)
		if err != nil {
			return wrap("update store complete in tx: command table", err)
		}
		guard = &txGuard{tag: tag[1 : len(tag)-1], entry: k, info: info, c: s.db.c}
	}
	for range completeTxAttempts {
		err := s.db.c.Watch(ctx, func(tx *redis.Tx) error {
			e, err := readEntry(ctx, tx, k)
			if err != nil {
				return err
			}
			if e.state != '1' {
				return webhook.ErrNotOwner
			}
			if guard != nil {
				guard.err = nil
				tx.AddHook(guard)
			}
			pipe := tx.TxPipeline()
			if effect != nil {
				if err := effect(pipe); err != nil {
					pipe.Discard()
					return fmt.Errorf("%w: %w", errEffect, err)
				}
			}
			if guard != nil && guard.err != nil {
				pipe.Discard()
				return guard.err // the effect ran EXEC itself
			}
			done := e
			done.state = '2'
			pipe.Set(ctx, k, done.encode(), ttl)
			cmds, err := pipe.Exec(ctx)
			if errors.Is(err, redis.Nil) {
				// A nil reply (GET of a missing key) is no failure.
				err = nil
				for _, c := range cmds {
					if cerr := c.Err(); cerr != nil && !errors.Is(cerr, redis.Nil) {
						err = cerr
						break
					}
				}
			}
			return err
		}, k)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err == nil || errors.Is(err, webhook.ErrNotOwner) || errors.Is(err, ErrCrossSlot) || errors.Is(err, errEffect) ||
			errors.Is(err, errTxShape) || errors.Is(err, errEvalSha) {
			return err
		}
		return wrap("update store complete in tx", err)
	}
	return fmt.Errorf("redis: update store complete in tx: the entry changed during each of %d attempts: %w", completeTxAttempts, redis.TxFailedErr)
}

var errEffect = errors.New("redis: effect")

// HashTag returns the Redis Cluster hash tag of key's entry, "{…}": a key
// whose first "{…}" is this tag lives in the entry's slot, as every key of
// [UpdateStore.CompleteTx]'s effect must, for example
// "counts:"+tag+":"+userID. With a key prefix that holds a hash tag
// ([WithKeyPrefix]("app{7}:")) it is the prefix's ("{7}") for every key,
// so effects can share keys across updates (a counter of all updates); with
// a prefix without one it is the entry's whole key, so an effect's keys
// are its update's own. Braces in key never pick the tag: they are
// escaped in the entry's key (see Layout in the package doc), so a
// client's Idempotency-Key such as "a}b" or "{x}" gets a tag of its own
// like any other. It fails with [ErrCrossSlot] only under a key prefix
// that holds a '}' outside a hash tag (such as "}{"): no other key can
// share a slot with such an entry.
func (s *UpdateStore) HashTag(key string) (string, error) {
	if s.db.err != nil {
		return "", s.db.err
	}
	return hashTag(s.key(key))
}

// hashTag is "{" + the part of k Redis Cluster hashes + "}", when a key
// that starts with it hashes that same part.
func hashTag(k string) (string, error) {
	h := k
	if i := strings.IndexByte(k, '{'); i >= 0 {
		if j := strings.IndexByte(k[i+1:], '}'); j > 0 {
			h = k[i+1 : i+1+j]
		}
	}
	if h == "" || strings.IndexByte(h, '}') >= 0 {
		return "", fmt.Errorf("%w: entry %q has no hash tag another key can carry", ErrCrossSlot, k)
	}
	return "{" + h + "}", nil
}

// entry is an update store entry read by CompleteTx (see luaEntry).
type entry struct {
	state byte // 0 when absent
	owner string
	data  *string
}

// encode is the entry in layout 2 (see luaEntry).
func (e entry) encode() string {
	v := string(e.state) + strconv.Itoa(len(e.owner)) + ":" + e.owner
	if e.data != nil {
		v += "=" + *e.data
	}
	return v
}

// bytes is the entry's data, nil when it has none.
func (e entry) bytes() []byte {
	if e.data == nil {
		return nil
	}
	return []byte(*e.data)
}

// readEntry reads key's entry, in layout 2 or 1 (see luaEntry).
func readEntry(ctx context.Context, tx *redis.Tx, k string) (entry, error) {
	v, err := tx.Get(ctx, k).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return entry{}, nil
	case err != nil && strings.HasPrefix(err.Error(), "WRONGTYPE"):
		f, err := tx.HMGet(ctx, k, "s", "o", "d").Result()
		if err != nil {
			return entry{}, err
		}
		var e entry
		if s, ok := f[0].(string); ok && s != "" {
			e.state = s[0]
		}
		e.owner, _ = f[1].(string)
		if d, ok := f[2].(string); ok {
			e.data = &d
		}
		return e, nil
	case err != nil:
		return entry{}, err
	}
	e, err := parseEntry(v)
	if err != nil {
		return entry{}, fmt.Errorf("redis: update store: entry %q: %w", k, err)
	}
	return e, nil
}

var errMalformed = errors.New("malformed entry")

// parseEntry decodes an entry of layout 2.
func parseEntry(v string) (entry, error) {
	i := strings.IndexByte(v, ':')
	if i < 2 {
		return entry{}, errMalformed
	}
	n, err := strconv.Atoi(v[1:i])
	if err != nil || n < 0 || n > len(v)-i-1 {
		return entry{}, errMalformed
	}
	e := entry{state: v[0], owner: v[i+1 : i+1+n]}
	if d := v[i+1+n:]; d != "" {
		d = d[1:]
		e.data = &d
	}
	return e, nil
}

// commands returns the server's COMMAND table, read once per DB (again
// after a failure). A call waiting for another's read gives up when its
// ctx ends.
func (db *DB) commands(ctx context.Context) (map[string]*redis.CommandInfo, error) {
	if info := db.cmdInfo.Load(); info != nil {
		return *info, nil
	}
	select {
	case db.cmdLock <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-db.cmdLock }()
	if info := db.cmdInfo.Load(); info != nil {
		return *info, nil
	}
	info, err := db.c.Command(ctx).Result()
	if err != nil {
		return nil, err
	}
	db.cmdInfo.Store(&info)
	return info, nil
}

// cmdState is what a DB learns of its server: its COMMAND table, and
// whether it takes SET NX GET.
type cmdState struct {
	cmdLock chan struct{} // held while reading the COMMAND table (capacity 1)
	cmdInfo atomic.Pointer[map[string]*redis.CommandInfo]

	noSetNXGet atomic.Bool // the server refuses SET NX GET (before 7.0)
}

// txGuard checks the transaction CompleteTx sends before anything is
// sent: MULTI, the effect's commands, the completion's SET, EXEC; no
// command of the effect that controls the transaction or runs EVALSHA;
// every key of the effect's commands hashing like the entry (its hash
// tag's content: tag). Its first refusal is kept in err, so that
// CompleteTx returns it even when the effect ran EXEC itself and dropped
// the error.
type txGuard struct {
	tag   string
	entry string // the entry's key
	info  map[string]*redis.CommandInfo
	c     redis.UniversalClient // for COMMAND GETKEYS
	err   error
}

// DialHook implements redis.Hook: it does not wrap dials.
func (g *txGuard) DialHook(redis.DialHook) redis.DialHook { return nil }

// ProcessHook implements redis.Hook: it does not wrap single commands.
func (g *txGuard) ProcessHook(redis.ProcessHook) redis.ProcessHook { return nil }

// ProcessPipelineHook implements redis.Hook: it checks the transaction
// before anything is sent.
func (g *txGuard) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if err := g.check(ctx, cmds); err != nil {
			if g.err == nil {
				g.err = err
			}
			for _, c := range cmds {
				c.SetErr(err)
			}
			return err
		}
		return next(ctx, cmds)
	}
}

var (
	errTxShape = errors.New("redis: an effect only queues commands: no EXEC, MULTI, DISCARD, WATCH or UNWATCH of its own")
	errEvalSha = errors.New("redis: EVALSHA in an effect: a script the server does not hold fails at EXEC, after the completion is applied; queue EVAL (Script.Eval) instead")
)

func (g *txGuard) check(ctx context.Context, cmds []redis.Cmder) error {
	n := len(cmds)
	if n < 3 || cmds[0].Name() != "multi" || cmds[n-1].Name() != "exec" || !g.completion(cmds[n-2]) {
		return fmt.Errorf("%w (the effect ran EXEC)", errTxShape)
	}
	for _, cmd := range cmds[1 : n-2] {
		switch name := cmd.Name(); name {
		case "multi", "exec", "discard", "watch", "unwatch":
			return fmt.Errorf("%w (it queued %s)", errTxShape, strings.ToUpper(name))
		case "evalsha", "evalsha_ro":
			return errEvalSha
		}
		keys, err := g.keys(ctx, cmd)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if h, _ := hashTag(k); h != "{"+g.tag+"}" {
				return fmt.Errorf("%w: %s %q (the entry's tag is {%s})", ErrCrossSlot, cmd.Name(), k, g.tag)
			}
		}
	}
	return nil
}

// completion reports whether cmd is CompleteTx's SET of the entry.
func (g *txGuard) completion(cmd redis.Cmder) bool {
	args := cmd.Args()
	return cmd.Name() == "set" && len(args) > 1 && str(args[1]) == g.entry
}

// keys returns the keys cmd names: per the server's COMMAND table when it
// places them, from numkeys for the EVAL and FCALL family, and else
// (movable keys, such as ZUNIONSTORE's sources or SORT's STORE, and
// container commands, such as OBJECT ENCODING) from the server, COMMAND
// GETKEYS: one round trip for such a command.
func (g *txGuard) keys(ctx context.Context, cmd redis.Cmder) ([]string, error) {
	args := cmd.Args()
	name := cmd.Name()
	switch name {
	case "eval", "eval_ro", "fcall", "fcall_ro":
		if len(args) < 3 {
			return nil, nil
		}
		n, err := strconv.Atoi(str(args[2]))
		if err != nil || n < 0 || 3+n > len(args) {
			return nil, nil // refused by the server when queued
		}
		return strs(args[3 : 3+n]), nil
	}
	ci := g.info[name]
	if ci == nil {
		return nil, nil // an unknown command: refused when queued
	}
	container := len(ci.Flags) == 0 // OBJECT, MEMORY, XINFO…: keys per subcommand
	if slices.Contains(ci.Flags, "movablekeys") || (container && len(args) > 2) {
		keys, err := g.c.CommandGetKeys(ctx, args...).Result()
		if err != nil && strings.Contains(err.Error(), "no key arguments") {
			return nil, nil
		}
		if err != nil {
			return nil, wrap("update store complete in tx: command getkeys "+name, err)
		}
		return keys, nil
	}
	if ci.FirstKeyPos <= 0 {
		return nil, nil
	}
	last := int(ci.LastKeyPos)
	if last < 0 {
		last += len(args)
	}
	step := max(int(ci.StepCount), 1)
	var out []string
	for i := int(ci.FirstKeyPos); i <= last && i < len(args); i += step {
		out = append(out, str(args[i]))
	}
	return out, nil
}

func strs(a []any) []string {
	out := make([]string, len(a))
	for i, v := range a {
		out[i] = str(v)
	}
	return out
}

// str is an argument as the server reads it.
func str(v any) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return fmt.Sprint(v)
}
