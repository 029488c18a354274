package tools

import (
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

func TestListTasksShowsTheJournalBeyondDashScopesDay(t *testing.T) {
	fake := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: time.Hour}))
	c, err := fake.Client()
	require.NoError(t, err)
	s := New(Options{Client: c, Journal: testJournal(t)})
	sub := s.submit(t.Context(), dashscope.VideoOutpainting{Prompt: "a violinist on a wider stage", VideoURL: "https://x/v.mp4"}, false)
	require.False(t, sub.IsError)
	id := sub.StructuredContent.(TaskResult).TaskID

	list := func(args map[string]any) TaskList {
		req := mcp.CallToolRequest{}
		req.Params.Arguments = args
		res, err := s.listTasks().Handler(t.Context(), req)
		require.NoError(t, err)
		require.False(t, res.IsError, "%v", res.Content)
		return res.StructuredContent.(TaskList)
	}
	recent := list(map[string]any{})
	require.Len(t, recent.Tasks, 1)
	assert.Equal(t, id, recent.Tasks[0].TaskID)
	assert.Equal(t, "a violinist on a wider stage", recent.Tasks[0].Prompt, "DashScope's rows gain the journal's knowledge")
	assert.InDelta(t, 0.5, recent.Tasks[0].EstimatedCostUSD, 1e-9)
	assert.InDelta(t, 0.5, recent.TodayUSD, 1e-9)

	queries := fake.Count(dashscopetest.EndpointListTasks)
	week := list(map[string]any{"start_time": time.Now().Add(-7 * 24 * time.Hour).UTC().Format(time.RFC3339)})
	assert.True(t, week.FromJournal)
	require.Len(t, week.Tasks, 1)
	assert.Equal(t, id, week.Tasks[0].TaskID)
	assert.Equal(t, "video_outpainting", week.Tasks[0].Function)
	assert.Equal(t, queries, fake.Count(dashscopetest.EndpointListTasks), "a window beyond DashScope's day is not asked of DashScope")
}
