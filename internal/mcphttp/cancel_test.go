package mcphttp

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// modernList is a 2026-07-28 tools/list (no session) with the given raw id.
func modernList(id string) string {
	return `{"jsonrpc":"2.0","id":` + id + `,"method":"tools/list","params":{"_meta":{` +
		`"io.modelcontextprotocol/protocolVersion":"2026-07-28",` +
		`"io.modelcontextprotocol/clientCapabilities":{},` +
		`"io.modelcontextprotocol/clientInfo":{"name":"raw-test","version":"1"}}}}`
}

// rawID returns the id of a JSON-RPC message exactly as written.
func rawID(t *testing.T, msg string) string {
	t.Helper()
	var m struct{ ID json.RawMessage }
	require.NoError(t, json.Unmarshal([]byte(msg), &m), msg)
	return string(m.ID)
}

func TestIdsComeBackExactlyOnEveryTransport(t *testing.T) {
	e := newEnv(t, Options{})
	session := withSession(nil, e.openSession(t, nil))
	modern := map[string]string{mcp.HeaderProtocolVersion: mcp.ProtocolVersion20260728, mcp.HeaderMethod: "tools/list"}
	sse := e.openRawSSE(t)
	sse.post(t, e, initBody(mcp.ProtocolVersion20251125))
	<-sse.events

	for _, id := range []string{"9007199254740993", "-9007199254740993", "18446744073709551616", "1.5", `"9007199254740993"`, `"\u0034"`} {
		res := e.post(t, session, `{"jsonrpc":"2.0","id":`+id+`,"method":"ping"}`)
		require.Equal(t, http.StatusOK, res.status, res.body)
		assert.Equal(t, id, rawID(t, res.body), "streamable HTTP")

		res = e.post(t, modern, modernList(id))
		require.Equal(t, http.StatusOK, res.status, res.body)
		assert.Equal(t, id, rawID(t, res.body), "streamable HTTP, 2026-07-28")

		sse.post(t, e, `{"jsonrpc":"2.0","id":`+id+`,"method":"ping"}`)
		select {
		case data := <-sse.events:
			assert.Equal(t, id, rawID(t, data), "SSE")
		case <-time.After(waitLimit):
			require.FailNow(t, "no answer on the SSE stream")
		}
	}

	res := e.post(t, nil, strings.Replace(initBody(mcp.ProtocolVersion20251125), `"id":0`, `"id":9007199254740993`, 1))
	require.Equal(t, http.StatusOK, res.status, res.body)
	assert.Equal(t, "9007199254740993", rawID(t, res.body), "initialize")
}

func TestIdsThatAreNotStringsOrNumbersAreRefusedOnEveryTransport(t *testing.T) {
	e := newEnv(t, Options{})
	session := withSession(nil, e.openSession(t, nil))
	modern := map[string]string{mcp.HeaderProtocolVersion: mcp.ProtocolVersion20260728, mcp.HeaderMethod: "tools/list"}
	sse := e.openRawSSE(t)
	for _, id := range []string{`{"a":1}`, "[1]", "true", "null"} {
		for name, res := range map[string]rawResponse{
			"streamable": e.post(t, session, `{"jsonrpc":"2.0","id":`+id+`,"method":"ping"}`),
			"modern":     e.post(t, modern, modernList(id)),
			"sse":        e.do(t, t.Context(), http.MethodPost, sse.endpoint, nil, strings.NewReader(`{"jsonrpc":"2.0","id":`+id+`,"method":"ping"}`)),
		} {
			assert.Equal(t, http.StatusBadRequest, res.status, "%s %s", name, id)
			require.Len(t, res.messages, 1, "%s %s: %s", name, id, res.body)
			assert.Nil(t, res.messages[0]["id"], "%s %s", name, id)
			assert.Equal(t, float64(mcp.INVALID_REQUEST), res.messages[0]["error"].(map[string]any)["code"], "%s %s", name, id)
		}
	}
	select {
	case data := <-sse.events:
		t.Fatalf("a refused message was answered on the stream too: %s", data)
	default:
	}
}

func TestARequestCancelledBeforeItArrivesNeverRuns(t *testing.T) {
	e := newEnv(t, Options{})
	a, b := withSession(nil, e.openSession(t, nil)), withSession(nil, e.openSession(t, nil))

	res := e.post(t, a, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5}}`)
	require.Equal(t, http.StatusAccepted, res.status, res.body)
	res = e.post(t, a, callBody(5, "slow", map[string]any{"steps": 1}, nil))
	require.Equal(t, http.StatusOK, res.status, res.body)
	require.Len(t, res.messages, 1, res.body)
	assert.Equal(t, float64(5), res.messages[0]["id"])
	errObj := res.messages[0]["error"].(map[string]any)
	assert.Equal(t, float64(mcp.REQUEST_INTERRUPTED), errObj["code"])
	assert.Contains(t, errObj["message"], "nothing was sent")
	select {
	case <-e.tools.slowStarted:
		t.Fatal("the cancelled call ran")
	default:
	}

	// The cancel belongs to session a, and to the number 5 only.
	for _, call := range []struct {
		hdr  map[string]string
		body string
	}{
		{b, callBody(5, "whoami", nil, nil)},
		{a, `{"jsonrpc":"2.0","id":"5","method":"tools/call","params":{"name":"whoami"}}`},
		{a, callBody(6, "whoami", nil, nil)},
	} {
		res = e.post(t, call.hdr, call.body)
		require.Equal(t, http.StatusOK, res.status, res.body)
		require.Len(t, res.messages, 1, res.body)
		assert.NotNil(t, res.messages[0]["result"], res.body)
	}
}

func TestOverSSEARequestCancelledBeforeItArrivesIsAnsweredOnTheStream(t *testing.T) {
	e := newEnv(t, Options{})
	sse := e.openRawSSE(t)
	sse.post(t, e, initBody(mcp.ProtocolVersion20251125))
	<-sse.events
	sse.post(t, e, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"5"}}`)
	sse.post(t, e, `{"jsonrpc":"2.0","id":"5","method":"tools/call","params":{"name":"slow","arguments":{"steps":1}}}`)
	select {
	case data := <-sse.events:
		assert.Equal(t, `"5"`, rawID(t, data))
		assert.Contains(t, data, "nothing was sent")
	case <-time.After(waitLimit):
		require.FailNow(t, "no answer on the SSE stream")
	}
	select {
	case <-e.tools.slowStarted:
		t.Fatal("the cancelled call ran")
	default:
	}
}
