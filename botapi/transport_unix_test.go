//go:build unix

package botapi

import (
	"net"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitReadable blocks until c has something to read (data or EOF), without
// consuming it.
func waitReadable(t *testing.T, c net.Conn) {
	t.Helper()
	rc, err := c.(syscall.Conn).SyscallConn()
	require.NoError(t, err)
	var buf [1]byte
	require.NoError(t, rc.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK)
		return err != syscall.EAGAIN
	}))
}

func TestConnAlive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	pair := func() (client, server net.Conn) {
		client, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		server, err = ln.Accept()
		require.NoError(t, err)
		return client, server
	}

	c, s := pair()
	assert.True(t, connAlive(c), "idle and open")
	s.Close()
	waitReadable(t, c)
	assert.False(t, connAlive(c), "closed by the server")
	c.Close()

	c, s = pair()
	_, err = s.Write([]byte("x"))
	require.NoError(t, err)
	waitReadable(t, c)
	assert.False(t, connAlive(c), "unexpected data")
	c.Close()
	s.Close()
}
