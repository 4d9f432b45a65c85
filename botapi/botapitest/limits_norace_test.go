//go:build !race

package botapitest

const raceEnabled = false
