package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// MCP tasks through the built binary, with raw JSON-RPC: the 2025-11-25
// tasks utility and the io.modelcontextprotocol/tasks extension. The
// official TypeScript SDK drives the 2025-11-25 shape too (interop suite).

// taskPoll is the poll interval the servers in these tests suggest; the
// tests poll at it.
const taskPoll = 100 * time.Millisecond

var taskEnv = []string{"VACE_MCP_TASK_POLL_INTERVAL=" + taskPoll.String()}

// extMeta declares the tasks extension in a request's _meta.
const extMeta = `"_meta":{"io.modelcontextprotocol/clientCapabilities":{"extensions":{"io.modelcontextprotocol/tasks":{}}}}`

// taskCallLine is a tools/call of video_outpainting with extra params
// (such as "task":{} or _meta), each prompt its own job.
func taskCallLine(id, prompt, extra string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"video_outpainting","arguments":{"prompt":%q,"video_url":"https://x/v.mp4"}%s}}`,
		id, prompt, extra)
}

func taskMethodLine(id, method, taskID, extra string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":%q,"params":{"taskId":%q%s}}`, id, method, taskID, extra)
}

// mcpTask is a Task object in either protocol's field names.
type mcpTask struct {
	TaskID         string          `json:"taskId"`
	Status         string          `json:"status"`
	StatusMessage  string          `json:"statusMessage"`
	CreatedAt      string          `json:"createdAt"`
	LastUpdatedAt  string          `json:"lastUpdatedAt"`
	TTL            *int64          `json:"ttl"`
	PollInterval   *int64          `json:"pollInterval"`
	TTLMs          *int64          `json:"ttlMs"`
	PollIntervalMs *int64          `json:"pollIntervalMs"`
	ResultType     string          `json:"resultType"`
	Result         json.RawMessage `json:"result"`
}

// toolResult is a CallToolResult as the wire has it.
type toolResult struct {
	IsError           bool           `json:"isError"`
	StructuredContent map[string]any `json:"structuredContent"`
	Meta              map[string]any `json:"_meta"`
	Task              *mcpTask       `json:"task"`
}

func decode[T any](t *testing.T, raw json.RawMessage) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(raw, &v), string(raw))
	return v
}

// rpc sends one request and returns its answer; lines counts the requests
// of a test so that ids stay unique.
type rpc struct {
	t    *testing.T
	do   func(line, id string) reply
	next int
}

func (r *rpc) call(format string, args ...any) reply {
	r.t.Helper()
	r.next++
	id := fmt.Sprint(r.next)
	return r.do(fmt.Sprintf(strings.Replace(format, "ID", id, 1), args...), id)
}

func stdioRPC(t *testing.T, s *rawStdio) *rpc {
	return &rpc{t: t, do: func(line, id string) reply {
		s.send(t, line)
		return parseReply(t, s.answer(t, id))
	}, next: 100}
}

func httpRPC(t *testing.T, s *rawHTTPSession) *rpc {
	return &rpc{t: t, do: func(line, id string) reply {
		status, body := s.post(t, line)
		require.Equal(t, http.StatusOK, status, string(body))
		return parseReply(t, body)
	}, next: 100}
}

// pollUntilEnded polls tasks/get at the suggested interval until the task
// leaves "working"; polls are bounded by count, not by time.
func pollUntilEnded(t *testing.T, r *rpc, taskID, extra string) mcpTask {
	t.Helper()
	for range 600 {
		rep := r.call(taskMethodLine("ID", "tasks/get", taskID, extra))
		require.Nil(t, rep.Error, "tasks/get: %+v", rep.Error)
		task := decode[mcpTask](t, rep.Result)
		if task.Status != "working" {
			return task
		}
		time.Sleep(taskPoll)
	}
	t.Fatal("the task never ended")
	return mcpTask{}
}

func TestTasksDeclaredForTheEditingToolsOnly(t *testing.T) {
	s := startRawStdio(t, append(fakeEnv(newFake(t)), taskEnv...))
	s.send(t, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	list := decode[struct {
		Tools []struct {
			Name      string `json:"name"`
			Execution *struct {
				TaskSupport string `json:"taskSupport"`
			} `json:"execution"`
		} `json:"tools"`
	}](t, parseReply(t, s.answer(t, "1")).Result)
	tasks := map[string]bool{}
	for _, tool := range list.Tools {
		if tool.Execution != nil && tool.Execution.TaskSupport == "optional" {
			tasks[tool.Name] = true
		}
	}
	assert.Equal(t, map[string]bool{"image_reference": true, "video_repainting": true, "video_edit": true, "video_extension": true,
		"video_outpainting": true, "video_instruct_edit": true}, tasks)
}

func TestTasksInitializeDeclaresBothProtocolsAndTheFlagTurnsThemOff(t *testing.T) {
	fake := newFake(t)
	on := startStdio(t, startOptions{env: fakeEnv(fake), legacy: true})
	caps, err := json.Marshal(on.Client.GetServerCapabilities())
	require.NoError(t, err)
	assert.JSONEq(t, `{"cancel":{},"requests":{"tools":{"call":{}}}}`, gjson(t, caps, "tasks"))
	assert.JSONEq(t, `{"io.modelcontextprotocol/tasks":{}}`, gjson(t, caps, "extensions"))

	off := startRawStdio(t, append(fakeEnv(fake), "VACE_MCP_TASKS=false"))
	r := stdioRPC(t, off)
	rep := r.call(taskCallLine("ID", "off", `,"task":{}`))
	require.Nil(t, rep.Error)
	res := decode[toolResult](t, rep.Result)
	assert.Nil(t, res.Task, "with --tasks=false a task-augmented call is a plain call")
	assert.Equal(t, "PENDING", res.StructuredContent["status"])
	rep = r.call(taskMethodLine("ID", "tasks/get", "x", ""))
	require.NotNil(t, rep.Error)
	assert.Equal(t, -32601, rep.Error.Code, "no task methods when tasks are off")
}

// gjson returns the JSON of one member of a JSON object.
func gjson(t *testing.T, obj []byte, name string) string {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(obj, &m))
	require.Contains(t, m, name, string(obj))
	return string(m[name])
}

// TestTasks2025JobRunsToItsVideo is also the proof against three of mcp-go's
// task-engine defects: its engine would cancel the tool's context once the
// task exists (the job would never be submitted), delete the task when the
// client's 1 ms ttl passed, and suggest no poll interval.
func TestTasks2025JobRunsToItsVideo(t *testing.T) {
	transports := map[string]func(t *testing.T, env []string) *rpc{
		"stdio": func(t *testing.T, env []string) *rpc { return stdioRPC(t, startRawStdio(t, env)) },
		"http": func(t *testing.T, env []string) *rpc {
			return httpRPC(t, startRawHTTPSession(t, startHTTP(t, "http", env)))
		},
	}
	for name, start := range transports {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fake := newFake(t)
			r := start(t, append(fakeEnv(fake), taskEnv...))
			rep := r.call(taskCallLine("ID", "wider", `,"task":{"ttl":1}`))
			require.Nil(t, rep.Error)
			created := decode[toolResult](t, rep.Result)
			require.NotNil(t, created.Task, "a task-augmented call answers with the task: %s", rep.Result)
			task := *created.Task
			assert.Equal(t, "working", task.Status)
			require.NotNil(t, task.TTL)
			assert.Equal(t, int64(24*time.Hour/time.Millisecond), *task.TTL, "the ttl applied is DashScope's 24 hours, not the client's 1 ms")
			require.NotNil(t, task.PollInterval)
			assert.Equal(t, taskPoll.Milliseconds(), *task.PollInterval)
			assert.Contains(t, created.Meta, "io.modelcontextprotocol/model-immediate-response")
			assert.Equal(t, 1, fake.Count(dashscopetest.EndpointSubmit), "the job was submitted before the task was answered")

			ended := pollUntilEnded(t, r, task.TaskID, "")
			assert.Equal(t, "completed", ended.Status, ended.StatusMessage)
			assert.Equal(t, task.CreatedAt, ended.CreatedAt)

			rep = r.call(taskMethodLine("ID", "tasks/result", task.TaskID, ""))
			require.Nil(t, rep.Error)
			res := decode[toolResult](t, rep.Result)
			assert.False(t, res.IsError)
			assert.Equal(t, "SUCCEEDED", res.StructuredContent["status"])
			assert.NotEmpty(t, res.StructuredContent["video_url"])
			assert.Equal(t, map[string]any{"taskId": task.TaskID}, res.Meta["io.modelcontextprotocol/related-task"])
			assert.Equal(t, 1, fake.Count(dashscopetest.EndpointSubmit), "one job, paid once")

			rep = r.call(taskMethodLine("ID", "tasks/cancel", task.TaskID, ""))
			require.NotNil(t, rep.Error)
			assert.Equal(t, -32602, rep.Error.Code, "an ended task cannot be cancelled")
		})
	}
}

func TestTasks2025ResultBlocksUntilTheJobEnds(t *testing.T) {
	fake := newFake(t)
	r := stdioRPC(t, startRawStdio(t, append(fakeEnv(fake), taskEnv...)))
	rep := r.call(taskCallLine("ID", "blocking", `,"task":{}`))
	task := *decode[toolResult](t, rep.Result).Task
	rep = r.call(taskMethodLine("ID", "tasks/result", task.TaskID, "")) // at once: the job is still queued
	require.Nil(t, rep.Error)
	assert.Equal(t, "SUCCEEDED", decode[toolResult](t, rep.Result).StructuredContent["status"])
}

func TestTasks2025FailedJob(t *testing.T) {
	fake := newFake(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Queue: 100 * time.Millisecond, Run: 200 * time.Millisecond,
		FailCode: "InvalidParameter", FailMessage: "the video is too dark"}))
	r := stdioRPC(t, startRawStdio(t, append(fakeEnv(fake), taskEnv...)))
	task := *decode[toolResult](t, r.call(taskCallLine("ID", "dark", `,"task":{}`)).Result).Task
	ended := pollUntilEnded(t, r, task.TaskID, "")
	assert.Equal(t, "failed", ended.Status)
	assert.Contains(t, ended.StatusMessage, "InvalidParameter")
	assert.Contains(t, ended.StatusMessage, "the video is too dark", "VS Code shows only the statusMessage of a failed task")

	rep := r.call(taskMethodLine("ID", "tasks/result", task.TaskID, ""))
	require.Nil(t, rep.Error)
	res := decode[toolResult](t, rep.Result)
	assert.True(t, res.IsError)
	assert.Equal(t, "FAILED", res.StructuredContent["status"])
}

func TestTasks2025CancelPendingAndRefuseRunning(t *testing.T) {
	t.Run("pending", func(t *testing.T) {
		t.Parallel()
		fake := newFake(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Queue: time.Hour, Run: time.Minute}))
		r := stdioRPC(t, startRawStdio(t, append(fakeEnv(fake), taskEnv...)))
		task := *decode[toolResult](t, r.call(taskCallLine("ID", "queued", `,"task":{}`)).Result).Task
		rep := r.call(taskMethodLine("ID", "tasks/cancel", task.TaskID, ""))
		require.Nil(t, rep.Error, "%+v", rep.Error)
		assert.Equal(t, "cancelled", decode[mcpTask](t, rep.Result).Status)
		assert.Equal(t, 1, fake.Count(dashscopetest.EndpointCancel))
		got := decode[mcpTask](t, r.call(taskMethodLine("ID", "tasks/get", task.TaskID, "")).Result)
		assert.Equal(t, "cancelled", got.Status, "a cancelled task stays cancelled")
		rep = r.call(taskMethodLine("ID", "tasks/cancel", task.TaskID, ""))
		require.NotNil(t, rep.Error)
		assert.Equal(t, -32602, rep.Error.Code)
	})
	t.Run("running", func(t *testing.T) {
		t.Parallel()
		fake := newFake(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Queue: 0, Run: time.Hour}))
		r := stdioRPC(t, startRawStdio(t, append(fakeEnv(fake), taskEnv...)))
		task := *decode[toolResult](t, r.call(taskCallLine("ID", "busy", `,"task":{}`)).Result).Task
		rep := r.call(taskMethodLine("ID", "tasks/cancel", task.TaskID, ""))
		require.NotNil(t, rep.Error, "a RUNNING job cannot be stopped at DashScope, so the cancel is refused")
		assert.Equal(t, -32602, rep.Error.Code)
		assert.Contains(t, rep.Error.Message, "PENDING")
		got := decode[mcpTask](t, r.call(taskMethodLine("ID", "tasks/get", task.TaskID, "")).Result)
		assert.Equal(t, "working", got.Status)
	})
}

func TestTasksRefusalsAndBadIDs(t *testing.T) {
	fake := newFake(t)
	r := stdioRPC(t, startRawStdio(t, append(fakeEnv(fake), taskEnv...)))

	rep := r.call(`{"jsonrpc":"2.0","id":ID,"method":"tools/call","params":{"name":"video_outpainting","arguments":{"prompt":"x"},"task":{}}}`)
	require.Nil(t, rep.Error)
	res := decode[toolResult](t, rep.Result)
	assert.True(t, res.IsError, "bad input is an ordinary tool error")
	assert.Nil(t, res.Task, "and no task is created")
	assert.Zero(t, fake.Count(dashscopetest.EndpointSubmit))

	rep = r.call(`{"jsonrpc":"2.0","id":ID,"method":"tools/call","params":{"name":"get_task","arguments":{"task_id":"x"},"task":{}}}`)
	require.NotNil(t, rep.Error)
	assert.Equal(t, -32601, rep.Error.Code, "a tool without task support refuses a task")

	task := *decode[toolResult](t, r.call(taskCallLine("ID", "real", `,"task":{}`)).Result).Task
	forged := []byte(task.TaskID)
	forged[len(forged)/2] ^= 1
	for _, id := range []string{"no-such-task", string(forged), task.TaskID + "A", ""} {
		for _, method := range []string{"tasks/get", "tasks/result", "tasks/cancel"} {
			rep := r.call(taskMethodLine("ID", method, id, ""))
			require.NotNil(t, rep.Error, "%s %q", method, id)
			assert.Equal(t, -32602, rep.Error.Code, "%s %q", method, id)
		}
	}
	rep = r.call(`{"jsonrpc":"2.0","id":ID,"method":"tasks/list","params":{}}`)
	require.NotNil(t, rep.Error)
	assert.Equal(t, -32601, rep.Error.Code)
}

func TestTasksExtension(t *testing.T) {
	transports := map[string]func(t *testing.T, env []string) *rpc{
		"stdio": func(t *testing.T, env []string) *rpc { return stdioRPC(t, startRawStdio(t, env)) },
		"http-stateless": func(t *testing.T, env []string) *rpc {
			h := startHTTP(t, "http", env)
			return &rpc{t: t, next: 100, do: func(line, id string) reply {
				status, body := postModern(t, h.URL+"/mcp", line)
				require.Equal(t, http.StatusOK, status, string(body))
				return parseReply(t, body)
			}}
		},
	}
	for name, start := range transports {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fake := newFake(t, dashscopetest.WithScript(func(s dashscopetest.Submission) dashscopetest.Lifecycle {
				if strings.Contains(s.Prompt, "fail") {
					return dashscopetest.Lifecycle{Queue: 50 * time.Millisecond, Run: 100 * time.Millisecond, FailCode: "DataInspectionFailed", FailMessage: "not allowed"}
				}
				return testLife
			}))
			r := start(t, append(fakeEnv(fake), taskEnv...))

			// Per request: without the extension named, a plain result.
			rep := r.call(taskCallLine("ID", "plain", ""))
			require.Nil(t, rep.Error)
			assert.NotEqual(t, "task", decode[mcpTask](t, rep.Result).ResultType)
			assert.Equal(t, "PENDING", decode[toolResult](t, rep.Result).StructuredContent["status"])

			rep = r.call(taskCallLine("ID", "as a task", ","+extMeta))
			require.Nil(t, rep.Error)
			created := decode[mcpTask](t, rep.Result)
			assert.Equal(t, "task", created.ResultType)
			assert.Equal(t, "working", created.Status)
			require.NotNil(t, created.TTLMs)
			require.NotNil(t, created.PollIntervalMs)
			assert.Equal(t, taskPoll.Milliseconds(), *created.PollIntervalMs)
			assert.Nil(t, created.TTL, "the extension's field names only")

			rep = r.call(taskMethodLine("ID", "tasks/get", created.TaskID, ""))
			require.NotNil(t, rep.Error)
			assert.Equal(t, -32021, rep.Error.Code, "a task method from a request that does not name the extension")

			ended := pollUntilEnded(t, r, created.TaskID, ","+extMeta)
			assert.Equal(t, "completed", ended.Status)
			res := decode[toolResult](t, ended.Result)
			assert.False(t, res.IsError)
			assert.Equal(t, "SUCCEEDED", res.StructuredContent["status"])
			assert.NotEmpty(t, res.StructuredContent["video_url"])

			failing := decode[mcpTask](t, r.call(taskCallLine("ID", "fail please", ","+extMeta)).Result)
			ended = pollUntilEnded(t, r, failing.TaskID, ","+extMeta)
			assert.Equal(t, "completed", ended.Status, "a failed job is a completed task with an error result in the extension")
			assert.True(t, decode[toolResult](t, ended.Result).IsError)

			for _, method := range []string{"tasks/result", "tasks/list"} {
				rep = r.call(taskMethodLine("ID", method, created.TaskID, ","+extMeta))
				require.NotNil(t, rep.Error, method)
				assert.Equal(t, -32601, rep.Error.Code, method)
			}
			for _, method := range []string{"tasks/update", "tasks/cancel"} {
				rep = r.call(taskMethodLine("ID", method, created.TaskID, ","+extMeta))
				require.Nil(t, rep.Error, method)
				assert.JSONEq(t, `{"resultType":"complete"}`, string(rep.Result), method)
			}
		})
	}
}

// postModern POSTs one request of the stateless 2026-07-28 revision.
func postModern(t *testing.T, url, line string) (int, []byte) {
	t.Helper()
	return postModernHeaders(t, url, line, nil)
}

// postModernHeaders is postModern with some standard headers replaced
// (an empty value removes one).
func postModernHeaders(t *testing.T, url, line string, headers map[string]string) (int, []byte) {
	t.Helper()
	// The revision's _meta goes next to whatever the request has.
	meta := `"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"raw","version":"1"}`
	if !strings.Contains(line, "clientCapabilities") {
		meta += `,"io.modelcontextprotocol/clientCapabilities":{}`
	}
	if strings.Contains(line, `"_meta":{`) {
		line = strings.Replace(line, `"_meta":{`, `"_meta":{`+meta+",", 1)
	} else {
		line = strings.Replace(line, `"params":{`, `"params":{"_meta":{`+meta+`},`, 1)
	}
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(line))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("MCP-Protocol-Version", "2026-07-28")
	var m struct {
		Method string `json:"method"`
		Params struct {
			Name   string `json:"name"`
			TaskID string `json:"taskId"`
		} `json:"params"`
	}
	require.NoError(t, json.Unmarshal([]byte(line), &m))
	req.Header.Set("Mcp-Method", m.Method)
	if name := m.Params.Name + m.Params.TaskID; name != "" {
		req.Header.Set("Mcp-Name", name)
	}
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

func TestTasksSurviveARestart(t *testing.T) {
	fake := newFake(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Queue: 300 * time.Millisecond, Run: time.Second}))
	env := append(stateEnv(fake, t.TempDir()), taskEnv...)
	first := startRawStdio(t, env)
	task := *decode[toolResult](t, stdioRPC(t, first).call(taskCallLine("ID", "restart", `,"task":{}`)).Result).Task
	require.NoError(t, first.in.Close()) // the host stops the server

	second := stdioRPC(t, startRawStdio(t, env))
	ended := pollUntilEnded(t, second, task.TaskID, "")
	assert.Equal(t, "completed", ended.Status)
	rep := second.call(taskMethodLine("ID", "tasks/result", task.TaskID, ""))
	require.Nil(t, rep.Error)
	assert.Equal(t, "SUCCEEDED", decode[toolResult](t, rep.Result).StructuredContent["status"])

	other := stdioRPC(t, startRawStdio(t, append(fakeEnv(fake), taskEnv...))) // another state directory, another key
	rep = other.call(taskMethodLine("ID", "tasks/get", task.TaskID, ""))
	require.NotNil(t, rep.Error)
	assert.Equal(t, -32602, rep.Error.Code)
}

func TestTasksAreBoundToTheBearerToken(t *testing.T) {
	fake := newFake(t)
	state := t.TempDir()
	env := append(stateEnv(fake, state), taskEnv...)
	a := startHTTP(t, "http", append(env, "VACE_MCP_AUTH_TOKEN=token-a"))
	sa := &rawHTTPSession{url: a.URL + "/mcp", token: "token-a"}
	sa.initialize(t)
	task := *decode[toolResult](t, httpRPC(t, sa).call(taskCallLine("ID", "bound", `,"task":{}`)).Result).Task
	assert.Equal(t, "completed", pollUntilEnded(t, httpRPC(t, sa), task.TaskID, "").Status)

	b := startHTTP(t, "http", append(env, "VACE_MCP_AUTH_TOKEN=token-b")) // same key, another token
	sb := &rawHTTPSession{url: b.URL + "/mcp", token: "token-b"}
	sb.initialize(t)
	rep := httpRPC(t, sb).call(taskMethodLine("ID", "tasks/get", task.TaskID, ""))
	require.NotNil(t, rep.Error)
	assert.Equal(t, -32602, rep.Error.Code, "a task made under one token is unknown under another")
}

func TestTasksManyIdenticalTaskCallsPayOnce(t *testing.T) {
	fake := newFake(t)
	s := startRawStdio(t, append(fakeEnv(fake), taskEnv...))
	const n = 16
	for i := range n {
		s.send(t, taskCallLine(fmt.Sprint(1000+i), "same", `,"task":{}`))
	}
	for answered := 0; answered < n; {
		select {
		case line := <-s.lines:
			if strings.Contains(string(line), `"method"`) {
				continue // a notification
			}
			rep := parseReply(t, line)
			require.Nil(t, rep.Error)
			require.NotNil(t, decode[toolResult](t, rep.Result).Task, "%s", line)
			answered++
		case <-time.After(30 * time.Second):
			t.Fatal("not every call was answered")
		}
	}
	assert.Equal(t, 1, fake.Count(dashscopetest.EndpointSubmit), "identical task calls at once submit one job")
}

func TestTasksProgressFlowsOverStdioUntilTheTaskEnds(t *testing.T) {
	fake := newFake(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Queue: 200 * time.Millisecond, Run: 1500 * time.Millisecond}))
	s := startRawStdio(t, append(fakeEnv(fake), taskEnv...))
	s.send(t, taskCallLine("1", "progress", `,"task":{},"_meta":{"progressToken":"tp"}`))
	var (
		taskID   string
		progress []float64
		ended    bool
	)
	timeout := time.After(30 * time.Second)
	for !ended {
		select {
		case line := <-s.lines:
			var m struct {
				ID     json.RawMessage `json:"id"`
				Method string          `json:"method"`
				Params struct {
					ProgressToken string                     `json:"progressToken"`
					Progress      float64                    `json:"progress"`
					Status        string                     `json:"status"`
					TaskID        string                     `json:"taskId"`
					Meta          map[string]json.RawMessage `json:"_meta"`
				} `json:"params"`
				Result struct {
					Task mcpTask `json:"task"`
				} `json:"result"`
			}
			require.NoError(t, json.Unmarshal(line, &m), string(line))
			switch m.Method {
			case "":
				taskID = m.Result.Task.TaskID
			case "notifications/progress":
				require.NotEmpty(t, taskID, "progress for the task comes after the task is answered")
				assert.Equal(t, "tp", m.Params.ProgressToken)
				assert.JSONEq(t, `{"taskId":"`+taskID+`"}`, string(m.Params.Meta["io.modelcontextprotocol/related-task"]))
				progress = append(progress, m.Params.Progress)
			case "notifications/tasks/status":
				assert.Equal(t, taskID, m.Params.TaskID)
				assert.Equal(t, "completed", m.Params.Status)
				ended = true
			}
		case <-timeout:
			t.Fatal("the task's end was not notified")
		}
	}
	require.NotEmpty(t, progress, "progress flowed while the job ran")
	for i := 1; i < len(progress); i++ {
		assert.Greater(t, progress[i], progress[i-1], "progress increases")
	}
	// Nothing more for the token once the task ended: a ping's answer is
	// the next line.
	s.send(t, `{"jsonrpc":"2.0","id":"ping","method":"ping"}`)
	select {
	case line := <-s.lines:
		assert.Contains(t, string(line), `"id":"ping"`, "no progress after the end: %s", line)
	case <-time.After(10 * time.Second):
		t.Fatal("no answer to ping")
	}
}

func TestTasksResultCarriesTheSavedVideoWhenAutoSaveIsOn(t *testing.T) {
	fake := newFake(t)
	out := t.TempDir()
	r := stdioRPC(t, startRawStdio(t, append(fakeEnv(fake), append(taskEnv, "VACE_MCP_AUTO_SAVE=true", "VACE_MCP_OUTPUT_DIR="+out)...)))
	task := *decode[toolResult](t, r.call(taskCallLine("ID", "saved", `,"task":{}`)).Result).Task
	rep := r.call(taskMethodLine("ID", "tasks/result", task.TaskID, ""))
	require.Nil(t, rep.Error)
	res := decode[toolResult](t, rep.Result)
	path, _ := res.StructuredContent["local_path"].(string)
	require.NotEmpty(t, path, "the result names the saved file: %v", res.StructuredContent)
	assert.FileExists(t, path)
	assert.Equal(t, out, filepath.Dir(path))
	assert.Equal(t, 1, fake.Count(dashscopetest.EndpointResult), "downloaded once")

	ext := decode[mcpTask](t, r.call(taskCallLine("ID", "saved too", ","+extMeta)).Result)
	ended := pollUntilEnded(t, r, ext.TaskID, ","+extMeta)
	require.Equal(t, "completed", ended.Status)
	assert.NotEmpty(t, decode[toolResult](t, ended.Result).StructuredContent["local_path"], "the extension's completed task comes with the saved file")
}

func TestTasksModernHeadersMustNameTheTask(t *testing.T) {
	h := startHTTP(t, "http", append(fakeEnv(newFake(t)), taskEnv...))
	created := decode[mcpTask](t, parseReply(t, mustPostModern(t, h.URL+"/mcp", taskCallLine("1", "headers", ","+extMeta), nil)).Result)
	line := taskMethodLine("2", "tasks/get", created.TaskID, ","+extMeta)
	for name, headers := range map[string]map[string]string{
		"wrong name":   {"Mcp-Name": "someone-else"},
		"wrong method": {"Mcp-Method": "tasks/cancel"},
		"no name":      {"Mcp-Name": ""},
	} {
		status, body := postModernHeaders(t, h.URL+"/mcp", line, headers)
		assert.Equal(t, http.StatusBadRequest, status, name)
		assert.Contains(t, string(body), "-32020", name)
	}
	assert.Equal(t, "working", decode[mcpTask](t, parseReply(t, mustPostModern(t, h.URL+"/mcp", line, nil)).Result).Status)
}

func mustPostModern(t *testing.T, url, line string, headers map[string]string) []byte {
	t.Helper()
	status, body := postModernHeaders(t, url, line, headers)
	require.Equal(t, http.StatusOK, status, string(body))
	return body
}

// TestTasksResultPendingLeavesTheConnectionFree: a tasks/result waiting for
// a job must not hold up the stdio reader: pings, other task methods and the
// client's cancel of that very wait get through.
func TestTasksResultPendingLeavesTheConnectionFree(t *testing.T) {
	fake := newFake(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Queue: time.Hour, Run: time.Minute}))
	s := startRawStdio(t, append(fakeEnv(fake), taskEnv...))
	r := stdioRPC(t, s)
	task := *decode[toolResult](t, r.call(taskCallLine("ID", "long", `,"task":{}`)).Result).Task
	s.send(t, taskMethodLine(`"waiting"`, "tasks/result", task.TaskID, "")) // blocks for an hour
	s.send(t, `{"jsonrpc":"2.0","id":"p","method":"ping"}`)
	require.Nil(t, parseReply(t, s.answer(t, `"p"`)).Error, "a ping is answered while tasks/result waits")
	got := decode[mcpTask](t, r.call(taskMethodLine("ID", "tasks/get", task.TaskID, "")).Result)
	assert.Equal(t, "working", got.Status)
	s.send(t, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"waiting"}}`)
	s.send(t, `{"jsonrpc":"2.0","id":"p2","method":"ping"}`)
	require.Nil(t, parseReply(t, s.answer(t, `"p2"`)).Error, "the cancelled wait is not answered (answer would fail on its id)")
}

// TestTasksAnySpellingOfTaskIsAnsweredHereNotByMcpGo: encoding/json (and so
// mcp-go) reads "Task" or "Params" as "task" and "params"; each such call
// must still be answered by this server's task layer, never by mcp-go's own
// task engine (which would cancel the job's context and honour a 1 s ttl).
func TestTasksAnySpellingOfTaskIsAnsweredHereNotByMcpGo(t *testing.T) {
	fake := newFake(t)
	r := stdioRPC(t, startRawStdio(t, append(fakeEnv(fake), taskEnv...)))
	for i, line := range []string{
		`{"jsonrpc":"2.0","id":ID,"method":"tools/call","params":{"name":"video_outpainting","arguments":{"prompt":"a","video_url":"https://x/v.mp4"},"Task":{"ttl":1000}}}`,
		`{"jsonrpc":"2.0","id":ID,"method":"tools/call","Params":{"name":"video_outpainting","arguments":{"prompt":"b","video_url":"https://x/v.mp4"},"task":{"ttl":1000}}}`,
		`{"jsonrpc":"2.0","id":ID,"method":"tools/call","params":{"name":"video_outpainting","arguments":{"prompt":"c","video_url":"https://x/v.mp4"},"TASK":{"ttl":1000},"task":{}}}`,
	} {
		rep := r.call(line)
		require.Nil(t, rep.Error, "%d: %+v", i, rep.Error)
		created := decode[toolResult](t, rep.Result).Task
		require.NotNil(t, created, "%d: %s", i, rep.Result)
		require.NotNil(t, created.PollInterval, "%d: mcp-go's engine sets no poll interval", i)
		assert.Equal(t, int64(24*time.Hour/time.Millisecond), *created.TTL, "%d: mcp-go's engine would keep the client's 1 s", i)
		assert.Equal(t, "completed", pollUntilEnded(t, r, created.TaskID, "").Status, "%d", i)
	}
	assert.Equal(t, 3, fake.Count(dashscopetest.EndpointSubmit))
}
