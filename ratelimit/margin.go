package ratelimit

import (
	"context"
	"time"
)

// Pacing against latency: Telegram counts a send when it arrives, so two
// sends spaced exactly at the limit arrive closer than that whenever the
// first is delayed more than the second. A [Telegram] therefore stretches
// every window by a safety margin: a window of length W with N sends is
// enforced as N sends per W + margin, which is exact at Telegram for any
// one-way latency whose spread (slowest minus fastest) is at most the
// margin. The cost is the same fraction of throughput: 20 ms on a 1 s
// window is 2 %.
//
// A margin covers the usual spread, not the rare send that takes much
// longer on its way (a retransmitted packet): it arrives late, into a
// window already full. Three rules absorb it. Each bot-wide window keeps
// spare sends free (one by default: 29 of 30 per second paced), so one
// late arrival finds room. A send through [Telegram.Admit] whose round
// trip exceeds the fastest seen by more than 2.25 times the margin is
// overdue: it may reach Telegram at any moment until its answer comes, so from
// then until a window after its answer it holds one bot-wide send per
// window, taken from the bot-wide cells in the [Store] in eight pieces
// spread over the window (so no one send waits a whole extra slot behind
// it). Being in the store, the hold binds every scheduler that shares it:
// two replicas on one store each keep room for the other's late sends,
// where a hold kept in the process alone let the other replica fill the
// window (31 sends in one second at the fake, S9). And its chat's (and
// group's) next send is paced from its answer, not from the send. With
// 1 % of sends 500 ms slow, the three cost about 7 % of throughput in the
// broadcast simulations (S1: 1.071 × n/30 at 40 ms ± 20 ms round trips,
// S9 with two schedulers: 1.072; 0 × 429, at most 30 sends in any
// second at the fake).
//
// Each 429 reported to [Telegram.Backoff] adds marginStep, up to the
// maximum margin, on the reasoning that it is evidence of more spread
// than the margin covers; after marginCalm without a 429 the margin goes
// back down a step at a time, to the configured one.

const (
	// DefaultMargin is the safety margin by default: the spread of the
	// one-way latency of a 40 ms ± 20 ms round trip (20 ms ± 10 ms each
	// way). Without a margin the broadcast simulations measured 48 429s
	// in 1 500 sends at 40 ms ± 5 ms one way; with it, none, at either.
	DefaultMargin = 20 * time.Millisecond
	// DefaultMaxMargin is how far 429s may raise the margin by default.
	DefaultMaxMargin = 100 * time.Millisecond
	// marginStep is what one 429 adds to the margin.
	marginStep = 5 * time.Millisecond
	// marginCalm is how long without a 429 takes a step off the margin.
	marginCalm = 30 * time.Second
)

// WithMargin sets the safety margin of a [Telegram]: every limit's window
// is stretched by margin, and each 429 reported to Backoff stretches it
// by 5 ms more, up to maxMargin (maxMargin == margin keeps it fixed). The
// defaults are [DefaultMargin] and [DefaultMaxMargin]; NewTelegram fails
// when margin < 0 or maxMargin < margin.
func WithMargin(margin, maxMargin time.Duration) Option {
	return func(o *options) { o.margin, o.maxMargin = margin, maxMargin }
}

// DefaultSpare is how many sends of each bot-wide window are left free by
// default, for a send that arrives late.
const DefaultSpare = 1

// WithSpare sets how many sends of each bot-wide window (the global and
// paid limits) a [Telegram] leaves free for sends that arrive late; the
// default is [DefaultSpare]. NewTelegram fails when spare < 0 or it leaves
// fewer sends than the burst.
func WithSpare(spare int) Option { return func(o *options) { o.spare = spare } }

// overdue is how long a send through Admit may take before it counts as
// one the margin does not cover: the fastest round trip seen plus the
// margin on each way, plus a quarter of the margin for the client's own
// overhead (writing the request, reading the answer, being scheduled),
// whose fastest instance is in the fastest round trip and whose usual
// variation is not. A round trip within it is the usual spread; one beyond
// it (a lost packet, a slow path) may have reached Telegram as late as its
// answer. The allowance costs little: a send it spares from a hold reaches
// Telegram at most an eighth of the margin later than the margin covers
// when its delay splits evenly between the ways (2.5 ms at the default
// margin, against 35 ms between two sends at 29 a second), which moves
// one arrival across a window's edge at most, and the spare send of each
// window takes that one. Without it, at Telegram's own speed (three
// replicas on one Redis, 40 ms ± 20 ms round trips, store/redis
// TestRateStoreReplicas with MINIAPPKIT_TIMING=1) the round trips in the
// top millisecond of the fake's range, 2.3 % of the sends, were overdue
// by the client's overhead alone, and their holds took the makespan from
// the pacing's 1.055 to 1.085 × n/30 s, past the bound.
//
// It is measured from the fastest, not from the usual round trips, on
// purpose. Counting a send overdue only beyond the 90th percentile of the
// last 256 round trips plus the margin, or beyond the fastest plus the
// margin plus one bot-wide interval, cut the late holds of three replicas
// on one Redis (store/redis TestRateStoreReplicas, 30 000 sends at ten
// times Telegram's speed, a loaded host) from 55 000-63 000 eighths of a
// slot to about 8 600, but put 32 arrivals in one window at the fake,
// against at most 29-30 with this rule: round trips beyond the fastest
// plus 2.25 times the margin are mostly the host's own delays between a send's
// slot and its arrival, the very spread the margin does not cover, and
// the holds are what keeps the windows below the limit then. A margin
// that follows that spread instead (docs/benchmarks.md, ratelimit) is
// where the time is, not yet shown safe enough to adopt.
func (s *Telegram) overdue(cs *cellSet) time.Duration {
	return time.Duration(s.minRTT.Load()) + 2*cs.margin + cs.margin/4
}

// lateTolerance lets a hold of a bot-wide slot for a late send conform
// whatever the slot's state (short of a bot-wide pause longer than it):
// the hold only moves the slots after it.
const lateTolerance = 24 * time.Hour

// latePieces is how many pieces a late send's slot per window is held in,
// spread over the window, so that no send (an interactive one least of
// all) waits a whole extra slot behind a hold.
const latePieces = 8

// holdLate holds 1/latePieces of one slot of the bot-wide cells of lane,
// in the store, for a send that may arrive late: every scheduler sharing
// the store sends that much less, not only this one.
func (s *Telegram) holdLate(lane Lane) {
	zero := s.cs.Load().zero[lane]
	var buf [2]Cell
	cells := append(buf[:0], zero...)
	for i := range cells {
		cells[i].Interval = cells[i].Interval/latePieces + 1
		cells[i].Tolerance = lateTolerance
	}
	if v, err := s.store.Take(context.Background(), s.clock(), cells); err == nil && v.OK {
		s.lateHolds.Add(1)
	}
}

// onLate runs on a's timer. Once a has been on its way longer than
// overdue it holds one bot-wide slot per window, in latePieces pieces
// spread over the window, from then until a window after its end: the
// late arrival, anywhere until its end, finds the room in any window
// around it. Before any send through Admit has ended there is no round
// trip to compare with, and no send is overdue.
func (s *Telegram) onLate(a *admission) {
	s.admitMu.Lock()
	cs := s.cs.Load()
	now := s.clock()
	if !a.late {
		if a.ended {
			s.admitMu.Unlock()
			return
		}
		if s.minRTT.Load() == 0 {
			// Look again once a send may have ended.
			a.timer.Reset(max(2*cs.margin, time.Millisecond))
			s.admitMu.Unlock()
			return
		}
		if el, od := now.Sub(a.start), s.overdue(cs); el < od {
			a.timer.Reset(od - el) // the fastest round trip was learnt meanwhile
			s.admitMu.Unlock()
			return
		}
		a.late = true
	}
	if a.ended && !now.Before(a.until) {
		s.admitMu.Unlock()
		return
	}
	a.timer.Reset((s.limits[2].Window + cs.margin) / latePieces)
	s.admitMu.Unlock()
	s.holdLate(a.lane)
}

// ended reports the end of a send a through Admit and updates the
// fastest round trip (unless a Backoff cut the send short). A send that
// ended overdue may have arrived as late as now: it goes on holding
// bot-wide room for a window (see onLate), and its chat's limits count it
// from now.
func (s *Telegram) ended(a *admission) {
	if a.notSent.Load() {
		s.admitMu.Lock()
		a.ended = true
		a.timer.Stop()
		s.admitMu.Unlock()
		return
	}
	now := s.clock()
	if rtt := int64(now.Sub(a.start)); !a.cut.Load() {
		// A send a Backoff cancelled (another send's 429 on its chat)
		// ended when it was cut, not when Telegram answered: no round
		// trip to learn from.
		fastest := s.minRTT.Load()
		for (fastest == 0 || rtt < fastest) && rtt > 0 && !s.minRTT.CompareAndSwap(fastest, rtt) {
			fastest = s.minRTT.Load()
		}
	}
	cs := s.cs.Load()
	s.admitMu.Lock()
	a.ended = true
	if !a.late && now.Sub(a.start) <= s.overdue(cs) {
		a.timer.Stop()
		s.admitMu.Unlock()
		return
	}
	if !a.late {
		a.late = true
		a.timer.Reset(0)
	}
	a.until = now.Add(s.limits[2].Window + cs.margin)
	s.admitMu.Unlock()
	if a.chat == 0 {
		return
	}
	ctx := context.Background()
	c := cs.chat
	c.Key.ID = a.chat
	_ = s.store.Block(ctx, c, now.Add(c.Interval-c.Tolerance))
	if a.chat < 0 {
		g := cs.group
		g.Key.ID = a.chat
		_ = s.store.Block(ctx, g, now.Add(g.Interval-g.Tolerance))
	}
}

// adapt raises the margin by one step after a 429, and returns the cells
// in force.
func (s *Telegram) adapt() *cellSet {
	s.adaptMu.Lock()
	defer s.adaptMu.Unlock()
	s.raised.Store(s.clock().UnixNano())
	cs := s.cs.Load()
	if m := min(cs.margin+s.marginStep, s.maxMargin); m > cs.margin {
		cs = newCellSet(s.limits, m, s.spare)
		s.cs.Store(cs)
	}
	return cs
}

// calm takes a step off a raised margin once marginCalm has passed since
// the last 429 (or the last step down) at now.
func (s *Telegram) calm(now time.Time) {
	cs := s.cs.Load()
	if cs.margin <= s.margin || now.UnixNano()-s.raised.Load() < int64(marginCalm) {
		return
	}
	s.adaptMu.Lock()
	defer s.adaptMu.Unlock()
	if cs = s.cs.Load(); cs.margin > s.margin && now.UnixNano()-s.raised.Load() >= int64(marginCalm) {
		s.cs.Store(newCellSet(s.limits, max(cs.margin-s.marginStep, s.margin), s.spare))
		s.raised.Store(now.UnixNano())
	}
}
