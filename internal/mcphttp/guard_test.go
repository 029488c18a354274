package mcphttp

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// probe sends one request to each guarded path and returns the statuses.
// The /sse stream is read only up to its headers.
func (e *env) probe(t *testing.T, hdr map[string]string) map[string]rawResponse {
	t.Helper()
	out := map[string]rawResponse{
		PathStreamable: e.post(t, hdr, initBody(mcp.ProtocolVersion20251125)),
		PathMessage:    e.do(t, context.Background(), http.MethodPost, PathMessage, hdr, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`)),
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.url+PathSSE, nil)
	require.NoError(t, err)
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	sse := rawResponse{status: res.StatusCode, header: res.Header}
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(res.Body)
		sse.body = string(body)
	}
	cancel()
	res.Body.Close()
	out[PathSSE] = sse
	return out
}

// wantStatus is what each path answers a request the guard lets through:
// /mcp initializes, /sse streams, and /message is refused by mcp-go for
// lack of a sessionId.
var wantStatus = map[string]int{PathStreamable: http.StatusOK, PathSSE: http.StatusOK, PathMessage: http.StatusBadRequest}

func TestOriginCheck(t *testing.T) {
	e := newEnv(t, Options{AllowedOrigins: []string{"https://App.Example.com/"}})
	tests := []struct {
		origin  string
		allowed bool
	}{
		{"", true},
		{"http://localhost:1234", true},
		{"https://localhost", true},
		{"http://127.0.0.1:9", true},
		{"http://[::1]:3", true},
		{"https://app.example.com", true},
		{"http://evil.example.com", false},
		{"http://localhost.evil.example.com", false},
		{"http://127.0.0.1.evil.example.com", false},
		{"null", false},
		{"file://", false},
		{"http://app.example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.origin, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.origin != "" {
				hdr["Origin"] = tt.origin
			}
			for path, res := range e.probe(t, hdr) {
				if tt.allowed {
					assert.Equal(t, wantStatus[path], res.status, "%s: %s", path, res.body)
				} else {
					assert.Equal(t, http.StatusForbidden, res.status, "%s: %s", path, res.body)
				}
			}
		})
	}
	assert.Contains(t, e.logs.String(), "reason=foreign_origin")
}

func TestHostCheck(t *testing.T) {
	e := newEnv(t, Options{})
	port := e.url[strings.LastIndex(e.url, ":")+1:]
	tests := []struct {
		name    string
		hdr     map[string]string
		allowed bool
	}{
		{"foreign host", map[string]string{"Host": "evil.example.com"}, false},
		{"foreign host and origin (conformance dns-rebinding)", map[string]string{"Host": "evil.example.com", "Origin": "http://evil.example.com"}, false},
		{"loopback host and origin (conformance dns-rebinding)", map[string]string{"Host": "127.0.0.1:" + port, "Origin": "http://127.0.0.1:" + port}, true},
		{"localhost", map[string]string{"Host": "localhost:" + port}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for path, res := range e.probe(t, tt.hdr) {
				if tt.allowed {
					assert.Equal(t, wantStatus[path], res.status, "%s: %s", path, res.body)
				} else {
					assert.Equal(t, http.StatusForbidden, res.status, "%s: %s", path, res.body)
				}
			}
		})
	}
}

func TestMCPGoHostCheckStillApplies(t *testing.T) {
	// The guard checks Host first; mcp-go's own check behind it stays on as
	// a second fence.
	e := newEnv(t, Options{})
	res := e.post(t, map[string]string{"Host": "evil.example.com"}, initBody(mcp.ProtocolVersion20251125))
	assert.Equal(t, http.StatusForbidden, res.status)
	assert.Contains(t, e.logs.String(), "reason=foreign_host")

	req := httptest.NewRequest(http.MethodPost, PathStreamable, strings.NewReader(initBody(mcp.ProtocolVersion20251125)))
	req.Header.Set("Content-Type", "application/json")
	req.Host = "evil.example.com"
	loopback := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80}
	req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, net.Addr(loopback)))
	rec := httptest.NewRecorder()
	e.h.streamable.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusForbidden, rec.Code, rec.Body.String())
}

func TestAuth(t *testing.T) {
	const token = "s3cret-token-do-not-leak"
	e := newEnv(t, Options{AuthToken: token})
	tests := []struct {
		name      string
		auth      string
		allowed   bool
		challenge string
	}{
		{"no header", "", false, `Bearer realm="vace-mcp"`},
		{"wrong token", "Bearer not-the-token", false, `Bearer realm="vace-mcp", error="invalid_token"`},
		{"token prefix", "Bearer " + token[:len(token)-1], false, `Bearer realm="vace-mcp", error="invalid_token"`},
		{"basic scheme", "Basic " + token, false, `Bearer realm="vace-mcp"`},
		{"right token", "Bearer " + token, true, ""},
		{"lower-case scheme", "bearer " + token, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.auth != "" {
				hdr["Authorization"] = tt.auth
			}
			for path, res := range e.probe(t, hdr) {
				assert.NotContains(t, res.body, token, "%s echoes the token", path)
				if tt.allowed {
					assert.Equal(t, wantStatus[path], res.status, "%s: %s", path, res.body)
					continue
				}
				assert.Equal(t, http.StatusUnauthorized, res.status, path)
				assert.Equal(t, tt.challenge, res.header.Get("WWW-Authenticate"), path)
				assert.Contains(t, res.body, "Authorization: Bearer <token>", path)
			}
		})
	}

	// A real client with the token works end to end.
	c, log := e.newClient(t, true, map[string]string{"Authorization": "Bearer " + token})
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	text, err := callSlow(ctx, c, log, "T", 3)
	require.NoError(t, err)
	assert.Equal(t, "done T", text)

	logs := e.logs.String()
	assert.Contains(t, logs, "reason=missing_token")
	assert.Contains(t, logs, "reason=wrong_token")
	assert.NotContains(t, logs, token)
	assert.NotContains(t, logs, "not-the-token")
}

func TestBodyLimit(t *testing.T) {
	e := newEnv(t, Options{MaxBodyBytes: 1024})
	id := e.openSession(t, nil)
	big := `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"pad":"` + strings.Repeat("x", 2048) + `"}}`
	tests := []struct {
		name string
		path string
		body func() io.Reader
	}{
		{"mcp with length", PathStreamable, func() io.Reader { return strings.NewReader(big) }},
		{"mcp chunked", PathStreamable, func() io.Reader { return io.MultiReader(strings.NewReader(big)) }},
		{"message chunked", PathMessage, func() io.Reader { return io.MultiReader(strings.NewReader(big)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.do(t, context.Background(), http.MethodPost, tt.path, withSession(nil, id), tt.body())
			assert.Equal(t, http.StatusRequestEntityTooLarge, res.status)
			require.Len(t, res.messages, 1, res.body)
			assert.Contains(t, res.body, "1024 bytes")
		})
	}
	// Just under the limit still works.
	res := e.post(t, withSession(nil, id), `{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"pad":"`+strings.Repeat("x", 900)+`"}}`)
	assert.Equal(t, http.StatusOK, res.status, res.body)
}

func TestOriginAllowed(t *testing.T) {
	g := newGuard(Options{AllowedOrigins: []string{"https://app.example.com"}}.withDefaults(), slog.New(slog.DiscardHandler), nil)
	tests := []struct {
		origin string
		want   bool
	}{
		{"http://localhost", true},
		{"http://LOCALHOST:80", true},
		{"https://127.0.0.1:8443", true},
		{"http://127.0.0.2", true},
		{"http://[::1]", true},
		{"https://app.example.com", true},
		{"HTTPS://APP.EXAMPLE.COM", true},
		{"https://app.example.com:444", false},
		{"ws://localhost", false},
		{"http://localhost/path", false},
		{"http://user@localhost", false},
		{"http://[::2]", false},
		{"http://0.0.0.0", false},
		{"localhost", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.origin, func(t *testing.T) {
			assert.Equal(t, tt.want, g.originAllowed(tt.origin))
		})
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		header string
		want   string
		ok     bool
	}{
		{"Bearer abc", "abc", true},
		{"BEARER  abc ", "abc", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Basic abc", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			got, ok := bearerToken(tt.header)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}
