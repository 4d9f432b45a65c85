package botapi

import (
	"context"
	"errors"
	"io"
	"net/http"
)

// NOTE(contract stub): this file fixes the names that the generated code and
// the other packages rely on. The botapi client issue replaces its bodies.

// Client is a Telegram Bot API client. It is safe for concurrent use.
type Client struct {
	token   string
	baseURL string
	hc      *http.Client
}

// Option configures a Client.
type Option func(*options)

type options struct{}

// New returns a client for the bot with the given token.
func New(token string, opts ...Option) *Client {
	return &Client{token: token, baseURL: "https://api.telegram.org", hc: http.DefaultClient}
}

// Call calls any Bot API method by name: params is nil or a value that
// encodes to the method's parameters, result a pointer to decode the result into.
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	return c.do(ctx, method, params, result)
}

// do performs one call. Generated methods call it as
//
//	var r *Message
//	err := c.do(ctx, "sendMessage", p, &r)
//
// where p is a *XxxParams (or nil for a method without parameters).
func (c *Client) do(ctx context.Context, method string, params, result any) error {
	return errors.New("botapi: not implemented yet")
}

// ChatID identifies a chat: a numeric id, or the @username of a channel or supergroup.
type ChatID struct {
	ID       int64
	Username string
}

// InputFile is a file to send: a file_id, an HTTP URL, or an upload.
// Generated fields use InputFile by value with the `omitzero` JSON option when optional.
type InputFile struct {
	FileID string
	URL    string
	Name   string
	Reader io.Reader
}

// IsZero reports whether f names no file.
func (f InputFile) IsZero() bool { return f.FileID == "" && f.URL == "" && f.Reader == nil }

// ReplyMarkup is one of InlineKeyboardMarkup, ReplyKeyboardMarkup,
// ReplyKeyboardRemove or ForceReply (the runtime adds the marker methods).
type ReplyMarkup interface{ replyMarkup() }
