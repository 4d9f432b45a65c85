package webhook

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func runSecretTokenVector(t *testing.T, v vector) {
	st := checkSecretHeader(v.header(), v.Secret)
	if v.ExpectValid {
		require.Equal(t, tokenOK, st)
	} else if v.ExpectedError == "missing_header" {
		require.Equal(t, tokenMissing, st)
	} else {
		require.Equal(t, tokenMismatch, st)
	}
}
