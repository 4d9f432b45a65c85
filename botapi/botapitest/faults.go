package botapitest

import (
	"net/http"
	"strings"
	"time"
)

// FaultKind says what a [Fault] does to a call.
type FaultKind int

const (
	// FaultAnswer answers with the fault's Code and Description (and
	// RetryAfter, MigrateToChatID), in Telegram's envelope. The call is not
	// performed.
	FaultAnswer FaultKind = iota
	// FaultHang never answers: the call waits until the client gives up
	// (its context ends) or the server closes, then the connection drops.
	FaultHang
	// FaultClose drops the connection without an answer; the call is not
	// performed.
	FaultClose
	// FaultBadGateway answers 502 with the HTML page of a proxy (nginx)
	// in front of a failing backend; the call is not performed.
	FaultBadGateway
	// FaultCloseAfterDelivery performs the call (a message IS sent) and
	// then drops the connection before answering, so a client that resends
	// makes a duplicate.
	FaultCloseAfterDelivery
	// FaultDelay waits the fault's Delay (on the server's clock),
	// then performs the call normally: latency for some methods, chats or
	// calls, on top of [WithLatency].
	FaultDelay
)

// Fault is a failure to inject. Build one with the functions below or as a
// literal: Fault{Code: 400, Description: "Bad Request: ..."}.
type Fault struct {
	Kind            FaultKind     // what the fault does; the zero value is FaultAnswer
	Code            int           // HTTP status and error_code, for FaultAnswer
	Description     string        // Telegram's description, for FaultAnswer; "" means the status text
	RetryAfter      int           // parameters.retry_after, in seconds, for FaultAnswer
	MigrateToChatID int64         // parameters.migrate_to_chat_id, for FaultAnswer
	Delay           time.Duration // the wait, for FaultDelay
}

func (f Fault) apiError() *apiError {
	code := f.Code
	if code == 0 {
		code = http.StatusInternalServerError
	}
	desc := f.Description
	if desc == "" { // Telegram always describes an error
		desc = http.StatusText(code)
	}
	return &apiError{code: code, description: desc, retryAfter: f.RetryAfter, migrateToChatID: f.MigrateToChatID}
}

// FaultBlocked is Telegram's answer when the user has blocked the bot:
// 403 "Forbidden: bot was blocked by the user".
func FaultBlocked() Fault { return errFault(errBlocked) }

// FaultChatNotFound is 400 "Bad Request: chat not found".
func FaultChatNotFound() Fault { return errFault(errChatNotFound) }

// FaultMigrated is Telegram's answer for a group that became a supergroup:
// 400 "Bad Request: group chat was upgraded to a supergroup chat" with
// parameters.migrate_to_chat_id set to newChatID.
func FaultMigrated(newChatID int64) Fault {
	f := errFault(badRequest("group chat was upgraded to a supergroup chat"))
	f.MigrateToChatID = newChatID
	return f
}

// FaultTooManyRequests is 429 "Too Many Requests: retry after N" with
// parameters.retry_after N and a Retry-After header.
func FaultTooManyRequests(retryAfter int) Fault { return errFault(tooManyRequests(retryAfter)) }

// FaultInternal is 500 "Internal Server Error" in Telegram's JSON envelope.
func FaultInternal() Fault { return errFault(errInternal) }

func errFault(e *apiError) Fault {
	return Fault{Kind: FaultAnswer, Code: e.code, Description: e.description, RetryAfter: e.retryAfter, MigrateToChatID: e.migrateToChatID}
}

// FaultRule says which calls a [Fault] hits.
type FaultRule struct {
	// Method is the method to hit, case-insensitive; "" hits every method.
	Method string
	// ChatID, when not 0, hits only calls whose chat_id (or user_id) is it.
	ChatID int64
	// Times is how many matching calls fail before the rule is used up;
	// 0 means every matching call until the rule is removed.
	Times int
	// Probability, when in (0, 1), makes a matching call fail with that
	// probability, drawn from the server's seeded source ([WithSeed]);
	// calls the draw spares do not use up Times. 0 means always.
	Probability float64
	// Fault is what happens to a hit call.
	Fault Fault
}

type faultRule struct {
	FaultRule
	method string
	left   int
	id     int
}

// AddFault installs a fault rule; rules are tried in the order added, and
// the first that hits decides. The returned function removes the rule.
func (s *Server) AddFault(r FaultRule) (remove func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.nextFault++
	fr := &faultRule{FaultRule: r, method: strings.ToLower(r.Method), left: r.Times, id: s.st.nextFault}
	s.st.faults = append(s.st.faults, fr)
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.st.dropFault(fr.id)
	}
}

// FailNext makes the next n calls of method fail with f. It is shorthand
// for AddFault(FaultRule{Method: method, Times: n, Fault: f}).
func (s *Server) FailNext(method string, n int, f Fault) {
	if n <= 0 {
		return
	}
	s.AddFault(FaultRule{Method: method, Times: n, Fault: f})
}

// ClearFaults removes every fault rule.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.st.faults = nil
	s.mu.Unlock()
}

func (st *state) dropFault(id int) {
	for i, fr := range st.faults {
		if fr.id == id {
			st.faults = append(st.faults[:i:i], st.faults[i+1:]...)
			return
		}
	}
}

// matchFault finds the fault for a call and uses it up. Callers hold s.mu.
func (st *state) matchFault(method string, chatID int64) (Fault, bool) {
	for _, fr := range st.faults {
		if fr.method != "" && fr.method != method {
			continue
		}
		if fr.ChatID != 0 && fr.ChatID != chatID {
			continue
		}
		if fr.Probability > 0 && fr.Probability < 1 && st.rng.Float64() >= fr.Probability {
			continue
		}
		if fr.Times > 0 {
			fr.left--
			if fr.left <= 0 {
				st.dropFault(fr.id)
			}
		}
		return fr.Fault, true
	}
	return Fault{}, false
}
