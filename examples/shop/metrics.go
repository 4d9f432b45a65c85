package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	promexporter "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/miniappkit/miniappkit/otel"
)

// newMetrics returns the observer that every seam of the SDK reports to
// (the otel module, recording OpenTelemetry metrics) and the /metrics
// handler that serves them in Prometheus's format (OpenTelemetry's
// Prometheus exporter), from a registry of the shop's own: nothing global.
//
// It is on with METRICS=1, on the shop's own listener: behind a public
// proxy, route /metrics to your Prometheus only. README.md lists PromQL
// for the questions an operator asks.
func newMetrics() (*otel.Observer, http.Handler, error) {
	reg := prometheus.NewRegistry()
	exp, err := promexporter.New(promexporter.WithRegisterer(reg))
	if err != nil {
		return nil, nil, err
	}
	obs, err := otel.New(otel.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))))
	if err != nil {
		return nil, nil, err
	}
	return obs, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), nil
}
