package broadcast

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestObserveLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Run's workers call the log, and so the observer, concurrently.
		var mu sync.Mutex
		var events []StoreEvent
		rec := func(_ context.Context, e StoreEvent) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, e)
		}
		mem := &MemoryLog{}
		require.Same(t, mem, ObserveLog(mem, nil).(*MemoryLog), "no observer, no wrapper")
		sc := &scripted{}
		_, err := Run(t.Context(), newSched(t), []int64{1, 2}, sc.send, WithLog(ObserveLog(mem, rec), "b1"))
		require.NoError(t, err)
		mu.Lock()
		defer mu.Unlock()
		counts := map[string]int{}
		for _, e := range events {
			assert.Equal(t, "broadcast.Log", e.Store)
			assert.Equal(t, "*broadcast.MemoryLog", e.Impl)
			require.NoError(t, e.Err)
			counts[e.Op]++
		}
		assert.Equal(t, map[string]int{"Open": 1, "Start": 2, "Finish": 2, "Release": 1}, counts)
	})
}
