package botapitest

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// refLimits is the limits model as it was before the sweep: one window per
// chat and group ever seen, never dropped. The sweeping model must decide
// exactly as it does.
type refLimits struct {
	scale         float64
	chats, groups map[int64]*window
	global        window
}

func (l *refLimits) admit(chatID int64, paid bool, now time.Time) (int, bool) {
	get := func(m map[int64]*window, d time.Duration) *window {
		w := m[chatID]
		if w == nil {
			w = &window{d: d}
			m[chatID] = w
		}
		return w
	}
	chat := get(l.chats, scaled(perChatWindow, l.scale))
	var group *window
	if chatID < 0 {
		group = get(l.groups, scaled(perGroupWindow, l.scale))
	}
	gl := globalLimit
	if paid {
		gl = paidGlobalLimit
	}
	wait := max(chat.wait(now, perChatLimit), l.global.wait(now, gl))
	if group != nil {
		wait = max(wait, group.wait(now, perGroupLimit))
	}
	if wait > 0 {
		return max(1, int(math.Ceil(wait.Seconds()))), false
	}
	chat.times = append(chat.times, now)
	l.global.times = append(l.global.times, now)
	if group != nil {
		group.times = append(group.times, now)
	}
	return 0, true
}

func TestLimitsSweepKeepsDecisions(t *testing.T) {
	for _, scale := range []float64{1, 50} {
		rng := rand.New(rand.NewPCG(1, uint64(scale)))
		got := newLimits(scale)
		want := &refLimits{scale: scale, chats: map[int64]*window{}, groups: map[int64]*window{},
			global: window{d: scaled(globalWindow, scale)}}
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var admitted, refused int
		for i := range 200_000 {
			now = now.Add(time.Duration(rng.IntN(int(5 * time.Millisecond))))
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
		require.Less(t, len(got.chats.m), len(want.chats), "the sweep dropped expired windows")
	}
}

// A million distinct chats: the model holds windows only for the chats of
// the last second, and none once that second has passed.
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
	// At most 1000 chats are live in any second; the map stays within
	// twice that plus the sweep threshold.
	require.LessOrEqual(t, peak, 2*paidGlobalLimit+minSweep)
	now = now.Add(perChatWindow)
	_, ok := l.admit(-1, false, now)
	require.True(t, ok)
	require.Equal(t, 1, len(l.chats.m), "only the chat just sent to is live")
	require.Equal(t, 1, len(l.groups.m))
	growth := int64(heap()) - int64(base)
	t.Logf("%d chats: peak windows %d, after the window %d; heap growth %d B", n, peak, len(l.chats.m), growth)
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
	// Groups stay live for a minute: 1500 of them at 25/s.
	require.LessOrEqual(t, len(l.groups.m), 2*1500+minSweep)
	require.GreaterOrEqual(t, len(l.groups.m), 1500)
	now = now.Add(perGroupWindow)
	_, ok := l.admit(-1_000_000, false, now)
	require.True(t, ok)
	require.Equal(t, 1, len(l.groups.m), "only the group just sent to is live")
	require.Equal(t, 1, len(l.chats.m))
}
