package botapi_test

import (
	"encoding/json"
	"fmt"

	"github.com/miniappkit/miniappkit/botapi"
)

// Example_unions decodes updates whose union-typed fields dispatch on their
// discriminator, including a member this package does not know yet, which
// decodes to an Unknown… value instead of failing the update.
func Example_unions() {
	body := []byte(`[
	{"update_id":1,"message":{"message_id":10,"date":1763880000,"chat":{"id":5,"type":"private"},"text":"fwd",
		"forward_origin":{"type":"channel","date":1763870000,"chat":{"id":-1001122334455,"type":"channel","title":"News"},"message_id":311}}},
	{"update_id":2,"message_reaction":{"chat":{"id":-100,"type":"supergroup"},"message_id":7,"date":1763880001,
		"old_reaction":[],"new_reaction":[{"type":"emoji","emoji":"👍"},{"type":"sparkles","sparkles_id":"s1"}]}}]`)
	var ups []botapi.Update
	if err := json.Unmarshal(body, &ups); err != nil {
		panic(err)
	}
	switch o := ups[0].Message.ForwardOrigin.(type) {
	case *botapi.MessageOriginChannel:
		fmt.Println("forwarded from", o.Chat.Title, "message", o.MessageID)
	case *botapi.MessageOriginUser:
		fmt.Println("forwarded from", o.SenderUser.FirstName)
	}
	for _, r := range ups[1].MessageReaction.NewReaction {
		switch r := r.(type) {
		case *botapi.ReactionTypeEmoji:
			fmt.Println("emoji", r.Emoji)
		case *botapi.UnknownReactionType:
			fmt.Printf("unknown reaction %q: %s\n", r.Type, r.Raw)
		}
	}
	// Output:
	// forwarded from News message 311
	// emoji 👍
	// unknown reaction "sparkles": {"type":"sparkles","sparkles_id":"s1"}
}

// Example_encodeUnion shows that encoding a union member adds its
// discriminator, and that literal-true fields need no setting.
func Example_encodeUnion() {
	b, err := json.Marshal(&botapi.SetMyCommandsParams{
		Commands: []botapi.BotCommand{{Command: "shop", Description: "Open the shop"}},
		Scope:    &botapi.BotCommandScopeAllPrivateChats{},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
	b, err = json.Marshal(&botapi.ForceReply{InputFieldPlaceholder: "Size?"})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
	// Output:
	// {"commands":[{"command":"shop","description":"Open the shop"}],"scope":{"type":"all_private_chats"}}
	// {"force_reply":true,"input_field_placeholder":"Size?"}
}
