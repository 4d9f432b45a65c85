package main

import (
	"fmt"
	"os"
)

// The configuration comes from the environment; with no token the shop
// runs on its embedded default.
func Example_configFromEnv() {
	env := map[string]string{"LISTEN_ADDR": "127.0.0.1:9000", "DATA_DIR": "/var/lib/shop"}
	cfg, err := configFromEnv(func(k string) string { return env[k] })
	fmt.Println(cfg.demo(), cfg.ListenAddr, cfg.DataDir, cfg.ShutdownTimeout, err)

	env = map[string]string{"TELEGRAM_BOT_TOKEN": "123:abc", "PUBLIC_URL": "http://shop.example"}
	_, err = configFromEnv(func(k string) string { return env[k] })
	fmt.Fprintln(os.Stdout, err)
	// Output:
	// true 127.0.0.1:9000 /var/lib/shop 20s <nil>
	// PUBLIC_URL: want an https:// URL (Telegram delivers webhooks and opens Mini Apps over HTTPS only)
}
