package redis

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/miniappkit/miniappkit/payments"
)

// Ledger is a payments.Ledger: one hash per payment,
// <prefix>{ledger}:p:<charge id>, a sorted set of charge ids in record
// order, <prefix>{ledger}:order, and its counter, <prefix>{ledger}:seq;
// one Lua script per operation. The keys share the hash tag {ledger}, so
// on a cluster they live on one node. Payments never expire. Run Redis
// with appendonly where the ledger matters (see the package doc). It is
// safe for concurrent use.
type Ledger struct{ db *DB }

var _ payments.Ledger = (*Ledger)(nil)

// Ledger returns the payments.Ledger on the server.
func (db *DB) Ledger() *Ledger { return &Ledger{db: db} }

// Hash fields of a payment.
const (
	fID, fProvider, fUser, fCurrency, fAmount, fPayload = "id", "pid", "uid", "cur", "amt", "pl"
	fRecurring, fFirstRecurring, fSubExp, fState        = "rec", "frec", "sub", "st"
	fPaid, fFulfilled, fRefunded, fHook                 = "paid", "ful", "ref", "hook"
	// The scripts also keep "cu", the claim's end (Unix microseconds), and
	// "co", its owner.
)

// ledgerRecordScript: KEYS payment, order, seq; ARGV charge id, then
// field/value pairs. Returns nil when recorded, else the stored hash.
var ledgerRecordScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
	return redis.call('HGETALL', KEYS[1])
end
local seq = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('ZADD', KEYS[2], seq, ARGV[1])
return false
`)

// ledgerClaimScript: KEYS payment; ARGV owner, now µs, until µs, kind
// ("f": fulfilment of a paid payment, "h": refund hook of a refunded one).
// Returns 1 claimed, 0 not, -1 no such payment.
var ledgerClaimScript = redis.NewScript(`
local e = redis.call('HMGET', KEYS[1], 'st', 'hook', 'cu')
if not e[1] then return -1 end
if ARGV[4] == 'h' then
	if e[1] ~= '3' or (e[2] and e[2] ~= '') then return 0 end
elseif e[1] ~= '1' then
	return 0
end
if e[3] and e[3] ~= '' and tonumber(e[3]) > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'cu', ARGV[3], 'co', ARGV[1])
return 1
`)

// ledgerReleaseScript: KEYS payment; ARGV owner. Returns 1, or -1 when
// there is no such payment.
var ledgerReleaseScript = redis.NewScript(`
local o = redis.call('HMGET', KEYS[1], 'st', 'co')
if not o[1] then return -1 end
if o[2] == ARGV[1] then redis.call('HDEL', KEYS[1], 'cu', 'co') end
return 1
`)

// ledgerSetStateScript: KEYS payment; ARGV from, to, at (ns). Returns 1
// moved, 0 not in state from, -1 no such payment.
var ledgerSetStateScript = redis.NewScript(`
local st = redis.call('HGET', KEYS[1], 'st')
if not st then return -1 end
if st ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'st', ARGV[2])
if ARGV[2] == '2' then redis.call('HSET', KEYS[1], 'ful', ARGV[3]) end
if ARGV[2] == '3' then redis.call('HSET', KEYS[1], 'ref', ARGV[3]) end
redis.call('HDEL', KEYS[1], 'cu', 'co')
return 1
`)

// ledgerHookDoneScript: KEYS payment; ARGV at (ns). Returns 1 done, 0
// not refunded or done already, -1 no such payment.
var ledgerHookDoneScript = redis.NewScript(`
local e = redis.call('HMGET', KEYS[1], 'st', 'hook')
if not e[1] then return -1 end
if e[1] ~= '3' or (e[2] and e[2] ~= '') then return 0 end
redis.call('HSET', KEYS[1], 'hook', ARGV[1])
redis.call('HDEL', KEYS[1], 'cu', 'co')
return 1
`)

func (l *Ledger) key(chargeID string) string { return l.db.prefix + "{ledger}:p:" + chargeID }

// Record implements payments.Ledger.
func (l *Ledger) Record(ctx context.Context, p payments.Payment) (payments.Payment, bool, error) {
	if l.db.err != nil {
		return payments.Payment{}, false, l.db.err
	}
	if p.ChargeID == "" {
		return payments.Payment{}, false, errors.New("redis: ledger record: empty charge id")
	}
	if p.State == 0 {
		p.State = payments.StatePaid
	}
	args := []any{p.ChargeID,
		fID, p.ChargeID, fProvider, p.ProviderChargeID, fUser, p.UserID, fCurrency, p.Currency,
		fAmount, p.Amount, fPayload, p.Payload, fRecurring, flag(p.IsRecurring), fFirstRecurring, flag(p.IsFirstRecurring),
		fSubExp, nanos(p.SubscriptionExpiration), fState, int(p.State),
		fPaid, nanos(p.PaidAt), fFulfilled, nanos(p.FulfilledAt), fRefunded, nanos(p.RefundedAt), fHook, nanos(p.RefundHookDoneAt)}
	keys := []string{l.key(p.ChargeID), l.db.prefix + "{ledger}:order", l.db.prefix + "{ledger}:seq"}
	v, err := ledgerRecordScript.Run(ctx, l.db.c, keys, args...).Slice()
	if errors.Is(err, redis.Nil) {
		return p, true, nil
	}
	if err != nil {
		return payments.Payment{}, false, wrap("ledger record", err)
	}
	m := make(map[string]string, len(v)/2)
	for i := 0; i+1 < len(v); i += 2 {
		k, _ := v[i].(string)
		m[k], _ = v[i+1].(string)
	}
	stored, err := parsePayment(m)
	if err != nil {
		return payments.Payment{}, false, wrap("ledger record", err)
	}
	return stored, false, nil
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

// Claim implements payments.Ledger.
func (l *Ledger) Claim(ctx context.Context, chargeID, owner string, now, until time.Time) (bool, error) {
	return l.run(ctx, "ledger claim", ledgerClaimScript, chargeID, owner, now.UnixMicro(), until.UnixMicro(), "f")
}

// Release implements payments.Ledger.
func (l *Ledger) Release(ctx context.Context, chargeID, owner string) error {
	_, err := l.run(ctx, "ledger release", ledgerReleaseScript, chargeID, owner)
	return err
}

// SetState implements payments.Ledger.
func (l *Ledger) SetState(ctx context.Context, chargeID string, from, to payments.State, at time.Time) (bool, error) {
	return l.run(ctx, "ledger set state", ledgerSetStateScript, chargeID, int(from), int(to), at.UnixNano())
}

// ClaimRefundHook implements payments.Ledger.
func (l *Ledger) ClaimRefundHook(ctx context.Context, chargeID, owner string, now, until time.Time) (bool, error) {
	return l.run(ctx, "ledger claim refund hook", ledgerClaimScript, chargeID, owner, now.UnixMicro(), until.UnixMicro(), "h")
}

// RefundHookDone implements payments.Ledger.
func (l *Ledger) RefundHookDone(ctx context.Context, chargeID string, at time.Time) (bool, error) {
	return l.run(ctx, "ledger refund hook done", ledgerHookDoneScript, chargeID, at.UnixNano())
}

// run runs a single-payment script answering 1 (done), 0 (condition
// false) or -1 (no such payment).
func (l *Ledger) run(ctx context.Context, op string, s *redis.Script, chargeID string, args ...any) (bool, error) {
	if l.db.err != nil {
		return false, l.db.err
	}
	n, err := s.Run(ctx, l.db.c, []string{l.key(chargeID)}, args...).Int()
	if err != nil {
		return false, wrap(op, err)
	}
	if n < 0 {
		return false, fmt.Errorf("redis: %s: %w: %q", op, payments.ErrNotFound, chargeID)
	}
	return n == 1, nil
}

// All implements payments.Ledger. It reads the record order in pages and
// each page's payments in one pipeline.
func (l *Ledger) All(ctx context.Context) iter.Seq2[payments.Payment, error] {
	return func(yield func(payments.Payment, error) bool) {
		if l.db.err != nil {
			yield(payments.Payment{}, l.db.err)
			return
		}
		const page = 500
		order := l.db.prefix + "{ledger}:order"
		after := "-inf"
		for {
			ids, err := l.db.c.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: order, Start: after, Stop: "+inf", ByScore: true, Count: page}).Result()
			if err != nil {
				yield(payments.Payment{}, wrap("ledger all", err))
				return
			}
			if len(ids) == 0 {
				return
			}
			pipe := l.db.c.Pipeline()
			cmds := make([]*redis.MapStringStringCmd, len(ids))
			for i, z := range ids {
				cmds[i] = pipe.HGetAll(ctx, l.key(z.Member.(string)))
			}
			if _, err := pipe.Exec(ctx); err != nil {
				yield(payments.Payment{}, wrap("ledger all", err))
				return
			}
			for _, c := range cmds {
				p, err := parsePayment(c.Val())
				if err != nil {
					yield(payments.Payment{}, wrap("ledger all", err))
					return
				}
				if !yield(p, nil) {
					return
				}
			}
			if len(ids) < page {
				return
			}
			after = "(" + strconv.FormatFloat(ids[len(ids)-1].Score, 'f', -1, 64)
		}
	}
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
