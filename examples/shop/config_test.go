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
			env:  map[string]string{"HOME": "/home/ada"},
			want: config{ListenAddr: defaultListenAddr, ShutdownTimeout: defaultShutdownTimeout, DataDir: "/home/ada/.local/share/miniappkit-shop"},
		},
		{
			name: "data dir",
			env:  map[string]string{"DATA_DIR": "/var/lib/shop", "XDG_DATA_HOME": "/x"},
			want: config{ListenAddr: defaultListenAddr, ShutdownTimeout: defaultShutdownTimeout, DataDir: "/var/lib/shop"},
		},
		{
			name: "XDG data home",
			env:  map[string]string{"XDG_DATA_HOME": "/x", "HOME": "/home/ada"},
			want: config{ListenAddr: defaultListenAddr, ShutdownTimeout: defaultShutdownTimeout, DataDir: "/x/miniappkit-shop"},
		},
		{
			name: "replicas",
			env:  map[string]string{"DATABASE_URL": "postgres://db/shop", "TELEGRAM_BOT_TOKEN": "1:a"},
			want: config{Token: "1:a", ListenAddr: defaultListenAddr, ShutdownTimeout: defaultShutdownTimeout, DatabaseURL: "postgres://db/shop"},
		},
		{
			name: "local Bot API server: webhook over http",
			env:  map[string]string{"TELEGRAM_BOT_TOKEN": "1:a", "TELEGRAM_API_URL": "http://127.0.0.1:8081/", "PUBLIC_URL": "http://127.0.0.1:9000", "DATA_DIR": "/d"},
			want: config{Token: "1:a", TelegramAPIURL: "http://127.0.0.1:8081", PublicURL: "http://127.0.0.1:9000", ListenAddr: defaultListenAddr, ShutdownTimeout: defaultShutdownTimeout, DataDir: "/d"},
		},
		{name: "remote Bot API server: webhook over https only", env: map[string]string{"TELEGRAM_BOT_TOKEN": "1:a", "TELEGRAM_API_URL": "http://api.example", "PUBLIC_URL": "http://x.example", "DATA_DIR": "/d"}, wantErr: "PUBLIC_URL"},
		{name: "API URL without token", env: map[string]string{"TELEGRAM_API_URL": "http://127.0.0.1:8081", "DATA_DIR": "/d"}, wantErr: "TELEGRAM_BOT_TOKEN"},
		{name: "no home", env: map[string]string{}, wantErr: "DATA_DIR"},
		{
			name: "real bot with webhook",
			env: map[string]string{
				"TELEGRAM_BOT_TOKEN": " 123:abc ", "PUBLIC_URL": "https://shop.example.com/",
				"WEBHOOK_SECRET": "s3cret", "LISTEN_ADDR": ":9000", "SHUTDOWN_TIMEOUT": "5s",
				"PAYLOAD_KEY": "0123456789abcdef0123456789abcdef", "HOME": "/home/ada",
			},
			want: config{
				Token: "123:abc", PublicURL: "https://shop.example.com", WebhookSecret: "s3cret",
				ListenAddr: ":9000", ShutdownTimeout: 5 * time.Second,
				PayloadKey: "0123456789abcdef0123456789abcdef", DataDir: "/home/ada/.local/share/miniappkit-shop",
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
