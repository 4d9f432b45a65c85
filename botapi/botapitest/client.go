package botapitest

import "github.com/miniappkit/miniappkit/botapi"

// Client returns a *botapi.Client for the server's bot, already pointed at
// it: botapi.WithBaseURL(srv.URL()) and botapi.WithHTTPClient(srv.HTTPClient())
// come first, so opts (a retry policy, a limiter, a logger) add to them or
// override them.
func (s *Server) Client(opts ...botapi.Option) *botapi.Client {
	all := make([]botapi.Option, 0, 2+len(opts))
	all = append(all, botapi.WithBaseURL(s.URL()), botapi.WithHTTPClient(s.HTTPClient()))
	return botapi.New(s.opts.token, append(all, opts...)...)
}
