package botapitest

import (
	"encoding/json"
	"strconv"
)

// shippingQuery is the Bot API's ShippingQuery.
type shippingQuery struct {
	ID              string          `json:"id"`
	From            User            `json:"from"`
	InvoicePayload  string          `json:"invoice_payload"`
	ShippingAddress shippingAddress `json:"shipping_address"`
}

// shippingAddress is the Bot API's ShippingAddress.
type shippingAddress struct {
	CountryCode string `json:"country_code"`
	State       string `json:"state"`
	City        string `json:"city"`
	StreetLine1 string `json:"street_line1"`
	StreetLine2 string `json:"street_line2"`
	PostCode    string `json:"post_code"`
}

// testShippingAddress is where the fake's users have goods shipped.
var testShippingAddress = shippingAddress{
	CountryCode: "GB", City: "London", StreetLine1: "221B Baker Street", PostCode: "NW1 6XE",
}

// shippingOption is the Bot API's ShippingOption.
type shippingOption struct {
	ID     string         `json:"id"`
	Title  string         `json:"title"`
	Prices []LabeledPrice `json:"prices"`
}

// answerShippingQuery answers the shipping_query of a flexible invoice
// that [Server.Pay] sent. The parameters are checked first, with the errors
// of Client::process_answer_shipping_query_query and
// Client::get_shipping_options (tdlib/telegram-bot-api), first letter
// lowercased as Client::fail_query_with_error sends them; an unknown or
// expired id then fails as Telegram fails it.
// Telegram docs: https://core.telegram.org/bots/api#answershippingquery
func answerShippingQuery(s *Server, c *call) (any, *apiError) {
	var ans pcAnswer
	if c.p.bool("ok") {
		opts, err := shippingOptions(c.p.str("shipping_options"))
		if err != nil {
			return nil, err
		}
		ans = pcAnswer{ok: true, ship: chosenShipping{id: opts[0].ID}}
		for _, pr := range opts[0].Prices {
			ans.ship.amount += pr.Amount
		}
	} else {
		ans.msg = c.p.str("error_message")
		if ans.msg == "" {
			return nil, errParamRequired("error_message")
		}
	}
	id := c.p.str("shipping_query_id")
	sq := s.st.shipping[id]
	if sq == nil {
		return nil, errQueryTooOld
	}
	delete(s.st.shipping, id)
	if s.now().Sub(sq.created) > ShippingDeadline {
		sq.answer <- pcAnswer{late: true}
		return nil, errQueryTooOld
	}
	sq.answer <- ans
	return true, nil
}

// shippingOptions parses the shipping_options parameter as
// Client::get_shipping_options does.
func shippingOptions(v string) ([]shippingOption, *apiError) {
	if v == "" {
		return nil, errParamRequired("shipping_options")
	}
	var raw any
	if json.Unmarshal([]byte(v), &raw) != nil {
		return nil, badRequest("can't parse shipping options JSON object")
	}
	items, ok := raw.([]any)
	if !ok {
		return nil, badRequest("expected an Array of shipping options")
	}
	var opts []shippingOption
	for _, it := range items {
		o, msg := shippingOptionOf(it)
		if msg != "" {
			return nil, badRequest("can't parse shipping option: " + msg)
		}
		opts = append(opts, o)
	}
	if len(opts) == 0 {
		return nil, badRequest("there must be at least one shipping option")
	}
	return opts, nil
}

// shippingOptionOf reads one shipping option as Client::get_shipping_option
// does, or says why it cannot (in TDLib's words).
func shippingOptionOf(v any) (shippingOption, string) {
	var o shippingOption
	obj, ok := v.(map[string]any)
	if !ok {
		return o, "ShippingOption must be an Object"
	}
	str := func(name string) (string, string) {
		switch f := obj[name].(type) {
		case string:
			return f, ""
		case float64:
			return strconv.FormatFloat(f, 'f', -1, 64), ""
		case nil:
			if _, has := obj[name]; !has {
				return "", `Can't find field "` + name + `"`
			}
		}
		return "", `Field "` + name + `" must be of type String`
	}
	var msg string
	if o.ID, msg = str("id"); msg != "" {
		return o, msg
	}
	if o.ID == "" {
		return o, "ShippingOption identifier must be non-empty"
	}
	if o.Title, msg = str("title"); msg != "" {
		return o, msg
	}
	if o.Title == "" {
		return o, "ShippingOption title must be non-empty"
	}
	prices, has := obj["prices"]
	if !has {
		return o, `Can't find field "prices"`
	}
	if _, ok := prices.([]any); !ok {
		return o, `Field "prices" must be of type Array`
	}
	b, _ := json.Marshal(prices)
	if json.Unmarshal(b, &o.Prices) != nil {
		return o, "Can't parse shipping option prices: a price must be an object with a String label and an Integer amount"
	}
	return o, ""
}
