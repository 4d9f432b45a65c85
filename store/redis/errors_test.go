package redis

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// TestErrorsNameOperationNotPassword: a failing call's error names the
// operation and never carries the password of the client's URL.
func TestErrorsNameOperationNotPassword(t *testing.T) {
	opt, err := redis.ParseURL("redis://user:sekret-pw@127.0.0.1:1/0")
	require.NoError(t, err)
	opt.MaxRetries, opt.DialerRetries = -1, 1
	c := redis.NewClient(opt)
	defer c.Close()
	db := New(c)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	for op, err := range map[string]error{
		"migrate":                     db.Migrate(ctx),
		"update store claim":          func() error { _, err := db.UpdateStore().Claim(ctx, "k", "o", time.Minute, nil); return err }(),
		"update store complete in tx": db.UpdateStore().CompleteTx(ctx, "k", time.Hour, func(redis.Pipeliner) error { return nil }),
	} {
		require.Error(t, err)
		require.Contains(t, err.Error(), "redis: "+op)
		require.False(t, strings.Contains(err.Error(), "sekret-pw"), "error carries the password: %v", err)
	}
}
