package botapitest

import (
	"context"
	"slices"
)

// WaitFor waits until the server has performed a call for which match
// returns true, and returns it: the first such call among those recorded
// ([Server.Requests]), or the next one to come. Calls still in progress
// (held by latency, a hang or a long poll) do not count until they end.
// It returns ctx.Err() if ctx ends first, and [ErrClosed] if the server
// closes. match runs with the server's lock held: it must not call the
// server.
func (s *Server) WaitFor(ctx context.Context, match func(Request) bool) (Request, error) {
	seen := 0 // calls already checked, counted from the oldest recorded
	for {
		s.mu.Lock()
		n := len(s.st.requests)
		total := s.st.stats.Requests
		// Requests recorded before the ring's oldest are gone; start at
		// the oldest still kept.
		start := max(seen-(total-n), 0)
		for i := start; i < n; i++ {
			r := s.st.requests[(s.st.reqHead+i)%n]
			if r.done == nil || !*r.done {
				continue
			}
			if r = r.expand(); match(r) {
				s.mu.Unlock()
				r.Files = slices.Clone(r.Files)
				return r, nil
			}
		}
		// Calls not done yet are looked at again next time.
		seen = total - n
		for i := 0; i < n; i++ {
			r := s.st.requests[(s.st.reqHead+i)%n]
			if r.done == nil || !*r.done {
				break
			}
			seen++
		}
		ch := s.st.calls
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Request{}, ctx.Err()
		case <-s.done:
			return Request{}, ErrClosed
		}
	}
}

// WaitSent waits until the bot has sent at least n messages in all (as
// [Stats].Sent counts them) and returns [Server.Sent]. It returns ctx.Err()
// if ctx ends first, and [ErrClosed] if the server closes.
func (s *Server) WaitSent(ctx context.Context, n int) ([]SentMessage, error) {
	for {
		s.mu.Lock()
		if s.st.stats.Sent >= n {
			out := s.st.sentLocked()
			s.mu.Unlock()
			return out, nil
		}
		ch := s.st.calls
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.done:
			return nil, ErrClosed
		}
	}
}
