package botapitest

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// refLimits is the limits model without the sweep: an arrival time for
// every chat and group ever seen, never dropped. The sweeping model must
// decide exactly as it does.
func refLimits(scale float64) *limits {
	l := newLimits(scale)
	for _, t := range []*tats{&l.chats, &l.groups} {
		t.next, t.lastSweep = math.MaxInt, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return l
}

func TestLimitsSweepKeepsDecisions(t *testing.T) {
	for _, scale := range []float64{1, 50} {
		rng := rand.New(rand.NewPCG(1, uint64(scale)))
		got := newLimits(scale)
		want := refLimits(scale)
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var admitted, refused int
		for i := range 200_000 {
			now = now.Add(time.Duration(rng.IntN(int(5 * time.Millisecond / time.Duration(scale)))))
			if rng.IntN(1000) == 0 {
				now = now.Add(time.Duration(rng.IntN(int(2 * time.Minute))))
			}
			// Mostly fresh chats (sweeps), some repeats (live windows kept).
			id := int64(rng.IntN(5000)) + 1
			if rng.IntN(4) == 0 {
				id = -id % 300
			}
			paid := rng.IntN(2) == 0
			ra, ok := got.admit(id, paid, now)
			wra, wok := want.admit(id, paid, now)
			require.Equal(t, wok, ok, "scale %v, event %d, chat %d", scale, i, id)
			require.Equal(t, wra, ra, "scale %v, event %d, chat %d", scale, i, id)
			if ok {
				admitted++
			} else {
				refused++
			}
		}
		require.Positive(t, admitted)
		require.Positive(t, refused)
		require.Less(t, len(got.chats.m), len(want.chats.m), "the sweep dropped full buckets")
	}
}

// A million distinct chats: the model holds arrival times only for the
// chats of the last few seconds, and none once their buckets are full again.
func TestLimitsBoundedByLiveChats(t *testing.T) {
	n := 1_000_000
	if raceEnabled {
		n = 100_000
	}
	l := newLimits(1)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	base := heap()
	peak := 0
	for i := range n {
		// Paid broadcast at 1000/s: just under the bot-wide limit.
		now = now.Add(1001 * time.Microsecond)
		_, ok := l.admit(int64(i+1), true, now)
		require.True(t, ok, "message %d", i)
		peak = max(peak, len(l.chats.m))
	}
	// A chat's entry lives one interval (1 s) after its send, and a sweep
	// comes at the latest one span (3 s) later: at most 4000 chats at
	// 1000/s, and the map stays within twice that plus the sweep threshold.
	require.LessOrEqual(t, peak, 2*(perChatBurst+1)*paidGlobalLimit+minSweep)
	now = now.Add(l.chats.span)
	_, ok := l.admit(-1, false, now)
	require.True(t, ok)
	require.Equal(t, 1, len(l.chats.m), "only the chat just sent to is live")
	require.Equal(t, 1, len(l.groups.m))
	growth := int64(heap()) - int64(base)
	t.Logf("%d chats: peak entries %d, after the span %d; heap growth %d B", n, peak, len(l.chats.m), growth)
	require.Less(t, growth, int64(1<<20), "heap back within 1 MiB")
	runtime.KeepAlive(l)
}

func TestLimitsSweepGroups(t *testing.T) {
	l := newLimits(1)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10_000 {
		now = now.Add(40 * time.Millisecond) // 25/s, under the bot-wide 30/s
		_, ok := l.admit(-int64(i+1), false, now)
		require.True(t, ok)
	}
	// A group sent to once stays live for its interval (3 s, 75 groups at
	// 25/s) and is swept within a span (a minute: 1500 groups) of that.
	require.LessOrEqual(t, len(l.groups.m), 2*1575+minSweep)
	require.GreaterOrEqual(t, len(l.groups.m), 75)
	now = now.Add(l.groups.span)
	_, ok := l.admit(-1_000_000, false, now)
	require.True(t, ok)
	require.Equal(t, 1, len(l.groups.m), "only the group just sent to is live")
	require.Equal(t, 1, len(l.chats.m))
}
