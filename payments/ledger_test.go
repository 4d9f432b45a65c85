package payments

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStateString(t *testing.T) {
	require.Equal(t, "paid", StatePaid.String())
	require.Equal(t, "fulfilled", StateFulfilled.String())
	require.Equal(t, "refunded", StateRefunded.String())
	require.Equal(t, "State(9)", State(9).String())
}
