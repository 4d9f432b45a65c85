package initdata

import (
	"strings"
	"sync"
	"time"
)

// scratch holds the reusable buffers of one validation. Validators and the
// package functions keep them in sync.Pools, so a call allocates only for
// what it returns.
type scratch struct {
	buf  []byte // the data-check-string
	tmp  []byte // a decoded value
	sum  [32]byte
	mac  macHash         // nil outside a Validator's pool
	out  strings.Builder // the strings of one result; reset after each
	opts options         // of one ValidateThirdParty call
}

func newScratch() *scratch {
	return &scratch{buf: make([]byte, 0, 1024), tmp: make([]byte, 0, 1024)}
}

// release drops the references to the caller's input before pooling.
func (sc *scratch) release() {
	sc.opts = options{}
}

var scratchPool = sync.Pool{New: func() any { return newScratch() }}

// Parse returns the typed content of raw init data (the query string from
// Telegram.WebApp.initData) without checking hash, signature or age: use it
// only on data that was validated already, or for display and tests. Use
// [Validate] or [Validator] for anything a client sends.
//
// Parse rejects what is not a raw query string with [ErrMalformed] (see its
// doc; the input is at most [MaxLength] bytes), an auth_date that is not a
// positive integer with [ErrAuthDateInvalid]. Missing fields stay zero.
//
// Telegram docs: https://core.telegram.org/bots/webapps#webappinitdata
func Parse(initData string) (InitData, error) {
	sc := scratchPool.Get().(*scratch)
	defer func() { sc.release(); scratchPool.Put(sc) }()
	var stack [stackPairs]pair
	p, err := scan(initData, stack[:0])
	if err != nil {
		return InitData{}, err
	}
	if sc.buf, err = decodeValues(sc.buf[:0], p, false); err != nil {
		return InitData{}, err
	}
	if h := find(p, keyHash); h >= 0 { // not in the data-check-string, checked here
		if _, p[h].escaped, err = decode(sc.tmp[:0], p[h].raw); err != nil {
			return InitData{}, err
		}
	}
	return build(p, sc)
}

// build makes the typed result from sorted pairs after decodeValues. All
// decoded strings share one allocation; values that need no decoding are
// substrings of the input.
func build(p []pair, sc *scratch) (InitData, error) {
	var d InitData
	n := 0 // bytes of the string fields that need decoding
	for _, kv := range p {
		switch kv.key {
		case keyUser, keyReceiver, keyChat, keyAuthDate, keyCanSendAfter:
			// JSON objects and numbers: not kept as strings.
		default:
			if kv.escaped {
				n += len(kv.raw)
			}
		}
	}
	b := &sc.out
	b.Reset()
	defer b.Reset() // the strings stay valid; the pool does not keep them alive
	b.Grow(n)
	// raw returns the decoded bytes of kv: in sc.buf, or else decoded into sc.tmp.
	raw := func(kv pair) ([]byte, bool) {
		if kv.decoded {
			return sc.buf[kv.off:kv.end], true
		}
		var err error
		sc.tmp, _, err = decode(sc.tmp[:0], kv.raw)
		return sc.tmp, err == nil
	}
	value := func(kv pair) string {
		if !kv.escaped {
			return kv.raw
		}
		v, _ := raw(kv)
		start := b.Len()
		b.Write(v)
		return b.String()[start:]
	}
	for _, kv := range p {
		key := kv.key
		switch key {
		case keyQueryID:
			d.QueryID = value(kv)
		case keyUser, keyReceiver:
			js, _ := raw(kv)
			u, ok := parseUser(js)
			if !ok {
				if key == keyUser {
					return InitData{}, errUserJSON
				}
				return InitData{}, errReceiverJSON
			}
			if key == keyUser {
				d.User = u
			} else {
				d.Receiver = u
			}
		case keyChat:
			js, _ := raw(kv)
			c, ok := parseChat(js)
			if !ok {
				return InitData{}, errChatJSON
			}
			d.Chat = c
		case keyChatType:
			d.ChatType = value(kv)
		case keyChatInstance:
			d.ChatInstance = value(kv)
		case keyStartParam:
			d.StartParam = value(kv)
		case keyCanSendAfter:
			s, ok := parseUnsigned(kv.raw)
			if !ok || s > int64(1<<63-1)/int64(time.Second) {
				return InitData{}, errCanSendAfter
			}
			d.CanSendAfter = time.Duration(s) * time.Second
		case keyAuthDate:
			t, ok := parseUnsigned(kv.raw)
			if !ok || t == 0 {
				return InitData{}, errAuthDateFmt
			}
			d.AuthDate = time.Unix(t, 0)
		case keyHash:
			d.Hash = value(kv)
		case keySignature:
			d.Signature = value(kv)
		default:
			if d.Extra == nil {
				d.Extra = make(map[string]string)
			}
			d.Extra[key] = value(kv)
		}
	}
	return d, nil
}

// parseUnsigned parses a raw value as a non-negative decimal integer.
func parseUnsigned(v string) (int64, bool) {
	if len(v) == 0 || v[0] == '-' {
		return 0, false
	}
	return parseInt(v)
}
