//go:build !unix

package botapi

import "net"

// connAlive cannot look at the socket on this platform: stale connections
// are caught by the idle timeout and the retry rule of [Transport].
func connAlive(net.Conn) bool { return true }

// isConnReset cannot tell a reset on this platform: only an EOF before the
// answer makes a request replayable.
func isConnReset(error) bool { return false }
