package mcphttp

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSSEData(t *testing.T) {
	tests := []struct {
		name   string
		stream string
		want   []string
	}{
		{"one event", "event: message\ndata: {\"id\":1}\n\n", []string{`{"id":1}`}},
		{"no space, crlf", "event: endpoint\r\ndata:/message?sessionId=x\r\n\r\n", []string{"/message?sessionId=x"}},
		{"multi-line data", "data: a\ndata: b\n\ndata: c\n\n", []string{"a\nb", "c"}},
		{"unterminated last event", "data: a\n\ndata: b", []string{"a", "b"}},
		{"comments and ids only", ": ping\nid: 3\n\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, d := range sseData([]byte(tt.stream)) {
				got = append(got, string(d))
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestInitSucceeded(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		want        bool
	}{
		{"json result", "application/json", `{"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-11-25"}}`, true},
		{"json error", "application/json", `{"jsonrpc":"2.0","id":0,"error":{"code":-32602,"message":"bad"}}`, false},
		{"sse result after a notification", "text/event-stream",
			"event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{}}\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{}}\n\n", true},
		{"sse error", "text/event-stream", "data: {\"jsonrpc\":\"2.0\",\"id\":0,\"error\":{\"code\":1}}\n\n", false},
		{"plain text", "text/plain", "Forbidden", false},
		{"empty", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, initSucceeded(tt.contentType, []byte(tt.body)))
		})
	}
}

func TestHeldResponse(t *testing.T) {
	rec := httptest.NewRecorder()
	held := newHeldResponse(rec)
	var w http.ResponseWriter = held
	_, ok := w.(http.Flusher)
	assert.True(t, ok, "mcp-go streams only to a Flusher")
	assert.Equal(t, rec, http.ResponseWriter(held.Unwrap()))

	held.Header().Set("Content-Type", "application/json")
	_, err := held.Write([]byte(`{"ok":true}`))
	require.NoError(t, err)
	held.Flush()
	assert.Empty(t, rec.Body.String(), "nothing reaches the client before send")

	held.Header().Set("Mcp-Session-Id", "id")
	held.send()
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "id", rec.Header().Get("Mcp-Session-Id"))
	assert.JSONEq(t, `{"ok":true}`, rec.Body.String())
}
