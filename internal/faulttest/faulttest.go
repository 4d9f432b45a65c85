// Package faulttest holds two helpers for tests that put a store at fault,
// shared by the main module's packages and the store modules:
// [Ambiguous] picks the write that takes effect and then reports an error,
// and [ReturnsAtDeadline] checks that a call to a server that hangs
// returns at its context's deadline. It uses only the standard library.
package faulttest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// Ambiguous picks one write to go wrong after it took effect, as
// modernc.org/sqlite's does when the caller's context ends during a
// statement that commits, and as pgx's COMMIT does when its reply is lost:
// the At-th (1-based) successful call of the operation Op. A wrapper
// around a store calls [Ambiguous.Lie] after each successful write and
// replaces the result with an error when it reports true. The zero value
// picks no call and only counts. It is safe for concurrent use.
type Ambiguous struct {
	Op string
	At int

	mu   sync.Mutex
	n    map[string]int
	lied bool
}

// Lie counts a successful call of op and reports whether it is the one to
// report an error.
func (a *Ambiguous) Lie(op string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.n == nil {
		a.n = map[string]int{}
	}
	a.n[op]++
	if op == a.Op && a.n[op] == a.At {
		a.lied = true
		return true
	}
	return false
}

// Lied reports whether the picked call came.
func (a *Ambiguous) Lied() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lied
}

// Calls returns how many successful calls of op [Ambiguous.Lie] counted.
func (a *Ambiguous) Calls(op string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.n[op]
}

// ReturnsAtDeadline runs call with a context whose deadline is 200 ms away
// and fails t unless the call returns, within wait of its start, an error
// wrapping context.DeadlineExceeded (the ctx's, not one of its own). The
// caller makes the call block first (a lock held, a server that never
// answers). A call still blocked after wait is left running.
func ReturnsAtDeadline(t testing.TB, wait time.Duration, call func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- call(ctx) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("the call returned %v; want the ctx's error, context.DeadlineExceeded", err)
		}
	case <-time.After(wait):
		t.Fatalf("the call still waits %v after it began, its ctx's deadline 200 ms", wait)
	}
}
