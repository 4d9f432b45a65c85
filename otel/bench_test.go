package otel

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/miniappkit/miniappkit/botapi"
)

type okTransport struct{}

func (okTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"ok":true,"result":true}`)), Request: r}, nil
}

// BenchmarkCall measures a Bot API call through an in-memory transport
// with no observer, and with this module's Observer on the SDK's meter and
// tracer providers (every span sampled, kept by an in-memory recorder that
// is reset as it grows).
func BenchmarkCall(b *testing.B) {
	rec := tracetest.NewSpanRecorder()
	obs, err := New(
		WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))),
		WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		opts []botapi.Option
	}{{"none", nil}, {"otel", []botapi.Option{botapi.WithObserver(obs)}}} {
		b.Run(bc.name, func(b *testing.B) {
			c := botapi.New("123456:AAH-bench", append(bc.opts, botapi.WithHTTPClient(&http.Client{Transport: okTransport{}}))...)
			ctx := context.Background()
			p := &botapi.SetMyNameParams{Name: botapi.Ptr("bench")}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if err := c.Call(ctx, "setMyName", p, nil); err != nil {
					b.Fatal(err)
				}
				if n++; n%4096 == 0 {
					rec.Reset()
				}
			}
		})
	}
}
