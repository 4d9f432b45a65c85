package ratelimit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"sync"
)

// keyShard is one lock and a hash table of live keys, laid out as two
// slices so that a key costs about 30 bytes with no pointer and no
// allocation of its own:
//
//   - recs holds one record per key: its TAT (int64 ns since the Keyed's
//     epoch), the key's length in one byte and the key's bytes, padded to
//     4 bytes. A key longer than maxKeyLen is stored as its SHA-256 digest
//     (length byte digestLen).
//   - index is an open-addressing table (linear probing, at most 3/4
//     full) of uint32 entries: 0 is empty, otherwise 8 bits of the key's
//     hash (tag) above the record's offset in 4-byte words, plus one.
//
// A lookup hashes the key once: the hash picks the shard and the home
// entry, the tag skips the records of other keys without reading them,
// and a tag match is confirmed by comparing the whole key, so two keys
// never share a bucket.
//
// A key whose TAT is not after now is dead: it behaves exactly like an
// absent key, and stays in place (a later event for the key reuses it)
// until a rebuild drops it. Rebuilds happen when an insert finds no room
// (the index 3/4 full or recs at capacity) and in the background sweep
// (see [Keyed]); they copy the live records into tables sized for 5/4 of
// them, so that growth is amortized and memory tracks the live keys.
//
// The zero value is an empty shard.
type keyShard struct {
	mu    sync.Mutex
	index []uint32 // len is 0 or a power of two
	recs  []byte
	used  int        // occupied index entries, live or dead
	ver   *keyParams // the limit the TATs are kept in (see Keyed.lock)
	_     [8]byte
}

const (
	// maxKeyLen is the longest key stored as it is.
	maxKeyLen = 254
	// digestLen in a record's length byte marks a SHA-256 digest.
	digestLen = 255
	// recHeader is a record's TAT and length byte.
	recHeader = 9
	// maxRecWords bounds recs at 2^24-1 words (64 MiB per shard, about
	// two million keys per shard, half a billion per Keyed).
	maxRecWords = 1<<24 - 1
)

// tagOf is the 8 bits of h a key's index entry keeps. The top 8 bits pick
// the shard and the low bits the home entry, so the tag is taken between.
func tagOf(h uint64) uint32 { return uint32(h>>48) & 0xff }

// recSize is the size of the record of a stored key of n bytes, padded
// to 4.
func recSize(n int) int { return (recHeader + n + 3) &^ 3 }

// A skey is a key as a shard stores it: the key itself, or for a key
// longer than maxKeyLen its SHA-256 digest (dig set), and the hash of
// that. The bytes are in s, or in b for a key the middleware holds in its
// buffer (converting that to a string would copy it to the heap).
type skey struct {
	h   uint64
	s   string
	b   []byte // when not nil, the key's bytes instead of s
	dig bool
}

// len is the length of the stored key.
func (k *skey) len() int {
	if k.b != nil {
		return len(k.b)
	}
	return len(k.s)
}

// is reports whether stored, a record's key bytes, are k's.
func (k *skey) is(stored []byte) bool {
	if k.b != nil {
		return bytes.Equal(stored, k.b)
	}
	return string(stored) == k.s
}

// keyIs reports whether the record at off holds k.
func (s *keyShard) keyIs(off int, k *skey) bool {
	n := int(s.recs[off+8])
	if n == digestLen {
		return k.dig && k.is(s.recs[off+recHeader:off+recHeader+sha256.Size])
	}
	return !k.dig && n == k.len() && k.is(s.recs[off+recHeader:off+recHeader+n])
}

// tatAt returns the TAT of the record at off.
func (s *keyShard) tatAt(off int) int64 { return int64(binary.LittleEndian.Uint64(s.recs[off:])) }

// setTAT stores the TAT of the record at off.
func (s *keyShard) setTAT(off int, tat int64) {
	binary.LittleEndian.PutUint64(s.recs[off:], uint64(tat))
}

// find returns the offset of key's record, or -1 with the index of the
// empty entry where it would go. Callers hold mu; the index must not be
// empty.
func (s *keyShard) find(k *skey) (off, slot int) {
	mask := len(s.index) - 1
	tag := tagOf(k.h)
	for i := int(k.h) & mask; ; i = (i + 1) & mask {
		e := s.index[i]
		if e == 0 {
			return -1, i
		}
		if e>>24 == tag {
			if off := int(e&0xffffff-1) * 4; s.keyIs(off, k) {
				return off, i
			}
		}
	}
}

// lookup returns the offset of key's record, or -1. Callers hold mu.
func (s *keyShard) lookup(k *skey) int {
	if len(s.index) == 0 {
		return -1
	}
	off, _ := s.find(k)
	return off
}

// get returns key's TAT, or minTAT when absent. Callers hold mu.
func (s *keyShard) get(k *skey) int64 {
	if off := s.lookup(k); off >= 0 {
		return s.tatAt(off)
	}
	return minTAT
}

// insert adds the absent key with tat, making room first when the index
// or the records are full, and reports whether it could (false only past
// maxRecWords). seed is the Keyed's, to rehash the keys a rebuild moves.
// Callers hold mu.
func (s *keyShard) insert(seed maphash.Seed, k *skey, tat, now int64) bool {
	size := recSize(k.len())
	if (s.used+1)*4 > len(s.index)*3 || len(s.recs)+size > cap(s.recs) {
		if !s.rebuild(seed, now, 1, size) {
			return false
		}
	}
	_, slot := s.find(k)
	off := len(s.recs)
	s.recs = s.recs[:off+size]
	s.setTAT(off, tat)
	r := s.recs[off+8:]
	r[0] = byte(k.len())
	if k.dig {
		r[0] = digestLen
	}
	if k.b != nil {
		copy(r[1:], k.b)
	} else {
		copy(r[1:], k.s)
	}
	s.index[slot] = tagOf(k.h)<<24 | uint32(off/4+1)
	s.used++
	return true
}

// live counts the live keys and their records' bytes. Callers hold mu.
func (s *keyShard) live(now int64) (n, bytes int) {
	for off := 0; off < len(s.recs); {
		size := s.recSizeAt(off)
		if s.tatAt(off) > now {
			n++
			bytes += size
		}
		off += size
	}
	return n, bytes
}

// recSizeAt is the size of the record at off.
func (s *keyShard) recSizeAt(off int) int {
	n := int(s.recs[off+8])
	if n == digestLen {
		n = sha256.Size
	}
	return recSize(n)
}

// rebuild copies the live records into fresh tables with room for their
// number plus a quarter and extraKeys more keys and extraBytes more bytes,
// dropping the dead ones. It reports false, changing nothing, when the
// records would pass maxRecWords. Callers hold mu.
func (s *keyShard) rebuild(seed maphash.Seed, now int64, extraKeys, extraBytes int) bool {
	n, bytes := s.live(now)
	want := n + n/4 + extraKeys
	wantBytes := bytes + bytes/4 + extraBytes
	if (bytes+extraBytes)/4 > maxRecWords {
		return false
	}
	wantBytes = min(wantBytes, maxRecWords*4)
	if want == 0 || n == 0 && extraKeys == 0 {
		s.index, s.recs, s.used = nil, nil, 0
		return true
	}
	size := 8
	for size*3 < want*4 {
		size *= 2
	}
	old := s.recs
	s.index = make([]uint32, size)
	s.recs = make([]byte, 0, wantBytes)
	s.used = 0
	mask := size - 1
	for off := 0; off < len(old); {
		n := int(old[off+8])
		if n == digestLen {
			n = sha256.Size
		}
		rs := recSize(n)
		if int64(binary.LittleEndian.Uint64(old[off:])) > now {
			h := maphash.Bytes(seed, old[off+recHeader:off+recHeader+n])
			i := int(h) & mask
			for s.index[i] != 0 {
				i = (i + 1) & mask
			}
			no := len(s.recs)
			s.recs = append(s.recs, old[off:off+rs]...)
			s.index[i] = tagOf(h)<<24 | uint32(no/4+1)
			s.used++
		}
		off += rs
	}
	return true
}

// sweep drops the dead keys when they take a quarter of the table or
// more, or when the tables are more than four times what the live keys
// need. Callers hold mu.
func (s *keyShard) sweep(seed maphash.Seed, now int64) {
	if s.used == 0 {
		return
	}
	n, bytes := s.live(now)
	if (s.used-n)*4 >= s.used || n*8 < len(s.index) || bytes*4 < cap(s.recs) {
		s.rebuild(seed, now, 0, 0)
	}
}

// rescale brings the live keys' TATs from the limit from to to, which
// replaced it at to.at: a key's debt at that time (its TAT minus to.at,
// so many of from's intervals) becomes as many of to's, rounded up (see
// keyParams.scale for limits of 0 and Inf). Callers hold mu.
func (s *keyShard) rescale(from, to *keyParams) {
	if from == nil || from.scale == 0 || to.scale == 0 || from.scale == to.scale {
		return
	}
	c := to.at
	for off := 0; off < len(s.recs); off += s.recSizeAt(off) {
		if tat := s.tatAt(off); tat > c {
			s.setTAT(off, satAdd(c, scaleDebt(tat-c, to.scale, from.scale)))
		}
	}
}

// scaleDebt returns ceil(d * num / den) for positive arguments, at most
// maxSpan.
func scaleDebt(d, num, den int64) int64 {
	hi, lo := bits.Mul64(uint64(d), uint64(num))
	if hi >= uint64(den) {
		return maxSpan
	}
	q, r := bits.Div64(hi, lo, uint64(den))
	if r > 0 {
		q++
	}
	return int64(min(q, maxSpan))
}
