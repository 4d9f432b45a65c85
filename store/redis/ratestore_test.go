package redis

import (
	"context"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/botapi/botapitest"
	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/miniappkit/miniappkit/ratelimit"
)

func cellOf(kind ratelimit.Kind, id int64, iv, tol time.Duration) ratelimit.Cell {
	return ratelimit.Cell{Key: ratelimit.Key{Kind: kind, ID: id}, Interval: iv, Tolerance: tol}
}

// TestRateStore checks the Store contract on the server: Take is all or
// nothing across the cells, Peek changes nothing, Block holds a key, and
// the waits come from the server's clock whatever now the caller gives.
func TestRateStore(t *testing.T) {
	s := newTestDB(t).RateStore()
	ctx := t.Context()
	chat := cellOf(ratelimit.KindChat, 42, time.Second, 0)
	global := cellOf(ratelimit.KindGlobal, 0, 100*time.Millisecond, 100*time.Millisecond) // burst 2
	skewed := time.Now().Add(-time.Hour)                                                  // ignored

	v, err := s.Take(ctx, skewed, []ratelimit.Cell{chat, global})
	require.NoError(t, err)
	require.True(t, v.OK)
	v, err = s.Peek(ctx, skewed, []ratelimit.Cell{chat, global})
	require.NoError(t, err)
	require.False(t, v.OK)
	require.Equal(t, 0, v.Cell, "the chat's wait is the longest")
	require.InDelta(t, float64(time.Second), float64(v.Wait), float64(100*time.Millisecond))

	other := cellOf(ratelimit.KindChat, 43, time.Second, 0)
	v, err = s.Take(ctx, skewed, []ratelimit.Cell{other, global})
	require.NoError(t, err)
	require.True(t, v.OK, "the global burst allows a second send")
	v, err = s.Take(ctx, skewed, []ratelimit.Cell{cellOf(ratelimit.KindChat, 44, time.Second, 0), global})
	require.NoError(t, err)
	require.False(t, v.OK, "global spent")
	require.Equal(t, 1, v.Cell)
	v, err = s.Peek(ctx, skewed, []ratelimit.Cell{cellOf(ratelimit.KindChat, 44, time.Second, 0)})
	require.NoError(t, err)
	require.True(t, v.OK, "a refused Take changed nothing")

	require.NoError(t, s.Block(ctx, other, time.Now().Add(30*time.Second)))
	v, err = s.Peek(ctx, skewed, []ratelimit.Cell{other})
	require.NoError(t, err)
	require.False(t, v.OK)
	require.InDelta(t, float64(30*time.Second), float64(v.Wait), float64(time.Second))

	keys, err := s.db.c.Keys(ctx, s.db.prefix+"rl:*").Result()
	require.NoError(t, err)
	for _, k := range keys {
		require.Contains(t, k, "{rl}", "hash-tagged for cluster")
		ttl, err := s.db.c.PTTL(ctx, k).Result()
		require.NoError(t, err)
		require.Positive(t, ttl, "%s expires", k)
	}
}

// TestRateStoreReserve checks Reserve on the server: the ready cells must
// conform now, the others are reserved at the earliest time all conform
// (measured on the server's clock, whatever now the caller gives) within
// maxWait, and a refusal changes nothing.
func TestRateStoreReserve(t *testing.T) {
	s := newTestDB(t).RateStore()
	require.Equal(t, 25*time.Millisecond, s.ReserveAhead())
	ctx := t.Context()
	skewed := time.Now().Add(time.Hour) // ignored
	global := cellOf(ratelimit.KindGlobal, 0, 200*time.Millisecond, 0)
	chat := func(id int64) ratelimit.Cell { return cellOf(ratelimit.KindChat, id, 10*time.Second, 0) }

	v, err := s.Reserve(ctx, skewed, []ratelimit.Cell{chat(1), global}, 1, 0)
	require.NoError(t, err)
	require.Equal(t, ratelimit.Verdict{OK: true}, v)
	v, err = s.Reserve(ctx, skewed, []ratelimit.Cell{chat(2), global}, 1, 100*time.Millisecond)
	require.NoError(t, err)
	require.False(t, v.OK, "the global slot is further than maxWait")
	require.Equal(t, 1, v.Cell)
	require.InDelta(t, float64(200*time.Millisecond), float64(v.Wait), float64(100*time.Millisecond))
	v, err = s.Peek(ctx, skewed, []ratelimit.Cell{chat(2)})
	require.NoError(t, err)
	require.True(t, v.OK, "a refused Reserve changed nothing")

	v, err = s.Reserve(ctx, skewed, []ratelimit.Cell{chat(2), global}, 1, time.Second)
	require.NoError(t, err)
	require.True(t, v.OK)
	require.InDelta(t, float64(200*time.Millisecond), float64(v.Wait), float64(100*time.Millisecond), "the wait until the reserved slot")
	v, err = s.Peek(ctx, skewed, []ratelimit.Cell{global})
	require.NoError(t, err)
	require.InDelta(t, float64(400*time.Millisecond), float64(v.Wait), float64(100*time.Millisecond), "the next slot is after the reserved one")
	v, err = s.Peek(ctx, skewed, []ratelimit.Cell{chat(2)})
	require.NoError(t, err)
	require.InDelta(t, float64(10*time.Second+200*time.Millisecond), float64(v.Wait), float64(100*time.Millisecond), "the chat counts from the reserved time")

	v, err = s.Reserve(ctx, skewed, []ratelimit.Cell{chat(1), global}, 1, time.Hour)
	require.NoError(t, err)
	require.False(t, v.OK, "a ready cell is not waited for")
	require.Equal(t, 0, v.Cell)
	v, err = s.Peek(ctx, skewed, []ratelimit.Cell{global})
	require.NoError(t, err)
	require.InDelta(t, float64(400*time.Millisecond), float64(v.Wait), float64(100*time.Millisecond), "nothing changed")
}

// TestRateStoreFallback: with the server out of reach a RateStore fails
// closed, or with WithRateFallback(n) decides on 1/n of each limit.
func TestRateStoreFallback(t *testing.T) {
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer down.Close()
	ctx := t.Context()
	cell := cellOf(ratelimit.KindGlobal, 0, 100*time.Millisecond, 0)
	now := time.Now()

	closed := New(down).RateStore()
	_, err := closed.Take(ctx, now, []ratelimit.Cell{cell})
	require.Error(t, err)

	share := New(down).RateStore(WithRateFallback(3))
	v, err := share.Take(ctx, now, []ratelimit.Cell{cell})
	require.NoError(t, err)
	require.True(t, v.OK)
	v, err = share.Take(ctx, now.Add(299*time.Millisecond), []ratelimit.Cell{cell})
	require.NoError(t, err)
	require.False(t, v.OK, "a third of the limit: one send per 300 ms")
	v, err = share.Take(ctx, now.Add(300*time.Millisecond), []ratelimit.Cell{cell})
	require.NoError(t, err)
	require.True(t, v.OK)
	v, err = share.Reserve(ctx, now.Add(300*time.Millisecond), []ratelimit.Cell{cell}, 0, time.Second)
	require.NoError(t, err)
	require.Equal(t, ratelimit.Verdict{OK: true, Wait: 300 * time.Millisecond}, v, "reserved on the local share")
	_, err = closed.Reserve(ctx, now, []ratelimit.Cell{cell}, 0, time.Second)
	require.Error(t, err, "fail closed")

	sched, err := ratelimit.NewTelegram(ratelimit.WithStore(closed))
	require.NoError(t, err)
	require.ErrorIs(t, sched.Wait(ctx, 1), ratelimit.ErrStore, "fail closed: nothing sent")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = share.Take(cctx, now, []ratelimit.Cell{cell})
	require.Error(t, err, "a cancelled call is not an outage")
}

// TestRateStoreReplicas runs three schedulers (three replicas, each on its
// own connection, clocks skewed by up to 50 ms) broadcasting through one
// Redis to the fake Telegram in real time, every limit and the latency
// scale times faster: 900 messages at 3×; 9 000 at 10× with
// MINIAPPKIT_LONG=1; the 30 000 at Telegram's own speed (about 17
// minutes) with MINIAPPKIT_TIMING=1, or MINIAPPKIT_SPEED times faster.
// It asserts what must hold however busy the machine: 0 × 429 at the fake
// and at most the limit in every window of the fake's arrivals (and logs
// how many arrivals had 30, 29, 28 and 27 in the window ending at them).
// Makespan and the replicas' shares are logged (with the bound,
// 1.05 × (the pacing's 1.03 × n/30 s + a window)), and asserted only with
// MINIAPPKIT_TIMING=1, on a quiet machine: shares within 10 % at 30 000
// messages (50 % at 900, where 300 sends per replica vary by chance), and
// makespan within the bound at Telegram's speed, within twice the
// lower bound faster, where the host's own delays weigh ten times more.
// Each send's slot is reserved on the server ahead of its time
// (RemoteStore.ReserveAhead), so no slot waits for a waiter's wake-up and
// its round trip, but a slot a replica wakes for too late is still lost
// (Slot.Wait), and sends a loaded machine delays are overdue and hold room
// for a late arrival (WithMargin); both are logged per replica. On the
// shared 2-core machine (load 19) 900 messages took 3.1 times the lower
// bound, so no time bound may fail CI, which runs MINIAPPKIT_LONG=1.
func TestRateStoreReplicas(t *testing.T) {
	skipWithoutServer(t)
	scale, n, spread := 3, 900, 1.5 // spread: the most a replica may send over the least
	timing := os.Getenv("MINIAPPKIT_TIMING") == "1" && !raceEnabled
	switch {
	case timing:
		// The figure: 30 000 sends at Telegram's own speed (about
		// 17 minutes). MINIAPPKIT_SPEED=10 runs it ten times faster, where
		// a millisecond of the host's own scheduling is ten of Telegram's.
		scale, n, spread = 1, 30_000, 1.1
		if v, err := strconv.Atoi(os.Getenv("MINIAPPKIT_SPEED")); err == nil && v > 0 {
			scale = v
		}
	case os.Getenv("MINIAPPKIT_LONG") == "1" && !raceEnabled:
		scale, n = 10, 9_000
	}

	window := time.Second / time.Duration(scale)
	srv := botapitest.NewServer(botapitest.WithoutListener(), botapitest.WithRateLimits(float64(scale)),
		botapitest.WithLatency(botapitest.Latency{Base: 40 * window / 1000, Jitter: 20 * window / 1000}))
	defer srv.Close()
	prefix := testPrefix(t, testClient(t))
	opt, err := redis.ParseURL(os.Getenv("MINIAPPKIT_REDIS_URL"))
	require.NoError(t, err)

	chats := make([]int64, n)
	for i := range chats {
		chats[i] = srv.NewUser("u").ID
	}
	skews := []time.Duration{0, 20 * time.Millisecond, -50 * time.Millisecond}
	sent := make([][]int64, len(skews))
	finished := make([]time.Time, len(skews))
	replicaOf := map[string]int{}
	for i, c := range chats {
		replicaOf[strconv.FormatInt(c, 10)] = i * 3 / n
	}
	var wg sync.WaitGroup
	var scheds []*ratelimit.Telegram
	start := time.Now()
	for r, skew := range skews {
		c := redis.NewClient(opt) // its own connection
		defer c.Close()
		clock := func() time.Time { return time.Now().Add(skew) }
		sched, err := ratelimit.NewTelegram(
			ratelimit.WithStore(New(c, WithKeyPrefix(prefix)).RateStore()),
			ratelimit.WithClock(clock),
			ratelimit.WithChatLimit(ratelimit.Limit{N: 1, Window: window}),
			ratelimit.WithGroupLimit(ratelimit.Limit{N: 20, Window: 60 * window}),
			ratelimit.WithGlobalLimit(ratelimit.Limit{N: 30, Window: window}),
			ratelimit.WithPaidLimit(ratelimit.Limit{N: 1000, Window: window}),
			ratelimit.WithMargin(20*window/1000, 100*window/1000))
		require.NoError(t, err)
		scheds = append(scheds, sched)
		client := botapi.New(srv.Token(), botapi.WithBaseURL(srv.URL()),
			botapi.WithHTTPClient(&http.Client{Transport: srv.Transport()}), botapi.WithLimiter(sched))
		mine := chats[r*n/3 : (r+1)*n/3]
		wg.Go(func() {
			_, err := broadcast.Run(t.Context(), sched, mine,
				broadcast.Message(client, botapi.SendMessageParams{Text: "hi"}),
				broadcast.WithClock(clock),
				broadcast.WithResult(func(res broadcast.Result) {
					if res.Outcome == broadcast.Delivered {
						sent[r] = append(sent[r], res.ChatID)
					}
				}))
			finished[r] = time.Now()
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	makespan := time.Since(start)

	st := srv.Stats()
	var at []time.Time
	for _, m := range srv.Requests("sendMessage") {
		at = append(at, m.At)
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	most := 0
	var counts [32]int // arrivals by how many arrived in the window ending at it
	for i, j := 0, 0; i < len(at); i++ {
		for at[i].Sub(at[j]) > window {
			j++
		}
		most = max(most, i-j+1)
		counts[min(i-j+1, len(counts)-1)]++
	}
	lower := time.Duration(float64(n) / 30 * float64(window))
	bound := time.Duration(1.05 * (1.03*float64(lower) + float64(window)))
	// Shares: each replica's sends while all three were sending.
	common := slices.MinFunc(finished, func(a, b time.Time) int { return a.Compare(b) })
	shares := make([]int, len(skews))
	for _, m := range srv.Requests("sendMessage") {
		if m.At.Before(common) {
			shares[replicaOf[m.Params["chat_id"]]]++
		}
	}
	var holds, missed []int64
	for _, s := range scheds {
		holds, missed = append(holds, s.Stats().LateHolds), append(missed, s.Stats().Missed)
	}
	t.Logf("3 replicas, skews %v, %d messages at %d× speed: 429s=%d, most in one window %d (limit 30), makespan %v (lower bound %v, ratio %.3f; the issue's bound %v, ratio %.3f), sends per replica while all three ran %v, late holds %v, slots missed %v",
		skews, n, scale, st.TooManyRequests, most, makespan.Round(time.Millisecond), lower, float64(makespan)/float64(lower),
		bound, float64(makespan)/float64(bound), shares, holds, missed)
	t.Logf("arrivals by the count in the window ending at them: 30: %d, 29: %d, 28: %d, 27: %d", counts[30], counts[29], counts[28], counts[27])
	require.Zero(t, st.TooManyRequests)
	require.LessOrEqual(t, most, 30)
	require.Equal(t, n, len(sent[0])+len(sent[1])+len(sent[2]))
	if !timing {
		return // the machine's load is most of what these would measure
	}
	if scale == 1 {
		require.LessOrEqual(t, makespan, bound, "the issue's bound")
	} else {
		require.LessOrEqual(t, makespan, 2*lower, "the issue's bound is %v", bound)
	}
	lo, hi := slices.Min(shares), slices.Max(shares)
	require.LessOrEqual(t, float64(hi), spread*float64(lo), "shares %v", shares)
}

// replyErr is an error reply from a server.
type replyErr string

func (e replyErr) Error() string { return string(e) }
func (replyErr) RedisError()     {}

// TestRateFallbackOnUnavailableServer: with WithRateFallback, a server
// that answers but cannot serve the decision (a replica after a failover,
// a server loading its data, a cluster without a quorum) counts as out of
// reach, as a refused connection does; any other error reply does not,
// and without the option nothing falls back. Before the fix READONLY and
// the others failed closed although the fallback was asked for.
func TestRateFallbackOnUnavailableServer(t *testing.T) {
	share := New(nil).RateStore(WithRateFallback(2))
	closed := New(nil).RateStore()
	for _, reply := range []string{
		"READONLY You can't write against a read only replica. script: e4532eb66825d9ef08b454156f12cf810d84e193, on @user_script:1.",
		"LOADING Redis is loading the dataset in memory",
		"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
		"CLUSTERDOWN The cluster is down",
		"TRYAGAIN Multiple keys request during rehashing of slot",
		"BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
	} {
		require.True(t, share.fallback(t.Context(), replyErr(reply)), "no fallback on %q", reply)
		require.False(t, closed.fallback(t.Context(), replyErr(reply)), "fail closed by default on %q", reply)
	}
	for _, reply := range []string{"ERR wrong number of arguments", "WRONGTYPE Operation against a key holding the wrong kind of value", "NOSCRIPT No matching script"} {
		require.False(t, share.fallback(t.Context(), replyErr(reply)), "fell back on %q", reply)
	}
}

// outageHook stands in for a server that hangs: every command fails as a
// read that reached the client's ReadTimeout would (a net timeout), at
// once, and is counted; with up set, a rate script answers "allowed".
type outageHook struct {
	calls atomic.Int64
	up    atomic.Bool
}

func (h *outageHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *outageHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *outageHook) ProcessHook(redis.ProcessHook) redis.ProcessHook {
	return func(_ context.Context, cmd redis.Cmder) error {
		h.calls.Add(1)
		if h.up.Load() {
			cmd.(*redis.Cmd).SetVal([]any{int64(1), "0", int64(0)})
			return nil
		}
		return &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	}
}

// TestRateFallbackHoldsDown: with WithRateFallback, once two calls in a
// row have found the server out of reach, decisions stay local for a
// second (the callers' clock) instead of each waiting out the client's
// ReadTimeout against a server that hangs (3 s by default: a broadcast's
// sends, one per decision, crawled at one per 3 s per worker instead of
// the local share); then one call tries the server again, and once it
// answers, every call goes to it again. A single failure between answers
// holds nothing down. Before the fix every call went to the server
// ("calls: expected 2, actual 5").
func TestRateFallbackHoldsDown(t *testing.T) {
	hook := &outageHook{}
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	c.AddHook(hook)
	s := New(c).RateStore(WithRateFallback(2))
	ctx := t.Context()
	cells := []ratelimit.Cell{cellOf(ratelimit.KindGlobal, 0, 100*time.Millisecond, 0)}
	now := time.Now()

	v, err := s.Take(ctx, now, cells)
	require.NoError(t, err)
	require.True(t, v.OK, "decided locally")
	hook.up.Store(true)
	_, err = s.Take(ctx, now, cells)
	require.NoError(t, err)
	hook.up.Store(false)
	_, err = s.Take(ctx, now, cells)
	require.NoError(t, err)
	require.Equal(t, int64(3), hook.calls.Load(), "one failure between answers: the server is asked each time")

	_, err = s.Take(ctx, now.Add(100*time.Millisecond), cells)
	require.NoError(t, err)
	require.Equal(t, int64(4), hook.calls.Load(), "the second failure in a row")
	v, err = s.Take(ctx, now.Add(200*time.Millisecond), cells)
	require.NoError(t, err)
	require.True(t, v.OK, "the local share: one per 200 ms")
	v, err = s.Take(ctx, now.Add(300*time.Millisecond), cells)
	require.NoError(t, err)
	require.False(t, v.OK, "the local share: one per 200 ms")
	_, err = s.Reserve(ctx, now.Add(300*time.Millisecond), cells, 0, time.Second)
	require.NoError(t, err)
	_, err = s.Peek(ctx, now.Add(300*time.Millisecond), cells)
	require.NoError(t, err)
	require.NoError(t, s.Block(ctx, cells[0], time.Now()))
	require.Equal(t, int64(4), hook.calls.Load(), "calls: held down, the server is not asked")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.Take(cctx, now.Add(300*time.Millisecond), cells)
	require.ErrorIs(t, err, context.Canceled, "held down, a cancelled call still fails")

	_, err = s.Take(ctx, now.Add(1200*time.Millisecond), cells)
	require.NoError(t, err)
	require.Equal(t, int64(5), hook.calls.Load(), "a second on, the server is tried again")
	_, err = s.Take(ctx, now.Add(1300*time.Millisecond), cells)
	require.NoError(t, err)
	require.Equal(t, int64(5), hook.calls.Load(), "still down: held down again")

	hook.up.Store(true)
	v, err = s.Take(ctx, now.Add(2400*time.Millisecond), cells)
	require.NoError(t, err)
	require.True(t, v.OK)
	require.Equal(t, int64(6), hook.calls.Load(), "tried again, and it answered")
	_, err = s.Take(ctx, now.Add(2400*time.Millisecond), cells)
	require.NoError(t, err)
	require.Equal(t, int64(7), hook.calls.Load(), "back on the server")

	hook.up.Store(false)
	closed := New(c).RateStore()
	for range 3 {
		_, err = closed.Take(ctx, now, cells)
		require.Error(t, err, "fail closed: every call asks the server")
	}
	require.Equal(t, int64(10), hook.calls.Load())
}

// blipHook passes commands to the server, except that while down is set
// each fails as a read that reached the client's ReadTimeout would.
type blipHook struct{ down atomic.Bool }

func (h *blipHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *blipHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *blipHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if h.down.Load() {
			err := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

// TestRateFallbackBlockReachesServer: a 429's Block that a RateStore
// with WithRateFallback decided locally (held down after two failed
// calls, or failing itself) is written to the server once the server
// answers again: otherwise the server, and so every replica, this one
// included once it decides there again, goes on sending to a chat
// Telegram blocked for its retry_after, and gets 429 after 429. Before
// the fix the blocked chat conformed on the server a second later ("Should
// be false: the block reached the server").
func TestRateFallbackBlockReachesServer(t *testing.T) {
	db := newTestDB(t)
	hook := &blipHook{}
	db.c.AddHook(hook)
	t.Cleanup(func() { hook.down.Store(false) }) // before the keys' cleanup
	s := db.RateStore(WithRateFallback(2))
	ctx := t.Context()
	global := cellOf(ratelimit.KindGlobal, 0, 10*time.Millisecond, 0)
	chat := cellOf(ratelimit.KindChat, 77, time.Second, 0)
	now := time.Now()

	hook.down.Store(true) // a blip: two calls fail, the store holds down
	for range 2 {
		_, err := s.Take(ctx, now, []ratelimit.Cell{global})
		require.NoError(t, err)
	}
	hook.down.Store(false) // the server is back, the store does not know yet
	require.NoError(t, s.Block(ctx, chat, time.Now().Add(time.Minute)), "a 429 on the chat, retry_after 60")

	_, err := s.Take(ctx, now.Add(1200*time.Millisecond), []ratelimit.Cell{global})
	require.NoError(t, err, "the hold-down is over: the server answers")
	v, err := s.Peek(ctx, now.Add(1300*time.Millisecond), []ratelimit.Cell{chat})
	require.NoError(t, err)
	require.False(t, v.OK, "the block reached the server")
	require.Greater(t, v.Wait, 50*time.Second)

	// A block that failed on the server (the call itself found it out of
	// reach) reaches it too.
	chat2 := cellOf(ratelimit.KindChat, 78, time.Second, 0)
	hook.down.Store(true)
	require.NoError(t, s.Block(ctx, chat2, time.Now().Add(time.Minute)))
	hook.down.Store(false)
	_, err = s.Take(ctx, now.Add(3*time.Second), []ratelimit.Cell{global})
	require.NoError(t, err)
	v, err = s.Peek(ctx, now.Add(3*time.Second), []ratelimit.Cell{chat2})
	require.NoError(t, err)
	require.False(t, v.OK, "the failed block reached the server")
}
