package logtest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// tb is what a check needs of its test: *testing.T has it, and so has
// the recorder [Check] runs the checks with.
type tb interface {
	Helper()
	Name() string
	Context() context.Context
	Error(args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Failed() bool
}

// recorder is a tb outside the testing package: it keeps the failures,
// and a fatal one ends the check's goroutine as testing.T's does.
type recorder struct {
	name string
	ctx  context.Context

	mu   sync.Mutex
	errs []error
}

// runCheck runs check in a goroutine of its own with a recorder whose
// context ends when the check returns, and returns its failures joined.
func runCheck(ctx context.Context, name string, check func(t tb)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &recorder{name: "Check/" + name, ctx: ctx}
	done := make(chan struct{})
	go func() {
		defer close(done)
		check(r)
	}()
	<-done
	r.mu.Lock()
	defer r.mu.Unlock()
	return errors.Join(r.errs...)
}

func (r *recorder) Helper()                  {}
func (r *recorder) Name() string             { return r.name }
func (r *recorder) Context() context.Context { return r.ctx }

func (r *recorder) Error(args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, errors.New(fmt.Sprint(args...)))
}

// Fatal records the failure and ends the calling goroutine, which must be
// the check's own (as with testing.T).
func (r *recorder) Fatal(args ...any) {
	r.Error(args...)
	runtime.Goexit()
}

// Fatalf is Fatal with a format.
func (r *recorder) Fatalf(format string, args ...any) {
	r.Fatal(fmt.Sprintf(format, args...))
}

func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.errs) > 0
}
