// Package clientid carries, in a request's context, which client a request
// comes from when the protocol gives it no session: requests of the
// stateless 2026-07-28 revision stand alone, yet limits meant per client
// (concurrent wait_task calls) must still apply to them. The HTTP transport
// names the client; the tools read the name.
package clientid

import "context"

type key struct{}

// With returns ctx naming the client id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// From returns the client ctx names, or "" when no transport named one.
func From(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}
