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

	s.mu.Lock()
	s.st.record(Request{
		Method:      method,
		HTTPMethod:  r.Method,
		ContentType: r.Header.Get("Content-Type"),
		Params:      p,
		Files:       files,
		At:          s.now(),
	})
	latency := s.st.latency
	f, faulted := s.st.matchFault(lower, chatOf(p))
	s.mu.Unlock()

	ctx := r.Context()
	if !s.sleep(ctx, latency) {
		panic(http.ErrAbortHandler)
	}
	afterDelivery := false
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
			writeBadGateway(w)
			return
		case FaultCloseAfterDelivery:
			afterDelivery = true
		case FaultDelay:
			if !s.sleep(ctx, f.Delay) {
				panic(http.ErrAbortHandler)
			}
		default:
			writeError(w, f.apiError())
			return
		}
	}

	m, ok := s.methods[lower]
	if !ok {
		writeError(w, errNotFound)
		return
	}
	c := &call{ctx: ctx, method: lower, p: p, files: files}
	res, aerr := s.invoke(m, c)
	if afterDelivery {
		panic(http.ErrAbortHandler)
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	writeResult(w, res)
}

// splitPath parses /bot<token>/<method>.
func splitPath(path string) (token, method string, ok bool) {
	rest, found := strings.CutPrefix(path, "/bot")
	if !found {
		return "", "", false
	}
	token, method, found = strings.Cut(rest, "/")
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
