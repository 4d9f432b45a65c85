// Package otel turns miniappkit's observer events into OpenTelemetry metrics
// and traces. One [Observer] implements every seam of the SDK:
//
//	obs, err := otel.New(otel.WithMeterProvider(mp), otel.WithTracerProvider(tp))
//	client := botapi.New(token, botapi.WithObserver(obs))
//	hook := webhook.NewHandler(secret, h, webhook.WithObserver(obs))
//
// # Traces
//
// Each update a webhook handler or worker processes is a span ("update
// <kind>"), started before its update_id is claimed and put in the context
// the [webhook.UpdateHandler] runs with, so each Bot API call the handler
// makes with that context is a child span ("botapi <method>"). A call made
// outside an update is a root span (or the child of whatever span its
// context holds).
//
// # Metrics
//
// Instrument names follow OpenTelemetry's semantic conventions where one
// exists (http.client.request.duration for each HTTP request to the Bot API,
// with its attributes), and are named miniappkit.* otherwise. The table of
// every instrument, its unit and attributes is in docs/observability.md.
//
// The observer's methods are called synchronously by the SDK; each records
// into instruments created once in [New], with attributes of low
// cardinality only (method names, classes, outcomes; never chat or user
// ids). An Observer is safe for concurrent use.
package otel

import (
	"errors"

	gotel "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/miniappkit/miniappkit/payments"
	"github.com/miniappkit/miniappkit/ratelimit"
	"github.com/miniappkit/miniappkit/webhook"
)

// ScopeName is the instrumentation scope of the meter and the tracer.
const ScopeName = "github.com/miniappkit/miniappkit/otel"

// Observer implements the observer interfaces of botapi, webhook, payments,
// ratelimit and broadcast with OpenTelemetry. Create it with [New].
type Observer struct {
	tracer trace.Tracer
	m      instruments
}

// Each seam is implemented.
var (
	_ botapi.Observer    = (*Observer)(nil)
	_ webhook.Observer   = (*Observer)(nil)
	_ payments.Observer  = (*Observer)(nil)
	_ ratelimit.Observer = (*Observer)(nil)
	_ broadcast.Observer = (*Observer)(nil)
)

// Option configures [New].
type Option func(*options)

type options struct {
	mp metric.MeterProvider
	tp trace.TracerProvider
}

// WithMeterProvider sets where metrics go. The default is the global
// provider (go.opentelemetry.io/otel.GetMeterProvider), which records
// nothing until one is set.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) { o.mp = mp }
}

// WithTracerProvider sets where spans go. The default is the global
// provider (go.opentelemetry.io/otel.GetTracerProvider).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tp = tp }
}

// New returns an Observer recording to the given providers. It fails only
// if an instrument cannot be created.
func New(opts ...Option) (*Observer, error) {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.mp == nil {
		o.mp = gotel.GetMeterProvider()
	}
	if o.tp == nil {
		o.tp = gotel.GetTracerProvider()
	}
	meter := o.mp.Meter(ScopeName)
	obs := &Observer{tracer: o.tp.Tracer(ScopeName)}
	if err := obs.m.init(meter); err != nil {
		return nil, errors.Join(errors.New("otel: creating instruments"), err)
	}
	return obs, nil
}
