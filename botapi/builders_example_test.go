package botapi_test

import (
	"encoding/json"
	"fmt"

	"github.com/miniappkit/miniappkit/botapi"
)

func ExampleStartAppLink() {
	link, err := botapi.StartAppLink("shop_bot", "order-1001")
	fmt.Println(link, err)
	direct, err := botapi.AppLink("shop_bot", "store", "")
	fmt.Println(direct, err)
	_, err = botapi.StartAppLink("shop_bot", "order=1001")
	fmt.Println(err)
	// Output:
	// https://t.me/shop_bot?startapp=order-1001 <nil>
	// https://t.me/shop_bot/store <nil>
	// botapi: invalid t.me link: startapp parameter holds a character other than A-Z, a-z, 0-9, _ and - at byte 5
}

func ExampleEscapeMarkdownV2() {
	name := "Ben_Okafor (VIP)"
	fmt.Println("*Hello, " + botapi.EscapeMarkdownV2(name) + "\\!* Total: " + botapi.EscapeMarkdownV2("9.80 €"))
	fmt.Println("<b>Hello, " + botapi.EscapeHTML("<Ben & Co>") + "</b>")
	// Output:
	// *Hello, Ben\_Okafor \(VIP\)\!* Total: 9\.80 €
	// <b>Hello, &lt;Ben &amp; Co&gt;</b>
}

func ExampleInlineKeyboard() {
	markup := botapi.InlineKeyboard(
		botapi.InlineRow(botapi.CallbackButton("Pay 9.80 EUR", "pay:8812"), botapi.CallbackButton("Cancel", "cancel:8812")),
		botapi.InlineRow(botapi.WebAppButton("Open shop", "https://shop.example/app")),
	)
	b, _ := json.Marshal(markup)
	fmt.Println(string(b))
	// Output:
	// {"inline_keyboard":[[{"text":"Pay 9.80 EUR","callback_data":"pay:8812"},{"text":"Cancel","callback_data":"cancel:8812"}],[{"text":"Open shop","web_app":{"url":"https://shop.example/app"}}]]}
}

func ExampleUpdate_EffectiveChat() {
	u, _ := botapi.DecodeAnswer[*botapi.Update]("getUpdates", []byte(`{"ok":true,"result":{"update_id":1,`+
		`"callback_query":{"id":"q","from":{"id":7,"is_bot":false,"first_name":"Ada"},"chat_instance":"c","data":"pay:1",`+
		`"message":{"message_id":5,"date":1,"chat":{"id":-100,"type":"supergroup","title":"Shop"}}}}}`))
	fmt.Println(u.EffectiveChat().Title, u.EffectiveUser().FirstName, u.EffectiveMessage().MessageID)
	// Output: Shop Ada 5
}
