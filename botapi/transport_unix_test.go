//go:build unix

package botapi

import (
	"io"
	"net"
	"net/http"
	"strings"
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

// idleConn returns the one idle connection of tr.
func idleConn(t *testing.T, tr *Transport) *persistConn {
	t.Helper()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var all []*persistConn
	for _, pcs := range tr.idle {
		all = append(all, pcs...)
	}
	require.Len(t, all, 1)
	return all[0]
}

func TestTransportIdleCheck(t *testing.T) {
	post := func(hc *http.Client, u string) error {
		resp, err := hc.Post(u, "text/plain", strings.NewReader("x"))
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		return err
	}

	t.Run("idle past the threshold: a closed connection is not used", func(t *testing.T) {
		srv, conns := countedServer(t, echoHandler(), false)
		tr := &Transport{}
		hc := &http.Client{Transport: tr}
		require.NoError(t, post(hc, srv.URL))
		pc := idleConn(t, tr)
		srv.CloseClientConnections()
		waitReadable(t, pc.raw)
		pc.idleAt = pc.idleAt.Add(-idleCheckAfter)
		require.NoError(t, post(hc, srv.URL), "sent on a new connection")
		assert.Equal(t, int32(2), conns.Load())
	})

	t.Run("reused within the threshold: no check, a POST fails, a GET is retried", func(t *testing.T) {
		srv, conns := countedServer(t, echoHandler(), false)
		tr := &Transport{}
		hc := &http.Client{Transport: tr}
		require.NoError(t, post(hc, srv.URL))
		srv.CloseClientConnections()
		waitReadable(t, idleConn(t, tr).raw)
		// The documented trade-off: the POST may have reached the server as
		// far as the client can tell, so it is not sent again.
		require.Error(t, post(hc, srv.URL))
		assert.Equal(t, int32(1), conns.Load())

		require.NoError(t, post(hc, srv.URL))
		srv.CloseClientConnections()
		waitReadable(t, idleConn(t, tr).raw)
		assert.Equal(t, "GET / ", get(t, hc, srv.URL))
		assert.Equal(t, int32(3), conns.Load(), "the GET was retried on a new connection")
	})
}
