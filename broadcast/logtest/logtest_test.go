package logtest_test

import (
	"testing"

	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/miniappkit/miniappkit/broadcast/logtest"
)

func TestMemoryLog(t *testing.T) {
	logtest.Run(t, func(*testing.T) broadcast.Log { return &broadcast.MemoryLog{} })
}
