package botapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
)

// A client over a Transport with settings of its own (here a shorter idle
// timeout and fewer idle connections); botapi.New without WithHTTPClient
// already sends through a shared Transport.
func ExampleTransport() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ok":true,"result":{"id":1,"is_bot":true,"first_name":"Shop","username":"shop_bot"}}`)
	}))
	defer srv.Close()

	c := botapi.New("123456:ABC", botapi.WithBaseURL(srv.URL),
		botapi.WithHTTPClient(&http.Client{Transport: &botapi.Transport{
			IdleConnTimeout:     10 * time.Second,
			MaxIdleConnsPerHost: 4,
		}}))
	me, err := c.GetMe(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(me.Username)
	// Output: shop_bot
}
