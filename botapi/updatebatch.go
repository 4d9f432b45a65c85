package botapi

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
)

// ErrUnknownUpdate matches an [UpdateDecodeError] for an update of a kind
// this package does not know (newer than it, or not in the Update type):
// its JSON is in the error's Raw field.
var ErrUnknownUpdate = errors.New("botapi: unknown update kind")

// UpdateDecodeError is an update of a getUpdates batch that [Client.Updates]
// or [Client.GetUpdates] could not turn into an *[Update]: a field that does
// not fit its Go type (the error also matches [ErrInvalidResponse]), or a
// kind this package does not know ([ErrUnknownUpdate]). Raw is the update's
// JSON, to decode by other means, log or store; the other updates of the
// batch are delivered. Updates moves the offset past it; a caller of
// GetUpdates must too (the next offset is one past the largest update_id of
// the updates and of these errors), or it gets the same batch again.
//
// GetUpdates returns the updates that decoded and, when some did not, an
// error made by errors.Join of one *UpdateDecodeError per bad update, in
// batch order: errors.As finds the first, and the joined error's
// Unwrap() []error lists them all.
type UpdateDecodeError struct {
	// UpdateID is the update's update_id (0 if even that is unreadable).
	UpdateID int64
	// Raw is the update's JSON as Telegram sent it.
	Raw json.RawMessage
	// Err is the decoding error, or ErrUnknownUpdate.
	Err error
}

// Error returns "botapi: update <id>: <cause>". It holds neither Raw nor
// any value of the update.
func (e *UpdateDecodeError) Error() string {
	return "botapi: update " + strconv.FormatInt(e.UpdateID, 10) + ": " + e.Err.Error()
}

// Unwrap returns Err.
func (e *UpdateDecodeError) Unwrap() error { return e.Err }

// Is reports whether target is [ErrInvalidResponse] and the update did not
// decode (an unknown kind is not an invalid response).
func (e *UpdateDecodeError) Is(target error) bool {
	return target == ErrInvalidResponse && !errors.Is(e.Err, ErrUnknownUpdate)
}

// updateBatch is the result of getUpdates, of [Client.Updates] and of
// [Client.GetUpdates]: the whole batch is decoded in one pass (the fast
// path), and update by update only when that fails or finds an update of an
// unknown kind. wire then holds the updates that decoded, items every
// update or its error.
type updateBatch struct {
	wire  []updateWire
	items []batchItem
}

// batchItem is one update of a batch, or why it is not one.
type batchItem struct {
	u   *Update
	err *UpdateDecodeError
}

// UnmarshalJSON decodes the result array of getUpdates.
func (b *updateBatch) UnmarshalJSON(data []byte) error {
	b.items = b.items[:0]
	if err := json.Unmarshal(data, &b.wire); err == nil {
		ups := fillUpdatePtrs(b.wire)
		known := true
		for _, u := range ups {
			known = known && knownKind(u)
		}
		if known {
			for _, u := range ups {
				b.items = append(b.items, batchItem{u: u})
			}
			return nil
		}
	}
	var raws []json.RawMessage // copies of the updates, not views of data
	if err := json.Unmarshal(data, &raws); err != nil {
		return err // not an array: the answer itself is broken
	}
	b.wire = b.wire[:0] // from here on, the updates that decode
	for _, raw := range raws {
		var w updateWire
		if err := json.Unmarshal(raw, &w); err != nil {
			var id struct {
				UpdateID int64 `json:"update_id"`
			}
			_ = json.Unmarshal(raw, &id) // 0 when unreadable
			b.items = append(b.items, batchItem{err: &UpdateDecodeError{UpdateID: id.UpdateID, Raw: raw, Err: err}})
			continue
		}
		u := w.fill()
		if !knownKind(u) {
			b.items = append(b.items, batchItem{err: &UpdateDecodeError{UpdateID: u.UpdateID, Raw: raw, Err: ErrUnknownUpdate}})
			continue
		}
		b.items = append(b.items, batchItem{u: u})
		b.wire = append(b.wire, w)
	}
	return nil
}

// errs joins the batch's *UpdateDecodeErrors, in update order; nil when
// every update decoded.
func (b *updateBatch) errs() error {
	var errs []error
	for _, it := range b.items {
		if it.err != nil {
			errs = append(errs, it.err)
		}
	}
	return errors.Join(errs...)
}

// updateKinds are the indexes of Update's fields other than UpdateID: one
// per update kind, exactly one of which Telegram sets.
var updateKinds = func() []int {
	t := reflect.TypeFor[Update]()
	var idx []int
	for i := range t.NumField() {
		if t.Field(i).Name != "UpdateID" {
			idx = append(idx, i)
		}
	}
	return idx
}()

// knownKind reports whether u has a kind this package knows: one of its
// fields besides UpdateID is set. Read from the type, so kinds added to
// Update are known without a change here.
func knownKind(u *Update) bool {
	v := reflect.ValueOf(u).Elem()
	for _, i := range updateKinds {
		if !v.Field(i).IsZero() {
			return true
		}
	}
	return false
}

// id is the update_id of the item.
func (it batchItem) id() int64 {
	if it.err != nil {
		return it.err.UpdateID
	}
	return it.u.UpdateID
}
