package main

// product is one digital good, priced in Telegram Stars.
type product struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Emoji       string `json:"emoji"`
	Stars       int64  `json:"stars"`
}

// catalog is the shop's fixed list of products. A real shop would load it
// from its database; titles and descriptions stay within Telegram's invoice
// limits (1-32 and 1-255 characters).
var catalog = []product{
	{ID: "stickers", Title: "Sticker pack", Description: "Twelve hand-drawn stickers for your chats.", Emoji: "🎨", Stars: 25},
	{ID: "theme", Title: "Midnight theme", Description: "A calm dark theme with three accent colours.", Emoji: "🌙", Stars: 50},
	{ID: "wallpapers", Title: "Wallpaper set", Description: "Five wallpapers, sized for every screen.", Emoji: "🖼️", Stars: 15},
	{ID: "boost", Title: "Pro boost", Description: "Thirty days of pro features for your account.", Emoji: "🚀", Stars: 100},
}

// productByID returns the product with that id.
func productByID(id string) (product, bool) {
	for _, p := range catalog {
		if p.ID == id {
			return p, true
		}
	}
	return product{}, false
}
