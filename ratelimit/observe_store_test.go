package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestObserveStore(t *testing.T) {
	var events []StoreEvent
	rec := func(_ context.Context, e StoreEvent) { events = append(events, e) }
	mem := NewMemoryStore()
	require.Same(t, mem, ObserveStore(mem, nil).(*MemoryStore), "no observer, no wrapper")
	s, err := NewTelegram(WithStore(ObserveStore(mem, rec)))
	require.NoError(t, err)
	require.NoError(t, s.Wait(t.Context(), 7))
	s.DelayAt(8, Bulk, time.Now())
	s.Allow(8, Bulk)
	s.BackoffAt(7, time.Second, time.Now())
	require.NotEmpty(t, events)
	seen := map[string]bool{}
	for _, e := range events {
		assert.Equal(t, "ratelimit.Store", e.Store)
		assert.Equal(t, "*ratelimit.MemoryStore", e.Impl)
		require.NoError(t, e.Err)
		seen[e.Op] = true
	}
	assert.Equal(t, map[string]bool{"Peek": true, "Take": true, "Reserve": true, "Block": true}, seen)
}
