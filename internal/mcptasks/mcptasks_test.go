package mcptasks

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/internal/cancellation"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func TestIDRoundTripAndForgeries(t *testing.T) {
	ref := taskRef{shape: shapeExtension, created: time.UnixMilli(1_790_000_000_123).UTC(), jobID: "6bbbe5de-df0b-46eb-9503-8a34bc7b3a11"}
	id := mint(testKey, "token", ref)
	got, err := parse(testKey, "token", id)
	require.NoError(t, err)
	assert.Equal(t, ref, got)

	_, err = parse(testKey, "other token", id)
	assert.ErrorIs(t, err, errBadID, "bound to the token")
	_, err = parse([]byte("another key, another state dir!!"), "token", id)
	assert.ErrorIs(t, err, errBadID, "signed with the key")
	for i := range len(id) {
		b := []byte(id)
		b[i] ^= 1
		_, err := parse(testKey, "token", string(b))
		assert.Error(t, err, "a change at %d is caught", i)
	}
	for _, bad := range []string{"", "x", id[:10], id + id, string(make([]byte, 400))} {
		_, err := parse(testKey, "token", bad)
		assert.ErrorIs(t, err, errBadID, "%q", bad)
	}
}

// fakeJobs is Jobs with views set by the test.
type fakeJobs struct {
	mu        sync.Mutex
	views     map[string]View
	cancelled []string
	watch     []View // what Watch reports, in order
	tick      func() // runs before each report
}

func (f *fakeJobs) Look(_ context.Context, id string) (View, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.views[id], nil
}

func (f *fakeJobs) Result(_ context.Context, id string) (*mcp.CallToolResult, dashscope.TaskStatus, error) {
	v, _ := f.Look(context.Background(), id)
	return v.Result, v.Status, nil
}

func (f *fakeJobs) Cancel(_ context.Context, id string) (View, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cancelled = append(f.cancelled, id)
	v := f.views[id]
	if v.Status == dashscope.StatusPending {
		v.Status = dashscope.StatusCanceled
		f.views[id] = v
	}
	return v, nil
}

func (f *fakeJobs) Watch(_ context.Context, _ string, fn func(View)) {
	for _, v := range f.watch {
		if f.tick != nil {
			f.tick()
		}
		fn(v)
	}
}

// clock is a manual clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type harness struct {
	jobs  *fakeJobs
	clock *clock
	conn  *cancellation.Conn
	sent  chan []byte // notifications
}

func newHarness(t *testing.T) *harness {
	h := &harness{jobs: &fakeJobs{views: map[string]View{}}, clock: &clock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}, sent: make(chan []byte, 100)}
	l := New(Options{Jobs: h.jobs, Key: testKey, Tools: []string{"video_edit"}, PollInterval: 12 * time.Second, ProgressEvery: time.Nanosecond, Now: h.clock.Now})
	h.conn = &cancellation.Conn{Hook: l.Hook(t.Context(), "", func(b []byte) { h.sent <- b })}
	return h
}

// submitted is mcp-go's answer to a plain call of video_edit that submitted job.
func submitted(internalID, job string) []byte {
	return []byte(`{"jsonrpc":"2.0","id":` + internalID + `,"result":{"content":[{"type":"text","text":"ok"}],"structuredContent":{"task_id":"` + job + `","status":"PENDING"}}}` + "\n")
}

// create runs a task-augmented call through the conn, mcp-go answering
// that it submitted job, and returns the answer the client gets.
func (h *harness) create(t *testing.T, id, extra, job string) map[string]any {
	t.Helper()
	in := h.conn.In([]byte(`{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"video_edit","arguments":{"prompt":"p"}` + extra + `}}` + "\n"))
	require.NotNil(t, in.Forward)
	assert.NotContains(t, string(in.Forward), `"task"`, "mcp-go never sees params.task, so its own task engine never runs")
	out, send := h.conn.Out(submitted(fmtInt(in.Call), job))
	require.True(t, send)
	assert.True(t, out[len(out)-1] == '\n', "a line stays a line")
	var m struct {
		ID     json.RawMessage `json:"id"`
		Result map[string]any  `json:"result"`
	}
	require.NoError(t, json.Unmarshal(out, &m))
	assert.Equal(t, id, string(m.ID), "the client's id, exactly")
	return m.Result
}

func (h *harness) ask(t *testing.T, line string) map[string]any {
	t.Helper()
	in := h.conn.In([]byte(line))
	require.NotNil(t, in.Local, "answered in the layer: %s", line)
	out, send := h.conn.Out(in.Local(t.Context()))
	require.True(t, send)
	var m map[string]any
	require.NoError(t, json.Unmarshal(out, &m))
	return m
}

func fmtInt(n int64) string { return string(mustJSON(nil, n)) }

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if t != nil {
		require.NoError(t, err)
	}
	return b
}

func TestCoreTaskLifecycle(t *testing.T) {
	h := newHarness(t)
	res := h.create(t, "9007199254740993", `,"task":{"ttl":1000}`, "job-1")
	task := res["task"].(map[string]any)
	assert.Equal(t, "working", task["status"])
	assert.EqualValues(t, 86_400_000, task["ttl"], "24 hours whatever the client asked")
	assert.EqualValues(t, 12_000, task["pollInterval"])
	id := task["taskId"].(string)

	get := func() map[string]any {
		return h.ask(t, `{"jsonrpc":"2.0","id":"g","method":"tasks/get","params":{"taskId":"`+id+`"}}`)["result"].(map[string]any)
	}
	for _, c := range []struct {
		status dashscope.TaskStatus
		want   string
	}{
		{dashscope.StatusPending, "working"}, {dashscope.StatusRunning, "working"}, {dashscope.StatusSuspended, "working"},
		{dashscope.StatusUnknown, "working"}, {dashscope.StatusSucceeded, "completed"}, {dashscope.StatusFailed, "failed"},
		{dashscope.StatusCanceled, "cancelled"},
	} {
		h.jobs.views["job-1"] = View{Status: c.status, Message: "msg " + string(c.status)}
		got := get()
		assert.Equal(t, c.want, got["status"], c.status)
		assert.Equal(t, "msg "+string(c.status), got["statusMessage"])
		assert.NotContains(t, got, "ttlMs")
	}

	h.jobs.views["job-1"] = View{Status: dashscope.StatusSucceeded, Result: mcp.NewToolResultText("the video")}
	r := h.ask(t, `{"jsonrpc":"2.0","id":7,"method":"tasks/result","params":{"taskId":"`+id+`"}}`)["result"].(map[string]any)
	assert.Equal(t, map[string]any{"taskId": id}, r["_meta"].(map[string]any)[metaRelatedTask])

	h.clock.Add(24*time.Hour + time.Second)
	e := h.ask(t, `{"jsonrpc":"2.0","id":8,"method":"tasks/get","params":{"taskId":"`+id+`"}}`)["error"].(map[string]any)
	assert.EqualValues(t, -32602, e["code"])
	assert.Contains(t, e["message"], "expired")
}

func TestCoreCancel(t *testing.T) {
	h := newHarness(t)
	cancel := func(id string) map[string]any {
		return h.ask(t, `{"jsonrpc":"2.0","id":1,"method":"tasks/cancel","params":{"taskId":"`+id+`"}}`)
	}
	pending := h.create(t, "1", `,"task":{}`, "queued")["task"].(map[string]any)["taskId"].(string)
	h.jobs.views["queued"] = View{Status: dashscope.StatusPending}
	assert.Equal(t, "cancelled", cancel(pending)["result"].(map[string]any)["status"])

	running := h.create(t, "2", `,"task":{}`, "busy")["task"].(map[string]any)["taskId"].(string)
	h.jobs.views["busy"] = View{Status: dashscope.StatusRunning}
	e := cancel(running)["error"].(map[string]any)
	assert.EqualValues(t, -32602, e["code"])
	assert.Contains(t, e["message"], "DashScope cancels only PENDING jobs")
	assert.Equal(t, "working", h.ask(t, `{"jsonrpc":"2.0","id":3,"method":"tasks/get","params":{"taskId":"`+running+`"}}`)["result"].(map[string]any)["status"],
		"a refused cancel leaves the task as it was")

	h.jobs.views["busy"] = View{Status: dashscope.StatusSucceeded}
	e = cancel(running)["error"].(map[string]any)
	assert.EqualValues(t, -32602, e["code"], "an ended task cannot be cancelled")
	assert.Equal(t, []string{"queued", "busy"}, h.jobs.cancelled, "an ended task is not even tried")
}

func TestExtensionShape(t *testing.T) {
	h := newHarness(t)
	const ext = `"_meta":{"io.modelcontextprotocol/clientCapabilities":{"extensions":{"io.modelcontextprotocol/tasks":{}}}}`
	res := h.create(t, "1", ","+ext, "job-x")
	assert.Equal(t, "task", res["resultType"])
	assert.EqualValues(t, 86_400_000, res["ttlMs"])
	assert.EqualValues(t, 12_000, res["pollIntervalMs"])
	assert.NotContains(t, res, "ttl")
	id := res["taskId"].(string)
	get := func(meta string) map[string]any {
		return h.ask(t, `{"jsonrpc":"2.0","id":2,"method":"tasks/get","params":{"taskId":"`+id+`"`+meta+`}}`)
	}

	e := get("")["error"].(map[string]any)
	assert.EqualValues(t, -32021, e["code"], "a request that does not name the extension")

	h.jobs.views["job-x"] = View{Status: dashscope.StatusSucceeded} // ended, video not saved yet
	assert.Equal(t, "working", get("," + ext)["result"].(map[string]any)["status"])
	errResult := mcp.NewToolResultError("failed")
	h.jobs.views["job-x"] = View{Status: dashscope.StatusFailed, Result: errResult}
	got := get("," + ext)["result"].(map[string]any)
	assert.Equal(t, "completed", got["status"], "a failed job is a completed task whose result is an error")
	assert.Equal(t, true, got["result"].(map[string]any)["isError"])
	assert.Equal(t, "complete", got["resultType"])

	for _, m := range []string{"tasks/update", "tasks/cancel"} {
		ack := h.ask(t, `{"jsonrpc":"2.0","id":3,"method":"`+m+`","params":{"taskId":"`+id+`",`+ext+`}}`)
		assert.Equal(t, map[string]any{"resultType": "complete"}, ack["result"], m)
	}
	for _, m := range []string{"tasks/result", "tasks/list"} {
		e := h.ask(t, `{"jsonrpc":"2.0","id":4,"method":"`+m+`","params":{"taskId":"`+id+`",`+ext+`}}`)["error"].(map[string]any)
		assert.EqualValues(t, -32601, e["code"], m)
	}
}

func TestARefusedCallMakesNoTaskAndOtherToolsRefuseTasks(t *testing.T) {
	h := newHarness(t)
	in := h.conn.In([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"video_edit","arguments":{},"task":{}}}`))
	refusal := `{"jsonrpc":"2.0","id":` + fmtInt(in.Call) + `,"result":{"content":[{"type":"text","text":"prompt is required"}],"isError":true}}`
	out, _ := h.conn.Out([]byte(refusal))
	assert.JSONEq(t, `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"prompt is required"}],"isError":true}}`, string(out))

	e := h.ask(t, `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_task","arguments":{},"task":{}}}`)["error"].(map[string]any)
	assert.EqualValues(t, -32601, e["code"])

	plain := h.conn.In([]byte(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"video_edit","arguments":{}}}`))
	require.NotNil(t, plain.Forward, "a call without a task passes as it is")
	out, _ = h.conn.Out(submitted(fmtInt(plain.Call), "job"))
	assert.Contains(t, string(out), `"structuredContent"`, "and its answer is the tool's")
}

func TestProgressFollowsTheTaskAndStopsAtItsEnd(t *testing.T) {
	h := newHarness(t)
	h.jobs.watch = []View{
		{Status: dashscope.StatusPending, Age: 0, Message: "PENDING"},
		{Status: dashscope.StatusRunning, Age: 0, Message: "RUNNING"}, // an age that does not move still makes progress move
		{Status: dashscope.StatusRunning, Age: 90 * time.Second, Message: "RUNNING, 1m30s"},
		{Status: dashscope.StatusSucceeded, Message: "SUCCEEDED"},
	}
	h.jobs.tick = func() { h.clock.Add(time.Second) }
	h.create(t, "1", `,"task":{},"_meta":{"progressToken":"tok"}`, "job-p")
	var got []map[string]any
	for range 4 {
		select {
		case b := <-h.sent:
			var m map[string]any
			require.NoError(t, json.Unmarshal(b, &m))
			got = append(got, m)
		case <-time.After(10 * time.Second):
			t.Fatal("no notification")
		}
	}
	last := -1.0
	for _, m := range got[:3] {
		assert.Equal(t, "notifications/progress", m["method"])
		p := m["params"].(map[string]any)
		assert.Equal(t, "tok", p["progressToken"])
		assert.Greater(t, p["progress"].(float64), last, "progress increases")
		last = p["progress"].(float64)
	}
	assert.Equal(t, "notifications/tasks/status", got[3]["method"])
	assert.Equal(t, "completed", got[3]["params"].(map[string]any)["status"])
	select {
	case b := <-h.sent:
		t.Fatalf("nothing after the end: %s", b)
	default:
	}
}

func TestUnknownJobEndsTheTaskAfterAGrace(t *testing.T) {
	h := newHarness(t)
	core := h.create(t, "1", `,"task":{}`, "gone")["task"].(map[string]any)["taskId"].(string)
	const ext = `"_meta":{"io.modelcontextprotocol/clientCapabilities":{"extensions":{"io.modelcontextprotocol/tasks":{}}}}`
	extID := h.create(t, "2", ","+ext, "gone")["taskId"].(string)
	h.jobs.views["gone"] = View{Status: dashscope.StatusUnknown, Message: "not known yet", Result: mcp.NewToolResultError("UNKNOWN")}
	get := func(id, meta string) map[string]any {
		return h.ask(t, `{"jsonrpc":"2.0","id":3,"method":"tasks/get","params":{"taskId":"`+id+`"`+meta+`}}`)["result"].(map[string]any)
	}
	assert.Equal(t, "working", get(core, "")["status"], "moments after submission DashScope may not list a job yet")
	h.clock.Add(unknownGrace)
	got := get(core, "")
	assert.Equal(t, "failed", got["status"], "later it never will: the task ends instead of polling for a day")
	assert.Contains(t, got["statusMessage"], "does not know this job")
	got = get(extID, ","+ext)
	assert.Equal(t, "completed", got["status"])
	assert.Equal(t, true, got["result"].(map[string]any)["isError"])
}
