package initdata

import (
	"errors"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func isKind(err, kind error) bool { return kind != nil && errors.Is(err, kind) }

func mustQuery(t testing.TB, s string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(s)
	require.NoError(t, err)
	return v
}
