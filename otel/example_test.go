package otel_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/otel"
	"github.com/miniappkit/miniappkit/webhook"
)

// One Observer for every seam: the client's calls and the webhook's updates
// become metrics and spans, each call a child of its update's span. Here
// the providers record in memory; in production they export (OTLP,
// Prometheus).
func Example() {
	reader := sdkmetric.NewManualReader()
	spans := tracetest.NewSpanRecorder()
	obs, err := otel.New(
		otel.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))),
		otel.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))))
	if err != nil {
		panic(err)
	}

	srv := botapitest.NewServer(botapitest.WithoutListener())
	defer srv.Close()
	client := srv.Client(botapi.WithObserver(obs))
	hook, err := webhook.NewHandler("s3cr3t_token", webhook.UpdateHandlerFunc(func(ctx context.Context, u *botapi.Update) error {
		_, err := client.GetMe(ctx) // ctx carries the update's span
		return err
	}), webhook.WithObserver(obs))
	if err != nil {
		panic(err)
	}

	req := httptest.NewRequest(http.MethodPost, "/telegram", strings.NewReader(`{"update_id":1,"message":{"message_id":1,"date":0,"chat":{"id":42,"type":"private"},"text":"hi"}}`))
	req.Header.Set(webhook.HeaderSecretToken, "s3cr3t_token")
	hook.ServeHTTP(httptest.NewRecorder(), req)

	for _, s := range spans.Ended() {
		fmt.Printf("span %q, parent set: %v\n", s.Name(), s.Parent().IsValid())
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		panic(err)
	}
	var names []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			names = append(names, m.Name)
		}
	}
	slices.Sort(names)
	fmt.Println(strings.Join(names, "\n"))
	// Output:
	// span "botapi getMe", parent set: true
	// span "update message", parent set: false
	// http.client.request.duration
	// miniappkit.botapi.call.duration
	// miniappkit.update.duration
	// miniappkit.update.handler.duration
}
