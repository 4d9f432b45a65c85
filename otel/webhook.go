package otel

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/miniappkit/miniappkit/webhook"
)

// StartUpdate implements [webhook.Observer]: it starts the update's span
// ("update <kind>", kind server for a webhook delivery, consumer for a
// worker's attempt) and returns ctx with it, so that the handler's Bot API
// calls are its children.
func (o *Observer) StartUpdate(ctx context.Context, e webhook.UpdateStart) context.Context {
	kind := trace.SpanKindServer
	if e.Source == "worker" {
		kind = trace.SpanKindConsumer
	}
	ctx, _ = o.tracer.Start(ctx, "update "+e.Kind,
		trace.WithSpanKind(kind),
		trace.WithTimestamp(e.Start),
		trace.WithAttributes(
			keyUpdateKind.String(e.Kind),
			keyUpdateSource.String(e.Source),
			keyUpdateID.Int64(e.UpdateID),
			keyUpdateAttempt.Int(e.Attempt)))
	return ctx
}

// ObserveUpdate implements [webhook.Observer]: the update's metrics, and
// the end of the span StartUpdate began.
func (o *Observer) ObserveUpdate(ctx context.Context, e webhook.UpdateEvent) {
	kind, source, result := keyUpdateKind.String(e.Kind), keyUpdateSource.String(e.Source), keyUpdateResult.String(string(e.Result))
	o.m.updateDuration.Record(ctx, e.Duration.Seconds(),
		metric.WithAttributes(kind, source, keyUpdateDedupe.String(string(e.Dedupe)), result))
	if e.HandlerDuration > 0 {
		o.m.handlerDuration.Record(ctx, e.HandlerDuration.Seconds(), metric.WithAttributes(kind, source, result))
	}
	span := trace.SpanFromContext(ctx)
	if span.IsRecording() {
		span.SetAttributes(keyUpdateDedupe.String(string(e.Dedupe)), result)
		if e.Status != 0 {
			span.SetAttributes(keyHTTPStatus.Int(e.Status))
		}
		switch e.Result {
		case webhook.ResultError, webhook.ResultPanic, webhook.ResultDead:
			span.SetAttributes(keyErrorType.String(string(e.Result)))
			span.SetStatus(codes.Error, string(e.Result))
		}
	}
	span.End(trace.WithTimestamp(e.Start.Add(e.Duration)))
}

// ObserveRejected implements [webhook.Observer]: one count per refused
// request, by scheme, reason and status.
func (o *Observer) ObserveRejected(ctx context.Context, e webhook.Rejection) {
	o.m.rejected.Add(ctx, 1, metric.WithAttributes(
		keyScheme.String(e.Scheme), keyReason.String(e.Reason), attribute.Int(string(keyHTTPStatus), e.Status)))
}
