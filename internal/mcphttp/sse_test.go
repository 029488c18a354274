package mcphttp

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newSSEClient starts and initializes an mcp-go SSE client.
func (e *env) newSSEClient(t *testing.T, pinned bool, hdr map[string]string) (*client.Client, *progressLog) {
	t.Helper()
	tr, err := transport.NewSSE(e.url+PathSSE, transport.WithHeaders(hdr), transport.WithSSELogger(quietLog))
	require.NoError(t, err)
	return connectClient(t, tr, pinned)
}

func TestSSEClientThroughTheGuard(t *testing.T) {
	const token = "sse-token"
	auth := map[string]string{"Authorization": "Bearer " + token}
	for _, pinned := range []bool{true, false} {
		name := "2026-07-28"
		if pinned {
			name = "2025-11-25"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, Options{AuthToken: token})
			c, log := e.newSSEClient(t, pinned, auth)
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			defer cancel()

			tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
			require.NoError(t, err)
			assert.Len(t, tools.Tools, 3)

			steps := map[string]int{"S1": 8, "S2": 3}
			var wg sync.WaitGroup
			for tok, n := range steps {
				wg.Go(func() {
					text, err := callSlow(ctx, c, log, tok, n)
					assert.NoError(t, err)
					assert.Equal(t, "done "+tok, text)
				})
			}
			wg.Wait()
			for tok, n := range steps {
				log.check(t, tok, n)
			}
		})
	}
}

func TestSSERefusesForeignOriginAndMissingToken(t *testing.T) {
	e := newEnv(t, Options{AuthToken: "t"})
	tests := []struct {
		name string
		hdr  map[string]string
	}{
		{"foreign origin", map[string]string{"Authorization": "Bearer t", "Origin": "http://evil.example.com"}},
		{"no token", map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := transport.NewSSE(e.url+PathSSE, transport.WithHeaders(tt.hdr))
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			defer cancel()
			assert.Error(t, tr.Start(ctx))
			_ = tr.Close()
		})
	}
}

// rawSSE is a GET /sse stream read by a goroutine.
type rawSSE struct {
	endpoint string
	events   chan string   // data of message events
	comments chan string   // comment lines, while there is room
	closed   chan struct{} // closed when the stream ends
}

func (e *env) openRawSSE(t *testing.T) *rawSSE {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.url+PathSSE, nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	s := &rawSSE{events: make(chan string, 64), comments: make(chan string, 8), closed: make(chan struct{})}
	endpoint := make(chan string, 1)
	go func() {
		defer close(s.closed)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		event := ""
		for sc.Scan() {
			line := strings.TrimSuffix(sc.Text(), "\r")
			switch {
			case strings.HasPrefix(line, ":"):
				select {
				case s.comments <- line:
				default:
				}
			case strings.HasPrefix(line, "event:"):
				event = strings.TrimSpace(line[len("event:"):])
			case strings.HasPrefix(line, "data:"):
				data := strings.TrimSpace(line[len("data:"):])
				if event == "endpoint" {
					endpoint <- data
				} else {
					s.events <- data
				}
			}
		}
	}()
	select {
	case s.endpoint = <-endpoint:
	case <-time.After(waitLimit):
		require.FailNow(t, "no endpoint event")
	}
	return s
}

func (s *rawSSE) post(t *testing.T, e *env, body string) {
	t.Helper()
	res := e.do(t, context.Background(), http.MethodPost, s.endpoint, nil, strings.NewReader(body))
	require.Equal(t, http.StatusAccepted, res.status, res.body)
}

func (s *rawSSE) waitClosed(t *testing.T) {
	t.Helper()
	select {
	case <-s.closed:
	case <-time.After(waitLimit):
		require.FailNow(t, "the SSE stream did not end")
	}
}

func TestSSEEndpointIsUsableBehindTheMux(t *testing.T) {
	e := newEnv(t, Options{})
	s := e.openRawSSE(t)
	assert.True(t, strings.HasPrefix(s.endpoint, PathMessage+"?sessionId="), s.endpoint)
	assert.Len(t, strings.TrimPrefix(s.endpoint, PathMessage+"?sessionId="), 26, "crypto-random id from the layer")

	s.post(t, e, initBody(mcp.ProtocolVersion20251125))
	select {
	case data := <-s.events:
		assert.Contains(t, data, `"protocolVersion":"2025-11-25"`)
	case <-time.After(waitLimit):
		require.FailNow(t, "no initialize answer on the stream")
	}
}

func TestSSEStreamEndCancelsPendingCalls(t *testing.T) {
	tests := []struct {
		name string
		end  func(e *env, c *client.Client)
	}{
		{"client closes the stream", func(_ *env, c *client.Client) { _ = c.Close() }},
		{"handler close", func(e *env, _ *client.Client) { e.h.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			c, _ := e.newSSEClient(t, true, nil)
			callCtx, abandon := context.WithTimeout(context.Background(), waitLimit)
			defer abandon()
			callDone := make(chan struct{})
			go func() {
				defer close(callDone)
				_, _ = callTool(callCtx, c, "block", map[string]any{"label": tt.name})
			}()
			assert.Equal(t, tt.name, receive(t, e.tools.blocked, "the blocking call to start"))
			tt.end(e, c)
			assert.Equal(t, tt.name, receive(t, e.tools.unblocked, "the blocking call to be cancelled"))
			// The mcp-go SSE client does not fail pending calls when the
			// server ends the stream; it waits for its context.
			abandon()
			select {
			case <-callDone:
			case <-time.After(waitLimit):
				t.Fatal("CallTool never returned")
			}
			assert.Eventually(t, func() bool { return strings.Contains(e.logs.String(), "cancelled_requests=1") },
				waitLimit, time.Millisecond, "the stream's end is logged with what it cancelled")
		})
	}
}

func TestSSEDrainEndsIdleStreamsAndLetsBusyOnesAnswer(t *testing.T) {
	e := newEnv(t, Options{})
	idle := e.openRawSSE(t)
	busy := e.openRawSSE(t)
	busy.post(t, e, initBody(mcp.ProtocolVersion20251125))
	<-busy.events
	busy.post(t, e, callBody(9, "slow", map[string]any{"steps": 10, "delay_ms": 10}, "D"))

	e.h.drainSSE()
	idle.waitClosed(t)

	for answered := false; !answered; {
		select {
		case data := <-busy.events:
			if strings.Contains(data, `"id":9`) {
				assert.Contains(t, data, "done D", "the busy stream delivers its answer before it ends")
				answered = true
			}
		case <-time.After(waitLimit):
			require.FailNow(t, "no answer on the busy stream")
		}
	}
	busy.waitClosed(t)

	res := e.do(t, context.Background(), http.MethodGet, PathSSE, nil, nil)
	assert.Equal(t, http.StatusServiceUnavailable, res.status, "no new streams while draining")
}

func TestSSEKeepAliveIsACommentNotAPing(t *testing.T) {
	e := newEnv(t, Options{sseKeepAlive: 5 * time.Millisecond})
	s := e.openRawSSE(t)
	select {
	case c := <-s.comments:
		assert.Equal(t, ": keep-alive", c)
	case <-time.After(waitLimit):
		require.FailNow(t, "no keep-alive on a quiet stream")
	}

	// mcp-go's JSON-RPC pings would be taken by its own SSE client for the
	// response of a pending call with the same id; comments cannot be.
	c, log := e.newSSEClient(t, true, nil)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	for i, tok := range []string{"K1", "K2", "K3"} {
		var req mcp.CallToolRequest
		req.Params.Name = "slow"
		req.Params.Arguments = map[string]any{"steps": 4, "delay_ms": 15}
		req.Params.Meta = &mcp.Meta{ProgressToken: tok}
		res, err := c.CallTool(ctx, req)
		log.returned(tok)
		require.NoError(t, err, "call %d", i)
		assert.Equal(t, "done "+tok, resultText(res))
		log.check(t, tok, 4)
	}
	select {
	case data := <-s.events:
		t.Fatalf("a quiet stream got an event: %s", data)
	default:
	}
}
