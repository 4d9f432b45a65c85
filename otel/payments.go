package otel

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/miniappkit/miniappkit/payments"
)

// ObservePayment implements [payments.Observer]: one count and one duration
// per step, by step, outcome, decline reason and currency.
func (o *Observer) ObservePayment(ctx context.Context, e payments.PaymentEvent) {
	attrs := make([]attribute.KeyValue, 0, 5)
	attrs = append(attrs,
		keyPaymentStep.String(string(e.Step)),
		keyPaymentResult.String(string(e.Outcome)),
		keyCurrency.String(e.Currency))
	if e.Reason != "" {
		attrs = append(attrs, keyPaymentReason.String(e.Reason))
	}
	set := metric.WithAttributes(attrs...)
	o.m.paymentSteps.Add(ctx, 1, set)
	o.m.paymentDuration.Record(ctx, e.Duration.Seconds(), set)
}
