package redis

import (
	"testing"

	"github.com/miniappkit/miniappkit/webhook"
	"github.com/miniappkit/miniappkit/webhook/storetest"
)

func TestUpdateStore(t *testing.T) {
	skipWithoutServer(t)
	storetest.Run(t, func(t *testing.T) (webhook.Store, storetest.Advance) {
		return newTestDB(t).UpdateStore(), nil
	})
}
