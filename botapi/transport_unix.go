//go:build unix

package botapi

import (
	"errors"
	"net"
	"syscall"
)

// isConnReset reports whether err is a connection reset by the peer.
func isConnReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

// connAlive reports whether an idle connection can be reused: a
// non-blocking read must find nothing to read (EAGAIN). EOF (the server
// closed it), data (unexpected bytes) or an error mean it cannot. A read with
// an expired deadline would not do: Go fails it before asking the kernel.
func connAlive(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK)
		alive = rerr == syscall.EAGAIN || rerr == syscall.EWOULDBLOCK
		return true // never wait
	})
	return err == nil && alive
}
