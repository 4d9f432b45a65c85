package botapitest

import (
	"context"
	"net/http"
	"regexp"
	"strings"
)

// tokenRE is the shape of a bot token: the bot id, a colon, a secret.
var tokenRE = regexp.MustCompile(`^[0-9]+:[A-Za-z0-9_-]+$`)

// call is one Bot API call being served.
type call struct {
	ctx    context.Context
	method string // lower case
	p      params
	files  []File
}

// methodFunc serves one method. With locked set, the dispatcher holds s.mu.
type methodFunc struct {
	fn     func(s *Server, c *call) (any, *apiError)
	locked bool
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/file/bot"); ok {
		token, path, _ := strings.Cut(rest, "/")
		if token != s.opts.token {
			writeError(w, errNotFound)
			return
		}
		s.serveFile(w, path)
		return
	}
	token, method, ok := splitPath(r.URL.Path)
	if !ok {
		writeError(w, errNotFound)
		return
	}
	if token != s.opts.token {
		// Telegram answers a token that is not even shaped like one with
		// 404, a well-formed wrong one with 401.
		if !tokenRE.MatchString(token) {
			writeError(w, errNotFound)
			return
		}
		writeError(w, errUnauthorized)
		return
	}
	p, files, perr := parseParams(r)
	if perr != nil {
		writeError(w, perr)
		return
	}
	lower := strings.ToLower(method)
	ctx := r.Context()

	s.mu.Lock()
	delay := s.st.latency.forMethod(lower).draw(s.st.rng)
	s.mu.Unlock()
	// The request travels for the first half of the delay, the answer for
	// the second.
	up := delay / 2
	if !s.sleep(ctx, up) {
		panic(http.ErrAbortHandler)
	}

	s.mu.Lock()
	done := new(bool)
	s.st.record(Request{
		Method:      strings.Clone(method), // not the whole path it was cut from
		HTTPMethod:  r.Method,
		ContentType: r.Header.Get("Content-Type"),
		Params:      p,
		Files:       withoutData(files),
		At:          s.now(),
		done:        done,
	})
	f, faulted := s.st.matchFault(lower, chatOf(p))
	s.mu.Unlock()

	res, aerr, afterDelivery := s.perform(ctx, lower, p, files, f, faulted)
	s.mu.Lock()
	*done = true
	s.st.notifyCalls()
	s.mu.Unlock()
	if !s.sleep(ctx, delay-up) {
		panic(http.ErrAbortHandler)
	}
	if afterDelivery {
		panic(http.ErrAbortHandler)
	}
	switch {
	case aerr == errBadGatewayMarker:
		writeBadGateway(w)
	case aerr != nil:
		writeError(w, aerr)
	default:
		writeResult(w, res)
	}
}

// errBadGatewayMarker stands for a proxy's 502 page in place of an answer.
var errBadGatewayMarker = &apiError{code: http.StatusBadGateway}

// perform applies a call's fault, if any, and runs the method. It panics
// with http.ErrAbortHandler for a fault that drops the connection now;
// afterDelivery asks the caller to drop it once the call is performed.
func (s *Server) perform(ctx context.Context, lower string, p params, files []File, f Fault, faulted bool) (res any, aerr *apiError, afterDelivery bool) {
	if faulted {
		switch f.Kind {
		case FaultHang:
			select {
			case <-ctx.Done():
			case <-s.done:
			}
			panic(http.ErrAbortHandler)
		case FaultClose:
			panic(http.ErrAbortHandler)
		case FaultBadGateway:
			return nil, errBadGatewayMarker, false
		case FaultCloseAfterDelivery:
			afterDelivery = true
		case FaultDelay:
			if !s.sleep(ctx, f.Delay) {
				panic(http.ErrAbortHandler)
			}
		default:
			return nil, f.apiError(), false
		}
	}
	m, ok := s.methods[lower]
	if !ok {
		if knownMethods[lower] {
			return nil, errNotSupported, afterDelivery
		}
		return nil, errNotFound, afterDelivery
	}
	res, aerr = s.invoke(m, &call{ctx: ctx, method: lower, p: p, files: files})
	return res, aerr, afterDelivery
}

// withoutData copies files without their content, for the record.
func withoutData(files []File) []File {
	if files == nil {
		return nil
	}
	out := make([]File, len(files))
	for i, f := range files {
		f.data = nil
		out[i] = f
	}
	return out
}

// splitPath parses /bot<token>/<method>, and /bot<token>/test/<method>,
// the path of Telegram's test environment, which the fake serves alike.
// Telegram docs: https://core.telegram.org/bots/features#testing-your-bot
func splitPath(path string) (token, method string, ok bool) {
	rest, found := strings.CutPrefix(path, "/bot")
	if !found {
		return "", "", false
	}
	token, method, found = strings.Cut(rest, "/")
	method = strings.TrimPrefix(method, "test/")
	if !found || method == "" || strings.Contains(method, "/") {
		return token, "", false
	}
	return token, method, true
}

// chatOf is the chat a call is about, for per-chat faults: chat_id when
// numeric, else user_id; 0 when neither.
func chatOf(p params) int64 {
	if id, ok := p.int64("chat_id"); ok {
		return id
	}
	if id, ok := p.int64("user_id"); ok {
		return id
	}
	return 0
}

// invoke runs a method, holding s.mu for those that ask for it.
func (s *Server) invoke(m methodFunc, c *call) (any, *apiError) {
	if m.locked {
		s.mu.Lock()
		defer s.mu.Unlock()
	}
	return m.fn(s, c)
}
