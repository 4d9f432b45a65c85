package botapitest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFaultAnswers(t *testing.T) {
	srv := setup(t)
	ann := srv.NewUser("Ann")
	tests := []struct {
		name  string
		fault Fault
		code  int
		desc  string
		check func(t *testing.T, a answer)
	}{
		{"blocked", FaultBlocked(), 403, "Forbidden: bot was blocked by the user", nil},
		{"chat not found", FaultChatNotFound(), 400, "Bad Request: chat not found", nil},
		{"internal", FaultInternal(), 500, "Internal Server Error", nil},
		{"migrated", FaultMigrated(-1001234567890), 400, "Bad Request: group chat was upgraded to a supergroup chat",
			func(t *testing.T, a answer) { require.Equal(t, int64(-1001234567890), a.Parameters.MigrateToChatID) }},
		{"flood", FaultTooManyRequests(7), 429, "Too Many Requests: retry after 7",
			func(t *testing.T, a answer) {
				require.Equal(t, 7, a.Parameters.RetryAfter)
				require.Equal(t, "7", a.header.Get("Retry-After"))
			}},
		{"literal", Fault{Code: 400, Description: "Bad Request: MESSAGE_ID_INVALID"}, 400, "Bad Request: MESSAGE_ID_INVALID", nil},
		{"literal without description", Fault{Code: 403}, 403, "Forbidden", nil},
		{"zero value", Fault{}, 500, "Internal Server Error", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.FailNext("sendMessage", 2, tt.fault)
			for range 2 {
				a := send(t, srv, ann.ID)
				requireError(t, a, tt.code, tt.desc)
				if tt.check != nil {
					tt.check(t, a)
				}
			}
			require.True(t, send(t, srv, ann.ID).OK, "the rule is used up after 2 calls")
		})
	}
}

func TestFaultPerChatAndRemove(t *testing.T) {
	srv := setup(t)
	ann, bob := srv.NewUser("Ann"), srv.NewUser("Bob")
	remove := srv.AddFault(FaultRule{ChatID: bob.ID, Fault: FaultBlocked()})
	require.True(t, send(t, srv, ann.ID).OK)
	requireError(t, send(t, srv, bob.ID), 403, "Forbidden: bot was blocked by the user")
	requireError(t, send(t, srv, bob.ID), 403, "Forbidden: bot was blocked by the user")
	remove()
	require.True(t, send(t, srv, bob.ID).OK)

	srv.AddFault(FaultRule{Method: "getMe", Fault: FaultInternal()})
	require.True(t, send(t, srv, ann.ID).OK, "a rule for another method does not hit")
	srv.ClearFaults()
	require.True(t, callJSON(t, srv, "getMe", nil).OK)
}

func TestFaultProbabilityIsSeeded(t *testing.T) {
	run := func() []bool {
		srv := NewServer(WithoutListener(), WithSeed(42))
		defer srv.Close()
		ann := srv.NewUser("Ann")
		srv.AddFault(FaultRule{Method: "sendMessage", Probability: 0.3, Fault: FaultInternal()})
		var out []bool
		for range 200 {
			out = append(out, send(t, srv, ann.ID).OK)
		}
		return out
	}
	a, b := run(), run()
	require.Equal(t, a, b, "the same seed fails the same calls")
	failed := 0
	for _, ok := range a {
		if !ok {
			failed++
		}
	}
	require.InDelta(t, 60, failed, 25)
}

func TestFaultBadGateway(t *testing.T) {
	srv := setup(t)
	srv.FailNext("getMe", 1, Fault{Kind: FaultBadGateway})
	resp, err := srv.HTTPClient().Get(methodURL(srv, "getMe"))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, 502, resp.StatusCode)
	require.Equal(t, "text/html", resp.Header.Get("Content-Type"))
	require.Contains(t, string(b), "<center><h1>502 Bad Gateway</h1></center>")
}

func TestFaultConnections(t *testing.T) {
	for _, listener := range []bool{true, false} {
		name := "in memory"
		var opts []Option
		if listener {
			name = "loopback"
		} else {
			opts = append(opts, WithoutListener())
		}
		t.Run(name, func(t *testing.T) {
			srv := setup(t, opts...)
			ann := srv.NewUser("Ann")
			post := func(ctx context.Context) error {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, methodURL(srv, "sendMessage"),
					strings.NewReader(`{"chat_id":`+jsonInt(ann.ID)+`,"text":"hi"}`))
				require.NoError(t, err)
				req.Header.Set("Content-Type", "application/json")
				resp, err := srv.HTTPClient().Do(req)
				if err == nil {
					resp.Body.Close()
				}
				return err
			}

			srv.FailNext("sendMessage", 1, Fault{Kind: FaultClose})
			require.Error(t, post(t.Context()))
			require.Empty(t, srv.Sent(), "a dropped call is not performed")

			srv.FailNext("sendMessage", 1, Fault{Kind: FaultCloseAfterDelivery})
			require.Error(t, post(t.Context()))
			require.Len(t, srv.Sent(), 1, "the message went out before the connection dropped")
			require.NoError(t, post(t.Context()))
			require.Len(t, srv.Sent(), 2, "a resend is a duplicate")

			srv.FailNext("sendMessage", 1, Fault{Kind: FaultHang})
			ctx, cancel := context.WithCancel(t.Context())
			errc := make(chan error, 1)
			go func() { errc <- post(ctx) }()
			cancel()
			require.ErrorIs(t, <-errc, context.Canceled)
		})
	}
}

func TestFaultInMemoryErrorWrapsEOF(t *testing.T) {
	srv := setup(t, WithoutListener())
	srv.FailNext("getMe", 1, Fault{Kind: FaultClose})
	_, err := srv.HTTPClient().Get(methodURL(srv, "getMe"))
	require.ErrorIs(t, err, io.EOF)
}

func TestFaultDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener())
		defer srv.Close()
		ann, bob := srv.NewUser("Ann"), srv.NewUser("Bob")
		srv.AddFault(FaultRule{Method: "sendMessage", ChatID: bob.ID, Fault: Fault{Kind: FaultDelay, Delay: 2 * time.Second}})
		start := time.Now()
		require.True(t, send(t, srv, ann.ID).OK)
		require.Zero(t, time.Since(start))
		require.True(t, send(t, srv, bob.ID).OK, "a delayed call is performed")
		require.Equal(t, 2*time.Second, time.Since(start))
		require.Len(t, srv.Sent(), 2)
	})
}

func TestHangEndsAtClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(WithoutListener())
		srv.FailNext("getMe", 1, Fault{Kind: FaultHang})
		errc := make(chan error, 1)
		go func() {
			_, err := srv.HTTPClient().Get(methodURL(srv, "getMe"))
			errc <- err
		}()
		synctest.Wait()
		srv.Close()
		err := <-errc
		require.True(t, errors.Is(err, io.EOF), "got %v", err)
	})
}
