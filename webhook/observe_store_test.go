package webhook

import (
	"context"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestObserveStoreAndQueue(t *testing.T) {
	var events []StoreEvent
	rec := func(_ context.Context, e StoreEvent) { events = append(events, e) }
	require.Nil(t, ObserveStore(nil, rec))
	mem := NewMemoryStore(8)
	require.Same(t, mem, ObserveStore(mem, nil).(*MemoryStore), "no observer, no wrapper")

	s := ObserveStore(mem, rec)
	ctx := t.Context()
	_, err := s.Claim(ctx, "k", "me", time.Minute, nil)
	require.NoError(t, err)
	require.ErrorIs(t, s.Complete(ctx, "k", "other", time.Hour, nil), ErrNotOwner)
	require.NoError(t, s.Release(ctx, "k", "me"))

	q := ObserveQueue(NewMemoryQueue(1), rec)
	require.NoError(t, q.Push(ctx, 1, []byte(updateBody(1))))
	require.ErrorIs(t, q.Push(ctx, 2, []byte(updateBody(2))), ErrQueueFull)
	j, err := q.Pop(ctx)
	require.NoError(t, err)
	require.NoError(t, j.Nack(ctx, 0))
	j, err = q.Pop(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, j.Attempt())
	require.NoError(t, j.Ack(ctx))
	require.False(t, q.Durable())

	var ops []string
	for _, e := range events {
		ops = append(ops, e.Store+"."+e.Op)
		assert.False(t, e.Start.IsZero())
		assert.GreaterOrEqual(t, e.Duration, time.Duration(0))
	}
	assert.Equal(t, []string{"webhook.Store.Claim", "webhook.Store.Complete", "webhook.Store.Release",
		"webhook.Queue.Push", "webhook.Queue.Push", "webhook.Queue.Pop", "webhook.Queue.Nack", "webhook.Queue.Pop", "webhook.Queue.Ack"}, ops)
	assert.Equal(t, "*webhook.MemoryStore", events[0].Impl)
	assert.Equal(t, "*webhook.MemoryQueue", events[3].Impl)
	assert.ErrorIs(t, events[1].Err, ErrNotOwner)
	assert.ErrorIs(t, events[4].Err, ErrQueueFull)
	assert.NoError(t, events[0].Err)

	// The wrapped store serves a handler as the store itself does.
	h := mustHandler(t, testToken, UpdateHandlerFunc(func(context.Context, *botapi.Update) error { return nil }),
		WithStore(ObserveStore(NewMemoryStore(8), rec)))
	events = nil
	require.Equal(t, 200, deliver(t, h, testToken, updateBody(9)).Code)
	require.Len(t, events, 2)
	assert.Equal(t, []string{"Claim", "Complete"}, []string{events[0].Op, events[1].Op})
}
