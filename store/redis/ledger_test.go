package redis

import (
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/miniappkit/miniappkit/payments"
	"github.com/miniappkit/miniappkit/payments/ledgertest"
)

func TestLedger(t *testing.T) {
	skipWithoutServer(t)
	ledgertest.Run(t, func(t *testing.T) payments.Ledger { return newTestDB(t).Ledger() })
}

// TestLedgerStress: the handler under faults on Redis (16 x 100; 64 x 500
// with MINIAPPKIT_LONG=1). Effects are counted in memory: with no
// transaction shared with the fulfilment, exactly once holds here because
// no fulfilment outlives its lease (see Ledger).
func TestLedgerStress(t *testing.T) {
	cfg := ledgertest.StressConfig{Charges: 100, Deliveries: 16}
	if os.Getenv("MINIAPPKIT_LONG") != "" && !raceEnabled { // the full run takes minutes under -race
		cfg = ledgertest.StressConfig{}
	}
	res := ledgertest.Stress(t, newTestDB(t).Ledger(), cfg)
	t.Logf("redis: %+v", res)
}

// TestLedgerStressNoRefundHook: the handler under faults with no refund
// hook: a refund after fulfilment is complete once Telegram refunded and
// leaves the pending set (before, the drain never ended), on Redis.
func TestLedgerStressNoRefundHook(t *testing.T) {
	res := ledgertest.Stress(t, newTestDB(t).Ledger(), ledgertest.StressConfig{Charges: 60, Deliveries: 8, RefundPart: 0.3, NoRefundHook: true})
	t.Logf("redis: %+v", res)
}

// TestTwoProcessesOneLedger: two handlers on two clients sharing one key
// prefix (two processes) fulfil each order once (counted in memory: no
// fulfilment here outlives its lease) and refund the duplicate charge once
// (ledgertest.TwoProcesses).
func TestTwoProcessesOneLedger(t *testing.T) {
	db := newTestDB(t)
	opts, err := redis.ParseURL(os.Getenv("MINIAPPKIT_REDIS_URL"))
	if err != nil {
		t.Fatal(err)
	}
	c2 := redis.NewClient(opts)
	t.Cleanup(func() { c2.Close() })
	db2 := New(c2, WithKeyPrefix(db.prefix))
	ledgertest.TwoProcesses(t, [2]payments.Ledger{db.Ledger(), db2.Ledger()}, nil, nil)
}

// TestLedgerErrorsNameOperationNotPassword: every Ledger call on a server
// that cannot be reached fails with an error naming the operation and not
// carrying the password of the client's URL.
func TestLedgerErrorsNameOperationNotPassword(t *testing.T) {
	opt, err := redis.ParseURL("redis://user:sekret-pw@127.0.0.1:1/0")
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxRetries, opt.DialerRetries = -1, 1
	c := redis.NewClient(opt)
	defer c.Close()
	ledgertest.Unreachable(t, New(c).Ledger(), "redis: ", "sekret-pw")
}

// TestLedgerHonoursContext: calls with an ended context fail and change
// nothing; a fulfilment whose context ends after its function returned nil
// is recorded (Redis shares no transaction with it).
func TestLedgerHonoursContext(t *testing.T) {
	ledgertest.HonoursContext(t, newTestDB(t).Ledger(), false)
}
