package otel

import (
	"context"

	"go.opentelemetry.io/otel/metric"

	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/miniappkit/miniappkit/ratelimit"
)

// ObserveWait implements [ratelimit.Observer]: the wait's duration by lane,
// chat kind and error class, and the queue depth it saw.
func (o *Observer) ObserveWait(ctx context.Context, e ratelimit.WaitEvent) {
	lane, chat := keyLane.String(e.Lane.String()), keyChatKind.String(e.Chat)
	if class := ratelimit.WaitClass(e.Err); class != "" {
		o.m.waitDuration.Record(ctx, e.Duration.Seconds(), metric.WithAttributes(lane, chat, keyErrorType.String(class)))
	} else {
		o.m.waitDuration.Record(ctx, e.Duration.Seconds(), metric.WithAttributes(lane, chat))
	}
	o.m.queueDepth.Record(ctx, e.Waiting)
}

// ObserveBackoff implements [ratelimit.Observer]: one count per 429 by chat
// kind and whether it paused the bot, and its retry_after.
func (o *Observer) ObserveBackoff(ctx context.Context, e ratelimit.BackoffEvent) {
	set := metric.WithAttributes(keyChatKind.String(e.Chat), keyPaused.Bool(e.Paused))
	o.m.backoffs.Add(ctx, 1, set)
	o.m.backoffRetryAfter.Record(ctx, e.RetryAfter.Seconds(), set)
}

// ObserveSend implements [broadcast.Observer]: one count per send by lane
// and outcome (or "postponed" with the reason), its scheduler wait and
// request time, and the entries left.
func (o *Observer) ObserveSend(ctx context.Context, e broadcast.SendEvent) {
	lane := keyLane.String(e.Lane.String())
	var set metric.MeasurementOption
	if e.Outcome != 0 {
		set = metric.WithAttributes(lane, keySendOutcome.String(e.Outcome.String()))
	} else {
		set = metric.WithAttributes(lane, keySendOutcome.String("postponed"), keyPostponed.String(e.Postponed))
	}
	o.m.sends.Add(ctx, 1, set)
	o.m.sendWait.Record(ctx, e.Wait.Seconds(), metric.WithAttributes(lane))
	o.m.sendDuration.Record(ctx, e.Duration.Seconds(), set)
	o.m.pending.Record(ctx, int64(e.Pending), metric.WithAttributes(lane))
}
