package redis

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/payments"
)

// Ledger is a payments.Ledger: one hash per payment,
// <prefix>{ledger}:p:<charge id>; sorted sets of charge ids in record
// order (<prefix>{ledger}:order, scored by a counter <prefix>{ledger}:seq),
// of those with work left (<prefix>{ledger}:pending, read by Pending) and
// by the time they were recorded (<prefix>{ledger}:paid, read by Since);
// per order reference a list of its charges (<prefix>{ledger}:o:<ref>,
// read by ByOrder) and a hash binding it to its first charge and holding
// its pre-checkout reservation (<prefix>{ledger}:ob:<ref>). Every step is
// one Lua script with the server's clock (TIME). The keys share the hash
// tag {ledger}, so on a cluster they live on one node. Payments never
// expire. Run Redis with appendonly where the ledger matters (see the
// package doc). It is safe for concurrent use.
//
// Redis shares no transaction with the caller's database: Fulfil checks
// the claim in one script, runs the fulfilment with a nil payments.Tx, and
// records it in a second script. A fulfilment whose lease expires while it
// runs still records its effect (a refund that applied meanwhile then has
// its refund hook due), but another worker may have taken the claim and run
// it too: with this ledger the FulfilFunc must be idempotent on the charge
// id, and leases (payments.WithClaimTTL) longer than any fulfilment.
//
// A holder that reserves an order it holds already (its pre-checkout
// delivered again) is kept in the order binding's field "a", and its
// ReleaseReservation then frees nothing; a process of an earlier release,
// running beside this one, does not read that field and still frees it,
// so upgrade every process before relying on the pin.
type Ledger struct{ db *DB }

var _ payments.Ledger = (*Ledger)(nil)

// Ledger returns the payments.Ledger on the server.
func (db *DB) Ledger() *Ledger { return &Ledger{db: db} }

// Hash fields of a payment. The scripts also keep "seq" (record order),
// "cu" (the claim's end, Unix microseconds) and "co" (its owner). Times
// are Unix nanoseconds.
const (
	fID, fProvider, fUser, fCurrency, fAmount, fPayload = "id", "pid", "uid", "cur", "amt", "pl"
	fRecurring, fFirstRecurring, fSubExp, fState        = "rec", "frec", "sub", "st"
	fPaid, fFulfilled, fRefunded, fHook                 = "paid", "ful", "ref", "hook"
	fOrder, fShipping, fInfo, fDup, fRequested          = "ord", "ship", "info", "dup", "rr"
)

// ledgerLib is the helpers every script starts with: now (µs, the server's
// clock), ns(µs) (nanoseconds as text), has(v) and pending(...) (keep the
// pending set in step with a payment's state).
const ledgerLib = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function ns(us) return string.format('%.0f', us) .. '000' end
local function has(v) return v and v ~= '' end
local function live(cu) return has(cu) and tonumber(cu) > now end
local function track(p, pend, id)
	local e = redis.call('HMGET', p, 'st', 'ful', 'hook', 'seq')
	if e[1] == '1' or (e[1] == '3' and has(e[2]) and not has(e[3])) then
		redis.call('ZADD', pend, e[4], id)
	else
		redis.call('ZREM', pend, id)
	end
end
`

// ledgerRecordScript: KEYS payment, order, seq, pending, paid, order list,
// order binding; ARGV charge id, once ("1"), order ref, state, paid (ns or
// ""), then field/value pairs. Returns {1 if recorded now, HGETALL}.
var ledgerRecordScript = redis.NewScript(ledgerLib + `
if redis.call('EXISTS', KEYS[1]) == 1 then
	return {0, redis.call('HGETALL', KEYS[1])}
end
local dup = ''
if ARGV[2] == '1' then
	local c = redis.call('HGET', KEYS[7], 'c')
	if has(c) then dup = c else redis.call('HSET', KEYS[7], 'c', ARGV[1]) end
end
local seq = redis.call('INCR', KEYS[3])
local paid = ARGV[5]
if paid == '' then paid = ns(now) end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('HSET', KEYS[1], 'seq', seq, 'paid', paid, 'dup', dup)
if ARGV[4] == '3' and not has(redis.call('HGET', KEYS[1], 'ref')) then
	redis.call('HSET', KEYS[1], 'ref', paid)
end
redis.call('ZADD', KEYS[2], seq, ARGV[1])
redis.call('ZADD', KEYS[5], math.floor(tonumber(string.sub(paid, 1, -4))), ARGV[1])
if ARGV[3] ~= '' then redis.call('RPUSH', KEYS[6], ARGV[1]) end
track(KEYS[1], KEYS[4], ARGV[1])
return {1, redis.call('HGETALL', KEYS[1])}
`)

// ledgerReserveScript: KEYS order binding; ARGV holder, ttl (µs).
// Returns 1 reserved, 0 not. A holder reserving the order it holds (its
// query delivered again) is kept in "a": its release changes nothing.
var ledgerReserveScript = redis.NewScript(ledgerLib + `
local e = redis.call('HMGET', KEYS[1], 'c', 'h', 'u')
if has(e[1]) then return 0 end
if has(e[2]) and e[2] ~= ARGV[1] and live(e[3]) then return 0 end
if e[2] == ARGV[1] then
	redis.call('HSET', KEYS[1], 'a', ARGV[1])
else
	redis.call('HDEL', KEYS[1], 'a')
end
redis.call('HSET', KEYS[1], 'h', ARGV[1], 'u', string.format('%.0f', now + tonumber(ARGV[2])))
return 1
`)

// ledgerUnreserveScript: KEYS order binding; ARGV holder. Ends holder's
// reservation of an order no charge has bound, unless holder reserved it
// again ("a").
var ledgerUnreserveScript = redis.NewScript(`
local e = redis.call('HMGET', KEYS[1], 'c', 'h', 'a')
if (not e[1] or e[1] == '') and e[2] == ARGV[1] and e[3] ~= ARGV[1] then
	redis.call('HDEL', KEYS[1], 'h', 'u', 'a')
end
return 1
`)

// ledgerClaimScript: KEYS payment; ARGV owner, ttl (µs), kind ("f":
// fulfilment, or refund of a duplicate, of a paid payment; "h": refund hook
// of a refunded, fulfilled one). Returns 1 claimed, 0 not, -1 no such payment.
var ledgerClaimScript = redis.NewScript(ledgerLib + `
local e = redis.call('HMGET', KEYS[1], 'st', 'cu', 'rr', 'ful', 'hook')
if not e[1] then return -1 end
if ARGV[3] == 'h' then
	if e[1] ~= '3' or not has(e[4]) or has(e[5]) then return 0 end
elseif e[1] ~= '1' or e[3] == '1' then
	return 0
end
if live(e[2]) then return 0 end
redis.call('HSET', KEYS[1], 'cu', string.format('%.0f', now + tonumber(ARGV[2])), 'co', ARGV[1])
return 1
`)

// ledgerReleaseScript: KEYS payment, pending; ARGV owner, charge id.
// Returns 1, or -1 when there is no such payment.
var ledgerReleaseScript = redis.NewScript(ledgerLib + `
local e = redis.call('HMGET', KEYS[1], 'st', 'co', 'rr')
if not e[1] then return -1 end
if e[2] == ARGV[1] then
	redis.call('HDEL', KEYS[1], 'cu', 'co')
	if e[3] == '1' and e[1] == '1' then
		redis.call('HSET', KEYS[1], 'st', '3', 'ref', ns(now), 'rr', '0')
	end
	track(KEYS[1], KEYS[2], ARGV[2])
end
return 1
`)

// ledgerBeginScript: KEYS payment, pending; ARGV owner, charge id, kind
// ("f" or "h"). Checks owner holds a live claim for the work. Returns 1 go
// on, 2 (fulfilment) a refund waited for the claim and is applied instead,
// 0 claim lost, -1 no such payment.
var ledgerBeginScript = redis.NewScript(ledgerLib + `
local e = redis.call('HMGET', KEYS[1], 'st', 'co', 'cu', 'dup', 'rr', 'ful', 'hook')
if not e[1] then return -1 end
if e[2] ~= ARGV[1] or not live(e[3]) then return 0 end
if ARGV[3] == 'h' then
	if e[1] ~= '3' or not has(e[6]) or has(e[7]) then return 0 end
	return 1
end
if e[1] ~= '1' or has(e[4]) then return 0 end
if e[5] == '1' then
	redis.call('HSET', KEYS[1], 'st', '3', 'ref', ns(now), 'rr', '0')
	redis.call('HDEL', KEYS[1], 'cu', 'co')
	track(KEYS[1], KEYS[2], ARGV[2])
	return 2
end
return 1
`)

// ledgerCommitScript: KEYS payment, pending; ARGV owner, charge id, kind.
// Records that owner's fulfilment (or refund hook) ran. Returns 1 recorded,
// 0 the hook's claim was lost, -1 no such payment.
var ledgerCommitScript = redis.NewScript(ledgerLib + `
local e = redis.call('HMGET', KEYS[1], 'st', 'co', 'rr', 'ful')
if not e[1] then return -1 end
local mine = e[2] == ARGV[1]
if ARGV[3] == 'h' then
	if not mine or e[1] ~= '3' then return 0 end
	redis.call('HSET', KEYS[1], 'hook', ns(now))
	redis.call('HDEL', KEYS[1], 'cu', 'co')
	track(KEYS[1], KEYS[2], ARGV[2])
	return 1
end
if mine then redis.call('HDEL', KEYS[1], 'cu', 'co') end
if not has(e[4]) then
	-- The effect happened: record it, even if a refund applied meanwhile
	-- (its hook then revokes it).
	redis.call('HSET', KEYS[1], 'ful', ns(now))
	if e[1] == '1' then redis.call('HSET', KEYS[1], 'st', '2') end
end
if e[3] == '1' and mine then
	redis.call('HSET', KEYS[1], 'st', '3', 'ref', ns(now), 'rr', '0')
end
track(KEYS[1], KEYS[2], ARGV[2])
return 1
`)

// ledgerRefundScript: KEYS payment, pending; ARGV charge id. Returns 1, or
// -1 when there is no such payment.
var ledgerRefundScript = redis.NewScript(ledgerLib + `
local e = redis.call('HMGET', KEYS[1], 'st', 'dup', 'cu')
if not e[1] then return -1 end
if e[1] == '3' then return 1 end
if e[1] == '1' and not has(e[2]) and live(e[3]) then
	redis.call('HSET', KEYS[1], 'rr', '1')
	return 1
end
redis.call('HSET', KEYS[1], 'st', '3', 'ref', ns(now), 'rr', '0')
redis.call('HDEL', KEYS[1], 'cu', 'co')
track(KEYS[1], KEYS[2], ARGV[1])
return 1
`)

// ledgerTimeScript returns the server's clock in µs, for Pending's filter.
var ledgerTimeScript = redis.NewScript(ledgerLib + `return string.format('%.0f', now)`)

var ledgerScripts = []*redis.Script{ledgerRecordScript, ledgerReserveScript, ledgerUnreserveScript, ledgerClaimScript, ledgerReleaseScript,
	ledgerBeginScript, ledgerCommitScript, ledgerRefundScript, ledgerTimeScript}

func (l *Ledger) key(chargeID string) string { return l.db.prefix + "{ledger}:p:" + chargeID }
func (l *Ledger) set(name string) string     { return l.db.prefix + "{ledger}:" + name }

// Record implements payments.Ledger.
func (l *Ledger) Record(ctx context.Context, p payments.Payment, oncePerOrder bool) (payments.Payment, bool, error) {
	if l.db.err != nil {
		return payments.Payment{}, false, l.db.err
	}
	if p.ChargeID == "" {
		return payments.Payment{}, false, errors.New("redis: ledger record: empty charge id")
	}
	if p.State == 0 {
		p.State = payments.StatePaid
	}
	var info string
	if p.OrderInfo != nil {
		b, err := json.Marshal(p.OrderInfo)
		if err != nil {
			return payments.Payment{}, false, fmt.Errorf("redis: ledger record: %w", err)
		}
		info = string(b)
	}
	once := oncePerOrder && p.OrderRef != "" && p.State == payments.StatePaid
	args := []any{p.ChargeID, flag(once), p.OrderRef, int(p.State), nanos(p.PaidAt),
		fID, p.ChargeID, fProvider, p.ProviderChargeID, fUser, p.UserID, fCurrency, p.Currency,
		fAmount, p.Amount, fPayload, p.Payload, fRecurring, flag(p.IsRecurring), fFirstRecurring, flag(p.IsFirstRecurring),
		fSubExp, nanos(p.SubscriptionExpiration), fState, int(p.State),
		fFulfilled, nanos(p.FulfilledAt), fRefunded, nanos(p.RefundedAt), fHook, nanos(p.RefundHookDoneAt),
		fOrder, p.OrderRef, fShipping, p.ShippingOptionID, fInfo, info, fRequested, "0"}
	keys := []string{l.key(p.ChargeID), l.set("order"), l.set("seq"), l.set("pending"), l.set("paid"),
		l.set("o:" + p.OrderRef), l.set("ob:" + p.OrderRef)}
	v, err := ledgerRecordScript.Run(ctx, l.db.c, keys, args...).Slice()
	if err != nil {
		return payments.Payment{}, false, wrap("ledger record", err)
	}
	if len(v) != 2 {
		return payments.Payment{}, false, fmt.Errorf("redis: ledger record: unexpected reply %v", v)
	}
	fields, _ := v[1].([]any)
	m := make(map[string]string, len(fields)/2)
	for i := 0; i+1 < len(fields); i += 2 {
		k, _ := fields[i].(string)
		m[k], _ = fields[i+1].(string)
	}
	stored, err := parsePayment(m)
	if err != nil {
		return payments.Payment{}, false, wrap("ledger record", err)
	}
	first, _ := v[0].(int64)
	return stored, first == 1, nil
}

// Get implements payments.Ledger.
func (l *Ledger) Get(ctx context.Context, chargeID string) (payments.Payment, error) {
	if l.db.err != nil {
		return payments.Payment{}, l.db.err
	}
	m, err := l.db.c.HGetAll(ctx, l.key(chargeID)).Result()
	if err != nil {
		return payments.Payment{}, wrap("ledger get", err)
	}
	if len(m) == 0 {
		return payments.Payment{}, fmt.Errorf("redis: ledger get: %w: %q", payments.ErrNotFound, chargeID)
	}
	p, err := parsePayment(m)
	if err != nil {
		return payments.Payment{}, wrap("ledger get", err)
	}
	return p, nil
}

// ByOrder implements payments.Ledger (the order's list of charges).
func (l *Ledger) ByOrder(ctx context.Context, orderRef string) ([]payments.Payment, error) {
	if l.db.err != nil {
		return nil, l.db.err
	}
	if orderRef == "" {
		return nil, nil
	}
	ids, err := l.db.c.LRange(ctx, l.set("o:"+orderRef), 0, -1).Result()
	if err != nil {
		return nil, wrap("ledger by order", err)
	}
	ps, err := l.load(ctx, ids)
	if err != nil {
		return nil, wrap("ledger by order", err)
	}
	return ps, nil
}

// load reads the payments ids in one pipeline, in the order given.
func (l *Ledger) load(ctx context.Context, ids []string) ([]payments.Payment, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := l.db.c.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGetAll(ctx, l.key(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	out := make([]payments.Payment, 0, len(ids))
	for _, c := range cmds {
		if len(c.Val()) == 0 {
			continue
		}
		p, err := parsePayment(c.Val())
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Reserve implements payments.Ledger.
func (l *Ledger) Reserve(ctx context.Context, orderRef, holder string, ttl time.Duration) (bool, error) {
	if l.db.err != nil {
		return false, l.db.err
	}
	if orderRef == "" || holder == "" {
		return false, errors.New("redis: ledger reserve: empty order reference or holder")
	}
	n, err := ledgerReserveScript.Run(ctx, l.db.c, []string{l.set("ob:" + orderRef)}, holder, ttl.Microseconds()).Int()
	if err != nil {
		return false, wrap("ledger reserve", err)
	}
	return n == 1, nil
}

// ReleaseReservation implements payments.Ledger.
func (l *Ledger) ReleaseReservation(ctx context.Context, orderRef, holder string) error {
	if l.db.err != nil {
		return l.db.err
	}
	if orderRef == "" || holder == "" {
		return errors.New("redis: ledger release reservation: empty order reference or holder")
	}
	if err := ledgerUnreserveScript.Run(ctx, l.db.c, []string{l.set("ob:" + orderRef)}, holder).Err(); err != nil {
		return wrap("ledger release reservation", err)
	}
	return nil
}

// Claim implements payments.Ledger.
func (l *Ledger) Claim(ctx context.Context, chargeID, owner string, ttl time.Duration) (bool, error) {
	n, err := l.run(ctx, "ledger claim", ledgerClaimScript, chargeID, owner, ttl.Microseconds(), "f")
	return n == 1, err
}

// ClaimRefundHook implements payments.Ledger.
func (l *Ledger) ClaimRefundHook(ctx context.Context, chargeID, owner string, ttl time.Duration) (bool, error) {
	n, err := l.run(ctx, "ledger claim refund hook", ledgerClaimScript, chargeID, owner, ttl.Microseconds(), "h")
	return n == 1, err
}

// Release implements payments.Ledger.
func (l *Ledger) Release(ctx context.Context, chargeID, owner string) error {
	_, err := l.run(ctx, "ledger release", ledgerReleaseScript, chargeID, owner, chargeID)
	return err
}

// Refund implements payments.Ledger.
func (l *Ledger) Refund(ctx context.Context, chargeID string) (payments.Payment, error) {
	if _, err := l.run(ctx, "ledger refund", ledgerRefundScript, chargeID, chargeID); err != nil {
		return payments.Payment{}, err
	}
	return l.Get(ctx, chargeID)
}

// Fulfil implements payments.Ledger: check the claim, run fn (with a nil
// payments.Tx), record the fulfilment.
func (l *Ledger) Fulfil(ctx context.Context, chargeID, owner string, fn payments.TxFunc) (payments.Payment, error) {
	return l.inClaim(ctx, "ledger fulfil", chargeID, owner, "f", fn)
}

// RefundHookDone implements payments.Ledger as Fulfil does.
func (l *Ledger) RefundHookDone(ctx context.Context, chargeID, owner string, fn payments.TxFunc) (payments.Payment, error) {
	return l.inClaim(ctx, "ledger refund hook done", chargeID, owner, "h", fn)
}

func (l *Ledger) inClaim(ctx context.Context, op, chargeID, owner, kind string, fn payments.TxFunc) (payments.Payment, error) {
	n, err := l.run(ctx, op, ledgerBeginScript, chargeID, owner, chargeID, kind)
	switch {
	case err != nil:
		return payments.Payment{}, err
	case n == 0:
		return payments.Payment{}, fmt.Errorf("redis: %s: %w: charge %q", op, payments.ErrClaimLost, chargeID)
	case n == 2: // a refund waited for the claim: applied instead of the fulfilment
		return l.Get(ctx, chargeID)
	}
	if err := fn(ctx, nil); err != nil {
		if rerr := l.Release(context.WithoutCancel(ctx), chargeID, owner); rerr != nil {
			return payments.Payment{}, errors.Join(err, rerr)
		}
		return payments.Payment{}, err
	}
	// fn's effect happened (there is no transaction to roll it back): it is
	// recorded, and reported, even if ctx has ended meanwhile.
	done := context.WithoutCancel(ctx)
	n, err = l.run(done, op, ledgerCommitScript, chargeID, owner, chargeID, kind)
	if err != nil {
		return payments.Payment{}, err
	}
	if n == 0 {
		return payments.Payment{}, fmt.Errorf("redis: %s: %w: charge %q", op, payments.ErrClaimLost, chargeID)
	}
	return l.Get(done, chargeID)
}

// run runs a single-payment script (KEYS payment, pending) answering a
// number; -1 is "no such payment".
func (l *Ledger) run(ctx context.Context, op string, s *redis.Script, chargeID string, args ...any) (int, error) {
	if l.db.err != nil {
		return 0, l.db.err
	}
	n, err := s.Run(ctx, l.db.c, []string{l.key(chargeID), l.set("pending")}, args...).Int()
	if err != nil {
		return 0, wrap(op, err)
	}
	if n < 0 {
		return 0, fmt.Errorf("redis: %s: %w: %q", op, payments.ErrNotFound, chargeID)
	}
	return n, nil
}

// Pending implements payments.Ledger: it reads the pending set (payments
// with work left) in pages of record order, each page's payments in one
// pipeline, and keeps those whose claim is free and that are older than
// olderThan on the server's clock.
func (l *Ledger) Pending(ctx context.Context, olderThan time.Duration) iter.Seq2[payments.Payment, error] {
	return func(yield func(payments.Payment, error) bool) {
		if l.db.err != nil {
			yield(payments.Payment{}, l.db.err)
			return
		}
		nowText, err := ledgerTimeScript.Run(ctx, l.db.c, []string{l.set("pending")}).Text()
		if err != nil {
			yield(payments.Payment{}, wrap("ledger pending", err))
			return
		}
		nowUS, err := strconv.ParseInt(nowText, 10, 64)
		if err != nil {
			yield(payments.Payment{}, wrap("ledger pending", err))
			return
		}
		now := time.UnixMicro(nowUS)
		cutoff := now.Add(-olderThan)
		const page = 500
		after := "-inf"
		for {
			zs, err := l.db.c.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: l.set("pending"), Start: after, Stop: "+inf", ByScore: true, Count: page}).Result()
			if err != nil {
				yield(payments.Payment{}, wrap("ledger pending", err))
				return
			}
			if len(zs) == 0 {
				return
			}
			ids := make([]string, len(zs))
			for i, z := range zs {
				ids[i], _ = z.Member.(string)
			}
			claims, err := l.claimEnds(ctx, ids)
			if err != nil {
				yield(payments.Payment{}, wrap("ledger pending", err))
				return
			}
			ps, err := l.load(ctx, ids)
			if err != nil {
				yield(payments.Payment{}, wrap("ledger pending", err))
				return
			}
			for _, p := range ps {
				at := p.PaidAt
				if p.State == payments.StateRefunded {
					at = p.RefundedAt
				}
				if claims[p.ChargeID].After(now) || at.After(cutoff) {
					continue
				}
				if !yield(p, nil) {
					return
				}
			}
			if len(zs) < page {
				return
			}
			after = "(" + strconv.FormatFloat(zs[len(zs)-1].Score, 'f', -1, 64)
		}
	}
}

// claimEnds reads the claim ends of ids (zero when unclaimed).
func (l *Ledger) claimEnds(ctx context.Context, ids []string) (map[string]time.Time, error) {
	pipe := l.db.c.Pipeline()
	cmds := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGet(ctx, l.key(id), "cu")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := make(map[string]time.Time, len(ids))
	for i, c := range cmds {
		if us, err := strconv.ParseInt(c.Val(), 10, 64); err == nil {
			out[ids[i]] = time.UnixMicro(us)
		}
	}
	return out, nil
}

// Since implements payments.Ledger: it reads the set of charges scored by
// the time they were recorded from t on, and yields them in record order.
func (l *Ledger) Since(ctx context.Context, t time.Time) iter.Seq2[payments.Payment, error] {
	return func(yield func(payments.Payment, error) bool) {
		if l.db.err != nil {
			yield(payments.Payment{}, l.db.err)
			return
		}
		from := "-inf"
		if !t.IsZero() {
			from = strconv.FormatInt(t.UnixMicro(), 10)
		}
		ids, err := l.db.c.ZRangeArgs(ctx, redis.ZRangeArgs{Key: l.set("paid"), Start: from, Stop: "+inf", ByScore: true}).Result()
		if err != nil {
			yield(payments.Payment{}, wrap("ledger since", err))
			return
		}
		seqs, err := l.seqs(ctx, ids)
		if err != nil {
			yield(payments.Payment{}, wrap("ledger since", err))
			return
		}
		slices.SortFunc(ids, func(a, b string) int { return cmp.Compare(seqs[a], seqs[b]) })
		for lo := 0; lo < len(ids); lo += 500 {
			ps, err := l.load(ctx, ids[lo:min(lo+500, len(ids))])
			if err != nil {
				yield(payments.Payment{}, wrap("ledger since", err))
				return
			}
			for _, p := range ps {
				if !yield(p, nil) {
					return
				}
			}
		}
	}
}

// seqs reads the record order of ids.
func (l *Ledger) seqs(ctx context.Context, ids []string) (map[string]int64, error) {
	out := make(map[string]int64, len(ids))
	for lo := 0; lo < len(ids); lo += 500 {
		part := ids[lo:min(lo+500, len(ids))]
		pipe := l.db.c.Pipeline()
		cmds := make([]*redis.StringCmd, len(part))
		for i, id := range part {
			cmds[i] = pipe.HGet(ctx, l.key(id), "seq")
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		for i, c := range cmds {
			out[part[i]], _ = strconv.ParseInt(c.Val(), 10, 64)
		}
	}
	return out, nil
}

func parsePayment(m map[string]string) (payments.Payment, error) {
	var p payments.Payment
	var errs []error
	num := func(f string) int64 {
		s := m[f]
		if s == "" {
			return 0
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("field %s: %w", f, err))
		}
		return n
	}
	tm := func(f string) time.Time {
		if n := num(f); n != 0 {
			return time.Unix(0, n).UTC()
		}
		return time.Time{}
	}
	p.ChargeID, p.ProviderChargeID, p.Currency, p.Payload = m[fID], m[fProvider], m[fCurrency], m[fPayload]
	p.UserID, p.Amount = num(fUser), num(fAmount)
	p.IsRecurring, p.IsFirstRecurring = m[fRecurring] == "1", m[fFirstRecurring] == "1"
	p.SubscriptionExpiration = tm(fSubExp)
	p.State = payments.State(num(fState))
	p.PaidAt, p.FulfilledAt, p.RefundedAt, p.RefundHookDoneAt = tm(fPaid), tm(fFulfilled), tm(fRefunded), tm(fHook)
	p.OrderRef, p.ShippingOptionID, p.DuplicateOf = m[fOrder], m[fShipping], m[fDup]
	p.RefundRequested = m[fRequested] == "1"
	if s := m[fInfo]; s != "" {
		p.OrderInfo = new(botapi.OrderInfo)
		if err := json.Unmarshal([]byte(s), p.OrderInfo); err != nil {
			errs = append(errs, fmt.Errorf("field %s: %w", fInfo, err))
		}
	}
	return p, errors.Join(errs...)
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// nanos is t in Unix nanoseconds, "" for the zero time.
func nanos(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixNano(), 10)
}
