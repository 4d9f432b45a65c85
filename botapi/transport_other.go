//go:build !unix

package botapi

import "net"

// connAlive cannot look at the socket on this platform: stale connections
// are caught by the idle timeout and the retry rule of [Transport].
func connAlive(net.Conn) bool { return true }
