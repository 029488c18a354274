package mcphttp

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
)

func TestOptionsDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Options
		want Options
	}{
		{"zero", Options{}, Options{MaxBodyBytes: DefaultMaxBodyBytes, ReadBodyTimeout: DefaultReadBodyTimeout, MaxSessions: DefaultMaxSessions,
			SessionIdleTimeout: DefaultSessionIdleTimeout, sseKeepAlive: defaultSSEKeepAlive}},
		{"negative", Options{MaxBodyBytes: -1, ReadBodyTimeout: -1, MaxSessions: -1, SessionIdleTimeout: -time.Second},
			Options{MaxBodyBytes: DefaultMaxBodyBytes, ReadBodyTimeout: DefaultReadBodyTimeout, MaxSessions: DefaultMaxSessions,
				SessionIdleTimeout: DefaultSessionIdleTimeout, sseKeepAlive: defaultSSEKeepAlive}},
		{"set", Options{MaxBodyBytes: 10, ReadBodyTimeout: time.Second, MaxSessions: 2, SessionIdleTimeout: time.Second, sseKeepAlive: time.Millisecond},
			Options{MaxBodyBytes: 10, ReadBodyTimeout: time.Second, MaxSessions: 2, SessionIdleTimeout: time.Second, sseKeepAlive: time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in.withDefaults()
			assert.Equal(t, slog.Default(), got.Logger)
			got.Logger = nil
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestUnknownPathsAreNotFound(t *testing.T) {
	e := newEnv(t, Options{AuthToken: "t"})
	for _, path := range []string{"/", "/mcp/", "/messages", "/sse/x", "/.well-known/oauth-protected-resource"} {
		t.Run(path, func(t *testing.T) {
			res := e.do(t, context.Background(), http.MethodGet, path, nil, nil)
			assert.Equal(t, http.StatusNotFound, res.status)
			assert.Contains(t, res.body, PathStreamable)
		})
	}
}

func TestCloseEndsSessionsAndRefusesNewOnes(t *testing.T) {
	e := newEnv(t, Options{})
	id := e.openSession(t, nil)
	e.h.Close()
	e.h.Close() // idempotent

	assert.Zero(t, e.h.Sessions())
	res := e.post(t, withSession(nil, id), `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
	assert.Equal(t, http.StatusNotFound, res.status)
	res = e.post(t, nil, initBody(mcp.ProtocolVersion20251125))
	assert.Equal(t, http.StatusServiceUnavailable, res.status)
	res = e.do(t, context.Background(), http.MethodGet, PathSSE, nil, nil)
	assert.Equal(t, http.StatusServiceUnavailable, res.status)
	assert.Contains(t, e.logs.String(), "reason=closed")
}
