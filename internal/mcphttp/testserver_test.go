package mcphttp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// quietLog keeps mcp-go clients from logging the errors these tests provoke.
var quietLog = slog.New(slog.DiscardHandler)

// waitLimit bounds every wait in these tests; reaching it is a failure, so
// it is generous for a loaded machine running -race.
const waitLimit = 15 * time.Second

// toolServer is a tiny MCP server with the tools the tests drive.
type toolServer struct {
	mcp *server.MCPServer
	// blocked gets the label of each "block" call once it runs; unblocked
	// gets it once the call's context is cancelled.
	blocked   chan string
	unblocked chan string
	// slowStarted gets the progress token of "slow" calls as they start,
	// while there is room.
	slowStarted chan string
}

func newToolServer() *toolServer {
	ts := &toolServer{blocked: make(chan string, 32), unblocked: make(chan string, 32), slowStarted: make(chan string, 32)}
	ts.mcp = server.NewMCPServer("mcphttp-test", "1.0.0",
		server.WithToolCapabilities(false),
		server.WithRecovery(),
	)
	ts.mcp.AddTool(mcp.NewTool("slow",
		mcp.WithDescription("sends steps progress notifications, delay_ms apart"),
		mcp.WithNumber("steps"),
		mcp.WithNumber("delay_ms"),
	), ts.slow)
	ts.mcp.AddTool(mcp.NewTool("block",
		mcp.WithDescription("blocks until its context is cancelled"),
		mcp.WithString("label"),
	), ts.block)
	ts.mcp.AddTool(mcp.NewTool("whoami",
		mcp.WithDescription("returns the session id mcp-go reports to handlers"),
	), whoami)
	return ts
}

func (ts *toolServer) slow(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	steps := req.GetInt("steps", 3)
	delay := time.Duration(req.GetInt("delay_ms", 2)) * time.Millisecond
	var token mcp.ProgressToken
	if req.Params.Meta != nil {
		token = req.Params.Meta.ProgressToken
	}
	select {
	case ts.slowStarted <- fmt.Sprint(token):
	default:
	}
	for i := 1; i <= steps; i++ {
		if token != nil {
			err := server.ServerFromContext(ctx).SendNotificationToClient(ctx, "notifications/progress",
				map[string]any{"progressToken": token, "progress": i, "total": steps})
			if err != nil {
				return nil, err
			}
		}
		if err := pause(ctx, delay); err != nil {
			return nil, err
		}
	}
	// No progress on the way out: mcp-go can reorder or drop a notification
	// sent right before the result.
	if err := pause(ctx, 20*time.Millisecond); err != nil {
		return nil, err
	}
	return mcp.NewToolResultText(fmt.Sprintf("done %v", token)), nil
}

func (ts *toolServer) block(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	label := req.GetString("label", "")
	ts.blocked <- label
	<-ctx.Done()
	ts.unblocked <- label
	return nil, context.Cause(ctx)
}

func whoami(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	return mcp.NewToolResultText(server.ClientSessionFromContext(ctx).SessionID()), nil
}

func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// receive waits for a value on ch, failing the test after waitLimit.
func receive(t *testing.T, ch <-chan string, what string) string {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		require.FailNow(t, "timed out waiting for "+what)
		return ""
	}
}

// logBuffer collects log output from concurrent goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is a Handler serving a toolServer on an httptest server.
type env struct {
	tools *toolServer
	h     *Handler
	url   string // scheme://host:port, no path
	logs  *logBuffer
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	e := &env{tools: newToolServer(), logs: &logBuffer{}}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	e.h = NewHandler(e.tools.mcp, opts)
	hs := httptest.NewServer(e.h)
	e.url = hs.URL
	t.Cleanup(func() {
		// Close first: it cancels what is in flight, which hs.Close waits for.
		e.h.Close()
		hs.Close()
	})
	return e
}

// rawResponse is one HTTP response with its JSON-RPC messages in stream
// order (one for a JSON body, one per event for an SSE body).
type rawResponse struct {
	status   int
	header   http.Header
	body     string
	messages []map[string]any
}

// do sends a raw request; hdr may set "Host".
func (e *env) do(t *testing.T, ctx context.Context, method, path string, hdr map[string]string, body io.Reader) rawResponse {
	t.Helper()
	res, err := e.send(ctx, method, path, hdr, body)
	require.NoError(t, err)
	return res
}

// send is do for goroutines that may outlive the test: it reports errors
// instead of failing the test.
func (e *env) send(ctx context.Context, method, path string, hdr map[string]string, body io.Reader) (rawResponse, error) {
	req, err := http.NewRequestWithContext(ctx, method, e.url+path, body)
	if err != nil {
		return rawResponse{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return rawResponse{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	out := rawResponse{status: res.StatusCode, header: res.Header, body: string(raw)}
	var parts [][]byte
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		parts = sseData(raw)
	} else if len(bytes.TrimSpace(raw)) > 0 {
		parts = [][]byte{raw}
	}
	for _, p := range parts {
		var m map[string]any
		if json.Unmarshal(p, &m) == nil {
			out.messages = append(out.messages, m)
		}
	}
	return out, err
}

// postInBackground sends a POST to /mcp from a goroutine; the channel gets
// the response, or nothing if the request failed. The request is abandoned
// when ctx ends or the test ends, whichever comes first.
func (e *env) postInBackground(t *testing.T, ctx context.Context, hdr map[string]string, body string) <-chan rawResponse {
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	out := make(chan rawResponse, 1)
	go func() {
		defer close(out)
		if res, err := e.send(ctx, http.MethodPost, PathStreamable, hdr, strings.NewReader(body)); err == nil {
			out <- res
		}
	}()
	return out
}

func (e *env) post(t *testing.T, hdr map[string]string, body string) rawResponse {
	t.Helper()
	return e.do(t, context.Background(), http.MethodPost, PathStreamable, hdr, strings.NewReader(body))
}

func initBody(version string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":%q,"capabilities":{},"clientInfo":{"name":"raw-test","version":"1"}}}`, version)
}

func callBody(id int, tool string, args map[string]any, token any) string {
	params := map[string]any{"name": tool, "arguments": args}
	if token != nil {
		params["_meta"] = map[string]any{"progressToken": token}
	}
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params})
	return string(b)
}

// withSession returns hdr plus the session headers of a 2025-11-25 session.
func withSession(hdr map[string]string, id string) map[string]string {
	out := map[string]string{server.HeaderKeySessionID: id, mcp.HeaderProtocolVersion: mcp.ProtocolVersion20251125}
	for k, v := range hdr {
		out[k] = v
	}
	return out
}

// openSession runs the legacy handshake over raw HTTP and returns the id.
func (e *env) openSession(t *testing.T, hdr map[string]string) string {
	t.Helper()
	res := e.post(t, hdr, initBody(mcp.ProtocolVersion20251125))
	require.Equal(t, http.StatusOK, res.status, res.body)
	id := res.header.Get(server.HeaderKeySessionID)
	require.NotEmpty(t, id)
	res = e.post(t, withSession(hdr, id), `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	require.Equal(t, http.StatusAccepted, res.status, res.body)
	return id
}

// progressLog records, in arrival order, progress notifications and the
// moments calls returned, so ordering can be checked per token.
type progressLog struct {
	mu     sync.Mutex
	events []progressEvent
}

type progressEvent struct {
	token    string
	progress float64
	total    float64
	result   bool // the call with this token returned
}

func (l *progressLog) record(n mcp.JSONRPCNotification) {
	if n.Method != "notifications/progress" {
		return
	}
	f := n.Params.AdditionalFields
	progress, _ := f["progress"].(float64)
	total, _ := f["total"].(float64)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, progressEvent{token: fmt.Sprint(f["progressToken"]), progress: progress, total: total})
}

func (l *progressLog) returned(token string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, progressEvent{token: token, result: true})
}

// check asserts that token got between 1 and total progress events, all with
// that total, strictly increasing, and none after its call returned.
func (l *progressLog) check(t *testing.T, token string, total int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var seen []float64
	returned := false
	for _, ev := range l.events {
		if ev.token != token {
			continue
		}
		switch {
		case ev.result:
			returned = true
		case returned:
			assert.Failf(t, "progress after the result", "token %s: progress %v arrived after the call returned", token, ev.progress)
		default:
			assert.Equalf(t, float64(total), ev.total, "token %s: progress of another call", token)
			if len(seen) > 0 {
				assert.Greaterf(t, ev.progress, seen[len(seen)-1], "token %s: progress must increase", token)
			}
			seen = append(seen, ev.progress)
		}
	}
	assert.True(t, returned, "token %s: call never returned", token)
	assert.NotEmptyf(t, seen, "token %s: no progress", token)
	assert.LessOrEqualf(t, len(seen), total, "token %s: more progress than steps: %v", token, seen)
}

// newClient starts and initializes an mcp-go streamable HTTP client; pinned
// clients use the 2025-11-25 handshake (today's hosts), unpinned ones
// negotiate 2026-07-28.
func (e *env) newClient(t *testing.T, pinned bool, hdr map[string]string) (*client.Client, *progressLog) {
	t.Helper()
	tr, err := transport.NewStreamableHTTP(e.url+PathStreamable, transport.WithHTTPHeaders(hdr), transport.WithLogger(quietLog))
	require.NoError(t, err)
	return connectClient(t, tr, pinned)
}

// connectClient starts and initializes an mcp-go client on tr.
func connectClient(t *testing.T, tr transport.Interface, pinned bool) (*client.Client, *progressLog) {
	t.Helper()
	var opts []client.ClientOption
	if pinned {
		opts = append(opts, client.WithProtocolVersion(mcp.ProtocolVersion20251125))
	}
	c := client.NewClient(tr, opts...)
	return c, startClient(t, c)
}

func startClient(t *testing.T, c *client.Client) *progressLog {
	t.Helper()
	log := &progressLog{}
	c.OnNotification(log.record)
	// The SSE transport's stream lives as long as Start's context.
	require.NoError(t, c.Start(context.Background()))
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	var init mcp.InitializeRequest
	init.Params.ClientInfo = mcp.Implementation{Name: "mcphttp-test", Version: "1"}
	_, err := c.Initialize(ctx, init)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return log
}

// callSlow calls "slow" with a progress token and records when it returned.
func callSlow(ctx context.Context, c *client.Client, log *progressLog, token string, steps int) (string, error) {
	var req mcp.CallToolRequest
	req.Params.Name = "slow"
	req.Params.Arguments = map[string]any{"steps": steps, "delay_ms": 3}
	req.Params.Meta = &mcp.Meta{ProgressToken: token}
	res, err := c.CallTool(ctx, req)
	log.returned(token)
	if err != nil {
		return "", err
	}
	return resultText(res), nil
}

func resultText(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

func callTool(ctx context.Context, c *client.Client, name string, args map[string]any) (*mcp.CallToolResult, error) {
	var req mcp.CallToolRequest
	req.Params.Name = name
	req.Params.Arguments = args
	return c.CallTool(ctx, req)
}
