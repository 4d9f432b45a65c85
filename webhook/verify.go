package webhook

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// DefaultTolerance is how far a signed timestamp may lie from the current
// time before [Standard] rejects it (in both directions) and before [Stripe]
// rejects it as too old. Change it with [WithTolerance].
const DefaultTolerance = 5 * time.Minute

// DefaultMaxBodyBytes bounds the body that [NewHandler] and
// [VerifyMiddleware] read (1 MiB). Change it with [WithMaxBodyBytes] (for
// [NewHandler]) or [WithVerifyMaxBodyBytes] (for a verifier).
const DefaultMaxBodyBytes = 1 << 20

// Verifier checks that a request's raw body and headers carry a valid
// signature. [Standard], [Stripe] and [GitHub] satisfy it. Implementations
// must be safe for concurrent use and must not keep h or body.
type Verifier interface {
	// Verify returns nil when h and body are authentic, or an error that
	// wraps one of the package's sentinels.
	Verify(h http.Header, body []byte) error
}

// VerifyOption configures a verifier built by [NewStandard],
// [NewStandardPublicKey] or [NewStripe].
type VerifyOption func(*verifyOptions) error

type verifyOptions struct {
	tolerance time.Duration
	now       func() time.Time
	maxBody   int64
}

func defaultVerifyOptions() verifyOptions {
	return verifyOptions{tolerance: DefaultTolerance, now: time.Now, maxBody: DefaultMaxBodyBytes}
}

func applyVerifyOptions(opts []VerifyOption) (verifyOptions, error) {
	o := defaultVerifyOptions()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// WithTolerance sets how far a signed timestamp may lie from the clock's
// current time. The default is [DefaultTolerance] (5 minutes). A d that is
// not positive makes the constructor fail.
func WithTolerance(d time.Duration) VerifyOption {
	return func(o *verifyOptions) error {
		if d <= 0 {
			return fmt.Errorf("webhook: tolerance must be positive, got %v", d)
		}
		o.tolerance = d
		return nil
	}
}

// WithClock sets the clock that timestamps are checked against. The default
// is [time.Now]; tests pass a fixed time. A nil now makes the constructor fail.
func WithClock(now func() time.Time) VerifyOption {
	return func(o *verifyOptions) error {
		if now == nil {
			return errors.New("webhook: nil clock")
		}
		o.now = now
		return nil
	}
}

// WithVerifyMaxBodyBytes sets the largest body [VerifyMiddleware] reads for
// this verifier; a longer body is answered 413 without being verified. The
// default is [DefaultMaxBodyBytes] (1 MiB). An n that is not positive makes
// the constructor fail.
func WithVerifyMaxBodyBytes(n int64) VerifyOption {
	return func(o *verifyOptions) error {
		if n <= 0 {
			return fmt.Errorf("webhook: max body bytes must be positive, got %d", n)
		}
		o.maxBody = n
		return nil
	}
}

// bodyLimiter is implemented by the verifiers that know their own body bound.
type bodyLimiter interface{ maxBodyBytes() int64 }

// VerifyMiddleware returns middleware that reads the request body (bounded by
// the verifier's limit: [DefaultMaxBodyBytes] unless set with
// [WithVerifyMaxBodyBytes]; 25 MB for [GitHub]), verifies its raw bytes with
// v before anything decodes them, and on success restores the body so the
// next handler reads the same bytes. A body over the limit is answered 413, a
// failed verification 401 with a short body that gives no hint of the cause.
// Of opts only [WithObserver] applies: each refused request is reported
// as a [Rejection] naming v's scheme. Panics if v is nil or an option is
// invalid.
func VerifyMiddleware(v Verifier, opts ...Option) func(http.Handler) http.Handler {
	if v == nil {
		panic("webhook: VerifyMiddleware with a nil Verifier")
	}
	obs, scheme := middlewareObserver("VerifyMiddleware", opts), verifierScheme(v)
	limit := int64(DefaultMaxBodyBytes)
	if bl, ok := v.(bodyLimiter); ok {
		limit = bl.maxBodyBytes()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := readBody(r, limit)
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					reject(r.Context(), obs, scheme, "too_large", http.StatusRequestEntityTooLarge)
					http.Error(w, http.StatusText(http.StatusRequestEntityTooLarge), http.StatusRequestEntityTooLarge)
					return
				}
				http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
				return
			}
			if err := v.Verify(r.Header, body); err != nil {
				if obs != nil {
					reject(r.Context(), obs, scheme, rejectReason(err), http.StatusUnauthorized)
				}
				http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			next.ServeHTTP(w, r)
		})
	}
}

// readBody reads r.Body, failing with *http.MaxBytesError past limit bytes.
// A declared Content-Length over the limit fails before anything is read;
// a declared one within it is read into a buffer of exactly that size.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	if r.Body == nil || r.Body == http.NoBody {
		return []byte{}, nil
	}
	if r.ContentLength >= 0 {
		// net/http's server stops the body at Content-Length, so this
		// reads the whole body, once, with no growth.
		buf := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	buf := bytes.NewBuffer(make([]byte, 0, 512))
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1)); err != nil {
		return nil, err
	}
	if int64(buf.Len()) > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	return buf.Bytes(), nil
}

// parseUnixSeconds parses a decimal Unix time in seconds: ASCII digits only,
// at most 18 of them (no sign, no spaces, no exponent).
func parseUnixSeconds(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// checkTimestamp compares a signed timestamp with now under tolerance tol.
// Too new is only checked when checkNew is set.
func checkTimestamp(ts int64, now time.Time, tol time.Duration, checkNew bool) error {
	sec := int64(tol / time.Second)
	n := now.Unix()
	if ts < n-sec {
		return ErrTimestampTooOld
	}
	if checkNew && ts > n+sec {
		return ErrTimestampTooNew
	}
	return nil
}

// Each verifier satisfies Verifier.
var (
	_ Verifier = (*Standard)(nil)
	_ Verifier = (*Stripe)(nil)
	_ Verifier = (*GitHub)(nil)
)
