package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    config
		wantErr string
	}{
		{
			name: "embedded default",
			env:  map[string]string{},
			want: config{ListenAddr: defaultListenAddr, ShutdownTimeout: defaultShutdownTimeout},
		},
		{
			name: "real bot with webhook",
			env: map[string]string{
				"TELEGRAM_BOT_TOKEN": " 123:abc ", "PUBLIC_URL": "https://shop.example.com/",
				"WEBHOOK_SECRET": "s3cret", "LISTEN_ADDR": ":9000", "SHUTDOWN_TIMEOUT": "5s",
				"PAYLOAD_KEY": "0123456789abcdef0123456789abcdef",
			},
			want: config{
				Token: "123:abc", PublicURL: "https://shop.example.com", WebhookSecret: "s3cret",
				ListenAddr: ":9000", ShutdownTimeout: 5 * time.Second,
				PayloadKey: "0123456789abcdef0123456789abcdef",
			},
		},
		{name: "http public URL", env: map[string]string{"TELEGRAM_BOT_TOKEN": "1:a", "PUBLIC_URL": "http://x.example"}, wantErr: "PUBLIC_URL"},
		{name: "public URL without token", env: map[string]string{"PUBLIC_URL": "https://x.example"}, wantErr: "TELEGRAM_BOT_TOKEN"},
		{name: "bad timeout", env: map[string]string{"SHUTDOWN_TIMEOUT": "soon"}, wantErr: "SHUTDOWN_TIMEOUT"},
		{name: "negative timeout", env: map[string]string{"SHUTDOWN_TIMEOUT": "-1s"}, wantErr: "SHUTDOWN_TIMEOUT"},
		{name: "short payload key", env: map[string]string{"PAYLOAD_KEY": "short"}, wantErr: "PAYLOAD_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := configFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.want.Token == "", got.demo())
		})
	}
}
