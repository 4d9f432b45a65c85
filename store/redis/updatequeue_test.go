package redis

import (
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/webhook"
	"github.com/miniappkit/miniappkit/webhook/storetest"
)

func TestUpdateQueue(t *testing.T) {
	skipWithoutServer(t)
	const lease = time.Second
	storetest.RunQueue(t, storetest.QueueOptions{PopLease: lease}, func(t *testing.T) webhook.Queue {
		return newTestDB(t).UpdateQueue("bot", lease)
	})
}
