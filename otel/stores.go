package otel

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/miniappkit/miniappkit/payments"
	"github.com/miniappkit/miniappkit/ratelimit"
	"github.com/miniappkit/miniappkit/webhook"
)

// ObserveWebhookStore records a call to a webhook.Store or webhook.Queue
// wrapped by webhook.ObserveStore or webhook.ObserveQueue:
//
//	store := webhook.ObserveStore(sqliteDB.UpdateStore(), obs.ObserveWebhookStore)
func (o *Observer) ObserveWebhookStore(ctx context.Context, e webhook.StoreEvent) {
	o.recordStore(ctx, e.Store, e.Impl, e.Op, e.Duration, e.Err)
}

// ObserveLedger records a call to a payments.Ledger wrapped by
// payments.ObserveLedger.
func (o *Observer) ObserveLedger(ctx context.Context, e payments.StoreEvent) {
	o.recordStore(ctx, e.Store, e.Impl, e.Op, e.Duration, e.Err)
}

// ObserveRateStore records a call to a ratelimit.Store wrapped by
// ratelimit.ObserveStore.
func (o *Observer) ObserveRateStore(ctx context.Context, e ratelimit.StoreEvent) {
	o.recordStore(ctx, e.Store, e.Impl, e.Op, e.Duration, e.Err)
}

// ObserveBroadcastLog records a call to a broadcast.Log wrapped by
// broadcast.ObserveLog.
func (o *Observer) ObserveBroadcastLog(ctx context.Context, e broadcast.StoreEvent) {
	o.recordStore(ctx, e.Store, e.Impl, e.Op, e.Duration, e.Err)
}

func (o *Observer) recordStore(ctx context.Context, store, impl, op string, d time.Duration, err error) {
	attrs := make([]attribute.KeyValue, 0, 4)
	attrs = append(attrs, keyStore.String(store), keyStoreImpl.String(impl), keyStoreOp.String(op))
	if err != nil {
		attrs = append(attrs, keyErrorType.String(storeErrorClass(err)))
	}
	o.m.storeDuration.Record(ctx, d.Seconds(), metric.WithAttributes(attrs...))
}

// storeErrorClass is the error.type of a store's error: the context's end,
// or "error".
func storeErrorClass(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "error"
}
