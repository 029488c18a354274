package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// answerLimit bounds every wait for an answer in these tests. Reaching it is
// a failure; it is far below the 30 s default body timeout, so an answer
// within it was not the body timeout's doing.
const answerLimit = 10 * time.Second

// dialRaw opens a TCP connection to the server and writes head (a request
// line and headers, or more) on it.
func dialRaw(t *testing.T, h *httpServer, head string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.URL, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = conn.Write([]byte(head))
	require.NoError(t, err)
	return conn
}

// answerThenClose reads one response on conn and then expects the server to
// close the connection, all within answerLimit.
func answerThenClose(t *testing.T, conn net.Conn) (*http.Response, string) {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(answerLimit)))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err, "the server answers on the headers alone")
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	_, err = br.ReadByte()
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server keeps the connection open after its answer: %v", err)
	assert.True(t, errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET), "the server closes the connection: %v", err)
	return resp, string(body)
}

func TestRejectsOnHeadersAreAnsweredAtOnceAndCloseTheConnection(t *testing.T) {
	const token = "tok-7c1d0e9b"
	h := startHTTP(t, "http", fakeEnv(newFake(t)), "--auth-token", token, "--max-body-bytes", "1000")
	auth := "Authorization: Bearer " + token + "\r\n"
	tests := []struct {
		name   string
		head   string
		status int
	}{
		{"no token", "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n", http.StatusUnauthorized},
		{"wrong token", "POST /message?sessionId=x HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer nope\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n", http.StatusUnauthorized},
		{"foreign origin", "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://evil.example\r\n" + auth + "Content-Type: application/json\r\nContent-Length: 500\r\n\r\n", http.StatusForbidden},
		{"foreign host", "POST /mcp HTTP/1.1\r\nHost: evil.example\r\n" + auth + "Content-Type: application/json\r\nContent-Length: 500\r\n\r\n", http.StatusForbidden},
		{"text/plain", "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + "Content-Type: text/plain\r\nContent-Length: 500\r\n\r\n", http.StatusUnsupportedMediaType},
		{"too long", "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n", http.StatusRequestEntityTooLarge},
		{"chunked, no token", "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", http.StatusUnauthorized},
		{"unknown path", "POST /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + "Content-Type: application/json\r\nContent-Length: 500\r\n\r\n", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Headers only: the body never comes.
			resp, body := answerThenClose(t, dialRaw(t, h, tt.head))
			assert.Equal(t, tt.status, resp.StatusCode, body)
			assert.True(t, resp.Close, "the answer says Connection: close")
			assert.Contains(t, body, `"jsonrpc":"2.0"`)
		})
	}
	// Many stalled clients cost the authorised one nothing.
	for range 20 {
		answerThenClose(t, dialRaw(t, h, tests[0].head))
	}
	s := connectHTTP(t, h, "http", true, map[string]string{"Authorization": "Bearer " + token})
	require.False(t, call(t, s.Client, "list_tasks", map[string]any{}).IsError)
}

func TestAStalledBodyIsCutOffAfterTheReadBodyTimeout(t *testing.T) {
	const timeout = 400 * time.Millisecond
	h := startHTTP(t, "http", fakeEnv(newFake(t)), "--read-body-timeout", timeout.String())
	for name, head := range map[string]string{
		"POST, part of the body":         "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"jsonrpc\":",
		"POST chunked, part of the body": "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"jso\r\n",
		"DELETE with a body":             "DELETE /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nMcp-Session-Id: x\r\nContent-Length: 10\r\n\r\n",
		"GET /sse with a body":           "GET /sse HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			resp, body := answerThenClose(t, dialRaw(t, h, head))
			assert.Equal(t, http.StatusRequestTimeout, resp.StatusCode, body)
			assert.True(t, resp.Close, "the answer says Connection: close")
			assert.GreaterOrEqual(t, time.Since(start), timeout-50*time.Millisecond, "the body had its time")
		})
	}
	s := connectHTTP(t, h, "http", true, nil)
	require.False(t, call(t, s.Client, "list_tasks", map[string]any{}).IsError)
}

// rawSession runs the 2025-11-25 handshake over raw HTTP and returns the
// session id.
func rawSession(t *testing.T, url string) string {
	t.Helper()
	resp := rawPost(t, url+"/mcp", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	id := resp.Header.Get("Mcp-Session-Id")
	require.NotEmpty(t, id)
	resp = mcpPost(t, url, id, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	return id
}

// mcpPost posts a JSON-RPC message in a session and returns the response
// unread, for the caller to close.
func mcpPost(t *testing.T, url, session, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/mcp", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Session-Id", session)
	req.Header.Set("MCP-Protocol-Version", "2025-11-25")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	return resp
}

// rpcMessage is the part of a JSON-RPC message these tests look at.
type rpcMessage struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Result struct {
		StructuredContent map[string]any `json:"structuredContent"`
	} `json:"result"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// sseEvents reads the JSON-RPC messages of an SSE stream, skipping comments
// and other events; it ends with the stream.
func sseEvents(r io.Reader) func() (rpcMessage, bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	return func() (rpcMessage, bool) {
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			var m rpcMessage
			if ok && json.Unmarshal([]byte(data), &m) == nil {
				return m, true
			}
		}
		return rpcMessage{}, false
	}
}

// readEndpoint reads the endpoint event that opens an SSE stream and
// returns the path to POST messages to.
func readEndpoint(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	for {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		if endpoint, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok {
			return endpoint
		}
	}
}

// submitRaw submits an edit in a session and returns its task id.
func submitRaw(t *testing.T, url, session string) string {
	t.Helper()
	resp := mcpPost(t, url, session, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"video_outpainting","arguments":{"prompt":"p","video_url":"https://x/v.mp4"}}}`)
	defer resp.Body.Close()
	var m rpcMessage
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
	id, _ := m.Result.StructuredContent["task_id"].(string)
	require.NotEmpty(t, id, "submitted")
	return id
}

func TestShutdownAnswersCallsStillRunningWithAJSONRPCError(t *testing.T) {
	fake := newFake(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: time.Hour}))
	h := startHTTP(t, "http", fakeEnv(fake), "--shutdown-grace", "300ms")
	session := rawSession(t, h.URL)
	task := submitRaw(t, h.URL, session)

	// One wait answers plain JSON (its head comes with its answer, so it is
	// sent raw and read later); the other streams progress, so its answer
	// must come as the stream's last event.
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":"plain-7","method":"tools/call","params":{"name":"wait_task","arguments":{"task_id":%q,"timeout_seconds":120}}}`, task)
	plainConn := dialRaw(t, h, fmt.Sprintf("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"+
		"Accept: application/json, text/event-stream\r\nMcp-Session-Id: %s\r\nMCP-Protocol-Version: 2025-11-25\r\nContent-Length: %d\r\n\r\n%s",
		session, len(body), body))
	streamed := mcpPost(t, h.URL, session, fmt.Sprintf(`{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"wait_task","arguments":{"task_id":%q,"timeout_seconds":120},"_meta":{"progressToken":"p8"}}}`, task))
	defer streamed.Body.Close()
	require.Equal(t, "text/event-stream", streamed.Header.Get("Content-Type"), "progress is streaming")
	next := sseEvents(streamed.Body)
	first, ok := next()
	require.True(t, ok)
	require.Equal(t, "notifications/progress", first.Method, "the streamed wait is running")

	require.NoError(t, h.Proc.cmd.Process.Signal(syscall.SIGTERM))

	require.NoError(t, plainConn.SetReadDeadline(time.Now().Add(answerLimit)))
	plain, err := http.ReadResponse(bufio.NewReader(plainConn), nil)
	require.NoError(t, err, "the plain wait is answered")
	answer, err := io.ReadAll(plain.Body)
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, plain.StatusCode, string(answer))
	assert.Equal(t, "application/json", plain.Header.Get("Content-Type"))
	var m rpcMessage
	require.NoError(t, json.Unmarshal(answer, &m), "the answer is a JSON-RPC message, not an empty body: %q", answer)
	assert.JSONEq(t, `"plain-7"`, string(m.ID), "it answers the request")
	require.NotNil(t, m.Error, string(answer))
	assert.Contains(t, m.Error.Message, "shutting down")

	var last rpcMessage
	for msg, ok := next(); ok; msg, ok = next() {
		last = msg
	}
	assert.JSONEq(t, `8`, string(last.ID), "the stream ends with the answer to its request")
	require.NotNil(t, last.Error)
	assert.Contains(t, last.Error.Message, "shutting down")
	assert.Equal(t, 0, h.Proc.exitCode(t, answerLimit), h.Stderr.String())
}

func TestShutdownAnswersCallsStillRunningOnTheSSEStream(t *testing.T) {
	fake := newFake(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: time.Hour}))
	h := startHTTP(t, "sse", fakeEnv(fake), "--shutdown-grace", "300ms")
	ctx, cancel := context.WithTimeout(context.Background(), 3*answerLimit)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL+"/sse", nil)
	require.NoError(t, err)
	stream, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer stream.Body.Close()
	br := bufio.NewReader(stream.Body)
	endpoint := readEndpoint(t, br)
	next := sseEvents(br)
	post := func(body string) {
		t.Helper()
		resp, err := http.Post(h.URL+endpoint, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusAccepted, resp.StatusCode)
	}
	answer := func(id string) rpcMessage {
		t.Helper()
		for msg, ok := next(); ok; msg, ok = next() {
			if string(msg.ID) == id && msg.Method == "" {
				return msg
			}
		}
		require.FailNow(t, "the stream ended without answering "+id)
		return rpcMessage{}
	}
	post(initializeBody)
	answer("1")
	post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	post(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"video_outpainting","arguments":{"prompt":"p","video_url":"https://x/v.mp4"}}}`)
	task, _ := answer("2").Result.StructuredContent["task_id"].(string)
	require.NotEmpty(t, task)
	post(fmt.Sprintf(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"wait_task","arguments":{"task_id":%q,"timeout_seconds":120}}}`, task))
	require.Eventually(t, func() bool { return fake.Count(dashscopetest.EndpointGetTask) > 0 }, answerLimit, 10*time.Millisecond)

	require.NoError(t, h.Proc.cmd.Process.Signal(syscall.SIGTERM))
	got := answer("3")
	require.NotNil(t, got.Error, "the wait is answered with an error")
	assert.Contains(t, got.Error.Message, "shutting down")
	assert.Equal(t, 0, h.Proc.exitCode(t, answerLimit), h.Stderr.String())
}

func TestNoEndpointSendsCORSHeadersAndBothTransportsTakeOnlyJSON(t *testing.T) {
	h := startHTTP(t, "http", fakeEnv(newFake(t)))
	noCORS := func(t *testing.T, hdr http.Header, what string) {
		t.Helper()
		for k := range hdr {
			assert.False(t, strings.HasPrefix(k, "Access-Control-"), "%s sends %s: %s", what, k, hdr.Get(k))
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), answerLimit)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL+"/sse", nil)
	require.NoError(t, err)
	req.Header.Set("Origin", "http://localhost:1")
	stream, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer stream.Body.Close()
	require.Equal(t, http.StatusOK, stream.StatusCode)
	noCORS(t, stream.Header, "GET /sse")
	br := bufio.NewReader(stream.Body)
	endpoint := readEndpoint(t, br)

	resp := rawPost(t, h.URL+"/mcp", map[string]string{"Origin": "http://localhost:1"})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	noCORS(t, resp.Header, "POST /mcp")
	preflight, err := http.NewRequest(http.MethodOptions, h.URL+"/mcp", nil)
	require.NoError(t, err)
	preflight.Header.Set("Origin", "http://localhost:1")
	preflight.Header.Set("Access-Control-Request-Method", "POST")
	resp, err = http.DefaultClient.Do(preflight)
	require.NoError(t, err)
	resp.Body.Close()
	noCORS(t, resp.Header, "OPTIONS /mcp")

	// The same valid JSON-RPC body, labelled text/plain, is refused alike
	// on both transports.
	for _, url := range []string{h.URL + endpoint, h.URL + "/mcp"} {
		resp, err := http.Post(url, "text/plain", strings.NewReader(initializeBody))
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusUnsupportedMediaType, resp.StatusCode, "%s: %s", url, body)
		assert.Contains(t, string(body), "application/json")
		noCORS(t, resp.Header, "POST "+url)
	}
	resp, err = http.Post(h.URL+endpoint, "application/json; charset=utf-8", strings.NewReader(initializeBody))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusAccepted, resp.StatusCode, "JSON with a charset is JSON")
}

func TestAFullSessionTableEndsTheSessionIdleTheLongest(t *testing.T) {
	h := startHTTP(t, "http", fakeEnv(newFake(t)), "--max-sessions", "2")
	ping := func(session string) int {
		resp := mcpPost(t, h.URL, session, `{"jsonrpc":"2.0","id":5,"method":"ping"}`)
		resp.Body.Close()
		return resp.StatusCode
	}
	oldest := rawSession(t, h.URL)
	recent := rawSession(t, h.URL)
	require.Equal(t, http.StatusOK, ping(oldest))
	require.Equal(t, http.StatusOK, ping(recent)) // now oldest has been idle the longest

	newcomer := rawSession(t, h.URL)
	assert.Equal(t, http.StatusOK, ping(newcomer), "a new client is not locked out")
	assert.Equal(t, http.StatusOK, ping(recent))
	assert.Equal(t, http.StatusNotFound, ping(oldest), "the session idle the longest made room")
	assert.Contains(t, h.Stderr.String(), "mcp session evicted")
}

func TestStatelessClientsGetAWaitCapPerAddress(t *testing.T) {
	fake := newFake(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: time.Hour}))
	h := startHTTP(t, "http", fakeEnv(fake), "--max-waits-per-session", "2")
	// Unpinned mcp-go clients speak the stateless 2026-07-28 revision;
	// each has connections of its own.
	clients := make([]*session, 3)
	for i := range clients {
		clients[i] = connectHTTP(t, h, "http", false, nil)
	}
	task := structured(t, call(t, clients[0].Client, "video_outpainting", map[string]any{"prompt": "p", "video_url": "https://x/v.mp4"}))["task_id"]

	for i, c := range clients[:2] {
		go func() {
			_, _ = callErr(t, c.Client, "wait_task", map[string]any{"task_id": task, "timeout_seconds": 60}, fmt.Sprint("w", i))
		}()
	}
	require.Eventually(t, func() bool {
		return len(clients[0].progress("w0")) > 0 && len(clients[1].progress("w1")) > 0
	}, answerLimit, 10*time.Millisecond, "both waits are running")

	res, err := callErr(t, clients[2].Client, "wait_task", map[string]any{"task_id": task, "timeout_seconds": 2}, "")
	require.NoError(t, err)
	assert.True(t, res.IsError, "a third wait from the same address is refused: %s", text(res))
	assert.Contains(t, text(res), "already has 2 wait_task calls running")
}
