package otel

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/miniappkit/miniappkit/botapi"
)

// ObserveAttempt implements [botapi.Observer]: each HTTP request is one
// http.client.request.duration measurement.
func (o *Observer) ObserveAttempt(ctx context.Context, e botapi.AttemptEvent) {
	attrs := make([]attribute.KeyValue, 0, 6)
	attrs = append(attrs,
		keyHTTPMethod.String("POST"),
		keyServerAddress.String(e.ServerAddress),
		keyServerPort.Int(e.ServerPort),
		keyBotAPIMethod.String(e.Method))
	if e.Status != 0 {
		attrs = append(attrs, keyHTTPStatus.Int(e.Status))
	}
	if e.Class != botapi.ClassOK {
		attrs = append(attrs, keyErrorType.String(string(e.Class)))
	}
	o.m.httpDuration.Record(ctx, e.Duration.Seconds(), metric.WithAttributes(attrs...))
}

// ObserveCall implements [botapi.Observer]: the call's metrics, and a
// client span "botapi <method>" covering the call, child of the span in ctx
// (the update's, when a handler makes the call).
func (o *Observer) ObserveCall(ctx context.Context, e botapi.CallEvent) {
	method := keyBotAPIMethod.String(e.Method)
	byMethod := metric.WithAttributes(method)
	if e.Class == botapi.ClassOK {
		o.m.callDuration.Record(ctx, e.Duration.Seconds(), byMethod)
	} else {
		o.m.callDuration.Record(ctx, e.Duration.Seconds(), metric.WithAttributes(method, keyErrorType.String(string(e.Class))))
	}
	if e.Attempts > 1 {
		o.m.callRetries.Add(ctx, int64(e.Attempts-1), byMethod)
	}
	if e.RateLimited > 0 {
		o.m.rateLimited.Add(ctx, int64(e.RateLimited), byMethod)
	}
	if e.RetryAfterWait > 0 {
		o.m.retryAfterWait.Record(ctx, e.RetryAfterWait.Seconds(), byMethod)
	}
	if e.LimiterWait > 0 {
		o.m.limiterWait.Record(ctx, e.LimiterWait.Seconds(), byMethod)
	}

	_, span := o.tracer.Start(ctx, "botapi "+e.Method,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(e.Start),
		trace.WithAttributes(method, keyAttempts.Int(e.Attempts)))
	if span.IsRecording() {
		if e.Status != 0 {
			span.SetAttributes(keyHTTPStatus.Int(e.Status))
		}
		if e.RateLimited > 0 {
			span.SetAttributes(keyRateLimited.Int(e.RateLimited))
		}
		if e.Class != botapi.ClassOK {
			span.SetAttributes(keyErrorType.String(string(e.Class)))
			span.SetStatus(codes.Error, string(e.Class))
		}
	}
	span.End(trace.WithTimestamp(e.Start.Add(e.Duration)))
}
