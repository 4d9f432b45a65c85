package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGeneratedTableUpToDate fails when payments/zz_generated_currencies.go
// no longer matches currencies.json: run `go generate ./payments`.
func TestGeneratedTableUpToDate(t *testing.T) {
	src, err := os.ReadFile("currencies.json")
	require.NoError(t, err)
	want, err := Generate(src, "payments")
	require.NoError(t, err)
	got, err := os.ReadFile("../../payments/zz_generated_currencies.go")
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "run `go generate ./payments`")
}

func TestGenerate(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
		want    string
	}{
		{
			name: "string and number amounts",
			in:   `{"USD":{"code":"USD","title":"United States Dollar","symbol":"$","native":"$","thousands_sep":",","decimal_sep":".","symbol_left":true,"space_between":false,"exp":2,"min_amount":"100","max_amount":1000000}}`,
			want: `MinAmount: 100, MaxAmount: 1000000}`,
		},
		{name: "empty", in: `{}`, wantErr: "no currency"},
		{name: "not json", in: `[`, wantErr: "decode"},
		{
			name:    "code mismatch",
			in:      `{"USD":{"code":"EUR","exp":2,"min_amount":"1","max_amount":"2"}}`,
			wantErr: "code field",
		},
		{
			name:    "bad range",
			in:      `{"USD":{"code":"USD","exp":2,"min_amount":"5","max_amount":"2"}}`,
			wantErr: "bad range",
		},
		{
			name:    "bad amount",
			in:      `{"USD":{"code":"USD","exp":2,"min_amount":"x","max_amount":"2"}}`,
			wantErr: "min_amount",
		},
		{
			name:    "bad exp",
			in:      `{"USD":{"code":"USD","exp":9,"min_amount":"1","max_amount":"2"}}`,
			wantErr: "exp",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Generate([]byte(tt.in), "payments")
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(string(got), "// Code generated"), "generated header")
			require.Contains(t, string(got), tt.want)
		})
	}
}
