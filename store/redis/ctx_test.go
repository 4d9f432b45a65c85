package redis

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/internal/faulttest"
	"github.com/miniappkit/miniappkit/ratelimit"
)

// silentServer is a loopback server speaking just enough RESP for a
// client to connect (HELLO refused, so RESP2; CLIENT and PING answered),
// that never answers anything else: a server that hangs mid-call.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			go func() {
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "*")))
					var args []string
					for range n {
						if _, err := r.ReadString('\n'); err != nil { // $len
							return
						}
						arg, err := r.ReadString('\n')
						if err != nil {
							return
						}
						args = append(args, strings.TrimSpace(arg))
					}
					if len(args) == 0 {
						continue
					}
					switch strings.ToUpper(args[0]) {
					case "HELLO":
						_, _ = c.Write([]byte("-ERR unknown command 'HELLO'\r\n"))
					case "CLIENT":
						_, _ = c.Write([]byte("+OK\r\n"))
					case "PING":
						_, _ = c.Write([]byte("+PONG\r\n"))
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestCallsHonourContextDeadline: with the client option the package doc
// asks for (ContextTimeoutEnabled), a call to a server that hangs returns
// at its ctx's deadline with the ctx's error. go-redis's default ignores
// the deadline and waits out ReadTimeout (3 s; 2.5 s measured against a
// paused server with a 200 ms deadline), which the doc now says.
func TestCallsHonourContextDeadline(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: silentServer(t), ContextTimeoutEnabled: true, ReadTimeout: time.Minute, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	db := New(c)
	for name, call := range map[string]func(context.Context) error{
		"claim": func(ctx context.Context) error {
			_, err := db.UpdateStore().Claim(ctx, "k", "o", time.Minute, nil)
			return err
		},
		"rate take": func(ctx context.Context) error {
			_, err := db.RateStore().Take(ctx, time.Now(), []ratelimit.Cell{{Key: ratelimit.Key{Kind: 1, ID: 1}, Interval: time.Second}})
			return err
		},
		"broadcast log start": func(ctx context.Context) error { return db.BroadcastLog().Start(ctx, "b", "run", 1) },
		"complete":            func(ctx context.Context) error { return db.UpdateStore().Complete(ctx, "k", "o", time.Hour, nil) },
		"extend":              func(ctx context.Context) error { return db.UpdateStore().Extend(ctx, "k", "o", time.Minute) },
		"release":             func(ctx context.Context) error { return db.UpdateStore().Release(ctx, "k", "o") },
		"complete in tx":      func(ctx context.Context) error { return db.UpdateStore().CompleteTx(ctx, "k", time.Hour, nil) },
		"complete in tx with effect": func(ctx context.Context) error {
			return db.UpdateStore().CompleteTx(ctx, "k", time.Hour, func(redis.Pipeliner) error { return nil })
		},
	} {
		t.Run(name, func(t *testing.T) { faulttest.ReturnsAtDeadline(t, 30*time.Second, call) })
	}
}

// TestCompleteTxWaitHonoursContext: a CompleteTx waiting for another
// call's read of the COMMAND table (the server hangs, the other call's
// deadline is far) returns at its own ctx's deadline. (Failed before the
// fix: it waited on a mutex for the other call, whatever its ctx said.)
func TestCompleteTxWaitHonoursContext(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: silentServer(t), ContextTimeoutEnabled: true, ReadTimeout: time.Minute, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	db := New(c)
	s := db.UpdateStore()
	effect := func(redis.Pipeliner) error { return nil }
	slow, cancelSlow := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancelSlow()
	first := make(chan error, 1)
	go func() { first <- s.CompleteTx(slow, "k", time.Hour, effect) }()
	require.Eventually(t, db.commandsBusy, 30*time.Second, time.Millisecond, "the first call reads the COMMAND table")

	faulttest.ReturnsAtDeadline(t, 30*time.Second, func(ctx context.Context) error {
		return s.CompleteTx(ctx, "k", time.Hour, effect)
	})
	require.True(t, db.commandsBusy(), "the first call still reads")
	require.NoError(t, c.Close()) // ends the first call's read
	require.Error(t, <-first)
}

// commandsBusy reports whether a call is reading the COMMAND table.
func (db *DB) commandsBusy() bool { return len(db.cmdLock) == 1 }
