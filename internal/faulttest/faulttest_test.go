package faulttest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

func TestAmbiguous(t *testing.T) {
	a := &Ambiguous{Op: "Write", At: 2}
	var lies []string
	for _, op := range []string{"Read", "Write", "Read", "Write", "Write"} {
		if a.Lie(op) {
			lies = append(lies, fmt.Sprint(op, "#", a.Calls(op)))
		}
	}
	if fmt.Sprint(lies) != "[Write#2]" || !a.Lied() {
		t.Errorf("lies = %v, Lied = %v; want [Write#2], true", lies, a.Lied())
	}
	if a.Calls("Read") != 2 || a.Calls("Write") != 3 || a.Calls("Other") != 0 {
		t.Errorf("Calls: Read %d, Write %d, Other %d; want 2, 3, 0", a.Calls("Read"), a.Calls("Write"), a.Calls("Other"))
	}

	var zero Ambiguous // picks none, counts concurrently
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if zero.Lie("Write") {
				t.Error("the zero value lied")
			}
		})
	}
	wg.Wait()
	if zero.Lied() || zero.Calls("Write") != 8 {
		t.Errorf("zero value: Lied = %v, Calls = %d; want false, 8", zero.Lied(), zero.Calls("Write"))
	}
}

// fatalTB records a Fatalf and ends the goroutine, as testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// failure runs ReturnsAtDeadline on a fatalTB and returns what it failed
// with ("" if it passed).
func failure(t *testing.T, wait time.Duration, call func(context.Context) error) string {
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ReturnsAtDeadline(f, wait, call)
	}()
	<-done
	return f.msg
}

func TestReturnsAtDeadline(t *testing.T) {
	honours := func(ctx context.Context) error {
		<-ctx.Done()
		return fmt.Errorf("blocked call: %w", ctx.Err())
	}
	if msg := failure(t, time.Minute, honours); msg != "" {
		t.Errorf("a call returning the ctx's error at its deadline failed: %s", msg)
	}

	ownErr := func(ctx context.Context) error {
		<-ctx.Done()
		return errors.New("i/o timeout")
	}
	if msg := failure(t, time.Minute, ownErr); msg == "" {
		t.Error("a call returning an error of its own passed")
	}
	if msg := failure(t, time.Minute, func(context.Context) error { return nil }); msg == "" {
		t.Error("a call returning nil passed")
	}

	release := make(chan struct{})
	defer close(release)
	hangs := func(context.Context) error {
		<-release
		return context.DeadlineExceeded
	}
	if msg := failure(t, time.Second, hangs); msg == "" {
		t.Error("a call ignoring its ctx passed")
	}
}
