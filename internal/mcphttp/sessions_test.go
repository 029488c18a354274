package mcphttp

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConcurrentCallsOnOneSessionKeepTheirProgress(t *testing.T) {
	e := newEnv(t, Options{})
	c, log := e.newClient(t, true, nil)
	require.NotEmpty(t, c.GetSessionId())

	steps := map[string]int{"A": 12, "B": 5}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	var wg sync.WaitGroup
	for token, n := range steps {
		wg.Go(func() {
			text, err := callSlow(ctx, c, log, token, n)
			assert.NoError(t, err)
			assert.Equal(t, "done "+token, text)
		})
	}
	wg.Wait()
	for token, n := range steps {
		log.check(t, token, n)
	}
}

func TestConcurrentCallsOnOneSessionRawStreams(t *testing.T) {
	e := newEnv(t, Options{})
	id := e.openSession(t, nil)

	calls := []struct {
		id    int
		token string
		steps int
	}{{1, "A", 12}, {2, "B", 4}, {3, "C", 7}}
	streams := make([]rawResponse, len(calls))
	var wg sync.WaitGroup
	for i, call := range calls {
		wg.Go(func() {
			streams[i] = e.post(t, withSession(nil, id),
				callBody(call.id, "slow", map[string]any{"steps": call.steps, "delay_ms": 3}, call.token))
		})
	}
	wg.Wait()

	for i, call := range calls {
		s := streams[i]
		require.Equal(t, http.StatusOK, s.status, s.body)
		require.NotEmpty(t, s.messages, "call %s", call.token)
		var progress int
		for j, m := range s.messages {
			if m["method"] == "notifications/progress" {
				params, _ := m["params"].(map[string]any)
				assert.Equal(t, call.token, params["progressToken"], "stream of call %s carries foreign progress", call.token)
				progress++
				continue
			}
			assert.Equal(t, len(s.messages)-1, j, "call %s: the result must be the last event", call.token)
			assert.EqualValues(t, call.id, m["id"])
			assert.Contains(t, fmt.Sprint(m["result"]), "done "+call.token)
		}
		assert.Positive(t, progress, "call %s got no progress", call.token)
		assert.LessOrEqual(t, progress, call.steps)
	}
}

func TestTwoClientsWithConcurrentCallsDoNotMix(t *testing.T) {
	e := newEnv(t, Options{})
	type user struct {
		steps map[string]int // the same tokens in both clients, different totals
	}
	users := []user{{steps: map[string]int{"A": 6, "B": 9}}, {steps: map[string]int{"A": 10, "B": 4}}}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()

	var wg sync.WaitGroup
	logs := make([]*progressLog, len(users))
	ids := make([]string, len(users))
	for i, u := range users {
		c, log := e.newClient(t, true, nil)
		logs[i], ids[i] = log, c.GetSessionId()
		res, err := callTool(ctx, c, "whoami", nil)
		require.NoError(t, err)
		assert.Equal(t, c.GetSessionId(), resultText(res), "handlers must see the layer's session id")
		for token, n := range u.steps {
			wg.Go(func() {
				_, err := callSlow(ctx, c, log, token, n)
				assert.NoError(t, err)
			})
		}
	}
	wg.Wait()
	assert.NotEqual(t, ids[0], ids[1])
	assert.Equal(t, 2, e.h.Sessions())
	for i, u := range users {
		for token, n := range u.steps {
			logs[i].check(t, token, n)
		}
	}
}

func TestModernClientNeedsNoSession(t *testing.T) {
	e := newEnv(t, Options{})
	c, log := e.newClient(t, false, nil)
	assert.Empty(t, c.GetSessionId())
	assert.Zero(t, e.h.Sessions())

	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	text, err := callSlow(ctx, c, log, "M", 4)
	require.NoError(t, err)
	assert.Equal(t, "done M", text)
	log.check(t, "M", 4)
}

func TestSessionStatusCodes(t *testing.T) {
	e := newEnv(t, Options{})
	list := `{"jsonrpc":"2.0","id":5,"method":"tools/list"}`
	live := e.openSession(t, nil)
	deleted := e.openSession(t, nil)
	require.Equal(t, http.StatusNoContent, e.do(t, context.Background(), http.MethodDelete, PathStreamable, withSession(nil, deleted), nil).status)

	tests := []struct {
		name   string
		method string
		path   string
		hdr    map[string]string
		body   string
		want   int
	}{
		{"post with live session", http.MethodPost, PathStreamable, withSession(nil, live), list, http.StatusOK},
		{"post without session", http.MethodPost, PathStreamable, map[string]string{mcp.HeaderProtocolVersion: mcp.ProtocolVersion20251125}, list, http.StatusBadRequest},
		{"post with unknown session", http.MethodPost, PathStreamable, withSession(nil, "no-such-session"), list, http.StatusNotFound},
		{"post after delete", http.MethodPost, PathStreamable, withSession(nil, deleted), list, http.StatusNotFound},
		{"delete again", http.MethodDelete, PathStreamable, withSession(nil, deleted), "", http.StatusNotFound},
		{"delete unknown", http.MethodDelete, PathStreamable, withSession(nil, "no-such-session"), "", http.StatusNotFound},
		{"delete without session", http.MethodDelete, PathStreamable, nil, "", http.StatusBadRequest},
		{"delete with unsupported protocol version", http.MethodDelete, PathStreamable,
			map[string]string{server.HeaderKeySessionID: live, mcp.HeaderProtocolVersion: "1999-01-01"}, "", http.StatusBadRequest},
		{"get", http.MethodGet, PathStreamable, withSession(nil, live), "", http.StatusMethodNotAllowed},
		{"get without session", http.MethodGet, PathStreamable, nil, "", http.StatusMethodNotAllowed},
		{"put", http.MethodPut, PathStreamable, withSession(nil, live), list, http.StatusMethodNotAllowed},
		{"unknown path", http.MethodPost, "/mcp/extra", nil, list, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			res := e.do(t, context.Background(), tt.method, tt.path, tt.hdr, body)
			assert.Equal(t, tt.want, res.status, res.body)
			if tt.want == http.StatusMethodNotAllowed {
				assert.Equal(t, "POST, DELETE", res.header.Get("Allow"))
			}
			if tt.want >= 400 {
				require.Len(t, res.messages, 1, "error bodies are JSON-RPC: %s", res.body)
				assert.Contains(t, res.messages[0], "error")
			}
		})
	}
	assert.Equal(t, 1, e.h.Sessions())
	logs := e.logs.String()
	assert.Contains(t, logs, "mcp session started")
	assert.Contains(t, logs, "reason=deleted")
	assert.Contains(t, logs, "reason=unknown_session")
	assert.NotContains(t, logs, live, "full session ids stay out of the log")
}

func TestIdleSessionExpires(t *testing.T) {
	e := newEnv(t, Options{SessionIdleTimeout: 40 * time.Millisecond})
	id := e.openSession(t, nil)

	// The sweeper ends it without any request looking it up (the session
	// leaves the table before its end is logged, so wait for both).
	require.Eventually(t, func() bool {
		return e.h.Sessions() == 0 && strings.Contains(e.logs.String(), "mcp session expired")
	}, waitLimit, 5*time.Millisecond)

	res := e.post(t, withSession(nil, id), `{"jsonrpc":"2.0","id":1,"method":"ping"}`)
	assert.Equal(t, http.StatusNotFound, res.status, res.body)
}

func TestBusySessionDoesNotExpire(t *testing.T) {
	e := newEnv(t, Options{SessionIdleTimeout: 20 * time.Millisecond})
	id := e.openSession(t, nil)
	e.postInBackground(t, context.Background(), withSession(nil, id), callBody(1, "block", map[string]any{"label": "busy"}, nil))
	receive(t, e.tools.blocked, "the blocking call to start")

	assert.Never(t, func() bool { return e.h.Sessions() == 0 }, 200*time.Millisecond, 10*time.Millisecond,
		"a session with a request in flight is not idle")
	require.Equal(t, http.StatusNoContent, e.do(t, context.Background(), http.MethodDelete, PathStreamable, withSession(nil, id), nil).status)
	receive(t, e.tools.unblocked, "the blocking call to be cancelled")
}

func TestSessionLimitEvictsTheLongestIdleAndNeverABusySession(t *testing.T) {
	e := newEnv(t, Options{MaxSessions: 2, SessionIdleTimeout: time.Hour})
	ping := func(id string) int {
		return e.post(t, withSession(nil, id), `{"jsonrpc":"2.0","id":9,"method":"ping"}`).status
	}
	idle := e.openSession(t, nil)
	busy := e.openSession(t, nil)
	e.postInBackground(t, context.Background(), withSession(nil, busy), callBody(1, "block", map[string]any{"label": "busy"}, nil))
	receive(t, e.tools.blocked, "the first blocking call to start")

	newcomer := e.openSession(t, nil)
	assert.Equal(t, http.StatusNotFound, ping(idle), "the idle session made room")
	assert.Contains(t, e.logs.String(), "mcp session evicted")
	assert.Contains(t, e.logs.String(), "reason=evicted")
	assert.Equal(t, 2, e.h.Sessions())

	e.postInBackground(t, context.Background(), withSession(nil, newcomer), callBody(1, "block", map[string]any{"label": "newcomer"}, nil))
	receive(t, e.tools.blocked, "the second blocking call to start")
	res := e.post(t, nil, initBody(mcp.ProtocolVersion20251125))
	require.Equal(t, http.StatusServiceUnavailable, res.status, "no session is idle")
	require.Len(t, res.messages, 1)
	msg := fmt.Sprint(res.messages[0]["error"])
	assert.Contains(t, msg, "2 live sessions")
	assert.Contains(t, msg, "request in flight")
	assert.Empty(t, res.header.Get(server.HeaderKeySessionID))

	require.Equal(t, http.StatusNoContent, e.do(t, context.Background(), http.MethodDelete, PathStreamable, withSession(nil, busy), nil).status)
	e.openSession(t, nil)
	assert.Equal(t, 2, e.h.Sessions())
}

func TestFailedInitializeGetsNoSession(t *testing.T) {
	e := newEnv(t, Options{})
	res := e.post(t, nil, `{"jsonrpc":"2.0","id":0,"method":"initialize","params":"not an object"}`)
	require.Len(t, res.messages, 1, res.body)
	assert.Contains(t, res.messages[0], "error", "mcp-go answers a JSON-RPC error with HTTP 200")
	assert.Empty(t, res.header.Get(server.HeaderKeySessionID), res.body)
	assert.Zero(t, e.h.Sessions())
}

func TestEndingASessionCancelsItsRequests(t *testing.T) {
	tests := []struct {
		name string
		end  func(t *testing.T, e *env, id string, disconnect context.CancelFunc)
		// The blocked POST's answer: a still-connected client learns why
		// its request was cancelled (0: the client is gone, no answer).
		wantStatus int
		wantReason string
	}{
		{"delete", func(t *testing.T, e *env, id string, _ context.CancelFunc) {
			res := e.do(t, context.Background(), http.MethodDelete, PathStreamable, withSession(nil, id), nil)
			assert.Equal(t, http.StatusNoContent, res.status)
		}, http.StatusNotFound, "the client deleted it"},
		{"client disconnect", func(_ *testing.T, _ *env, _ string, disconnect context.CancelFunc) {
			disconnect()
		}, 0, ""},
		{"handler close", func(_ *testing.T, e *env, _ string, _ context.CancelFunc) {
			e.h.Close()
		}, http.StatusServiceUnavailable, "shutting down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			id := e.openSession(t, nil)
			ctx, disconnect := context.WithCancel(context.Background())
			defer disconnect()
			done := e.postInBackground(t, ctx, withSession(nil, id), callBody(1, "block", map[string]any{"label": tt.name}, nil))
			assert.Equal(t, tt.name, receive(t, e.tools.blocked, "the blocking call to start"))
			tt.end(t, e, id, disconnect)
			assert.Equal(t, tt.name, receive(t, e.tools.unblocked, "the blocking call to be cancelled"))
			select {
			case res, ok := <-done:
				if tt.wantStatus == 0 {
					assert.False(t, ok, "a disconnected client gets no answer")
					return
				}
				require.True(t, ok, "the blocked POST failed")
				assert.Equal(t, tt.wantStatus, res.status, res.body)
				assert.Contains(t, res.body, tt.wantReason)
				require.Len(t, res.messages, 1, res.body)
				assert.Equal(t, float64(1), res.messages[0]["id"], "the error answers the request")
			case <-time.After(waitLimit):
				t.Fatal("the blocked POST never returned")
			}
		})
	}
}

func TestNotificationsCancelledIsScopedToTheSession(t *testing.T) {
	e := newEnv(t, Options{})
	a, b := e.openSession(t, nil), e.openSession(t, nil)
	for _, id := range []string{a, b} {
		e.postInBackground(t, context.Background(), withSession(nil, id), callBody(7, "block", map[string]any{"label": id}, nil))
		receive(t, e.tools.blocked, "a blocking call to start")
	}
	// Both calls have request id 7; cancelling in session b must not touch a.
	res := e.post(t, withSession(nil, b), `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7}}`)
	require.Equal(t, http.StatusAccepted, res.status, res.body)
	assert.Equal(t, b, receive(t, e.tools.unblocked, "the call in session b to be cancelled"))
	select {
	case label := <-e.tools.unblocked:
		t.Fatalf("call %q was cancelled by another session's notification", label)
	default:
	}
}

func TestSessionIDs(t *testing.T) {
	e := newEnv(t, Options{})
	seen := map[string]bool{}
	for range 20 {
		id := e.openSession(t, nil)
		require.False(t, seen[id], "ids repeat")
		seen[id] = true
		assert.Len(t, id, 26, "130 random bits")
		assert.Equal(t, strings.ToUpper(id), id, "base32: visible ASCII, URL-safe")
	}
}

func TestSessionIDsStartWithTheInstanceSoAProxyCanRouteThem(t *testing.T) {
	e := newEnv(t, Options{InstanceID: "vace1"})
	id := e.openSession(t, nil)
	require.True(t, strings.HasPrefix(id, "vace1-"), id)
	assert.Len(t, strings.TrimPrefix(id, "vace1-"), 26, "130 random bits after the prefix")
	res := e.post(t, withSession(nil, id), `{"jsonrpc":"2.0","id":2,"method":"ping"}`)
	assert.Equal(t, http.StatusOK, res.status, "the prefixed id is the session's id: %s", res.body)

	s := e.openRawSSE(t)
	sse := strings.TrimPrefix(s.endpoint, PathMessage+"?sessionId=")
	assert.True(t, strings.HasPrefix(sse, "vace1-"), "SSE sessions too: %s", s.endpoint)
	assert.Len(t, strings.TrimPrefix(sse, "vace1-"), 26)
	s.post(t, e, initBody(mcp.ProtocolVersion20251125))
}

func TestShortIDAndSweepInterval(t *testing.T) {
	assert.Equal(t, "ABCDEFGH…", shortID("ABCDEFGHIJKLMNOP"))
	assert.Equal(t, "ABC", shortID("ABC"))
	assert.Equal(t, "vace1-ABCDEFGH…", shortID("vace1-ABCDEFGHIJKLMNOP"), "the instance and a little of the secret part")
	assert.Equal(t, time.Minute, sweepInterval(30*time.Minute))
	assert.Equal(t, 25*time.Millisecond, sweepInterval(50*time.Millisecond))
	assert.Equal(t, 10*time.Millisecond, sweepInterval(time.Millisecond))
}

func TestSessionlessCancellationsCannotReachOtherClients(t *testing.T) {
	e := newEnv(t, Options{})
	c, _ := e.newClient(t, false, nil) // 2026-07-28: no session
	called := make(chan error, 1)
	go func() {
		req := mcp.CallToolRequest{}
		req.Params.Name = "block"
		req.Params.Arguments = map[string]any{"label": "modern"}
		_, err := c.CallTool(context.Background(), req)
		called <- err
	}()
	receive(t, e.tools.blocked, "the modern call to start")

	// Another party, also without a session, sends cancellations for every
	// id the call could have.
	for id := range 10 {
		res := e.post(t, map[string]string{mcp.HeaderProtocolVersion: mcp.ProtocolVersion20260728},
			fmt.Sprintf(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":%d,"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`, id))
		assert.Equal(t, http.StatusAccepted, res.status, res.body)
	}
	select {
	case label := <-e.tools.unblocked:
		t.Fatalf("call %q was cancelled by someone else's notification", label)
	case <-time.After(200 * time.Millisecond):
	}
	e.h.Close() // ends the call
	<-called
}
