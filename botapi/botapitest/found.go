package botapitest

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Telegram finds entities in the text a bot sends, as TDLib's find_entities
// (td/telegram/MessageEntity.cpp) does for a bot: mentions, bot commands,
// hashtags, cashtags, urls and e-mail addresses. The fake finds the same
// six kinds with TDLib's rules, with one shortcut: a url without a scheme
// is found only for the common top-level domains in commonTLDs (TDLib knows
// every delegated one). TDLib also finds bank card numbers, which the Bot
// API server leaves out of every entity list it sends
// (Client::JsonVectorEntities), and media timestamps, which it skips for
// bots; it does not look for phone numbers at all ("TODO
// find_phone_numbers"), so a bot never gets a phone_number it did not set.
// The fake finds none of these three.

// foundSpan is an entity found in text, in byte offsets.
type foundSpan struct {
	typ        string
	start, end int
}

// findEntities returns the entities Telegram finds in text, sorted, not
// intersecting one another, with UTF-16 offsets.
func findEntities(text string) []messageEntity {
	if text == "" {
		return nil
	}
	var spans []foundSpan
	spans = append(spans, findMentions(text)...)
	spans = append(spans, findBotCommands(text)...)
	spans = append(spans, findHashtags(text)...)
	spans = append(spans, findCashtags(text)...)
	spans = append(spans, findURLs(text)...)
	if len(spans) == 0 {
		return nil
	}
	// TDLib's fix_entity_offsets: sort (start, longer first), then keep an
	// entity only if it starts after the last one kept ends.
	slices.SortStableFunc(spans, func(a, b foundSpan) int {
		if a.start != b.start {
			return cmp.Compare(a.start, b.start)
		}
		return cmp.Compare(b.end, a.end)
	})
	ents := make([]messageEntity, 0, len(spans))
	lastEnd, pos, units := 0, 0, 0
	for _, s := range spans {
		if s.start < lastEnd {
			continue
		}
		lastEnd = s.end
		units += utf16Len(text[pos:s.start])
		length := utf16Len(text[s.start:s.end])
		ents = append(ents, messageEntity{Type: s.typ, Offset: units, Length: length})
		units += length
		pos = s.end
	}
	return ents
}

// withFound adds the entities found in text to ents (those of parse_mode or
// of the *_entities parameter), as TDLib's merge_new_entities does: a found
// entity that intersects a continuous entity (code, pre, a link, a mention
// by id, custom emoji) or crosses a blockquote's edge is dropped; bold,
// italic, underline, strikethrough and spoiler do not stop one.
func withFound(text string, ents []messageEntity) []messageEntity {
	found := findEntities(text)
	if len(found) == 0 {
		return ents
	}
	out := slices.Clone(ents)
	for _, f := range found {
		fEnd := f.Offset + f.Length
		keep := true
		for _, e := range ents {
			eEnd := e.Offset + e.Length
			switch e.Type {
			case "bold", "italic", "underline", "strikethrough", "spoiler":
			case "blockquote", "expandable_blockquote":
				inside := f.Offset >= e.Offset && fEnd <= eEnd
				apart := fEnd <= e.Offset || f.Offset >= eEnd
				keep = keep && (inside || apart)
			default:
				keep = keep && (fEnd <= e.Offset || f.Offset >= eEnd)
			}
		}
		if keep {
			out = append(out, f)
		}
	}
	sortEntities(out)
	return out
}

// isWordChar is TDLib's is_word_character: a letter, a number or '_'.
func isWordChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_'
}

func isAlnumUnderscore(c byte) bool { return isAlnum(c) || c == '_' }

// runeBefore is the character before text[i] (0 at the start).
func runeBefore(text string, i int) rune {
	if i == 0 {
		return 0
	}
	r, _ := utf8.DecodeLastRuneInString(text[:i])
	return r
}

// runeAt is the character at text[i] (0 at the end).
func runeAt(text string, i int) rune {
	if i >= len(text) {
		return 0
	}
	r, _ := utf8.DecodeRuneInString(text[i:])
	return r
}

// shortUsernames are the usernames under 4 characters a mention may name
// (TDLib's get_valid_short_usernames).
var shortUsernames = map[string]bool{"gif": true, "nft": true, "pic": true, "ufc": true, "vid": true}

// findMentions finds @username: 2 to 32 of [A-Za-z0-9_] (under 4 only the
// short usernames Telegram has), not inside a word.
func findMentions(text string) []foundSpan {
	var out []foundSpan
	for i := 0; i < len(text); i++ {
		if text[i] != '@' || isWordChar(runeBefore(text, i)) {
			continue
		}
		j := i + 1
		for j < len(text) && isAlnumUnderscore(text[j]) {
			j++
		}
		n := j - i - 1
		if n < 2 || n > 32 || isWordChar(runeAt(text, j)) {
			continue
		}
		if n < 4 && !shortUsernames[strings.ToLower(text[i+1:j])] {
			continue
		}
		out = append(out, foundSpan{"mention", i, j})
		i = j - 1
	}
	return out
}

// findBotCommands finds /command (1 to 64 of [A-Za-z0-9_]) with an
// optional @botname (3 to 32), not inside a word, a path or a tag.
func findBotCommands(text string) []foundSpan {
	var out []foundSpan
	for i := 0; i < len(text); i++ {
		if text[i] != '/' {
			continue
		}
		if p := runeBefore(text, i); isWordChar(p) || p == '/' || p == '<' || p == '>' {
			continue
		}
		j := i + 1
		for j < len(text) && isAlnumUnderscore(text[j]) {
			j++
		}
		if n := j - i - 1; n < 1 || n > 64 {
			continue
		}
		if j < len(text) && text[j] == '@' {
			k := j + 1
			for k < len(text) && isAlnumUnderscore(text[k]) {
				k++
			}
			if n := k - j - 1; n < 3 || n > 32 {
				continue
			}
			j = k
		}
		if r := runeAt(text, j); isWordChar(r) || r == '/' || r == '<' || r == '>' {
			continue
		}
		out = append(out, foundSpan{"bot_command", i, j})
		i = j - 1
	}
	return out
}

// isHashtagLetter is TDLib's is_hashtag_letter.
func isHashtagLetter(r rune) bool {
	return r == '_' || r == 0x200c || r == 0xb7 || (0xd80 <= r && r <= 0xdff) || unicode.IsLetter(r) || unicode.Is(unicode.Nd, r)
}

// findHashtags finds #tag: up to 256 hashtag letters (the entity stops at
// 256, the scan does not), at least one a letter, an optional @botname, and
// no '#' right after.
func findHashtags(text string) []foundSpan {
	var out []foundSpan
	for i := 0; i < len(text); i++ {
		if text[i] != '#' || i > 0 && isHashtagLetter(runeBefore(text, i)) {
			continue
		}
		j, n, end, letter := i+1, 0, -1, false
		for j < len(text) {
			r, size := utf8.DecodeRuneInString(text[j:])
			if !isHashtagLetter(r) {
				break
			}
			j += size
			if n == 255 {
				end = j
			}
			if n != 256 {
				letter = letter || unicode.IsLetter(r)
				n++
			}
		}
		if end < 0 {
			end = j
		}
		if n < 1 {
			continue
		}
		if end == j && j < len(text) && text[j] == '@' {
			k := j + 1
			for k < len(text) && k-j < 33 && isAlnumUnderscore(text[k]) {
				k++
			}
			if k-j-1 >= 3 {
				j, end = k, k
			}
		}
		if j < len(text) && text[j] == '#' || !letter {
			i = j - 1
			continue
		}
		out = append(out, foundSpan{"hashtag", i, end})
		i = j - 1
	}
	return out
}

// maxCashtagLetters is the longest ticker a cashtag takes.
const maxCashtagLetters = 8

// findCashtags finds $TICKER as TDLib's match_cashtags does: a '$' not
// after a hashtag letter or another '$', then 1 to 8 of [A-Z] (or the
// ticker 1INCH), an optional @botname (3 to 32 of [A-Za-z0-9_]), and no
// hashtag letter or '$' right after.
func findCashtags(text string) []foundSpan {
	var out []foundSpan
	for i := 0; i < len(text); {
		d := strings.IndexByte(text[i:], '$')
		if d < 0 {
			break
		}
		start := i + d
		i = start + 1
		if p := runeBefore(text, start); start > 0 && (isHashtagLetter(p) || p == '$') {
			continue
		}
		if strings.HasPrefix(text[i:], "1INCH") {
			i += len("1INCH")
		} else {
			for i < len(text) && 'A' <= text[i] && text[i] <= 'Z' {
				i++
			}
		}
		if n := i - start - 1; n < 1 || n > maxCashtagLetters {
			continue
		}
		if i < len(text) && text[i] == '@' {
			k := i + 1
			for k < len(text) && isAlnumUnderscore(text[k]) {
				k++
			}
			if n := k - i - 1; n >= 3 && n <= 32 {
				i = k
			}
		}
		if i < len(text) {
			if r := runeAt(text, i); isHashtagLetter(r) || r == '$' {
				continue
			}
		}
		out = append(out, foundSpan{"cashtag", start, i})
	}
	return out
}

// isSeparator is a character of Unicode's separator categories, or a
// control character: what ends a url.
func isSeparator(r rune) bool {
	return unicode.In(r, unicode.Z, unicode.Cc)
}

// isURLUnicodeSymbol is TDLib's is_url_unicode_symbol.
func isURLUnicodeSymbol(r rune) bool {
	if 0x2000 <= r && r <= 0x206f {
		return r == 0x200c || r == 0x200d || (0x2010 <= r && r <= 0x2015)
	}
	return !isSeparator(r)
}

func isURLPathSymbol(r rune) bool {
	switch r {
	case '\n', '<', '>', '"', 0xab, 0xbb:
		return false
	}
	return isURLUnicodeSymbol(r)
}

func isUserDataSymbol(r rune) bool {
	switch r {
	case '\n', '/', '[', ']', '{', '}', '(', ')', '\'', '`', '<', '>', '"', '@', 0xab, 0xbb:
		return false
	}
	return isURLUnicodeSymbol(r)
}

func isDomainSymbol(r rune) bool {
	if r < 0xc0 {
		return r == '.' || r == '-' || r == '~' || r < utf8.RuneSelf && isAlnumUnderscore(byte(r))
	}
	return isURLUnicodeSymbol(r)
}

func isProtocolSymbol(r rune) bool {
	if r < utf8.RuneSelf {
		return isAlnum(byte(r)) || r == '+' || r == '-'
	}
	return !isSeparator(r)
}

// matchURLs is TDLib's match_urls: around each '.', the longest run that
// may be a domain, with its user data, port, path and scheme.
func matchURLs(text string) [][2]int {
	var out [][2]int
	begin, end := 0, len(text)
	for {
		d := strings.IndexByte(text[begin:], '.')
		if d < 0 || begin+d+1 == end {
			break
		}
		dot := begin + d
		if text[dot+1] == ' ' {
			begin = dot + 2
			continue
		}
		db := dot
		for db > begin {
			r, size := utf8.DecodeLastRuneInString(text[begin:db])
			if !isDomainSymbol(r) {
				break
			}
			db -= size
		}
		lastAt, de := -1, dot
		for de < end {
			r, size := utf8.DecodeRuneInString(text[de:])
			if r == '@' {
				lastAt = de
			} else if !isDomainSymbol(r) {
				break
			}
			de += size
		}
		if lastAt >= 0 {
			for db > begin {
				r, size := utf8.DecodeLastRuneInString(text[begin:db])
				if !isUserDataSymbol(r) {
					break
				}
				db -= size
			}
		}
		ue := de
		if ue < end && text[ue] == ':' {
			pe := ue + 1
			for pe < end && text[pe] >= '0' && text[pe] <= '9' {
				pe++
			}
			pb := ue + 1
			for pb < pe && text[pb] == '0' {
				pb++
			}
			if pb < pe && pe-pb <= 5 {
				if port, _ := strconv.Atoi(text[pb:pe]); port <= 65535 {
					ue = pe
				}
			}
		}
		if ue < end && (text[ue] == '/' || text[ue] == '?' || text[ue] == '#') {
			pe := ue + 1
			for pe < end {
				r, size := utf8.DecodeRuneInString(text[pe:])
				if !isURLPathSymbol(r) {
					break
				}
				pe += size
			}
			for pe > ue+1 && strings.IndexByte(".:;,('?!`", text[pe-1]) >= 0 {
				pe--
			}
			if text[ue] == '/' || pe > ue+1 {
				ue = pe
			}
		}
		for ue > dot+1 && text[ue-1] == '.' {
			ue--
		}
		bad, ub := false, db
		if ub > begin && text[ub-1] == '@' {
			if lastAt >= 0 {
				bad = true
			}
			udb := ub - 1
			for udb > begin {
				r, size := utf8.DecodeLastRuneInString(text[begin:udb])
				if !isUserDataSymbol(r) {
					break
				}
				udb -= size
			}
			if udb == ub-1 {
				bad = true
			}
			ub = udb
		}
		if ub > begin {
			prefix := text[begin:ub]
			if len(prefix) >= 6 && strings.HasSuffix(prefix, "://") {
				pb := ub - 3
				for pb > begin {
					r, size := utf8.DecodeLastRuneInString(text[begin:pb])
					if !isProtocolSymbol(r) {
						break
					}
					pb -= size
				}
				switch proto := strings.ToLower(text[pb : ub-3]); {
				case strings.HasSuffix(proto, "http") && proto != "shttp":
					ub -= 7
				case strings.HasSuffix(proto, "https"):
					ub -= 8
				case strings.HasSuffix(proto, "ftp") && proto != "tftp" && proto != "sftp":
					ub -= 6
				case strings.HasSuffix(proto, "tonsite"):
					ub -= 10
				default:
					bad = true
				}
			} else if r, _ := utf8.DecodeLastRuneInString(prefix); isWordChar(r) || r == '/' || r == '#' || r == '@' {
				bad = true
			}
		}
		if !bad {
			if ue > dot+1 {
				out = append(out, [2]int{ub, ue})
			}
			for ue < end && text[ue] == '.' {
				ue++
			}
		} else {
			for text[ue-1] != '.' {
				ue--
			}
		}
		if ue <= dot {
			ue = dot + 1
		}
		begin = ue
	}
	return out
}

// findURLs finds urls and e-mail addresses (TDLib's find_urls).
func findURLs(text string) []foundSpan {
	var out []foundSpan
	for _, m := range matchURLs(text) {
		s := text[m[0]:m[1]]
		switch {
		case isEmailAddress(s):
			out = append(out, foundSpan{"email", m[0], m[1]})
		case strings.HasPrefix(s, "mailto:") && isEmailAddress(s[7:]):
			out = append(out, foundSpan{"email", m[0] + 7, m[1]})
		default:
			if n := fixURL(s); n > 0 {
				out = append(out, foundSpan{"url", m[0], m[0] + n})
			}
		}
	}
	return out
}

// fixURL is TDLib's fix_url: the length of the url s starts with (its path
// cut at an unbalanced bracket or a trailing punctuation mark), or 0 when
// its domain cannot be one.
func fixURL(s string) int {
	full := len(s)
	hasProto := false
	low := strings.ToLower(s[:min(10, len(s))])
	for _, p := range []string{"http://", "https://", "ftp://", "tonsite://"} {
		if strings.HasPrefix(low, p) {
			s, hasProto = s[len(p):], true
			break
		}
	}
	domainEnd := len(s)
	for _, c := range "/?#" {
		if i := strings.IndexRune(s, c); i >= 0 && i < domainEnd {
			domainEnd = i
		}
	}
	domain, path := s[:domainEnd], s[domainEnd:]
	if at := strings.IndexByte(domain, '@'); at >= 0 {
		domain = domain[at+1:]
	}
	if c := strings.LastIndexByte(domain, ':'); c >= 0 {
		domain = domain[:c]
	}
	if strings.EqualFold(domain, "teiegram.org") {
		return 0
	}
	var balance [3]int
	pathPos := 0
	for ; pathPos < len(path); pathPos++ {
		switch path[pathPos] {
		case '(':
			balance[0]++
		case '[':
			balance[1]++
		case '{':
			balance[2]++
		case ')':
			balance[0]--
		case ']':
			balance[1]--
		case '}':
			balance[2]--
		}
		if balance[0] < 0 || balance[1] < 0 || balance[2] < 0 {
			break
		}
	}
	for pathPos > 0 && strings.IndexByte(".:;,('?!`", path[pathPos-1]) >= 0 {
		pathPos--
	}
	full -= len(path) - pathPos

	prev, parts := 0, 0
	nonDigit, ipv4 := false, true
	for i := 0; i <= len(domain); i++ {
		if i < len(domain) && domain[i] != '.' {
			if domain[i] < '0' || domain[i] > '9' {
				ipv4, nonDigit = false, true
			}
			continue
		}
		size := i - prev
		if size == 0 || size >= 64 || domain[i-1] == '-' {
			return 0
		}
		if ipv4 {
			p := domain[prev:i]
			if size > 3 || size == 3 && (p[0] >= '3' || p[0] == '2' && (p[1] >= '6' || p[1] == '5' && p[2] >= '6')) || p[0] == '0' && size >= 2 {
				ipv4 = false
			}
		}
		parts++
		if i != len(domain) {
			prev = i + 1
		}
	}
	if parts == 1 {
		return 0
	}
	if ipv4 && parts == 4 {
		return full
	}
	if !nonDigit {
		return 0
	}
	tld := domain[prev:]
	if utf8.RuneCountInString(tld) <= 1 {
		return 0
	}
	if rest, ok := strings.CutPrefix(tld, "xn--"); ok {
		if len(rest) <= 1 {
			return 0
		}
		for i := range len(rest) {
			if !isAlnum(rest[i]) {
				return 0
			}
		}
	} else {
		if strings.ContainsAny(tld, "_-") {
			return 0
		}
		if !hasProto && !commonTLDs[strings.ToLower(tld)] {
			return 0
		}
	}
	// The label before the top-level domain has no '_'.
	for i := prev - 2; i >= 0 && domain[i] != '.'; i-- {
		if domain[i] == '_' {
			return 0
		}
	}
	return full
}

// commonTLDs are the top-level domains for which the fake finds a url
// without a scheme (Telegram knows every delegated one).
var commonTLDs = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range strings.Fields(`com org net io me dev app ai co info biz xyz online site store shop tech
		ru de uk fr it es nl pl br in jp cn kr tr ua by kz us ca au ch at be se no fi dk cz pt gr il ir id vn
		eu edu gov mil int tv cc ly gg to gl sh so fm am la ws bot gift рф`) {
		m[t] = true
	}
	return m
}()

// isEmailAddress is TDLib's is_email_address: user data of up to 11 parts
// joined by '.' or '+', '@', then 2 to 7 domain labels ending in a
// top-level domain of 2 to 8 ASCII letters.
func isEmailAddress(s string) bool {
	user, domain, ok := strings.Cut(s, "@")
	if !ok || domain == "" {
		return false
	}
	prev, parts := 0, 0
	for i := 0; i < len(user); i++ {
		c := user[i]
		if c == '.' || c == '+' {
			if i-prev >= 27 {
				return false
			}
			parts++
			prev = i + 1
		} else if !isAlnumUnderscore(c) && c != '-' {
			return false
		}
	}
	parts++
	if parts >= 12 {
		return false
	}
	if last := len(user) - prev; last == 0 || last >= 36 {
		return false
	}
	labels := strings.Split(domain, ".")
	if len(labels) <= 1 || len(labels) > 7 {
		return false
	}
	tld := labels[len(labels)-1]
	if len(tld) <= 1 || len(tld) >= 9 {
		return false
	}
	for i := range len(tld) {
		if c := tld[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	for _, l := range labels[:len(labels)-1] {
		if l == "" || len(l) >= 31 || !isAlnum(l[0]) || !isAlnum(l[len(l)-1]) {
			return false
		}
		for i := range len(l) {
			if !isAlnumUnderscore(l[i]) && l[i] != '-' {
				return false
			}
		}
	}
	return true
}
