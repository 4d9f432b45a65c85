package botapitest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
)

// errConnectionClosed is what a client sees, through [HandlerTransport],
// when the server drops the connection; it wraps io.EOF like a real one.
var errConnectionClosed = fmt.Errorf("botapitest: server closed the connection: %w", io.EOF)

type handlerTransport struct{ h http.Handler }

// HandlerTransport returns an http.RoundTripper that serves every request
// with h in the calling goroutine, without a socket, whatever host the
// request names. A handler that aborts (panics with http.ErrAbortHandler)
// surfaces as an error wrapping io.EOF, as a dropped connection does. It is
// safe for concurrent use if h is.
func HandlerTransport(h http.Handler) http.RoundTripper { return handlerTransport{h} }

// RoundTrip serves req with the handler and returns its response.
func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := serveInMemory(t.h, req)
	if req.Body != nil {
		_ = req.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	res.Request = req
	return res, nil
}

// serveInMemory runs h for req and returns its response.
func serveInMemory(h http.Handler, req *http.Request) (res *http.Response, err error) {
	r := req.Clone(req.Context())
	if r.Body == nil {
		r.Body = http.NoBody
	}
	r.RequestURI = r.URL.RequestURI()
	if r.RemoteAddr == "" {
		r.RemoteAddr = "192.0.2.1:1234"
	}
	rec := httptest.NewRecorder()
	aborted := func() (aborted bool) {
		defer func() {
			if v := recover(); v != nil {
				if e, ok := v.(error); ok && errors.Is(e, http.ErrAbortHandler) {
					aborted = true
					return
				}
				panic(v)
			}
		}()
		h.ServeHTTP(rec, r)
		return false
	}()
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	if aborted {
		return nil, errConnectionClosed
	}
	return rec.Result(), nil
}
