package botapitest

import (
	"cmp"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// messageEntity is the Bot API's MessageEntity.
type messageEntity struct {
	Type          string `json:"type"`
	Offset        int    `json:"offset"`
	Length        int    `json:"length"`
	URL           string `json:"url,omitempty"`
	User          *User  `json:"user,omitempty"`
	Language      string `json:"language,omitempty"`
	CustomEmojiID string `json:"custom_emoji_id,omitempty"`
}

// formatted reads a text parameter with its parse mode and entities, as
// Client::get_formatted_text does: with a parse_mode (case-insensitive;
// "" and "none" mean none) the text is parsed into plain text and
// entities, and a parse error is Telegram's "can't parse entities: ...";
// without one the entities come from the *_entities parameter. Then the
// entities Telegram finds in plain text are added (withFound).
func formatted(p params, textName, modeName, entitiesName string) (string, []messageEntity, *apiError) {
	text := p.str(textName)
	if !utf8.ValidString(text) {
		// TDLib checks every string of a request.
		return "", nil, badRequest("strings must be encoded in UTF-8")
	}
	mode := strings.ToLower(p.str(modeName))
	if text == "" || mode == "" || mode == "none" {
		var ents []messageEntity
		if p.has(entitiesName) && !p.object(entitiesName, &ents) {
			return "", nil, badRequest("can't parse entities JSON object")
		}
		return text, withFound(text, ents), nil
	}
	var (
		out  string
		ents []messageEntity
		err  error
	)
	switch mode {
	case "markdown":
		out, ents, err = parseMarkdown(text)
	case "markdownv2":
		out, ents, err = parseMarkdownV2(text)
	case "html":
		out, ents, err = parseHTML(text)
	default:
		return "", nil, badRequest("unsupported parse_mode")
	}
	if err != nil {
		// TDLib's parseTextEntities error, first letter lowercased by
		// Client::fail_query_with_error: "can't parse entities: Can't
		// find end of the entity starting at byte offset 5".
		return "", nil, badRequest("can't parse entities: " + err.Error())
	}
	return out, withFound(out, ents), nil
}

// entityError is a markup error, worded as TDLib words it
// (td/telegram/MessageEntity.cpp).
type entityError string

func (e entityError) Error() string { return string(e) }

// utf16Len is the length of s in UTF-16 code units, Telegram's unit for
// entity offsets.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// checkedLink normalises a link as an entity's url: a link without a
// scheme gets http://; one that is not a URL at all drops the entity ("").
func checkedLink(link string) string {
	link = strings.TrimSpace(link)
	if link == "" {
		return ""
	}
	if !strings.Contains(link, "://") && !strings.HasPrefix(link, "tg:") && !strings.HasPrefix(link, "mailto:") {
		link = "http://" + link
	}
	u, err := url.Parse(link)
	if err != nil || u.Scheme == "" || (u.Host == "" && u.Scheme != "tg" && u.Scheme != "mailto") {
		return ""
	}
	if u.Path == "" && u.Scheme != "tg" && u.Scheme != "mailto" {
		link += "/"
	}
	return link
}

// linkUser returns the user a tg://user?id=N link names, or 0.
func linkUser(link string) int64 {
	rest, ok := strings.CutPrefix(link, "tg://user?id=")
	if !ok {
		return 0
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

// linkEntity makes a text_link, or a text_mention for tg://user?id=N.
func linkEntity(offset, length int, link string) (messageEntity, bool) {
	if id := linkUser(link); id != 0 {
		return messageEntity{Type: "text_mention", Offset: offset, Length: length, User: &User{ID: id}}, true
	}
	link = checkedLink(link)
	if link == "" {
		return messageEntity{}, false
	}
	return messageEntity{Type: "text_link", Offset: offset, Length: length, URL: link}, true
}

// parseMarkdown parses Telegram's legacy Markdown (parse_mode Markdown):
// *bold*, _italic_, `code`, ```pre```, [text](url); a backslash escapes
// the four markers; entities do not nest; a marker without its end is an
// error at the marker's byte offset.
// Telegram docs: https://core.telegram.org/bots/api#markdown-style
func parseMarkdown(text string) (string, []messageEntity, error) {
	var out strings.Builder
	var ents []messageEntity
	at := func(i int) byte {
		if i < len(text) {
			return text[i]
		}
		return 0
	}
	off := 0 // UTF-16 offset in out
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == '\\' && (at(i+1) == '_' || at(i+1) == '*' || at(i+1) == '`' || at(i+1) == '[') {
			i++
			out.WriteByte(text[i])
			off++
			continue
		}
		if c != '_' && c != '*' && c != '`' && c != '[' {
			out.WriteByte(c)
			off += utf16Units(c)
			continue
		}
		begin := i
		end := c
		if c == '[' {
			end = ']'
		}
		i++
		pre, lang := false, ""
		if c == '`' && at(i) == '`' && at(i+1) == '`' {
			i += 2
			pre = true
			j := i
			for j < len(text) && !isSpace(text[j]) && text[j] != '`' {
				j++
			}
			if j != i && j < len(text) && text[j] != '`' {
				lang, i = text[i:j], j
			}
			if at(i) == '\n' || at(i) == '\r' {
				if (at(i+1) == '\n' || at(i+1) == '\r') && at(i) != at(i+1) {
					i += 2
				} else {
					i++
				}
			}
		}
		start := off
		for i < len(text) && (text[i] != end || pre && !(at(i+1) == '`' && at(i+2) == '`')) {
			out.WriteByte(text[i])
			off += utf16Units(text[i])
			i++
		}
		if i == len(text) {
			return "", nil, entityError("Can't find end of the entity starting at byte offset " + strconv.Itoa(begin))
		}
		if n := off - start; n > 0 {
			switch c {
			case '_':
				ents = append(ents, messageEntity{Type: "italic", Offset: start, Length: n})
			case '*':
				ents = append(ents, messageEntity{Type: "bold", Offset: start, Length: n})
			case '[':
				link := text[begin+1 : i]
				if at(i+1) == '(' {
					i += 2
					j := i
					for j < len(text) && text[j] != ')' {
						j++
					}
					link, i = text[i:j], j
				}
				if e, ok := linkEntity(start, n, link); ok {
					ents = append(ents, e)
				}
			case '`':
				switch {
				case pre && lang != "":
					ents = append(ents, messageEntity{Type: "pre", Offset: start, Length: n, Language: lang})
				case pre:
					ents = append(ents, messageEntity{Type: "pre", Offset: start, Length: n})
				default:
					ents = append(ents, messageEntity{Type: "code", Offset: start, Length: n})
				}
			}
		}
		if pre {
			i += 2
		}
	}
	return out.String(), ents, nil
}

// utf16Units is what the byte c adds to a UTF-16 length: 1 for the first
// byte of a character (2 for one of four bytes, a surrogate pair), 0 for
// a continuation byte.
func utf16Units(c byte) int {
	switch {
	case c < 0x80:
		return 1
	case c < 0xc0:
		return 0
	case c >= 0xf0:
		return 2
	}
	return 1
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

// entityPriority orders entities that start and end together as TDLib's
// sort_entities does (MessageEntity::get_type_priority): the outer first.
var entityPriority = map[string]int{
	"blockquote": 0, "expandable_blockquote": 0, "pre": 11, "code": 20, "text_link": 49, "text_mention": 49,
	"bold": 90, "italic": 91, "underline": 92, "strikethrough": 93, "spoiler": 94, "custom_emoji": 99,
}

// sortEntities sorts by offset, then longer first, then priority.
func sortEntities(ents []messageEntity) {
	slices.SortStableFunc(ents, func(a, b messageEntity) int {
		if a.Offset != b.Offset {
			return cmp.Compare(a.Offset, b.Offset)
		}
		if a.Length != b.Length {
			return cmp.Compare(b.Length, a.Length)
		}
		return cmp.Compare(entityPriority[a.Type], entityPriority[b.Type])
	})
}

// v2Open is an entity open in MarkdownV2 or HTML.
type v2Open struct {
	kind    string // TDLib's type name (Bold, ...) or the HTML tag
	arg     string // a link, a language, a custom emoji id
	offset  int    // UTF-16 offset in the output
	byteOff int    // where its marker starts in the input
	outPos  int    // where its text starts in the output, in bytes
}

// v2Types maps TDLib's type names, which its errors print, to the Bot
// API's entity types.
var v2Types = map[string]string{
	"Bold": "bold", "Italic": "italic", "Underline": "underline", "Strikethrough": "strikethrough",
	"Spoiler": "spoiler", "Code": "code", "Pre": "pre", "PreCode": "pre", "TextUrl": "text_link",
	"CustomEmoji": "custom_emoji", "BlockQuote": "blockquote",
}

func errReserved(c byte) error {
	return entityError("Character '" + string(c) + "' is reserved and must be escaped with the preceding '\\'")
}

func errNoEnd(o v2Open) error {
	return entityError("Can't find end of " + o.kind + " entity at byte offset " + strconv.Itoa(o.byteOff))
}

// parseMarkdownV2 parses parse_mode MarkdownV2: *bold*, _italic_,
// __underline__, ~strikethrough~, ||spoiler||, `code`, ```pre```,
// [text](url), ![emoji](tg://emoji?id=N) and > block quotes, nested;
// every other use of _*[]()~`>#+-=|{}.! must be escaped with a backslash,
// as Telegram requires, with TDLib's errors.
// Telegram docs: https://core.telegram.org/bots/api#markdownv2-style
func parseMarkdownV2(text string) (string, []messageEntity, error) {
	var out []byte
	var ents []messageEntity
	var open []v2Open
	at := func(i int) byte {
		if i < len(text) {
			return text[i]
		}
		return 0
	}
	off := 0
	quote, canQuote := false, true
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == '\\' && at(i+1) > 0 && at(i+1) <= 126 {
			i++
			off++
			out = append(out, text[i])
			if text[i] != '\r' {
				canQuote = text[i] == '\n'
			}
			continue
		}
		reserved := "_*[]()~`>#+-=|{}.!\n"
		if n := len(open); n > 0 && (open[n-1].kind == "Code" || open[n-1].kind == "Pre" || open[n-1].kind == "PreCode") {
			reserved = "`"
		}
		if !strings.ContainsRune(reserved, rune(c)) {
			if c < 0x80 || c >= 0xc0 {
				off += utf16Units(c)
				if c != '\r' {
					canQuote = false
				}
			}
			out = append(out, c)
			continue
		}
		isEnd := false
		if n := len(open); n > 0 {
			top := open[n-1].kind
			switch {
			case quote && c == '\n' && (i+1 == len(text) || text[i+1] != '>'):
				isEnd = true
			case top == "Bold":
				isEnd = c == '*'
			case top == "Italic":
				isEnd = c == '_' && at(i+1) != '_'
			case top == "Code":
				isEnd = c == '`'
			case top == "Pre" || top == "PreCode":
				isEnd = c == '`' && at(i+1) == '`' && at(i+2) == '`'
			case top == "TextUrl" || top == "CustomEmoji":
				isEnd = c == ']'
			case top == "Underline":
				isEnd = c == '_' && at(i+1) == '_'
			case top == "Strikethrough":
				isEnd = c == '~'
			case top == "Spoiler":
				isEnd = c == '|' && at(i+1) == '|'
			}
		}
		if !isEnd {
			kind, arg, start := "", "", i
			switch c {
			case '_':
				kind = "Italic"
				if at(i+1) == '_' {
					kind = "Underline"
					i++
				}
			case '*':
				kind = "Bold"
			case '~':
				kind = "Strikethrough"
			case '|':
				if at(i+1) != '|' {
					return "", nil, errReserved(c)
				}
				i++
				kind = "Spoiler"
			case '[':
				kind = "TextUrl"
			case '`':
				kind = "Code"
				if at(i+1) == '`' && at(i+2) == '`' {
					i += 3
					kind = "Pre"
					j := i
					for j < len(text) && !isSpace(text[j]) && text[j] != '`' {
						j++
					}
					if j != i && j < len(text) && text[j] != '`' {
						kind, arg, i = "PreCode", text[i:j], j
					}
					if at(i) == '\n' || at(i) == '\r' {
						if (at(i+1) == '\n' || at(i+1) == '\r') && at(i) != at(i+1) {
							i += 2
						} else {
							i++
						}
					}
					i--
				}
			case '!':
				if at(i+1) != '[' {
					return "", nil, errReserved(c)
				}
				i++
				kind = "CustomEmoji"
			case '\n':
				off++
				out = append(out, '\n')
				canQuote = true
				continue
			case '>':
				if !canQuote {
					return "", nil, errReserved(c)
				}
				if quote {
					continue
				}
				kind, quote = "BlockQuote", true
			default:
				return "", nil, errReserved(c)
			}
			open = append(open, v2Open{kind: kind, arg: arg, offset: off, byteOff: start, outPos: len(out)})
			continue
		}
		top := open[len(open)-1]
		if c == '\n' && top.kind != "BlockQuote" {
			return "", nil, errNoEnd(top)
		}
		skip := off == top.offset
		e := messageEntity{Type: v2Types[top.kind], Offset: top.offset, Length: off - top.offset, Language: top.arg}
		switch top.kind {
		case "Underline", "Spoiler":
			i++
		case "Pre", "PreCode":
			i += 2
		case "TextUrl", "CustomEmoji":
			link := string(out[top.outPos:])
			if at(i+1) == '(' {
				i += 2
				urlAt := i
				var b strings.Builder
				for i < len(text) && text[i] != ')' {
					if text[i] == '\\' && at(i+1) > 0 && at(i+1) <= 126 {
						b.WriteByte(text[i+1])
						i += 2
						continue
					}
					b.WriteByte(text[i])
					i++
				}
				if at(i) != ')' {
					return "", nil, entityError("Can't find end of a URL at byte offset " + strconv.Itoa(urlAt))
				}
				link = b.String()
			} else if top.kind == "CustomEmoji" {
				return "", nil, entityError("The entity must contain a tg://emoji or tg://time URL")
			}
			e.Language = ""
			if top.kind == "CustomEmoji" {
				id, ok := strings.CutPrefix(link, "tg://emoji?id=")
				if n, err := strconv.ParseInt(id, 10, 64); !ok || err != nil || n == 0 {
					return "", nil, entityError("Invalid tg://emoji or tg://time URL specified")
				}
				e.CustomEmojiID = id
			} else if le, ok := linkEntity(e.Offset, e.Length, link); ok {
				e = le
			} else {
				skip = true
			}
		case "BlockQuote":
			quote, canQuote, skip = false, true, false
			out = append(out, c)
			off++ // the quote takes its line's end
			e.Length = off - top.offset
		}
		if !skip {
			ents = append(ents, e)
		}
		open = open[:len(open)-1]
	}
	if quote && len(open) > 0 && open[len(open)-1].kind == "BlockQuote" {
		top := open[len(open)-1]
		if n := off - top.offset; n > 0 {
			ents = append(ents, messageEntity{Type: "blockquote", Offset: top.offset, Length: n})
		}
		open = open[:len(open)-1]
	}
	if len(open) > 0 {
		return "", nil, errNoEnd(open[len(open)-1])
	}
	sortEntities(ents)
	return string(out), ents, nil
}

// htmlTags are the tags Telegram's HTML accepts.
var htmlTags = []string{"a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler", "tg-emoji",
	"tg-time", "span", "pre", "code", "blockquote"}

// parseHTML parses parse_mode HTML: the tags Telegram supports, nested,
// and the character references &lt; &gt; &amp; &quot; &#N; &#xN;, with
// TDLib's errors for an unsupported, unclosed or unmatched tag.
// Telegram docs: https://core.telegram.org/bots/api#html-style
func parseHTML(text string) (string, []messageEntity, error) {
	var out []byte
	var ents []messageEntity
	var open []v2Open
	at := func(i int) byte {
		if i < len(text) {
			return text[i]
		}
		return 0
	}
	off := 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == '&' {
			if r, next := htmlEntity(text, i); r != 0 {
				out = utf8.AppendRune(out, r)
				off += utf16Len(string(r))
				i = next - 1
				continue
			}
		}
		if c != '<' {
			off += utf16Units(c)
			out = append(out, c)
			continue
		}
		begin := i
		i++
		if at(i) != '/' {
			for i < len(text) && !isSpace(text[i]) && text[i] != '>' {
				i++
			}
			if i >= len(text) {
				return "", nil, entityError("Unclosed start tag at byte offset " + strconv.Itoa(begin))
			}
			tag := strings.ToLower(text[begin+1 : i])
			if !slices.Contains(htmlTags, tag) {
				return "", nil, entityError("Unsupported start tag \"" + tag + "\" at byte offset " + strconv.Itoa(begin))
			}
			arg := ""
			for at(i) != '>' {
				for i < len(text) && isSpace(text[i]) {
					i++
				}
				if at(i) == '>' {
					break
				}
				nameAt := i
				for i < len(text) && !isSpace(text[i]) && !strings.ContainsRune("=>/\"'", rune(text[i])) {
					i++
				}
				name := text[nameAt:i]
				if name == "" {
					return "", nil, entityError("Empty attribute name in the tag \"" + tag + "\" at byte offset " + strconv.Itoa(begin))
				}
				for i < len(text) && isSpace(text[i]) {
					i++
				}
				if at(i) != '=' {
					if i >= len(text) {
						return "", nil, entityError("Unclosed start tag \"" + tag + "\" at byte offset " + strconv.Itoa(begin))
					}
					if tag == "blockquote" && name == "expandable" {
						arg = "1"
					}
					continue
				}
				i++
				for i < len(text) && isSpace(text[i]) {
					i++
				}
				if i >= len(text) {
					return "", nil, entityError("Unclosed start tag \"" + tag + "\" at byte offset " + strconv.Itoa(begin))
				}
				var value string
				if q := text[i]; q != '\'' && q != '"' {
					tokAt := i
					for i < len(text) && (isAlnum(text[i]) || text[i] == '.' || text[i] == '-') {
						i++
					}
					value = strings.ToLower(text[tokAt:i])
					if !isSpace(at(i)) && at(i) != '>' {
						return "", nil, entityError("Unexpected end of name token at byte offset " + strconv.Itoa(tokAt))
					}
				} else {
					i++
					var b []byte
					for i < len(text) && text[i] != q {
						if text[i] == '&' {
							if r, next := htmlEntity(text, i); r != 0 {
								b = utf8.AppendRune(b, r)
								i = next
								continue
							}
						}
						b = append(b, text[i])
						i++
					}
					if at(i) == q {
						i++
					}
					value = string(b)
				}
				if i >= len(text) {
					return "", nil, entityError("Unclosed start tag at byte offset " + strconv.Itoa(begin))
				}
				switch {
				case tag == "a" && name == "href", tag == "tg-emoji" && name == "emoji-id":
					arg = value
				case tag == "code" && name == "class" && strings.HasPrefix(value, "language-"):
					arg = value[len("language-"):]
				case tag == "span" && name == "class" && strings.HasPrefix(value, "tg-"):
					arg = value[len("tg-"):]
				case tag == "blockquote" && name == "expandable":
					arg = "1"
				}
			}
			if tag == "span" && arg != "spoiler" {
				return "", nil, entityError("Tag \"span\" must have class \"tg-spoiler\" at byte offset " + strconv.Itoa(begin))
			}
			open = append(open, v2Open{kind: tag, arg: arg, offset: off, byteOff: begin, outPos: len(out)})
			continue
		}
		if len(open) == 0 {
			return "", nil, entityError("Unexpected end tag at byte offset " + strconv.Itoa(begin))
		}
		for i < len(text) && !isSpace(text[i]) && text[i] != '>' {
			i++
		}
		endTag := strings.ToLower(text[begin+2 : i])
		for i < len(text) && isSpace(text[i]) {
			i++
		}
		if at(i) != '>' {
			return "", nil, entityError("Unclosed end tag at byte offset " + strconv.Itoa(begin))
		}
		top := open[len(open)-1]
		if endTag != "" && endTag != top.kind {
			return "", nil, entityError("Unmatched end tag at byte offset " + strconv.Itoa(begin) +
				", expected \"</" + top.kind + ">\", found \"</" + endTag + ">\"")
		}
		if n := off - top.offset; n > 0 {
			e := messageEntity{Offset: top.offset, Length: n}
			last := len(ents) - 1
			switch top.kind {
			case "i", "em":
				e.Type = "italic"
			case "b", "strong":
				e.Type = "bold"
			case "s", "strike", "del":
				e.Type = "strikethrough"
			case "u", "ins":
				e.Type = "underline"
			case "tg-spoiler", "span":
				e.Type = "spoiler"
			case "tg-emoji":
				if id, err := strconv.ParseInt(top.arg, 10, 64); err != nil || id == 0 {
					return "", nil, entityError("Invalid custom emoji identifier specified")
				}
				e.Type, e.CustomEmojiID = "custom_emoji", top.arg
			case "tg-time":
				e.Type = "" // formatted dates are not modelled
			case "a":
				link := top.arg
				if link == "" {
					link = string(out[top.outPos:])
				}
				le, ok := linkEntity(e.Offset, e.Length, link)
				if !ok {
					break
				}
				e = le
			case "pre":
				if last >= 0 && ents[last].Type == "code" && ents[last].Offset == e.Offset && ents[last].Length == e.Length && ents[last].Language != "" {
					ents[last].Type = "pre"
					e.Type = ""
				} else {
					e.Type = "pre"
				}
			case "code":
				if last >= 0 && ents[last].Type == "pre" && ents[last].Offset == e.Offset && ents[last].Length == e.Length && top.arg != "" {
					ents[last].Language = top.arg
					e.Type = ""
				} else {
					e.Type, e.Language = "code", top.arg
				}
			case "blockquote":
				e.Type = "blockquote"
				if top.arg != "" {
					e.Type = "expandable_blockquote"
				}
			}
			if e.Type != "" {
				ents = append(ents, e)
			}
		}
		open = open[:len(open)-1]
	}
	if len(open) > 0 {
		return "", nil, entityError("Can't find end tag corresponding to start tag \"" + open[len(open)-1].kind + "\"")
	}
	for k := range ents {
		if ents[k].Type == "code" {
			ents[k].Language = ""
		}
	}
	sortEntities(ents)
	return string(out), ents, nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// htmlEntity decodes the character reference at text[i] ('&'), as TDLib's
// decode_html_entity does; it returns 0 when there is none, else the
// character and the index after the reference.
func htmlEntity(text string, i int) (rune, int) {
	end := i + 1
	var r rune
	if end < len(text) && text[end] == '#' {
		end++
		if end < len(text) && text[end] == 'x' {
			end++
			for end < len(text) && isHex(text[end]) {
				r = r*16 + hexVal(text[end])
				end++
				if r > 0x10ffff {
					return 0, i
				}
			}
		} else {
			for end < len(text) && text[end] >= '0' && text[end] <= '9' {
				r = r*10 + rune(text[end]-'0')
				end++
				if r > 0x10ffff {
					return 0, i
				}
			}
		}
		if r == 0 || r >= 0x10ffff || end-i >= 10 {
			return 0, i
		}
	} else {
		for end < len(text) && (text[end] >= 'a' && text[end] <= 'z' || text[end] >= 'A' && text[end] <= 'Z') {
			end++
		}
		switch text[i+1 : end] {
		case "lt":
			r = '<'
		case "gt":
			r = '>'
		case "amp":
			r = '&'
		case "quot":
			r = '"'
		default:
			return 0, i
		}
	}
	if end < len(text) && text[end] == ';' {
		end++
	}
	return r, end
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func hexVal(c byte) rune {
	switch {
	case c <= '9':
		return rune(c - '0')
	case c >= 'a':
		return rune(c-'a') + 10
	}
	return rune(c-'A') + 10
}
