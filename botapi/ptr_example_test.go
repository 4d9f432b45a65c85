package botapi_test

import (
	"encoding/json"
	"fmt"

	"github.com/miniappkit/miniappkit/botapi"
)

// ExamplePtr asks for a user who is neither a bot nor a premium user: the
// two false values are sent, which leaving the fields unset would not do.
func ExamplePtr() {
	b, _ := json.Marshal(botapi.KeyboardButtonRequestUsers{
		RequestID:     1,
		UserIsBot:     botapi.Ptr(false),
		UserIsPremium: botapi.Ptr(false),
	})
	fmt.Println(string(b))
	// Output:
	// {"request_id":1,"user_is_bot":false,"user_is_premium":false}
}
