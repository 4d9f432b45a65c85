// Package gobreaker shows sony/gobreaker/v2 guarding a botapi.Client.
//
// It is a nested module, so that gobreaker never enters the main module's
// dependencies: botapi declares the small Breaker interface it consumes,
// and gobreaker's TwoStepCircuitBreaker satisfies it as it is.
package gobreaker
