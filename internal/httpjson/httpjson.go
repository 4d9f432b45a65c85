// Package httpjson holds the HTTP helpers the examples share: strict
// decoding of JSON request bodies, JSON answers, and a ServeMux whose own
// 404 and 405 answers are RFC 9457 problem+json like every other error.
// It is not API: an application has its own conventions.
package httpjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/miniappkit/miniappkit/problem"
)

// Decode reads the body of r, at most limit bytes, into v, strictly: a
// Content-Type, when sent, must be application/json, and the body one JSON
// value (nothing after it but white space) with no field v does not have. On failure it
// answers with a problem (415, 413 or 400) and returns false; every body
// over the limit gets the same 413, whatever it holds.
func Decode(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			problem.Error(w, http.StatusUnsupportedMediaType, "send the body as application/json")
			return false
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		problem.Error(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", limit))
		return false
	case err != nil:
		problem.Error(w, http.StatusBadRequest, "the body could not be read")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		problem.Error(w, http.StatusBadRequest, "the body is not a JSON object of the expected shape")
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		problem.Error(w, http.StatusBadRequest, "the body holds more than one JSON value")
		return false
	}
	return true
}

// Write answers with v as JSON and Cache-Control: no-store.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Problems returns mux with its own 404 Not Found and 405 Method Not
// Allowed answers (those for requests no pattern matches) written as
// problem+json, keeping the Allow header of a 405. Everything else is the
// mux's.
func Problems(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// No pattern matched: let the mux decide between 404 and 405
		// (and name the allowed methods), then answer in our format.
		rec := &statusRecorder{header: http.Header{}}
		mux.ServeHTTP(rec, r)
		if rec.status != http.StatusNotFound && rec.status != http.StatusMethodNotAllowed {
			mux.ServeHTTP(w, r) // a redirect to the canonical path, say
			return
		}
		if allow := rec.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		problem.Error(w, rec.status, "")
	})
}

// statusRecorder keeps the status and headers of an answer and drops its
// body.
type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header { return s.header }

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return len(b), nil
}
