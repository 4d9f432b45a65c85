package otel

import (
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
)

// Attribute keys of our own; the semantic-convention ones come from semconv.
const (
	keyBotAPIMethod  = attribute.Key("miniappkit.botapi.method")
	keyUpdateKind    = attribute.Key("miniappkit.update.kind")
	keyUpdateSource  = attribute.Key("miniappkit.update.source")
	keyUpdateDedupe  = attribute.Key("miniappkit.update.dedupe")
	keyUpdateResult  = attribute.Key("miniappkit.update.result")
	keyUpdateID      = attribute.Key("miniappkit.update.id")      // spans only
	keyUpdateAttempt = attribute.Key("miniappkit.update.attempt") // spans only
	keyAttempts      = attribute.Key("miniappkit.botapi.attempts")
	keyRateLimited   = attribute.Key("miniappkit.botapi.rate_limited")
	keyScheme        = attribute.Key("miniappkit.webhook.scheme")
	keyReason        = attribute.Key("miniappkit.webhook.reason")
	keyPaymentStep   = attribute.Key("miniappkit.payment.step")
	keyPaymentResult = attribute.Key("miniappkit.payment.outcome")
	keyPaymentReason = attribute.Key("miniappkit.payment.reason")
	keyCurrency      = attribute.Key("miniappkit.payment.currency")
	keyLane          = attribute.Key("miniappkit.ratelimit.lane")
	keyChatKind      = attribute.Key("miniappkit.ratelimit.chat")
	keyPaused        = attribute.Key("miniappkit.ratelimit.paused")
	keySendOutcome   = attribute.Key("miniappkit.broadcast.outcome")
	keyPostponed     = attribute.Key("miniappkit.broadcast.postponed")
	keyStore         = attribute.Key("miniappkit.store.name")
	keyStoreImpl     = attribute.Key("miniappkit.store.impl")
	keyStoreOp       = attribute.Key("miniappkit.store.operation")
)

// Semantic-convention keys used here.
var (
	keyErrorType     = semconv.ErrorTypeKey
	keyHTTPMethod    = semconv.HTTPRequestMethodKey
	keyHTTPStatus    = semconv.HTTPResponseStatusCodeKey
	keyServerAddress = semconv.ServerAddressKey
	keyServerPort    = semconv.ServerPortKey
)

// durationBuckets are the boundaries (seconds) semantic conventions
// recommend for http.client.request.duration, used for every duration
// histogram here, with 30 and 60 s added for long polls and retry waits.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60}

// instruments are created once by New.
type instruments struct {
	// botapi
	httpDuration   metric.Float64Histogram
	callDuration   metric.Float64Histogram
	callRetries    metric.Int64Counter
	rateLimited    metric.Int64Counter
	retryAfterWait metric.Float64Histogram
	limiterWait    metric.Float64Histogram
	// webhook
	updateDuration  metric.Float64Histogram
	handlerDuration metric.Float64Histogram
	rejected        metric.Int64Counter
	// payments
	paymentSteps    metric.Int64Counter
	paymentDuration metric.Float64Histogram
	// ratelimit
	waitDuration      metric.Float64Histogram
	queueDepth        metric.Int64Gauge
	backoffs          metric.Int64Counter
	backoffRetryAfter metric.Float64Histogram
	// broadcast
	sends        metric.Int64Counter
	sendWait     metric.Float64Histogram
	sendDuration metric.Float64Histogram
	pending      metric.Int64Gauge
	// stores
	storeDuration metric.Float64Histogram

	created []string // the names, in order, for the documentation's test
}

// instrumentSpec describes one instrument: the table in
// docs/observability.md lists the same.
type instrumentSpec struct {
	name, unit, desc string
}

func (m *instruments) init(meter metric.Meter) error {
	var errs []error
	hist := func(s instrumentSpec) metric.Float64Histogram {
		m.created = append(m.created, s.name)
		h, err := meter.Float64Histogram(s.name, metric.WithUnit(s.unit), metric.WithDescription(s.desc),
			metric.WithExplicitBucketBoundaries(durationBuckets...))
		errs = append(errs, err)
		return h
	}
	counter := func(s instrumentSpec) metric.Int64Counter {
		m.created = append(m.created, s.name)
		c, err := meter.Int64Counter(s.name, metric.WithUnit(s.unit), metric.WithDescription(s.desc))
		errs = append(errs, err)
		return c
	}
	m.httpDuration = hist(specHTTPDuration)
	m.callDuration = hist(specCallDuration)
	m.callRetries = counter(specCallRetries)
	m.rateLimited = counter(specRateLimited)
	m.retryAfterWait = hist(specRetryAfterWait)
	m.limiterWait = hist(specLimiterWait)
	m.updateDuration = hist(specUpdateDuration)
	m.handlerDuration = hist(specHandlerDuration)
	m.rejected = counter(specRejected)
	gauge := func(s instrumentSpec) metric.Int64Gauge {
		m.created = append(m.created, s.name)
		g, err := meter.Int64Gauge(s.name, metric.WithUnit(s.unit), metric.WithDescription(s.desc))
		errs = append(errs, err)
		return g
	}
	m.paymentSteps = counter(specPaymentSteps)
	m.paymentDuration = hist(specPaymentDuration)
	m.waitDuration = hist(specWaitDuration)
	m.queueDepth = gauge(specQueueDepth)
	m.backoffs = counter(specBackoffs)
	m.backoffRetryAfter = hist(specBackoffRetryAfter)
	m.sends = counter(specSends)
	m.sendWait = hist(specSendWait)
	m.sendDuration = hist(specSendDuration)
	m.pending = gauge(specPending)
	m.storeDuration = hist(specStoreDuration)
	return errors.Join(errs...)
}

// allSpecs lists every instrument, for the documentation's test.
var allSpecs = []instrumentSpec{
	specHTTPDuration, specCallDuration, specCallRetries, specRateLimited, specRetryAfterWait, specLimiterWait,
	specUpdateDuration, specHandlerDuration, specRejected,
	specPaymentSteps, specPaymentDuration,
	specWaitDuration, specQueueDepth, specBackoffs, specBackoffRetryAfter,
	specSends, specSendWait, specSendDuration, specPending,
	specStoreDuration,
}

// The instruments. Names are OpenTelemetry semantic conventions where one
// exists, miniappkit.* otherwise.
var (
	specHTTPDuration    = instrumentSpec{"http.client.request.duration", "s", "Duration of each HTTP request to the Bot API."}
	specCallDuration    = instrumentSpec{"miniappkit.botapi.call.duration", "s", "Duration of each Bot API call, retries and waits included."}
	specCallRetries     = instrumentSpec{"miniappkit.botapi.call.retries", "{retry}", "HTTP requests of a Bot API call after its first."}
	specRateLimited     = instrumentSpec{"miniappkit.botapi.rate_limited", "{response}", "429 Too Many Requests answers from the Bot API."}
	specRetryAfterWait  = instrumentSpec{"miniappkit.botapi.retry_after.wait", "s", "Time a call slept on 429 retry_after before trying again."}
	specLimiterWait     = instrumentSpec{"miniappkit.botapi.limiter.wait", "s", "Time a call waited on its rate limiter."}
	specUpdateDuration  = instrumentSpec{"miniappkit.update.duration", "s", "Duration of each update delivery or worker attempt, dedupe included."}
	specHandlerDuration = instrumentSpec{"miniappkit.update.handler.duration", "s", "Duration of the update handler."}
	specRejected        = instrumentSpec{"miniappkit.webhook.rejected", "{request}", "Requests refused before an update was decoded."}

	specPaymentSteps    = instrumentSpec{"miniappkit.payment.steps", "{step}", "Payment steps: pre-checkout answers, fulfilments, refunds, duplicate-charge refunds."}
	specPaymentDuration = instrumentSpec{"miniappkit.payment.duration", "s", "Duration of each payment step."}

	specWaitDuration      = instrumentSpec{"miniappkit.ratelimit.wait.duration", "s", "Time a send waited on the Telegram scheduler."}
	specQueueDepth        = instrumentSpec{"miniappkit.ratelimit.queue.depth", "{wait}", "Waits in progress on the Telegram scheduler when the last one began."}
	specBackoffs          = instrumentSpec{"miniappkit.ratelimit.backoffs", "{response}", "429 answers reported to the Telegram scheduler."}
	specBackoffRetryAfter = instrumentSpec{"miniappkit.ratelimit.retry_after", "s", "retry_after of the 429 answers reported to the scheduler."}

	specSends        = instrumentSpec{"miniappkit.broadcast.sends", "{send}", "Broadcast sends, by outcome (or why they were postponed)."}
	specSendWait     = instrumentSpec{"miniappkit.broadcast.wait.duration", "s", "Time a broadcast send waited on the scheduler."}
	specSendDuration = instrumentSpec{"miniappkit.broadcast.send.duration", "s", "Duration of a broadcast send's request."}
	specPending      = instrumentSpec{"miniappkit.broadcast.pending", "{entry}", "Entries of a running broadcast not finished yet."}

	specStoreDuration = instrumentSpec{"miniappkit.store.operation.duration", "s", "Duration of each call to a store (dedupe, queue, ledger, limiter, broadcast log)."}
)
