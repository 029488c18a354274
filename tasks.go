package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/vace-mcp/vace-mcp/internal/cancellation"
	"github.com/vace-mcp/vace-mcp/internal/journal"
	"github.com/vace-mcp/vace-mcp/internal/mcptasks"
)

// taskHooks gives each connection its view of MCP tasks: an
// *mcptasks.Layer, or a pendingTasks while its key is not known yet.
type taskHooks interface {
	Hook(ctx context.Context, binding string, notify func(msg []byte)) cancellation.Hook
}

var _ taskHooks = (*mcptasks.Layer)(nil)

// pendingTasks answers MCP task traffic once the task-id key is known. The
// key of a shared store is kept in the store, so every instance signs and
// checks task ids alike; when the store did not answer at start the key is
// asked for again every second. Until then task requests (tasks/* and
// tools/call with params.task) get an error saying why, and nothing is
// sent; other requests pass (a plain call is refused by the journal, which
// is the same store).
type pendingTasks struct {
	layer atomic.Pointer[mcptasks.Layer]
	err   atomic.Value // error: why the key is not known yet
}

// taskKeyRetry is how often a pendingTasks asks the store for the key.
const taskKeyRetry = time.Second

// awaitTaskKey returns a pendingTasks whose key is asked of store until it
// answers or ctx ends; first is why the first request failed.
func awaitTaskKey(ctx context.Context, store journal.Store, layer func(key []byte) *mcptasks.Layer, first error, logger *slog.Logger) *pendingTasks {
	p := &pendingTasks{}
	p.err.Store(first)
	go func() {
		tick := time.NewTicker(taskKeyRetry)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			kctx, cancel := context.WithTimeout(ctx, taskKeyTimeout)
			key, err := store.TaskKey(kctx)
			cancel()
			if err == nil {
				p.layer.Store(layer(key))
				logger.Info("MCP tasks are available: the shared job journal answered with their key")
				return
			}
			if ctx.Err() == nil {
				p.err.Store(err)
			}
		}
	}()
	return p
}

// Hook returns a connection's hook, which uses the layer once there is one.
func (p *pendingTasks) Hook(ctx context.Context, binding string, notify func(msg []byte)) cancellation.Hook {
	return &pendingHook{p: p, ctx: ctx, binding: binding, notify: notify}
}

type pendingHook struct {
	p       *pendingTasks
	ctx     context.Context
	binding string
	notify  func([]byte)

	mu    sync.Mutex
	inner cancellation.Hook
}

// Route passes the request to the connection's hook of the layer, made
// when the layer first exists, or refuses a task request until then.
func (h *pendingHook) Route(method string, msg []byte) cancellation.Route {
	h.mu.Lock()
	if h.inner == nil {
		if layer := h.p.layer.Load(); layer != nil {
			h.inner = layer.Hook(h.ctx, h.binding, h.notify)
		}
	}
	inner := h.inner
	h.mu.Unlock()
	if inner != nil {
		return inner.Route(method, msg)
	}
	if !isTaskRequest(method, msg) {
		return cancellation.Route{}
	}
	err, _ := h.p.err.Load().(error)
	text := "MCP tasks are unavailable until the shared job journal answers (it keeps the key task ids are signed with)"
	if err != nil {
		text += ": " + err.Error()
	}
	text += ". Nothing was sent or billed; try again once it answers."
	return cancellation.Route{Answer: func(context.Context) (any, *cancellation.Error) {
		return nil, &cancellation.Error{Code: mcp.INTERNAL_ERROR, Message: text}
	}}
}

// isTaskRequest reports whether a request needs the task layer: a task
// method, or a tools/call asking to run as a task.
func isTaskRequest(method string, msg []byte) bool {
	if strings.HasPrefix(method, "tasks/") {
		return true
	}
	if method != string(mcp.MethodToolsCall) {
		return false
	}
	var req struct {
		Params struct {
			Task json.RawMessage `json:"task"`
		} `json:"params"`
	}
	if json.Unmarshal(msg, &req) != nil {
		return false // mcp-go reports what does not parse
	}
	return len(req.Params.Task) > 0 && string(req.Params.Task) != "null"
}
