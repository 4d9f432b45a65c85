package crashtest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"
)

// The helpers in this file serve the store modules' webhook crash tests,
// whose programs (internal/crashapp in each) take Telegram updates through
// webhook.NewHandler.

// UpdateSecret is the webhook secret token the crash programs check; they
// read it from CRASHAPP_SECRET ([UpdateEnv]).
const UpdateSecret = "crash-test-secret"

// UpdateEnv returns the environment ([Config.Env]) that gives a crash
// program its webhook secret.
func UpdateEnv() []string { return []string{"CRASHAPP_SECRET=" + UpdateSecret} }

// UpdateRequest is a [Config.Request]: a Telegram webhook delivery of
// update unit (a text message whose update_id and message_id are unit),
// with the secret token [UpdateSecret].
func UpdateRequest(base string, unit int) (*http.Request, error) {
	body := fmt.Sprintf(`{"update_id":%d,"message":{"message_id":%d,"date":1700000000,"chat":{"id":1,"type":"private"},"text":"hi"}}`, unit, unit)
	req, err := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", UpdateSecret)
	return req, nil
}

// EnoughKills reports whether a run's kills are enough: every one of the
// want scheduled kills landed; in async mode (answers come as soon as an
// update is queued, so the run may end before the last kill points) at
// least nine in ten.
func EnoughKills(kills, want int, async bool) bool {
	if async {
		return kills >= want-want/10
	}
	return kills == want
}

// Drain runs cfg's program once more (cfg.Binary with cfg.Args and
// cfg.Env), unkilled, until handled reports at least cfg.Units units
// handled (an async program's queue drained) or a minute passes; then it
// kills the program.
func Drain(ctx context.Context, cfg Config, handled func(context.Context) (int, error)) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cfg.Binary, cfg.Args...)
	cmd.Env = append(os.Environ(), cfg.Env...)
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	for {
		n, err := handled(ctx)
		if err != nil {
			return fmt.Errorf("drain: %w", err)
		}
		if n >= cfg.Units {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("drain: %d of %d updates handled after a minute", n, cfg.Units)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
