package botapitest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Latency is a distribution of network delays: a call takes Base, plus or
// minus up to Jitter (uniformly), except that a fraction Slow of the calls
// (0.01 for 1 %) takes SlowDelay instead. "40 ms ± 20 ms, 1 % at 500 ms" is
//
//	botapitest.Latency{Base: 40 * time.Millisecond, Jitter: 20 * time.Millisecond,
//		Slow: 0.01, SlowDelay: 500 * time.Millisecond}
//
// and a fixed delay is Latency{Base: d}. The zero value is no delay. Draws
// come from the server's seeded source ([WithSeed]), so runs repeat.
//
// A call's delay is split in two: the request reaches the server after the
// first half (the call is then recorded, checked against the limits and
// performed, at that time on the server's clock) and the answer reaches
// the client after the second half; calls made at once overlap and may
// arrive in another order than they were made. A webhook delivery is
// posted after the whole delay.
type Latency struct {
	Base      time.Duration // the typical delay
	Jitter    time.Duration // a delay is uniform in [Base-Jitter, Base+Jitter], never below 0
	Slow      float64       // the fraction of calls, in [0, 1], that take SlowDelay instead
	SlowDelay time.Duration // the delay of a slow call
}

func (l Latency) valid() error {
	if l.Base < 0 || l.Jitter < 0 || l.SlowDelay < 0 || !(l.Slow >= 0 && l.Slow <= 1) {
		return fmt.Errorf("botapitest: invalid latency %+v: need non-negative durations and Slow in [0, 1]", l)
	}
	return nil
}

// draw picks one delay.
func (l Latency) draw(r *rand.Rand) time.Duration {
	if l.Slow > 0 && r.Float64() < l.Slow {
		return l.SlowDelay
	}
	d := l.Base
	if l.Jitter > 0 {
		d += time.Duration(r.Int64N(2*int64(l.Jitter)+1)) - l.Jitter
	}
	return max(d, 0)
}

// latencies is the latency model: a default, per-method overrides and the
// webhook's.
type latencies struct {
	all     Latency
	methods map[string]Latency // lower-case method names
	webhook *Latency           // nil: all
}

func (ls *latencies) forMethod(method string) Latency {
	if l, ok := ls.methods[method]; ok {
		return l
	}
	return ls.all
}

func (ls *latencies) forWebhook() Latency {
	if ls.webhook != nil {
		return *ls.webhook
	}
	return ls.all
}

// WithLatency delays every answer, and every webhook delivery, by a delay
// drawn from dist (see [Latency]) on the server's clock. With method names,
// dist applies to those methods only (case-insensitive), overriding the
// default for them. The default is no delay. [Server.SetLatency] changes
// it later. NewServer panics if dist has a negative duration or a Slow
// outside [0, 1].
func WithLatency(dist Latency, methods ...string) Option {
	return func(o *options) {
		o.latencyErr = errors.Join(o.latencyErr, dist.valid())
		if len(methods) == 0 {
			o.latency.all = dist
			return
		}
		if o.latency.methods == nil {
			o.latency.methods = map[string]Latency{}
		}
		for _, m := range methods {
			o.latency.methods[strings.ToLower(m)] = dist
		}
	}
}

// WithWebhookLatency sets the delay of webhook deliveries apart from the
// answers' ([WithLatency], which they follow by default).
func WithWebhookLatency(dist Latency) Option {
	return func(o *options) {
		o.latencyErr = errors.Join(o.latencyErr, dist.valid())
		o.latency.webhook = &dist
	}
}

// SetLatency sets the delay of every following answer and webhook delivery,
// as [WithLatency] does; with method names, of those methods only. It
// returns an error, and changes nothing, if dist is invalid.
func (s *Server) SetLatency(dist Latency, methods ...string) error {
	if err := dist.valid(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(methods) == 0 {
		s.st.latency.all = dist
		return nil
	}
	m := make(map[string]Latency, len(s.st.latency.methods)+len(methods))
	for k, v := range s.st.latency.methods {
		m[k] = v
	}
	for _, name := range methods {
		m[strings.ToLower(name)] = dist
	}
	s.st.latency.methods = m
	return nil
}
