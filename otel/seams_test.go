package otel

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/miniappkit/miniappkit/payments"
	"github.com/miniappkit/miniappkit/ratelimit"
	"github.com/miniappkit/miniappkit/webhook"
)

func gaugeValue(t *testing.T, m metricdata.Metrics, want map[string]any) int64 {
	t.Helper()
	g, ok := m.Data.(metricdata.Gauge[int64])
	require.True(t, ok, "%s is an int64 gauge", m.Name)
	for _, dp := range g.DataPoints {
		if assert.ObjectsAreEqual(want, attrs(dp.Attributes)) {
			return dp.Value
		}
	}
	t.Fatalf("no point with attributes %v in %s", want, m.Name)
	return 0
}

func TestPaymentMetrics(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	for _, e := range []payments.PaymentEvent{
		{Step: payments.StepPreCheckout, Outcome: payments.OutcomeAccepted, Currency: "XTR", Amount: 50, Duration: time.Second},
		{Step: payments.StepPreCheckout, Outcome: payments.OutcomeDeclined, Reason: "expired", Currency: "XTR", Amount: 50},
		{Step: payments.StepFulfil, Outcome: payments.OutcomeOK, ChargeID: "ch1", Currency: "XTR", Amount: 50},
		{Step: payments.StepFulfil, Outcome: payments.OutcomeOK, ChargeID: "ch2", Currency: "XTR", Amount: 50},
		{Step: payments.StepRefund, Outcome: payments.OutcomeOK, ChargeID: "ch1", Currency: "XTR", Amount: 50},
		{Step: payments.StepDuplicateRefund, Outcome: payments.OutcomeOK, ChargeID: "ch3", Currency: "XTR", Amount: 50},
	} {
		hs.obs.ObservePayment(ctx, e)
	}
	steps := sumPoints(t, hs.metric(t, "miniappkit.payment.steps"))
	key := func(step, outcome string) map[string]any {
		return map[string]any{"miniappkit.payment.step": step, "miniappkit.payment.outcome": outcome, "miniappkit.payment.currency": "XTR"}
	}
	assert.Equal(t, int64(1), find(t, steps, key("pre_checkout", "accepted")).count)
	declined := key("pre_checkout", "declined")
	declined["miniappkit.payment.reason"] = "expired"
	assert.Equal(t, int64(1), find(t, steps, declined).count)
	assert.Equal(t, int64(2), find(t, steps, key("fulfil", "ok")).count)
	assert.Equal(t, int64(1), find(t, steps, key("refund", "ok")).count)
	assert.Equal(t, int64(1), find(t, steps, key("duplicate_refund", "ok")).count)
	for _, p := range steps {
		assert.NotContains(t, p.attrs, "miniappkit.payment.charge_id", "no per-payment attribute")
	}
	d := histCounts(t, hs.metric(t, "miniappkit.payment.duration"))
	assert.Equal(t, 1.0, find(t, d, key("pre_checkout", "accepted")).sum)
}

func TestRateLimitMetrics(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	hs.obs.ObserveWait(ctx, ratelimit.WaitEvent{Lane: ratelimit.Bulk, Chat: "private", Waiting: 3, Duration: 2 * time.Second})
	hs.obs.ObserveWait(ctx, ratelimit.WaitEvent{Lane: ratelimit.Interactive, Chat: "group", Waiting: 5, Err: ratelimit.ErrLimitExceeded})
	hs.obs.ObserveBackoff(ctx, ratelimit.BackoffEvent{Chat: "group", RetryAfter: 3 * time.Second})
	hs.obs.ObserveBackoff(ctx, ratelimit.BackoffEvent{Chat: "none", RetryAfter: 5 * time.Second, Paused: true})

	w := histCounts(t, hs.metric(t, "miniappkit.ratelimit.wait.duration"))
	assert.Equal(t, 2.0, find(t, w, map[string]any{"miniappkit.ratelimit.lane": "bulk", "miniappkit.ratelimit.chat": "private"}).sum)
	assert.Equal(t, int64(1), find(t, w, map[string]any{"miniappkit.ratelimit.lane": "interactive", "miniappkit.ratelimit.chat": "group", "error.type": "limit_exceeded"}).count)
	assert.Equal(t, int64(5), gaugeValue(t, hs.metric(t, "miniappkit.ratelimit.queue.depth"), map[string]any{}))
	b := sumPoints(t, hs.metric(t, "miniappkit.ratelimit.backoffs"))
	assert.Equal(t, int64(1), find(t, b, map[string]any{"miniappkit.ratelimit.chat": "group", "miniappkit.ratelimit.paused": false}).count)
	assert.Equal(t, int64(1), find(t, b, map[string]any{"miniappkit.ratelimit.chat": "none", "miniappkit.ratelimit.paused": true}).count)
	ra := histCounts(t, hs.metric(t, "miniappkit.ratelimit.retry_after"))
	assert.Equal(t, 5.0, find(t, ra, map[string]any{"miniappkit.ratelimit.chat": "none", "miniappkit.ratelimit.paused": true}).sum)
}

func TestBroadcastMetrics(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	hs.obs.ObserveSend(ctx, broadcast.SendEvent{Lane: ratelimit.Bulk, Outcome: broadcast.Delivered, Wait: time.Second, Duration: time.Second / 10, Pending: 9})
	hs.obs.ObserveSend(ctx, broadcast.SendEvent{Lane: ratelimit.Bulk, Postponed: broadcast.PostponedRateLimited, Pending: 9, Err: errors.New("429")})
	hs.obs.ObserveSend(ctx, broadcast.SendEvent{Lane: ratelimit.Bulk, Outcome: broadcast.Permanent, Pending: 8})

	s := sumPoints(t, hs.metric(t, "miniappkit.broadcast.sends"))
	assert.Equal(t, int64(1), find(t, s, map[string]any{"miniappkit.ratelimit.lane": "bulk", "miniappkit.broadcast.outcome": "delivered"}).count)
	assert.Equal(t, int64(1), find(t, s, map[string]any{"miniappkit.ratelimit.lane": "bulk", "miniappkit.broadcast.outcome": "permanent"}).count)
	assert.Equal(t, int64(1), find(t, s, map[string]any{"miniappkit.ratelimit.lane": "bulk", "miniappkit.broadcast.outcome": "postponed", "miniappkit.broadcast.postponed": "rate_limited"}).count)
	w := histCounts(t, hs.metric(t, "miniappkit.broadcast.wait.duration"))
	assert.Equal(t, 1.0, find(t, w, map[string]any{"miniappkit.ratelimit.lane": "bulk"}).sum)
	assert.Equal(t, int64(8), gaugeValue(t, hs.metric(t, "miniappkit.broadcast.pending"), map[string]any{"miniappkit.ratelimit.lane": "bulk"}))
	assert.Equal(t, 0.1, find(t, histCounts(t, hs.metric(t, "miniappkit.broadcast.send.duration")),
		map[string]any{"miniappkit.ratelimit.lane": "bulk", "miniappkit.broadcast.outcome": "delivered"}).sum)
}

func TestStoreMetrics(t *testing.T) {
	hs := newHarness(t)
	ctx := context.Background()
	store := webhook.ObserveStore(webhook.NewMemoryStore(4), hs.obs.ObserveWebhookStore)
	_, err := store.Claim(ctx, "k", "me", time.Minute, nil)
	require.NoError(t, err)
	require.ErrorIs(t, store.Release(ctx, "k", "other"), webhook.ErrNotOwner)
	ledger := payments.ObserveLedger(payments.NewMemoryLedger(), hs.obs.ObserveLedger)
	_, err = ledger.Get(ctx, "none")
	require.ErrorIs(t, err, payments.ErrNotFound)
	rs := ratelimit.ObserveStore(ratelimit.NewMemoryStore(), hs.obs.ObserveRateStore)
	require.NoError(t, rs.Block(ctx, ratelimit.Cell{Interval: time.Second}, time.Now()))
	log := broadcast.ObserveLog(&broadcast.MemoryLog{}, hs.obs.ObserveBroadcastLog)
	_, err = log.Open(ctx, "b", "list", "run", time.Minute)
	require.NoError(t, err)

	pts := histCounts(t, hs.metric(t, "miniappkit.store.operation.duration"))
	assert.Len(t, pts, 5)
	assert.Equal(t, int64(1), find(t, pts, map[string]any{"miniappkit.store.name": "webhook.Store", "miniappkit.store.impl": "*webhook.MemoryStore", "miniappkit.store.operation": "Claim"}).count)
	assert.Equal(t, int64(1), find(t, pts, map[string]any{"miniappkit.store.name": "webhook.Store", "miniappkit.store.impl": "*webhook.MemoryStore", "miniappkit.store.operation": "Release", "error.type": "error"}).count)
	assert.Equal(t, int64(1), find(t, pts, map[string]any{"miniappkit.store.name": "payments.Ledger", "miniappkit.store.impl": "*payments.MemoryLedger", "miniappkit.store.operation": "Get", "error.type": "error"}).count)
	assert.Equal(t, int64(1), find(t, pts, map[string]any{"miniappkit.store.name": "ratelimit.Store", "miniappkit.store.impl": "*ratelimit.MemoryStore", "miniappkit.store.operation": "Block"}).count)
	assert.Equal(t, int64(1), find(t, pts, map[string]any{"miniappkit.store.name": "broadcast.Log", "miniappkit.store.impl": "*broadcast.MemoryLog", "miniappkit.store.operation": "Open"}).count)
}

// TestDocumentedInstruments: docs/observability.md's table lists every
// instrument New creates, with its unit.
func TestDocumentedInstruments(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "observability.md"))
	require.NoError(t, err)
	for _, s := range allSpecs {
		row := "| `" + s.name + "` | "
		i := strings.Index(string(doc), row)
		require.GreaterOrEqual(t, i, 0, "%s is not in the table", s.name)
		line := string(doc[i:])
		line = line[:strings.IndexByte(line, '\n')]
		assert.Contains(t, line, "| `"+s.unit+"` |", "%s's unit", s.name)
	}
	var listed []string
	for _, s := range allSpecs {
		listed = append(listed, s.name)
	}
	assert.ElementsMatch(t, newHarness(t).obs.m.created, listed, "allSpecs lists every instrument created")
}
