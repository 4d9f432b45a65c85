package logtest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/miniappkit/miniappkit/broadcast/logtest"
)

func TestMemoryLog(t *testing.T) {
	logtest.Run(t, func(*testing.T) broadcast.Log { return &broadcast.MemoryLog{} })
}

func ExampleCheck() {
	err := logtest.Check(context.Background(), func() broadcast.Log { return &broadcast.MemoryLog{} })
	fmt.Println(err)
	// Output: <nil>
}

// TestCheckCatchesBrokenLog: Check reports a log that breaks the
// contract (here one whose Open never sees another run's lease), naming
// the checks that failed.
func TestCheckCatchesBrokenLog(t *testing.T) {
	err := logtest.Check(t.Context(), func() broadcast.Log { return shared{&broadcast.MemoryLog{}} })
	if err == nil {
		t.Fatal("Check passed a log that lets two runs hold one id")
	}
	for _, name := range []string{"one run at a time", "concurrent opens"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("Check's error does not name %q: %v", name, err)
		}
	}
}

// shared is a log whose Open lets a run in while another holds the id.
type shared struct{ *broadcast.MemoryLog }

func (l shared) Open(ctx context.Context, id, list, run string, lease time.Duration) ([]broadcast.LogEntry, error) {
	e, err := l.MemoryLog.Open(ctx, id, list, run, lease)
	if errors.Is(err, broadcast.ErrRunning) {
		return nil, nil
	}
	return e, err
}
