//go:build !amd64

package ratelimit

// prefetchSlot does nothing where no prefetch instruction is wired up; a
// decision then takes its slot's cache miss after the clock read.
func prefetchSlot(*flatSlot) {}
