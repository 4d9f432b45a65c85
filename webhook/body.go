package webhook

import (
	"errors"
	"io"
	"net/http"
	"sync/atomic"
)

// DefaultMaxInFlightBytes bounds the memory that the bodies being read at
// once may take, per [NewHandler] or per verifier (32 MiB). Change it with
// [WithMaxInFlightBytes] or [WithVerifyMaxInFlightBytes].
const DefaultMaxInFlightBytes = 32 << 20

// firstBodyBuffer is the buffer a body read starts with; it doubles as data
// arrives, up to the body's declared length or the limit.
const firstBodyBuffer = 512

// errBodyBudget means the bodies in flight hold the whole budget: the
// request is answered 503 and its sender retries.
var errBodyBudget = errors.New("webhook: bodies in flight over budget")

// bodyBudget bounds the bytes that body buffers hold at once. The zero
// value has no budget: make one with newBodyBudget.
type bodyBudget struct{ left atomic.Int64 }

func newBodyBudget(n int64) *bodyBudget {
	b := &bodyBudget{}
	b.left.Store(n)
	return b
}

// take reserves n bytes, reporting false (reserving nothing) if fewer are left.
func (b *bodyBudget) take(n int64) bool {
	if b.left.Add(-n) >= 0 {
		return true
	}
	b.left.Add(n)
	return false
}

// give returns n reserved bytes.
func (b *bodyBudget) give(n int64) { b.left.Add(n) }

// readBody reads r.Body, failing with *http.MaxBytesError past limit bytes
// and with errBodyBudget when budget cannot cover the buffer. A declared
// Content-Length over the limit fails before anything is read. The buffer
// starts small and doubles as data arrives (never past the declared length),
// so a peer that declares a large body and sends little pins little. held
// is what the caller must give back to budget once done with the body, even
// on error.
func readBody(r *http.Request, limit int64, budget *bodyBudget) (body []byte, held int64, err error) {
	return readBodyRoom(r, limit, budget, 0)
}

// readBodyRoom is readBody with room free bytes reserved in front of the
// body (and counted in the budget): buf[:room] is free, buf[room:] is the
// body. A verifier that signs a prefix and the body as one message writes
// the prefix there instead of copying the body after it.
func readBodyRoom(r *http.Request, limit int64, budget *bodyBudget, room int) (buf []byte, held int64, err error) {
	if r.ContentLength > limit {
		return nil, 0, &http.MaxBytesError{Limit: limit}
	}
	grow := func(n int64) bool {
		if !budget.take(n) {
			return false
		}
		held += n
		return true
	}
	if r.Body == nil || r.Body == http.NoBody {
		if !grow(int64(room)) {
			return nil, held, errBodyBudget
		}
		return make([]byte, room), held, nil
	}
	most := limit // the largest the body may need to be
	if r.ContentLength >= 0 {
		most = r.ContentLength
	}
	size := min(most, firstBodyBuffer)
	if size == 0 {
		size = 1 // room to see EOF or an undeclared byte
	}
	if !grow(int64(room) + size) {
		return nil, held, errBodyBudget
	}
	buf = make([]byte, room, int64(room)+size)
	for {
		if len(buf) == cap(buf) {
			have := int64(cap(buf) - room) // the body's capacity, all used
			if have >= most {
				if r.ContentLength >= 0 {
					return buf, held, nil // net/http stops the body at Content-Length
				}
				var one [1]byte
				if n, _ := io.ReadFull(r.Body, one[:]); n > 0 {
					return nil, held, &http.MaxBytesError{Limit: limit}
				}
				return buf, held, nil
			}
			// Double (the old buffer becomes garbage, which the budget
			// stops counting).
			n := min(2*have, most)
			if !grow(n - have) {
				return nil, held, errBodyBudget
			}
			nb := make([]byte, len(buf), int64(room)+n)
			copy(nb, buf)
			buf = nb
		}
		n, err := r.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if r.ContentLength >= 0 && int64(len(buf)-room) < r.ContentLength {
				return nil, held, io.ErrUnexpectedEOF
			}
			return buf, held, nil
		}
		if err != nil {
			return nil, held, err
		}
	}
}
