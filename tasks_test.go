package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/internal/journal"
	"github.com/vace-mcp/vace-mcp/internal/mcptasks"
)

// keyLater is a shared store whose task-id key is unavailable until up is set.
type keyLater struct {
	journal.Store
	up atomic.Bool
}

func (k *keyLater) TaskKey(context.Context) ([]byte, error) {
	if !k.up.Load() {
		return nil, &journal.UnavailableError{Path: "redis://redis:6379/0 (keys vace-mcp:*)", Err: errors.New("connection refused"), Hint: "start Redis"}
	}
	return make([]byte, 32), nil
}

func TestTaskRequestsAreRefusedUntilTheSharedStoreGivesTheKey(t *testing.T) {
	store := &keyLater{}
	_, first := store.TaskKey(t.Context())
	layer := func(key []byte) *mcptasks.Layer {
		return mcptasks.New(mcptasks.Options{Key: key, Tools: []string{"video_outpainting"}})
	}
	p := awaitTaskKey(t.Context(), store, layer, first, slog.New(slog.NewTextHandler(io.Discard, nil)))
	hook := p.Hook(t.Context(), "", nil)

	answer := func(method, msg string) *mcpError {
		t.Helper()
		r := hook.Route(method, []byte(msg))
		if r.Answer == nil {
			return nil
		}
		_, err := r.Answer(t.Context())
		require.NotNil(t, err)
		return &mcpError{err.Code, err.Message}
	}
	get := `{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"taskId":"not-a-task"}}`
	refused := answer("tasks/get", get)
	require.NotNil(t, refused, "a task method is refused while the key is unknown")
	assert.Equal(t, mcp.INTERNAL_ERROR, refused.code)
	assert.Contains(t, refused.message, "MCP tasks are unavailable until the shared job journal answers")
	assert.Contains(t, refused.message, "redis://redis:6379/0")
	assert.Contains(t, refused.message, "Nothing was sent or billed")
	call := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"video_outpainting","arguments":{},"task":{}}}`
	assert.NotNil(t, answer("tools/call", call), "so is a call asking to run as a task")
	assert.Nil(t, answer("tools/call", `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_task","arguments":{}}}`),
		"a plain call passes")
	assert.Nil(t, answer("tools/call", `{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"x","task":null}}`))
	assert.Nil(t, answer("ping", `{"jsonrpc":"2.0","id":5,"method":"ping"}`))

	store.up.Store(true)
	require.Eventually(t, func() bool {
		e := answer("tasks/get", get)
		return e != nil && e.code != mcp.INTERNAL_ERROR
	}, 5*time.Second, 20*time.Millisecond, "once the key is known the layer answers (here: the id is not a task)")
	assert.Equal(t, mcp.INVALID_PARAMS, answer("tasks/get", get).code)
}

type mcpError struct {
	code    int
	message string
}
