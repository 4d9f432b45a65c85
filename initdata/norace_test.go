//go:build !race

package initdata

const raceEnabled = false
