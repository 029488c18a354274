// Package mcptasks answers MCP task traffic in front of mcp-go, so that a
// host can run a video job as a task: it gets a task at once, polls it, and
// receives the finished job as the tool's result, with no tool call held
// open for minutes and no wait_task calls.
//
// Both task protocols are spoken, and they do not interoperate:
//
//   - the 2025-11-25 tasks utility (VS Code, the TypeScript SDK): tools/call
//     with params.task, then tasks/get, tasks/result (blocks until the job
//     ends) and tasks/cancel;
//   - the io.modelcontextprotocol/tasks extension of 2026-07-28 (Claude
//     Code): a client naming the extension in a request's _meta gets
//     resultType "task", then tasks/get carries the finished result inline;
//     tasks/update and tasks/cancel are acknowledged.
//
// mcp-go v1.2.1's own task engine is never used (it cancels the task's
// context as soon as the task is created, lets a client's ttl delete
// running work, and sets no poll interval): a task-augmented call reaches
// mcp-go as a plain call, which submits the job and answers at once with its
// DashScope task id; this layer turns that answer into the task. The task is
// the DashScope job: its status is the job's, read through Jobs.
package mcptasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/internal/cancellation"
)

// ExtensionID names the tasks extension in capabilities.
const ExtensionID = "io.modelcontextprotocol/tasks"

// Keys of _meta.
const (
	metaClientCapabilities = "io.modelcontextprotocol/clientCapabilities"
	metaRelatedTask        = "io.modelcontextprotocol/related-task"
	metaImmediateResponse  = "io.modelcontextprotocol/model-immediate-response"
)

// JSON-RPC error codes of the task protocols.
const (
	codeMethodNotFound     = mcp.METHOD_NOT_FOUND
	codeInvalidParams      = mcp.INVALID_PARAMS
	codeInternal           = mcp.INTERNAL_ERROR
	codeMissingCapability  = -32021 // the extension: a task method from a client that did not declare it
	codeCutOff             = -32000 // a blocking answer cut off by the transport's end, as the transports answer such requests
	defaultPollInterval    = 10 * time.Second
	defaultTTL             = dashscope.ResultTTL
	progressEveryByDefault = 5 * time.Second
)

// View is what is known of a job at one moment.
type View struct {
	// Status is DashScope's status of the job.
	Status dashscope.TaskStatus
	// Message says, for a person, where the job stands (shown by hosts).
	Message string
	// Updated is when the job last changed, when known.
	Updated time.Time
	// Age is the job's age (time since submission) at the moment of the view.
	Age time.Duration
	// Result is the tool result of a job that ended, once it is final (its
	// video saved when auto-save is on); nil before.
	Result *mcp.CallToolResult
}

// Jobs reads and cancels DashScope jobs for the layer.
type Jobs interface {
	// Look returns what is known of the job now, querying DashScope only
	// when what is known is stale. A job that ended but whose result is
	// not final yet (its video being saved) has a nil Result.
	Look(ctx context.Context, jobID string) (View, error)
	// Result blocks until the job has ended (or DashScope does not know
	// it: UNKNOWN) and its result is final, and returns that result,
	// exactly what a tool call would return, with the job's status.
	Result(ctx context.Context, jobID string) (*mcp.CallToolResult, dashscope.TaskStatus, error)
	// Cancel asks DashScope to cancel the job (only a PENDING job can be)
	// and returns the job's state after the attempt.
	Cancel(ctx context.Context, jobID string) (View, error)
	// Watch calls f with each new view of the job until it ends or ctx does.
	Watch(ctx context.Context, jobID string, f func(View))
}

// Options configures a Layer.
type Options struct {
	Jobs Jobs
	// Key signs task ids (see journal.Store.TaskKey).
	Key []byte
	// Tools are the tools that may run as tasks.
	Tools []string
	// PollInterval is the interval suggested to clients (default 10 s: a
	// job takes minutes, and many hosts polling faster would spend the
	// account's 20 queries a second).
	PollInterval time.Duration
	// ProgressEvery is how often a task's progress is reported where the
	// transport can send notifications and the client gave a token.
	ProgressEvery time.Duration
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Layer answers task traffic; Hook gives each connection its view of it.
type Layer struct {
	o Options
}

// New returns a Layer.
func New(o Options) *Layer {
	if o.PollInterval <= 0 {
		o.PollInterval = defaultPollInterval
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = progressEveryByDefault
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Layer{o: o}
}

// Hook returns the hook of one connection (see cancellation.Hook). binding
// names who may use the tasks it creates: the HTTP bearer token, or "" on
// stdio; a task id works only under the same binding. notify, when not nil,
// sends a message to the client at any time (stdio): then a task's progress
// and its end are notified while ctx lasts.
func (l *Layer) Hook(ctx context.Context, binding string, notify func(msg []byte)) cancellation.Hook {
	return &hook{l: l, ctx: ctx, binding: binding, notify: notify}
}

type hook struct {
	l       *Layer
	ctx     context.Context
	binding string
	notify  func([]byte)
}

// request is the part of a request the layer reads.
type request struct {
	Params struct {
		Name   string          `json:"name"`
		TaskID *string         `json:"taskId"`
		Task   json.RawMessage `json:"task"`
		Meta   map[string]any  `json:"_meta"`
	} `json:"params"`
}

// declaresExtension reports whether a request names the tasks extension in
// its per-request client capabilities.
func (r *request) declaresExtension() bool {
	caps, _ := r.Params.Meta[metaClientCapabilities].(map[string]any)
	ext, _ := caps["extensions"].(map[string]any)
	_, ok := ext[ExtensionID]
	return ok
}

func (h *hook) Route(method string, msg []byte) cancellation.Route {
	switch method {
	case string(mcp.MethodToolsCall):
		return h.toolCall(msg)
	case "tasks/get", "tasks/result", "tasks/cancel", "tasks/update", "tasks/list":
		var req request
		if err := json.Unmarshal(msg, &req); err != nil {
			return cancellation.Route{} // mcp-go reports what does not parse
		}
		return cancellation.Route{Answer: func(ctx context.Context) (any, *cancellation.Error) {
			return h.taskMethod(ctx, method, &req)
		}}
	}
	return cancellation.Route{}
}

// toolCall routes a tools/call: a task-augmented call of a tool that runs
// as a task reaches mcp-go as a plain call, and its answer becomes the task.
func (h *hook) toolCall(msg []byte) cancellation.Route {
	var req request
	if json.Unmarshal(msg, &req) != nil {
		return cancellation.Route{}
	}
	taskTool := slices.Contains(h.l.o.Tools, req.Params.Name)
	switch {
	case req.Params.Task != nil && string(req.Params.Task) != "null":
		var params struct {
			TTL *float64 `json:"ttl"`
		}
		if err := json.Unmarshal(req.Params.Task, &params); err != nil {
			return answerError(codeInvalidParams, "Invalid params: task must be an object, optionally with ttl (milliseconds)")
		}
		if !taskTool {
			return answerError(codeMethodNotFound, fmt.Sprintf("%q does not run as a task (its execution.taskSupport is forbidden): call it without params.task. "+
				"The editing tools (%s) run as tasks.", req.Params.Name, strings.Join(h.l.o.Tools, ", ")))
		}
		plain, err := withoutTask(msg)
		if err != nil {
			// Fail closed: never pass a task on to mcp-go.
			return answerError(codeInvalidParams, "Invalid params: the task-augmented request could not be read: "+err.Error())
		}
		token := progressToken(req.Params.Meta)
		return cancellation.Route{Forward: plain, Finish: func(answer []byte) []byte {
			return h.created(answer, shapeCore, req.Params.Name, token)
		}}
	case taskTool && req.declaresExtension():
		return cancellation.Route{Finish: func(answer []byte) []byte {
			return h.created(answer, shapeExtension, req.Params.Name, nil)
		}}
	}
	return cancellation.Route{}
}

func answerError(code int, message string) cancellation.Route {
	return cancellation.Route{Answer: func(context.Context) (any, *cancellation.Error) {
		return nil, &cancellation.Error{Code: code, Message: message}
	}}
}

// withoutTask returns a tools/call request with params.task removed, under
// every spelling encoding/json (and so mcp-go) would read as "task" in
// "params"; the id and every other value keep their bytes.
func withoutTask(msg []byte) ([]byte, error) {
	out, err := cancellation.EditParams(msg, func(params map[string]json.RawMessage) error {
		for k := range params {
			if strings.EqualFold(k, "task") {
				delete(params, k)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var check request
	if err := json.Unmarshal(out, &check); err != nil || check.Params.Task != nil {
		return nil, errors.New("params.task is still there")
	}
	return out, nil
}

func progressToken(meta map[string]any) any {
	switch t := meta["progressToken"].(type) {
	case string, float64:
		return t
	}
	return nil
}

// created turns mcp-go's answer to a task-augmented call into the task: a
// call that failed (a tool error: bad input, a refusal, the budget) is
// answered as it is, and no task exists.
func (h *hook) created(answer []byte, sh shape, tool string, token any) []byte {
	var resp struct {
		ID     json.RawMessage `json:"id"`
		Result *struct {
			IsError           bool `json:"isError"`
			StructuredContent struct {
				TaskID string `json:"task_id"`
				Status string `json:"status"`
			} `json:"structuredContent"`
		} `json:"result"`
	}
	if json.Unmarshal(answer, &resp) != nil || resp.Result == nil || resp.Result.IsError || resp.Result.StructuredContent.TaskID == "" {
		return answer
	}
	jobID := resp.Result.StructuredContent.TaskID
	if len(jobID) > maxJobIDBytes {
		return answer
	}
	now := h.l.o.Now().UTC().Truncate(time.Millisecond) // as the task id keeps it
	ref := taskRef{shape: sh, created: now, jobID: jobID}
	id := mint(h.l.o.Key, h.binding, ref)
	message := fmt.Sprintf("%s job %s submitted (%s); videos take 1-10 minutes", tool, jobID, resp.Result.StructuredContent.Status)
	t := h.task(id, ref, "working", message, now)
	var result any
	switch sh {
	case shapeCore:
		result = map[string]any{
			"task": t,
			"_meta": map[string]any{metaImmediateResponse: fmt.Sprintf(
				"The %s job was submitted (DashScope task %s) and runs as a task: the host delivers the finished video when it is done, usually in 1-10 minutes. Do not submit it again.",
				tool, jobID)},
		}
		if h.notify != nil {
			go h.follow(id, ref, token)
		}
	default:
		t["resultType"] = "task"
		result = t
	}
	b, err := cancellation.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Result  any             `json:"result"`
	}{mcp.JSONRPC_VERSION, resp.ID, result})
	if err != nil {
		return answer
	}
	h.l.o.Logger.Info("mcp task created", slog.String("tool", tool), slog.String("task_id", jobID), slog.String("protocol", sh.String()))
	return b
}

func (s shape) String() string {
	if s == shapeExtension {
		return "extension " + ExtensionID
	}
	return "2025-11-25"
}

// task is the Task object of ref, in its protocol's field names.
func (h *hook) task(id string, ref taskRef, status, message string, updated time.Time) map[string]any {
	// DashScope's times come from its clock (the sandbox's runs 30 times
	// faster): keep lastUpdatedAt between the task's creation and now.
	if now := h.l.o.Now(); updated.After(now) {
		updated = now
	}
	if updated.Before(ref.created) {
		updated = ref.created
	}
	t := map[string]any{
		"taskId":        id,
		"status":        status,
		"createdAt":     ref.created.Format(time.RFC3339Nano),
		"lastUpdatedAt": updated.UTC().Format(time.RFC3339Nano),
	}
	if message != "" {
		t["statusMessage"] = message
	}
	ttl, poll := defaultTTL.Milliseconds(), h.l.o.PollInterval.Milliseconds()
	if ref.shape == shapeExtension {
		t["ttlMs"], t["pollIntervalMs"] = ttl, poll
	} else {
		t["ttl"], t["pollInterval"] = ttl, poll
	}
	return t
}

// taskMethod answers tasks/get, tasks/result, tasks/cancel, tasks/update and
// tasks/list.
func (h *hook) taskMethod(ctx context.Context, method string, req *request) (any, *cancellation.Error) {
	ext := req.declaresExtension()
	switch {
	case method == "tasks/list":
		return nil, &cancellation.Error{Code: codeMethodNotFound, Message: "Method not found: tasks/list is not offered (task ids are unguessable and listed nowhere); " +
			"the list_tasks tool lists recent jobs"}
	case method == "tasks/result" && ext:
		return nil, &cancellation.Error{Code: codeMethodNotFound, Message: "Method not found: the tasks extension has no tasks/result; tasks/get carries the result once the task is completed"}
	}
	if req.Params.TaskID == nil {
		return nil, &cancellation.Error{Code: codeInvalidParams, Message: "Invalid params: taskId is required"}
	}
	ref, err := parse(h.l.o.Key, h.binding, *req.Params.TaskID)
	if err != nil {
		return nil, &cancellation.Error{Code: codeInvalidParams, Message: "Failed to retrieve task: Task not found"}
	}
	id := *req.Params.TaskID
	now := h.l.o.Now()
	if now.Sub(ref.created) > defaultTTL {
		return nil, &cancellation.Error{Code: codeInvalidParams, Message: "Failed to retrieve task: Task has expired (DashScope keeps a job 24 hours)"}
	}
	switch {
	case ref.shape == shapeExtension && !ext:
		return nil, &cancellation.Error{Code: codeMissingCapability, Message: "Missing required client capability",
			Data: map[string]any{"requiredCapabilities": map[string]any{"extensions": map[string]any{ExtensionID: map[string]any{}}}}}
	case ref.shape == shapeCore && method == "tasks/update":
		return nil, &cancellation.Error{Code: codeMethodNotFound, Message: "Method not found: tasks/update belongs to the tasks extension; this task was created by the 2025-11-25 tasks utility"}
	}
	jobs := h.l.o.Jobs
	switch method {
	case "tasks/get":
		v, err := jobs.Look(ctx, ref.jobID)
		if err != nil {
			v = View{Status: dashscope.StatusPending, Message: "Could not read the job's status just now (" + err.Error() + "); it is still tracked, poll again"}
		}
		return h.report(id, ref, v), nil
	case "tasks/result":
		res, status, err := jobs.Result(ctx, ref.jobID)
		for err == nil && status == dashscope.StatusUnknown && h.l.o.Now().Sub(ref.created) < unknownGrace {
			// Not known yet, moments after it was accepted: a task that
			// exists shows up; wait as tasks/get would report it, working.
			select {
			case <-ctx.Done():
				err = ctx.Err()
			case <-time.After(h.l.o.PollInterval):
				res, status, err = jobs.Result(ctx, ref.jobID)
			}
		}
		switch {
		case err != nil && ctx.Err() != nil:
			// The connection or the server is closing; the job goes on.
			return nil, &cancellation.Error{Code: codeCutOff, Message: "tasks/result was cut off before the job ended (the connection or the server is closing); " +
				"the task goes on: call tasks/get or tasks/result again"}
		case err != nil:
			return nil, &cancellation.Error{Code: codeInternal, Message: "Internal error: " + err.Error()}
		}
		out := *res
		out.Meta = withRelated(res.Meta, id)
		return &out, nil
	case "tasks/cancel":
		return h.cancel(ctx, id, ref)
	default: // tasks/update: nothing is ever asked of the client
		return map[string]any{"resultType": "complete"}, nil
	}
}

// report is the tasks/get answer for a view.
func (h *hook) report(id string, ref taskRef, v View) map[string]any {
	status, message := h.status(ref, v)
	t := h.task(id, ref, status, message, v.Updated)
	if ref.shape == shapeExtension {
		t["resultType"] = "complete"
		if status == "completed" && v.Result != nil {
			t["result"] = v.Result
		}
	}
	return t
}

// unknownGrace is how long after a task's creation DashScope may not know
// its job yet (a task is made only for a job it accepted); later, UNKNOWN
// means it never will (another account, region or root, or a job past 24
// hours), and the task ends as failed.
const unknownGrace = 2 * time.Minute

// status maps a job's status to the task's, with the message a host shows.
func (h *hook) status(ref taskRef, v View) (string, string) {
	sh := ref.shape
	switch v.Status {
	case dashscope.StatusUnknown:
		if h.l.o.Now().Sub(ref.created) < unknownGrace {
			return "working", v.Message
		}
		message := "DashScope does not know this job: it was made under another API key, region or API root than this server uses now, or it is older than 24 hours"
		if sh == shapeExtension {
			if v.Result == nil {
				return "working", v.Message
			}
			return "completed", message
		}
		return "failed", message
	case dashscope.StatusSucceeded:
		if sh == shapeExtension && v.Result == nil {
			return "working", "SUCCEEDED; saving the video"
		}
		return "completed", v.Message
	case dashscope.StatusFailed:
		if sh == shapeExtension {
			if v.Result == nil {
				return "working", v.Message
			}
			return "completed", v.Message // the result is the tool's error result
		}
		return "failed", v.Message
	case dashscope.StatusCanceled:
		return "cancelled", v.Message
	}
	return "working", v.Message
}

// cancel answers tasks/cancel. DashScope cancels only a PENDING job; a job
// that already runs cannot be stopped and is billed. The 2025-11-25 promise
// ("a cancelled task stays cancelled") is kept by reporting cancelled only
// when DashScope has cancelled the job, which is final there; otherwise the
// cancel is refused with the reason. The extension's cancel is an
// acknowledgement in any case, as that protocol has it.
func (h *hook) cancel(ctx context.Context, id string, ref taskRef) (any, *cancellation.Error) {
	jobs := h.l.o.Jobs
	if ref.shape == shapeExtension {
		if v, err := jobs.Look(ctx, ref.jobID); err == nil && v.Status.Terminal() {
			return map[string]any{"resultType": "complete"}, nil // ended: nothing to cancel
		}
		if _, err := jobs.Cancel(ctx, ref.jobID); err != nil {
			h.l.o.Logger.Info("tasks/cancel: the job was not cancelled", slog.String("task_id", ref.jobID), slog.String("error", err.Error()))
		}
		return map[string]any{"resultType": "complete"}, nil
	}
	v, err := jobs.Look(ctx, ref.jobID)
	if err == nil && v.Status.Terminal() {
		return nil, &cancellation.Error{Code: codeInvalidParams, Message: fmt.Sprintf("Cannot cancel: the task has already ended (%s)", v.Status)}
	}
	v, err = jobs.Cancel(ctx, ref.jobID)
	switch {
	case err != nil:
		return nil, &cancellation.Error{Code: codeInternal, Message: "Internal error: the cancel could not be sent to DashScope (" + err.Error() + "); the task goes on"}
	case v.Status == dashscope.StatusCanceled:
		return h.report(id, ref, v), nil
	case v.Status.Terminal():
		return nil, &cancellation.Error{Code: codeInvalidParams, Message: fmt.Sprintf("Cannot cancel: the task has already ended (%s)", v.Status)}
	case v.Status == dashscope.StatusPending:
		return nil, &cancellation.Error{Code: codeInternal, Message: "The cancel was sent, but DashScope still reports the job PENDING; " +
			"the task is not cancelled yet: poll tasks/get, or cancel again"}
	}
	return nil, &cancellation.Error{Code: codeInvalidParams, Message: fmt.Sprintf("Cannot cancel: the DashScope job is %s, and DashScope cancels only PENDING jobs; "+
		"it runs to the end and is billed. Keep polling the task for its video.", v.Status)}
}

func withRelated(meta *mcp.Meta, id string) *mcp.Meta {
	out := &mcp.Meta{AdditionalFields: map[string]any{}}
	if meta != nil {
		out.ProgressToken = meta.ProgressToken
		for k, v := range meta.AdditionalFields {
			out.AdditionalFields[k] = v
		}
	}
	out.AdditionalFields[metaRelatedTask] = map[string]any{"taskId": id}
	return out
}

// follow notifies a 2025-11-25 task's progress (when the client gave a
// progress token: it stays valid for the task's lifetime) and its status
// change at the end, until the job ends or the connection does. Nothing
// relies on these: clients poll.
func (h *hook) follow(id string, ref taskRef, token any) {
	var (
		mu       sync.Mutex
		last     float64
		lastSent time.Time
	)
	related := map[string]any{metaRelatedTask: map[string]any{"taskId": id}}
	h.l.o.Jobs.Watch(h.ctx, ref.jobID, func(v View) {
		mu.Lock()
		defer mu.Unlock()
		if v.Status.Terminal() {
			if status, message := h.status(ref, v); status != "working" {
				h.send("notifications/tasks/status", h.task(id, ref, status, message, v.Updated))
			}
			return
		}
		now := h.l.o.Now()
		if token == nil || now.Sub(lastSent) < h.l.o.ProgressEvery {
			return
		}
		p := max(v.Age.Seconds(), last+0.001) // progress must increase
		last, lastSent = p, now
		h.send("notifications/progress", map[string]any{"progressToken": token, "progress": p, "message": v.Message, "_meta": related})
	})
}

func (h *hook) send(method string, params any) {
	b, err := json.Marshal(map[string]any{"jsonrpc": mcp.JSONRPC_VERSION, "method": method, "params": params})
	if err == nil {
		h.notify(b)
	}
}
