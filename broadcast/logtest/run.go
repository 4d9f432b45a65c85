package logtest

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/miniappkit/miniappkit/ratelimit"
)

// cutOff is a log whose Renew never reaches the engine: its run's lease
// runs out while the run goes on (a process cut off from the engine, or
// paused, past its lease).
type cutOff struct{ broadcast.Log }

func (cutOff) Renew(context.Context, string, string, time.Duration) error {
	return errors.New("logtest: engine unreachable")
}

// onOpen is a log that calls opened once its Open succeeded.
type onOpen struct {
	broadcast.Log
	opened func()
}

func (l onOpen) Open(ctx context.Context, id, list, run string, lease time.Duration) ([]broadcast.LogEntry, error) {
	e, err := l.Log.Open(ctx, id, list, run, lease)
	if err == nil {
		l.opened()
	}
	return e, err
}

// runTakenOver checks, end to end through [broadcast.Run], that two runs
// of one broadcast id on the log never both send an entry. Run a, cut
// off from the engine, cannot renew its lease; its sends hang until run b
// has opened the id (once a's lease expired on the engine's clock). Then
// a stops with ErrLeaseLost, b reports a's sends in flight as Unknown
// and sends the rest: every chat gets the message exactly once.
func runTakenOver(t tb, l broadcast.Log, id string) {
	ctx := t.Context()
	chats := make([]int64, 24)
	for i := range chats {
		chats[i] = int64(1000 + i)
	}
	var (
		mu      sync.Mutex
		sends   = map[int64]int{}
		byA     int
		aSent   = make(chan struct{}) // closed at a's first send
		aOnce   sync.Once
		bOpened = make(chan struct{}) // closed when b holds the id
		bOnce   sync.Once
	)
	sendA := func(ctx context.Context, chat int64) error {
		mu.Lock()
		sends[chat]++
		byA++
		mu.Unlock()
		aOnce.Do(func() { close(aSent) })
		select {
		case <-bOpened: // the request completes: delivered, after the takeover
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	sendB := func(_ context.Context, chat int64) error {
		mu.Lock()
		sends[chat]++
		mu.Unlock()
		return nil
	}
	sched := func() *ratelimit.Telegram {
		s, err := ratelimit.NewTelegram()
		must(t, err)
		return s
	}
	errA := make(chan error, 1)
	go func() {
		_, err := broadcast.Run(ctx, sched(), chats, sendA, broadcast.WithLog(cutOff{l}, id),
			broadcast.WithLease(short), broadcast.WithConcurrency(4))
		errA <- err
	}()
	select {
	case <-aSent:
	case err := <-errA:
		t.Fatalf("run a ended before sending: %v", err)
	}
	logB := onOpen{Log: l, opened: func() { bOnce.Do(func() { close(bOpened) }) }}
	deadline := time.Now().Add(30 * time.Second)
	var (
		sum broadcast.Summary
		err error
	)
	for {
		sum, err = broadcast.Run(ctx, sched(), chats, sendB, broadcast.WithLog(logB, id), broadcast.WithLease(long))
		if !errors.Is(err, broadcast.ErrRunning) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("run a's lease did not expire in 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("run b: %v", err)
	}
	if err := <-errA; !errors.Is(err, broadcast.ErrLeaseLost) {
		t.Fatalf("run a after the takeover: %v, want ErrLeaseLost", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, c := range chats {
		if sends[c] != 1 {
			t.Fatalf("chat %d got %d sends, want 1 (run a sent %d)", c, sends[c], byA)
		}
	}
	if sum.Unknown != byA || sum.Delivered != len(chats)-byA {
		t.Fatalf("run b: %d unknown, %d delivered; want run a's %d in flight unknown and %d delivered", sum.Unknown, sum.Delivered, byA, len(chats)-byA)
	}
}
