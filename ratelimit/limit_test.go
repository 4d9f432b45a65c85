package ratelimit

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// maxInClosedWindow returns the largest number of events of the sorted
// times ts (ns) within any closed interval of length w.
func maxInClosedWindow(ts []int64, w int64) int {
	best, j := 0, 0
	for i := range ts {
		for ts[i]-ts[j] > w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

func TestLimitNeverExceedsWindow(t *testing.T) {
	for _, l := range []Limit{
		ChatLimit, GroupLimit, GlobalLimit, PaidLimit,
		{N: 20, Window: time.Minute, Burst: 5},
		{N: 20, Window: time.Minute, Burst: 20},
		{N: 3, Window: 7 * time.Millisecond, Burst: 2},
	} {
		t.Run(l.String(), func(t *testing.T) {
			require.NoError(t, l.valid())
			g := l.cell()
			// Greedy sender: sends at every instant the cell allows.
			var ts []int64
			tat := int64(-1 << 62)
			now := int64(0)
			for len(ts) < 5*l.N {
				nt, wait := g.take(tat, now)
				if wait == 0 {
					ts = append(ts, now)
					tat = nt
					continue
				}
				now += wait
			}
			require.LessOrEqual(t, maxInClosedWindow(ts, int64(l.Window)), l.N)
			// And it reaches the ceiling: the sustained rate is N-Burst+1
			// per Window, within the 1 ns rounding.
			b := max(l.Burst, 1)
			span := ts[len(ts)-1] - ts[b-1]
			perWindow := float64(len(ts)-b) * float64(l.Window) / float64(span)
			require.InDelta(t, float64(l.N-b+1), perWindow, 0.001*float64(l.N))
		})
	}
}

func TestLimitValid(t *testing.T) {
	for _, l := range []Limit{{}, {N: 1}, {N: 2, Window: time.Second, Burst: 3}, {N: -1, Window: time.Second}} {
		require.Error(t, l.valid(), l.String())
	}
}
