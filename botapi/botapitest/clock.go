package botapitest

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// clock is the time a Server lives on: every timestamp and every wait.
type clock interface {
	Now() time.Time
	// timer returns a channel that receives once d has passed on the
	// clock, and a function that releases the timer early.
	timer(d time.Duration) (<-chan time.Time, func())
}

// realClock reads a clock function for timestamps and waits on the time
// package's timers (which testing/synctest fakes inside a bubble).
type realClock struct{ now func() time.Time }

func (c realClock) Now() time.Time { return c.now() }

func (realClock) timer(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// VirtualClock is a clock that moves only when told to: [VirtualClock.Advance]
// moves it forward and fires, in deadline order, every wait it passes. Give
// it to a server with [WithVirtualClock] and every timestamp and every wait
// of the server (latency, long polls, webhook backoff and timeout,
// [Server.Pay]'s deadline, the flood limits) follows it, so no path of the
// server sleeps real time. Share its [VirtualClock.Now] with the code under
// test to run both on one clock.
//
// The zero value is not usable; use [NewVirtualClock]. A VirtualClock is
// safe for concurrent use.
type VirtualClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  timerHeap
	seq     uint64
	changed chan struct{} // closed and replaced when a timer is added
}

// NewVirtualClock returns a virtual clock that reads start until advanced.
func NewVirtualClock(start time.Time) *VirtualClock {
	return &VirtualClock{now: start, changed: make(chan struct{})}
}

// Now returns the clock's time.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (a negative d does nothing) and
// fires every wait whose deadline it reaches.
func (c *VirtualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d > 0 {
		c.now = c.now.Add(d)
	}
	for len(c.timers) > 0 && !c.timers[0].at.After(c.now) {
		t := heap.Pop(&c.timers).(*vtimer)
		t.ch <- c.now
	}
}

// AdvanceToNext moves the clock to the earliest pending wait's deadline
// (not backward) and fires the waits due then. It reports false, and does
// nothing, when nothing waits.
func (c *VirtualClock) AdvanceToNext() bool {
	c.mu.Lock()
	if len(c.timers) == 0 {
		c.mu.Unlock()
		return false
	}
	d := c.timers[0].at.Sub(c.now)
	c.mu.Unlock()
	c.Advance(d)
	return true
}

// Pending returns the number of waits in progress on the clock.
func (c *VirtualClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// BlockUntil waits until at least n waits are in progress on the clock (for
// example a request held by latency), so that a test advances the clock
// only once the server is waiting on it. It returns ctx.Err() if ctx ends
// first.
func (c *VirtualClock) BlockUntil(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		if len(c.timers) >= n {
			c.mu.Unlock()
			return nil
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *VirtualClock) timer(d time.Duration) (<-chan time.Time, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch, func() {}
	}
	c.seq++
	t := &vtimer{at: c.now.Add(d), seq: c.seq, ch: ch}
	heap.Push(&c.timers, t)
	close(c.changed)
	c.changed = make(chan struct{})
	return ch, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if t.index >= 0 {
			heap.Remove(&c.timers, t.index)
		}
	}
}

type vtimer struct {
	at    time.Time
	seq   uint64 // ties fire in the order the waits began
	ch    chan time.Time
	index int // in the heap; -1 once fired or stopped
}

type timerHeap []*vtimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].seq < h[j].seq
	}
	return h[i].at.Before(h[j].at)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*vtimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}

// withTimeout is context.WithTimeout on the server's clock.
func (s *Server) withTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	t, stop := s.clk.timer(d)
	go func() {
		select {
		case <-t:
			cancel(context.DeadlineExceeded)
		case <-ctx.Done():
		}
	}()
	return ctx, func() { stop(); cancel(context.Canceled) }
}
