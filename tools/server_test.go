package tools

import (
	"context"
	"log/slog"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
	"github.com/vace-mcp/vace-mcp/internal/clientid"
)

func TestAPanickingHandlerBecomesAToolErrorAndTheServerGoesOn(t *testing.T) {
	fake := dashscopetest.NewServer(t)
	c, err := fake.Client()
	require.NoError(t, err)
	srv, err := NewServer(Options{Client: c, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	srv.AddTool(mcp.NewTool("boom", mcp.WithDescription("panics")), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		panic("kaboom")
	})
	cl, err := client.NewInProcessClient(srv)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, cl.Start(ctx))
	_, err = cl.Initialize(ctx, mcp.InitializeRequest{})
	require.NoError(t, err)

	req := mcp.CallToolRequest{}
	req.Params.Name = "boom"
	res, err := cl.CallTool(ctx, req)
	require.NoError(t, err, "a panic is not a protocol error")
	assert.True(t, res.IsError)
	assert.Contains(t, res.Content[0].(mcp.TextContent).Text, "internal error (kaboom)")

	req.Params.Name = "get_task"
	req.Params.Arguments = map[string]any{"task_id": "0385dc79-5ff8-4d82-bcb6-000000000000"}
	res, err = cl.CallTool(ctx, req)
	require.NoError(t, err)
	assert.False(t, res.IsError, "the server keeps serving")
}

func TestWaitSlotsBoundWaitsPerSessionAndInAll(t *testing.T) {
	w := &waitSlots{perSession: map[string]int{}, maxPerSession: 2, max: 3}
	r1, err := w.acquire("a")
	require.NoError(t, err)
	_, err = w.acquire("a")
	require.NoError(t, err)
	_, err = w.acquire("a")
	assert.ErrorContains(t, err, "this client already has 2")
	_, err = w.acquire("b")
	require.NoError(t, err)
	_, err = w.acquire("c")
	assert.ErrorContains(t, err, "the server already has 3")
	r1()
	_, err = w.acquire("c")
	assert.NoError(t, err, "a released slot is free again")

	sessionless := &waitSlots{perSession: map[string]int{}, maxPerSession: 1, max: 3}
	for range 3 {
		_, err := sessionless.acquire("")
		require.NoError(t, err, "clients without a session do not share one session's cap")
	}
	_, err = sessionless.acquire("")
	assert.ErrorContains(t, err, "the server already has 3")
}

func TestStatelessRequestsCountAgainstTheClientTheTransportNamed(t *testing.T) {
	w := &waitSlots{perSession: map[string]int{}, maxPerSession: 1, max: 3}
	ctx := clientid.With(context.Background(), "http-client:192.0.2.7")
	_, err := w.acquire(sessionID(ctx))
	require.NoError(t, err)
	_, err = w.acquire(sessionID(ctx))
	assert.ErrorContains(t, err, "this client already has 1", "no session, yet one client")
	_, err = w.acquire(sessionID(clientid.With(context.Background(), "http-client:192.0.2.8")))
	assert.NoError(t, err, "another client has a cap of its own")
}
