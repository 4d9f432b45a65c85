package logtest

import "crypto/rand"

// randomID returns a random id of 26 base32 characters.
func randomID() string { return rand.Text() }
