//go:build linux && (amd64 || arm64)

package webhook

import (
	"net/http"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestSecretTokenLengthWrap: a sent token 2^32 bytes longer than the
// secret must not match it. (A comparison that cast lengths to int32 saw
// equal lengths, then compared the secret with itself: a match.) The token
// is a reserved, never touched 4 GiB mapping, so the test costs no memory;
// only its length is read.
func TestSecretTokenLengthWrap(t *testing.T) {
	n := 1<<32 + len(testToken)
	mem, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		t.Skipf("cannot reserve 4 GiB of address space: %v", err)
	}
	defer func() { _ = syscall.Munmap(mem) }()
	got := unsafe.String(&mem[0], n)
	require.False(t, tokenEqual(got, testToken))
	h := http.Header{HeaderSecretToken: {got}}
	require.Equal(t, tokenMismatch, checkSecretHeader(h, testToken))
}
