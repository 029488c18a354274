package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

func TestToolsAreListedWithSchemasAndTruthfulAnnotations(t *testing.T) {
	protocols(t, func(t *testing.T, legacy bool) {
		s := startStdio(t, startOptions{env: fakeEnv(newFake(t)), legacy: legacy})
		res, err := s.Client.ListTools(context.Background(), mcp.ListToolsRequest{})
		require.NoError(t, err)
		byName := map[string]mcp.Tool{}
		for _, tool := range res.Tools {
			byName[tool.Name] = tool
		}
		submits := []string{"image_reference", "video_repainting", "video_edit", "video_extension", "video_outpainting", "video_instruct_edit"}
		reads := []string{"get_task", "wait_task", "list_tasks"}
		require.Len(t, byName, len(submits)+len(reads)+2)
		for _, name := range append(append(submits, reads...), "cancel_task", "download_video") {
			tool, ok := byName[name]
			require.True(t, ok, name)
			assert.NotEmpty(t, tool.Description, name)
			var in map[string]any
			require.NoError(t, json.Unmarshal(mustJSON(t, tool.InputSchema), &in))
			assert.Equal(t, "object", in["type"], name)
			assert.NotNil(t, in["required"], "%s: required must be a list, never null", name)
			assert.NotEmpty(t, in["properties"], name)
			require.NotNil(t, tool.OutputSchema.Properties, "%s declares an output schema", name)
			a := tool.Annotations
			require.NotNil(t, a.ReadOnlyHint, name)
			assert.True(t, *a.OpenWorldHint, name)
			switch {
			case contains(submits, name):
				assert.False(t, *a.ReadOnlyHint, name)
				assert.False(t, *a.IdempotentHint, "%s: a submission is not idempotent", name)
				assert.False(t, *a.DestructiveHint, name)
			case contains(reads, name):
				assert.True(t, *a.ReadOnlyHint, name)
				assert.False(t, *a.DestructiveHint, name)
			case name == "download_video":
				assert.False(t, *a.ReadOnlyHint, "it writes a file")
				assert.False(t, *a.DestructiveHint, name)
				assert.True(t, *a.IdempotentHint, name)
			default:
				assert.False(t, *a.ReadOnlyHint, name)
				assert.True(t, *a.DestructiveHint, "cancel_task is destructive")
			}
		}
		var edit map[string]any
		require.NoError(t, json.Unmarshal(mustJSON(t, byName["video_outpainting"].InputSchema), &edit))
		top := edit["properties"].(map[string]any)["top_scale"].(map[string]any)
		assert.Equal(t, 1.0, top["minimum"])
		assert.Equal(t, 2.0, top["maximum"])
		assert.Equal(t, 1.0, top["default"])
	})
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestBadInputIsAToolErrorNamingTheFieldAndNothingIsSent(t *testing.T) {
	v := "https://example.com/in.mp4"
	tests := []struct {
		name, tool string
		args       map[string]any
		field      string
		says       string
	}{
		{"wrong type", "video_outpainting", map[string]any{"prompt": "p", "video_url": v, "top_scale": "big"}, "top_scale", "must be a number"},
		{"out of range", "video_outpainting", map[string]any{"prompt": "p", "video_url": v, "top_scale": 2.5}, "top_scale", "between 1.0 and 2.0"},
		{"missing field", "video_outpainting", map[string]any{"prompt": "p"}, "video_url", "required"},
		{"not a URL nor an absolute path", "video_outpainting", map[string]any{"prompt": "p", "video_url": "not a url"}, "video_url", "http(s) URL"},
		{"malformed URL", "video_outpainting", map[string]any{"prompt": "p", "video_url": "https://"}, "video_url", "no host"},
		{"unsupported scheme", "video_repainting", map[string]any{"prompt": "p", "video_url": "ftp://h/v.mp4", "control_condition": "depth"}, "video_url", "http(s) or oss://"},
		{"unknown argument", "video_outpainting", map[string]any{"prompt": "p", "video_url": v, "top_scal": 1.5}, "top_scal", "not an argument"},
		{"prompt too long", "video_outpainting", map[string]any{"prompt": strings.Repeat("a", 801), "video_url": v}, "prompt", "at most 800"},
		{"empty prompt", "video_outpainting", map[string]any{"prompt": " ", "video_url": v}, "prompt", "required"},
		{"bool as string", "video_outpainting", map[string]any{"prompt": "p", "video_url": v, "prompt_extend": "yes"}, "prompt_extend", "true or false"},
		{"seed out of range", "video_outpainting", map[string]any{"prompt": "p", "video_url": v, "seed": -1}, "seed", "between 0 and 2147483647"},
		{"too many images", "image_reference", map[string]any{"prompt": "p", "ref_images_url": []any{v, v, v, v}, "obj_or_bg": []any{"obj", "obj", "obj", "obj"}}, "ref_images_url", "at most 3"},
		{"string for list", "image_reference", map[string]any{"prompt": "p", "ref_images_url": v}, "ref_images_url", "array of strings"},
		{"roles mismatch", "image_reference", map[string]any{"prompt": "p", "ref_images_url": []any{v, v}, "obj_or_bg": []any{"obj"}}, "obj_or_bg", "one entry per image"},
		{"two backgrounds", "image_reference", map[string]any{"prompt": "p", "ref_images_url": []any{v, v}, "obj_or_bg": []any{"bg", "bg"}}, "obj_or_bg", "at most one"},
		{"bad size", "image_reference", map[string]any{"prompt": "p", "ref_images_url": []any{v}, "size": "1920*1080"}, "size", "1280*720"},
		{"repainting condition", "video_repainting", map[string]any{"prompt": "p", "video_url": v}, "control_condition", "required"},
		{"edit both masks", "video_edit", map[string]any{"prompt": "p", "video_url": v, "mask_image_url": v, "mask_video_url": v}, "mask_video_url", "not both"},
		{"edit ratio with fixed", "video_edit", map[string]any{"prompt": "p", "video_url": v, "mask_image_url": v, "mask_type": "fixed", "expand_ratio": 0.1}, "expand_ratio", "tracking"},
		{"extension anchor", "video_extension", map[string]any{"prompt": "p"}, "first_clip_url", "at least one"},
		{"extension condition", "video_extension", map[string]any{"prompt": "p", "first_frame_url": v, "video_url": v}, "control_condition", "required with video_url"},
		{"bad task id", "get_task", map[string]any{"task_id": "../../uploads"}, "task_id", "not a task id"},
		{"missing task id", "wait_task", map[string]any{}, "task_id", "required"},
		{"wait too long", "wait_task", map[string]any{"task_id": "0385dc79-5ff8-4d82-bcb6-000000000000", "timeout_seconds": 301}, "timeout_seconds", "between 1 and 300"},
		{"cancel bad id", "cancel_task", map[string]any{"task_id": "a b"}, "task_id", "not a task id"},
		{"list bad time", "list_tasks", map[string]any{"start_time": "yesterday"}, "start_time", "RFC 3339"},
		{"list page size", "list_tasks", map[string]any{"page_size": 500}, "page_size", "between 1 and 100"},
	}
	fake := newFake(t)
	s := startStdio(t, startOptions{env: fakeEnv(fake), legacy: true})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := call(t, s.Client, tc.tool, tc.args)
			require.True(t, res.IsError, "expected a tool error, got %s", text(res))
			assert.Contains(t, text(res), tc.field+":")
			assert.Contains(t, text(res), tc.says)
		})
	}
	assert.Empty(t, fake.Requests(), "nothing reached DashScope")
}

func TestSubmitThenWaitStreamsProgressAndEndsWithTheVideo(t *testing.T) {
	protocols(t, func(t *testing.T, legacy bool) {
		fake := newFake(t)
		s := startStdio(t, startOptions{env: fakeEnv(fake), legacy: legacy})
		sub := structured(t, call(t, s.Client, "video_outpainting", map[string]any{"prompt": "wider", "video_url": "https://x/v.mp4", "left_scale": 1.5}))
		id := sub["task_id"].(string)

		res, err := callErr(t, s.Client, "wait_task", map[string]any{"task_id": id, "timeout_seconds": 30}, "wait-1")
		require.NoError(t, err)
		require.False(t, res.IsError, text(res))
		out := structured(t, res)
		assert.Equal(t, "SUCCEEDED", out["status"])
		assert.Equal(t, true, out["done"])
		assert.Equal(t, "video_outpainting", out["function"])
		assert.Equal(t, 5.0, out["usage"].(map[string]any)["video_duration"])
		assert.NotEmpty(t, out["expires_at"])
		assert.Contains(t, text(res), "SUCCEEDED")
		var link *mcp.ResourceLink
		for _, c := range res.Content {
			if l, ok := c.(mcp.ResourceLink); ok {
				link = &l
			}
		}
		require.NotNil(t, link, "a resource_link to the video")
		assert.Equal(t, out["video_url"], link.URI)
		assert.Equal(t, "video/mp4", link.MIMEType)

		prog := s.progress("wait-1")
		require.NotEmpty(t, prog, "progress while waiting")
		last := -1.0
		for _, p := range prog {
			v := p["progress"].(float64)
			assert.Greater(t, v, last, "progress must increase")
			last = v
			assert.Contains(t, p["message"], "since submission")
		}
		assertNoProgressAfterResult(t, s.Wire.messages(), "wait-1")
	})
}

// assertNoProgressAfterResult checks the raw stdio stream: no progress
// notification for token may follow the response to the call that carried it.
func assertNoProgressAfterResult(t *testing.T, msgs []json.RawMessage, token string) {
	t.Helper()
	var callID any
	answered := false
	for _, raw := range msgs {
		var m struct {
			ID     any             `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
			Result json.RawMessage `json:"result"`
		}
		require.NoError(t, json.Unmarshal(raw, &m), "stdout must hold only JSON-RPC messages: %s", raw)
		if m.Method == "notifications/progress" {
			var p struct {
				Token any `json:"progressToken"`
			}
			require.NoError(t, json.Unmarshal(m.Params, &p))
			if fmt.Sprint(p.Token) == token {
				assert.False(t, answered, "progress for %s after its result: %s", token, raw)
			}
		}
		if callID != nil && m.Result != nil && fmt.Sprint(m.ID) == fmt.Sprint(callID) {
			answered = true
		}
		if m.Result != nil && strings.Contains(string(m.Result), `"waited_seconds"`) {
			callID, answered = m.ID, true
		}
	}
	assert.True(t, answered, "the wait's result was seen")
}

func TestWaitIsBoundedAndResumable(t *testing.T) {
	fake := newFake(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Queue: 100 * time.Millisecond, Run: 3 * time.Second, VideoDuration: 5}))
	s := startStdio(t, startOptions{env: fakeEnv(fake), legacy: true})
	id := structured(t, call(t, s.Client, "video_outpainting", map[string]any{"prompt": "wider", "video_url": "https://x/v.mp4"}))["task_id"].(string)

	start := time.Now()
	res := call(t, s.Client, "wait_task", map[string]any{"task_id": id, "timeout_seconds": 1})
	took := time.Since(start)
	require.False(t, res.IsError, "running out of time is not an error: %s", text(res))
	out := structured(t, res)
	assert.Equal(t, false, out["done"])
	assert.Contains(t, []any{"PENDING", "RUNNING"}, out["status"])
	assert.Contains(t, out["next"], "Call wait_task again")
	assert.InDelta(t, 1.0, out["waited_seconds"], 0.5)
	assert.Less(t, took, 5*time.Second)

	for range 10 { // resume until done, as an agent would
		out = structured(t, call(t, s.Client, "wait_task", map[string]any{"task_id": id, "timeout_seconds": 2}))
		if out["done"] == true {
			break
		}
	}
	assert.Equal(t, "SUCCEEDED", out["status"])
}

func TestCancellingAWaitStopsPolling(t *testing.T) {
	fake := newFake(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: time.Hour}))
	s := startStdio(t, startOptions{env: fakeEnv(fake), legacy: true})
	id := structured(t, call(t, s.Client, "video_outpainting", map[string]any{"prompt": "wider", "video_url": "https://x/v.mp4"}))["task_id"].(string)

	ctx, cancel := context.WithCancel(context.Background())
	req := mcp.CallToolRequest{}
	req.Params.Name = "wait_task"
	req.Params.Arguments = map[string]any{"task_id": id, "timeout_seconds": 60}
	errc := make(chan error, 1)
	go func() { _, err := s.Client.CallTool(ctx, req); errc <- err }()
	require.Eventually(t, func() bool { return fake.Count(dashscopetest.EndpointGetTask) >= 3 }, 10*time.Second, 10*time.Millisecond)
	cancel() // the client sends notifications/cancelled
	require.Error(t, <-errc)

	// The server stops polling at once: at 100 ms per poll, a second of quiet
	// would otherwise hold ten queries.
	time.Sleep(300 * time.Millisecond)
	after := fake.Count(dashscopetest.EndpointGetTask)
	time.Sleep(time.Second)
	assert.LessOrEqual(t, fake.Count(dashscopetest.EndpointGetTask), after, "no queries after the wait was cancelled")
	for _, m := range s.Wire.messages() { // neither mcp-go's error nor the tool's own answer
		assert.NotContains(t, string(m), "context canceled", "a cancelled request gets no response")
		assert.NotContains(t, string(m), "wait_task was cancelled", "a cancelled request gets no response")
	}
}

func TestDuplicateSubmissionsReturnTheEarlierTask(t *testing.T) {
	fake := newFake(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: time.Hour}))
	s := startStdio(t, startOptions{env: fakeEnv(fake), legacy: true})
	args := map[string]any{"prompt": "wider", "video_url": "https://x/v.mp4", "top_scale": 1.5}
	first := structured(t, call(t, s.Client, "video_outpainting", args))

	res := call(t, s.Client, "video_outpainting", args)
	require.False(t, res.IsError, text(res))
	second := structured(t, res)
	assert.Equal(t, first["task_id"], second["task_id"])
	assert.Equal(t, true, second["duplicate"])
	assert.Contains(t, text(res), "allow_duplicate")
	assert.Equal(t, 1, fake.Count(dashscopetest.EndpointSubmit), "the same request is paid once")

	other := structured(t, call(t, s.Client, "video_outpainting", map[string]any{"prompt": "wider", "video_url": "https://x/v.mp4", "top_scale": 1.6}))
	assert.NotEqual(t, first["task_id"], other["task_id"], "different arguments are a different job")

	args["allow_duplicate"] = true
	third := structured(t, call(t, s.Client, "video_outpainting", args))
	assert.NotEqual(t, first["task_id"], third["task_id"])
	assert.Equal(t, 3, fake.Count(dashscopetest.EndpointSubmit))
}

func TestFailedUnknownAndCanceledTasksExplainThemselves(t *testing.T) {
	fake := newFake(t, dashscopetest.WithScript(func(sub dashscopetest.Submission) dashscopetest.Lifecycle {
		if strings.Contains(sub.Prompt, "fail") {
			return dashscopetest.Lifecycle{Run: 100 * time.Millisecond, FailCode: "InvalidParameter", FailMessage: "The size is not match xxxxxx"}
		}
		return dashscopetest.Lifecycle{Queue: time.Hour, Run: time.Minute}
	}))
	s := startStdio(t, startOptions{env: fakeEnv(fake), legacy: true})

	failing := structured(t, call(t, s.Client, "video_outpainting", map[string]any{"prompt": "please fail", "video_url": "https://x/v.mp4"}))
	res := call(t, s.Client, "wait_task", map[string]any{"task_id": failing["task_id"]})
	out := structured(t, res)
	assert.Equal(t, "FAILED", out["status"])
	assert.Equal(t, "InvalidParameter", out["error_code"])
	assert.Equal(t, "The size is not match xxxxxx", out["error_message"])
	assert.Contains(t, text(res), "The size is not match")
	assert.Contains(t, out["next"], "Nothing was billed")

	res = call(t, s.Client, "get_task", map[string]any{"task_id": "0385dc79-5ff8-4d82-bcb6-000000000000"})
	out = structured(t, res)
	assert.Equal(t, "UNKNOWN", out["status"])
	assert.Contains(t, text(res), "older than 24 hours")

	queued := structured(t, call(t, s.Client, "video_outpainting", map[string]any{"prompt": "queued", "video_url": "https://x/v.mp4"}))
	res = call(t, s.Client, "cancel_task", map[string]any{"task_id": queued["task_id"]})
	require.False(t, res.IsError, text(res))
	assert.Equal(t, "CANCELED", structured(t, res)["status"])
	res = call(t, s.Client, "cancel_task", map[string]any{"task_id": failing["task_id"]})
	assert.True(t, res.IsError)
	assert.Contains(t, text(res), "cancels only PENDING tasks")

	res = call(t, s.Client, "list_tasks", map[string]any{})
	require.False(t, res.IsError, text(res))
	list := structured(t, res)
	assert.Equal(t, 2.0, list["total"])
	rows := list["tasks"].([]any)
	require.Len(t, rows, 2)
	assert.Equal(t, queued["task_id"], rows[0].(map[string]any)["task_id"])
	assert.Equal(t, "video_outpainting", rows[0].(map[string]any)["function"])
}

func TestWithoutAKeyToolsAreListedAndCallsSayHowToConfigure(t *testing.T) {
	s := startStdio(t, startOptions{legacy: true})
	res, err := s.Client.ListTools(context.Background(), mcp.ListToolsRequest{})
	require.NoError(t, err)
	assert.Len(t, res.Tools, 11)

	out := call(t, s.Client, "video_outpainting", map[string]any{"prompt": "p", "video_url": "https://x/v.mp4"})
	require.True(t, out.IsError)
	assert.Contains(t, text(out), "DASHSCOPE_API_KEY")
	assert.Contains(t, text(out), "--sandbox")
	out = call(t, s.Client, "get_task", map[string]any{"task_id": "0385dc79-5ff8-4d82-bcb6-000000000000"})
	assert.Contains(t, text(out), "DASHSCOPE_API_KEY")
	out = call(t, s.Client, "video_outpainting", map[string]any{"prompt": "p"})
	assert.Contains(t, text(out), "video_url:", "validation still comes first")
	assert.Contains(t, s.Stderr.String(), "DASHSCOPE_API_KEY is not set")
}

func TestSandboxRunsAWholeJobAndSaysItIsSimulated(t *testing.T) {
	s := startStdio(t, startOptions{args: []string{"--sandbox", "--poll-interval", "500ms"}, legacy: true})
	res := call(t, s.Client, "image_reference", map[string]any{"prompt": "a cat in a garden", "ref_images_url": []any{"https://x/cat.png"}})
	require.False(t, res.IsError, text(res))
	assert.Contains(t, text(res), "SANDBOX")
	id := structured(t, res)["task_id"].(string)

	var out map[string]any
	for range 5 {
		res = call(t, s.Client, "wait_task", map[string]any{"task_id": id})
		require.False(t, res.IsError, text(res))
		if out = structured(t, res); out["done"] == true {
			break
		}
	}
	assert.Equal(t, "SUCCEEDED", out["status"])
	assert.Equal(t, true, out["simulated"])
	assert.Contains(t, text(res), "simulated")

	resp, err := http.Get(out["video_url"].(string))
	require.NoError(t, err)
	defer resp.Body.Close()
	video, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, dashscopetest.SampleVideo, video, "the sandbox serves a real MP4")
	assert.Contains(t, s.Stderr.String(), "SANDBOX MODE")
}

func TestTheKeyNeverAppearsInResultsOrLogs(t *testing.T) {
	const key = "sk-e2e-distinctive-7f3a9c41d2"
	fake := newFake(t, dashscopetest.WithAPIKey(key))
	s := startStdio(t, startOptions{env: []string{"DASHSCOPE_API_KEY=" + key, "DASHSCOPE_BASE_URL=" + fake.BaseURL()}, legacy: true})
	fake.InjectFault(dashscopetest.EndpointGetTask, 4, dashscopetest.Fault{Status: 400, Code: "InvalidParameter", Message: "echoing " + key})
	fake.InjectFault(dashscopetest.EndpointSubmit, 1, dashscopetest.Fault{Status: 500, Code: "InternalError", Message: "boom " + key})

	var all []string
	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{"video_outpainting", map[string]any{"prompt": "p", "video_url": "https://x/v.mp4"}},
		{"video_outpainting", map[string]any{"prompt": "q", "video_url": "https://x/v.mp4"}},
		{"get_task", map[string]any{"task_id": "abc"}},
		{"wait_task", map[string]any{"task_id": "abc", "timeout_seconds": 2}},
		{"list_tasks", map[string]any{}},
	} {
		res := call(t, s.Client, c.tool, c.args)
		all = append(all, text(res), string(mustJSON(t, res.StructuredContent)))
	}
	wrong := startStdio(t, startOptions{env: []string{"DASHSCOPE_API_KEY=" + key + "-wrong", "DASHSCOPE_BASE_URL=" + newFake(t).BaseURL()}, legacy: true})
	res := call(t, wrong.Client, "get_task", map[string]any{"task_id": "abc"})
	assert.Contains(t, text(res), "refused the API key")
	all = append(all, text(res))

	for _, out := range all {
		assert.NotContains(t, out, key)
	}
	assert.NotContains(t, s.Stderr.String(), key)
	assert.NotContains(t, wrong.Stderr.String(), "-wrong")
	for _, m := range s.Wire.messages() {
		assert.NotContains(t, string(m), key)
	}

	// And over HTTP, where errors travel in another shape.
	h := startHTTP(t, "http", []string{"DASHSCOPE_API_KEY=" + key, "DASHSCOPE_BASE_URL=" + fake.BaseURL()})
	hs := connectHTTP(t, h, "http", true, nil)
	fake.InjectFault(dashscopetest.EndpointGetTask, 4, dashscopetest.Fault{Status: 400, Code: "InvalidParameter", Message: "echoing " + key})
	res = call(t, hs.Client, "get_task", map[string]any{"task_id": "abc"})
	assert.NotContains(t, text(res), key)
	assert.NotContains(t, h.Stderr.String(), key)
}

func TestWaitsPerSessionAreCapped(t *testing.T) {
	fake := newFake(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: time.Hour}))
	h := startHTTP(t, "http", fakeEnv(fake), "--max-waits-per-session", "1")
	a, b := connectHTTP(t, h, "http", true, nil), connectHTTP(t, h, "http", true, nil)
	id := structured(t, call(t, a.Client, "video_outpainting", map[string]any{"prompt": "p", "video_url": "https://x/v.mp4"}))["task_id"]
	first := make(chan error, 1)
	go func() {
		_, err := callErr(t, a.Client, "wait_task", map[string]any{"task_id": id, "timeout_seconds": 3}, "")
		first <- err
	}()
	require.Eventually(t, func() bool { return fake.Count(dashscopetest.EndpointGetTask) > 0 }, 10*time.Second, 10*time.Millisecond)

	res := call(t, a.Client, "wait_task", map[string]any{"task_id": id, "timeout_seconds": 1})
	require.True(t, res.IsError, "a second wait on the same session is refused")
	assert.Contains(t, text(res), "already has 1 wait_task")
	res = call(t, b.Client, "wait_task", map[string]any{"task_id": id, "timeout_seconds": 1})
	assert.False(t, res.IsError, "another session has its own allowance: %s", text(res))
	assert.NoError(t, <-first, "the first wait ends normally")
}
