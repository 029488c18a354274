package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// These tests speak raw JSON-RPC to the binary, byte for byte, where a
// client library would hide what is on the wire (ids re-encoded, answers
// to cancelled calls swallowed).

// reply is a JSON-RPC response as it came over the wire.
type reply struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func parseReply(t *testing.T, raw []byte) reply {
	t.Helper()
	var r reply
	require.NoError(t, json.Unmarshal(raw, &r), string(raw))
	return r
}

// outpaint is the rest of a paid video_outpainting request; each prompt is
// its own job (the duplicate guard would merge equal ones).
func outpaint(prompt string) string {
	return `"method":"tools/call","params":{"name":"video_outpainting","arguments":{"prompt":"` + prompt + `","video_url":"https://x/v.mp4"}}`
}

// rawStdio is the binary over stdio with the test writing and reading lines.
type rawStdio struct {
	in    io.WriteCloser
	lines chan []byte // each line the server writes
}

func startRawStdio(t *testing.T, env []string) *rawStdio {
	t.Helper()
	cmd := exec.Command(binary, fastFlags...)
	cmd.Env = append(baseEnv(t), env...)
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	p := startProc(t, cmd)
	s := &rawStdio{in: in, lines: make(chan []byte, 64)}
	go func() {
		defer close(s.lines)
		r := bufio.NewReader(out)
		for {
			line, err := r.ReadBytes('\n')
			if len(line) > 0 {
				s.lines <- line
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = in.Close()
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			p.stop()
		}
		if t.Failed() {
			t.Logf("server stderr:\n%s", stderr.String())
		}
	})
	s.send(t, `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	require.Nil(t, parseReply(t, s.answer(t, "0")).Error)
	s.send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return s
}

func (s *rawStdio) send(t *testing.T, line string) {
	t.Helper()
	_, err := io.WriteString(s.in, line+"\n")
	require.NoError(t, err)
}

// answer returns the next response whose id is exactly id (raw JSON),
// failing on any other response on the way: every request in these tests is
// answered in order or not at all.
func (s *rawStdio) answer(t *testing.T, id string) []byte {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-s.lines:
			require.True(t, ok, "the server closed stdout")
			var m struct {
				ID     json.RawMessage `json:"id"`
				Method string          `json:"method"`
			}
			require.NoError(t, json.Unmarshal(line, &m), "stdout carries only JSON-RPC messages: %q", line)
			if m.Method != "" {
				continue // a notification
			}
			require.Equal(t, id, string(m.ID), "expected the answer to %s, got %s", id, line)
			return line
		case <-timeout:
			t.Fatalf("no answer to %s", id)
		}
	}
}

func TestStdioARequestCancelledBeforeItArrivesIsAnsweredAndNothingIsSent(t *testing.T) {
	fake := newFake(t)
	s := startRawStdio(t, fakeEnv(fake))

	s.send(t, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5,"reason":"user"}}`)
	s.send(t, `{"jsonrpc":"2.0","id":5,`+outpaint("wider")+`}`)
	s.send(t, `{"jsonrpc":"2.0","id":6,`+outpaint("taller")+`}`)

	r := parseReply(t, s.answer(t, "5"))
	require.NotNil(t, r.Error, "a request cancelled before it arrived is answered with an error")
	assert.Equal(t, mcp.REQUEST_INTERRUPTED, r.Error.Code)
	assert.Contains(t, r.Error.Message, "cancelled before it started")
	assert.Contains(t, r.Error.Message, "nothing was sent")
	r = parseReply(t, s.answer(t, "6"))
	assert.Nil(t, r.Error, "a later request runs")
	assert.Contains(t, string(r.Result), "task_id")
	assert.Equal(t, 1, fake.Count(dashscopetest.EndpointSubmit), "only the request that was not cancelled was submitted")
}

func TestStdioIdsComeBackExactly(t *testing.T) {
	s := startRawStdio(t, fakeEnv(newFake(t)))

	for _, id := range []string{"9007199254740993", "-9007199254740993", `"9007199254740993"`, "12345678901234567890"} {
		s.send(t, `{"jsonrpc":"2.0","id":`+id+`,"method":"ping"}`)
		assert.Nil(t, parseReply(t, s.answer(t, id)).Error, id)
	}
	for _, id := range []string{`{"a":1}`, "[1]", "true", "null"} {
		s.send(t, `{"jsonrpc":"2.0","id":`+id+`,"method":"ping"}`)
		r := parseReply(t, s.answer(t, "null"))
		require.NotNil(t, r.Error, id)
		assert.Equal(t, mcp.INVALID_REQUEST, r.Error.Code, id)
	}
}

// A wait in progress as request 44 (a number) is not cancelled by a cancel
// naming "44" (a string): it runs to its timeout and is answered.
func TestStdioACancelNamingAStringIdLeavesTheNumberAlone(t *testing.T) {
	fake := newFake(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: time.Hour}))
	s := startRawStdio(t, fakeEnv(fake))
	s.send(t, `{"jsonrpc":"2.0","id":1,`+outpaint("wider")+`}`)
	var submitted struct {
		StructuredContent struct {
			TaskID string `json:"task_id"`
		} `json:"structuredContent"`
	}
	require.NoError(t, json.Unmarshal(parseReply(t, s.answer(t, "1")).Result, &submitted))
	polls := fake.Count(dashscopetest.EndpointGetTask)
	s.send(t, fmt.Sprintf(`{"jsonrpc":"2.0","id":44,"method":"tools/call","params":{"name":"wait_task","arguments":{"task_id":%q,"timeout_seconds":2}}}`, submitted.StructuredContent.TaskID))
	require.Eventually(t, func() bool { return fake.Count(dashscopetest.EndpointGetTask) > polls }, 10*time.Second, 10*time.Millisecond, "the wait started")
	s.send(t, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"44"}}`)
	r := parseReply(t, s.answer(t, "44"))
	require.Nil(t, r.Error)
	assert.Contains(t, string(r.Result), `"done":false`, "the wait ran to its timeout")
	assert.NotContains(t, string(r.Result), "cancel")
}

func TestStdioAnOverlongLineIsRefusedAndTheServerGoesOn(t *testing.T) {
	s := startRawStdio(t, fakeEnv(newFake(t)))
	s.send(t, `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"`+strings.Repeat("x", 5<<20)+`"}}`)
	r := parseReply(t, s.answer(t, "null"))
	require.NotNil(t, r.Error, "a line over the limit is refused")
	assert.Equal(t, mcp.INVALID_REQUEST, r.Error.Code)
	assert.Contains(t, r.Error.Message, "larger than 4194304 bytes")
	s.send(t, `{"jsonrpc":"2.0","id":2,"method":"ping"}`)
	assert.Nil(t, parseReply(t, s.answer(t, "2")).Error, "the server goes on")
}

// rawHTTPSession is a streamable-HTTP session driven with raw POSTs.
type rawHTTPSession struct {
	url, id string
	token   string // the bearer token, if the server wants one
}

func (s *rawHTTPSession) post(t *testing.T, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set(mcp.HeaderProtocolVersion, mcp.ProtocolVersion20251125)
	if s.id != "" {
		req.Header.Set("Mcp-Session-Id", s.id)
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if s.id == "" {
		s.id = resp.Header.Get("Mcp-Session-Id")
	}
	return resp.StatusCode, b
}

func startRawHTTPSession(t *testing.T, h *httpServer) *rawHTTPSession {
	t.Helper()
	s := &rawHTTPSession{url: h.URL + "/mcp"}
	s.initialize(t)
	return s
}

// initialize starts the session.
func (s *rawHTTPSession) initialize(t *testing.T) {
	t.Helper()
	status, _ := s.post(t, initializeBody)
	require.Equal(t, http.StatusOK, status)
	require.NotEmpty(t, s.id)
	status, _ = s.post(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	require.Equal(t, http.StatusAccepted, status)
}

func TestHTTPARequestCancelledBeforeItArrivesIsAnsweredAndNothingIsSent(t *testing.T) {
	fake := newFake(t)
	s := startRawHTTPSession(t, startHTTP(t, "http", fakeEnv(fake)))

	status, _ := s.post(t, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":5,"reason":"user"}}`)
	assert.Equal(t, http.StatusAccepted, status)
	status, body := s.post(t, `{"jsonrpc":"2.0","id":5,`+outpaint("wider")+`}`)
	assert.Equal(t, http.StatusOK, status)
	r := parseReply(t, body)
	assert.Equal(t, "5", string(r.ID))
	require.NotNil(t, r.Error, "a request cancelled before it arrived is answered with an error, not an empty 202: %s", body)
	assert.Equal(t, mcp.REQUEST_INTERRUPTED, r.Error.Code)
	assert.Contains(t, r.Error.Message, "nothing was sent")
	assert.Zero(t, fake.Count(dashscopetest.EndpointSubmit), "nothing was submitted")

	status, body = s.post(t, `{"jsonrpc":"2.0","id":6,`+outpaint("taller")+`}`)
	assert.Equal(t, http.StatusOK, status)
	r = parseReply(t, body)
	assert.Nil(t, r.Error, "a later request runs")
	assert.Contains(t, string(r.Result), "task_id")
	assert.Equal(t, 1, fake.Count(dashscopetest.EndpointSubmit))
}

func TestHTTPIdsComeBackExactly(t *testing.T) {
	h := startHTTP(t, "http", fakeEnv(newFake(t)))
	s := startRawHTTPSession(t, h)
	for _, id := range []string{"9007199254740993", `"9007199254740993"`, "12345678901234567890"} {
		status, body := s.post(t, `{"jsonrpc":"2.0","id":`+id+`,"method":"ping"}`)
		assert.Equal(t, http.StatusOK, status, id)
		assert.Equal(t, id, string(parseReply(t, body).ID), "streamable HTTP: %s", body)
	}
	for _, id := range []string{`{"a":1}`, "[1]", "false", "null"} {
		status, body := s.post(t, `{"jsonrpc":"2.0","id":`+id+`,"method":"ping"}`)
		assert.Equal(t, http.StatusBadRequest, status, id)
		r := parseReply(t, body)
		require.NotNil(t, r.Error, "%s: %s", id, body)
		assert.Equal(t, mcp.INVALID_REQUEST, r.Error.Code, id)
	}

	// SSE: the answer comes on the stream.
	req, err := http.NewRequest(http.MethodGet, h.URL+"/sse", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	events := bufio.NewReader(resp.Body)
	data := func() string {
		for {
			line, err := events.ReadString('\n')
			require.NoError(t, err)
			if v, ok := strings.CutPrefix(line, "data: "); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	endpoint := data()
	postSSE := func(body string) int {
		resp, err := http.Post(h.URL+endpoint, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusAccepted, postSSE(strings.Replace(initializeBody, `"id":1`, `"id":9007199254740995`, 1)))
	assert.Equal(t, "9007199254740995", string(parseReply(t, []byte(data())).ID), "SSE")
	require.Equal(t, http.StatusAccepted, postSSE(`{"jsonrpc":"2.0","method":"notifications/initialized"}`))
	require.Equal(t, http.StatusAccepted, postSSE(`{"jsonrpc":"2.0","id":"x\u0079","method":"ping"}`))
	assert.Equal(t, `"x\u0079"`, string(parseReply(t, []byte(data())).ID), "SSE, byte for byte")
	assert.Equal(t, http.StatusBadRequest, postSSE(`{"jsonrpc":"2.0","id":[1],"method":"ping"}`))
	require.Equal(t, http.StatusAccepted, postSSE(`{"jsonrpc":"2.0","id":-9007199254740993,"method":"ping"}`))
	assert.Equal(t, "-9007199254740993", string(parseReply(t, []byte(data())).ID), "SSE")
}

// TestStdioACancelOfACallQueuedBehindBusyWorkersStopsIt: with every stdio
// worker busy, a paid call waits in mcp-go's queue, unregistered, and mcp-go
// drops a cancel for it; the call must still not be sent when a worker
// frees up.
func TestStdioACancelOfACallQueuedBehindBusyWorkersStopsIt(t *testing.T) {
	fake := newFake(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Queue: time.Hour, Run: time.Hour}))
	s := startRawStdio(t, append(fakeEnv(fake), "VACE_MCP_MAX_WAITS_PER_SESSION=200"))
	const workers = 64 // stdio.Workers
	for i := range workers {
		s.send(t, fmt.Sprintf(`{"jsonrpc":"2.0","id":"w%d","method":"tools/call","params":{"name":"wait_task","arguments":{"task_id":"busy-%d","timeout_seconds":3}}}`, i, i))
	}
	s.send(t, `{"jsonrpc":"2.0","id":"paid",`+outpaint("queued")+`}`)
	s.send(t, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"paid","reason":"user"}}`)
	for answered := 0; answered < workers; {
		select {
		case line := <-s.lines:
			require.NotContains(t, string(line), `"id":"paid"`, "a cancelled call gets no answer")
			if strings.Contains(string(line), `"id":"w`) {
				answered++
			}
		case <-time.After(60 * time.Second):
			t.Fatal("the waits did not end")
		}
	}
	s.send(t, `{"jsonrpc":"2.0","id":"after","method":"ping"}`)
	require.Nil(t, parseReply(t, s.answer(t, `"after"`)).Error)
	// The queued call has left the queue by now (a worker freed up long
	// before the last wait ended); it must have stopped without sending.
	assert.Never(t, func() bool { return fake.Count(dashscopetest.EndpointSubmit) > 0 }, time.Second, 50*time.Millisecond,
		"the cancelled call was never submitted")
}
