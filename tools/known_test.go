package tools

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
	"github.com/vace-mcp/vace-mcp/internal/journal"
)

// process is one server process of a user: its own client, and the journal
// of the shared state directory opened as that process opens it.
func process(t *testing.T, fake *dashscopetest.Server, state string) *Service {
	t.Helper()
	c, err := fake.Client(dashscope.WithRateLimits(dashscope.RateLimits{Query: 1000}), dashscope.WithPollSchedule(dashscope.FixedSchedule(20*time.Millisecond)))
	require.NoError(t, err)
	j, err := journal.Open(t.Context(), journal.Options{Dir: state})
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	return New(Options{Client: c, Journal: j})
}

// getTask calls get_task, checking that the answer is a valid task result.
func getTask(t *testing.T, s *Service, taskID string) (TaskResult, string) {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Arguments = map[string]any{"task_id": taskID}
	tool := s.getTask()
	res, err := tool.Handler(t.Context(), req)
	require.NoError(t, err)
	require.False(t, res.IsError, "%v", res.Content)
	assertMatchesSchema(t, tool.Tool.RawOutputSchema, res.StructuredContent)
	return res.StructuredContent.(TaskResult), res.Content[0].(mcp.TextContent).Text
}

// waitTask waits for a task to end the way wait_task does, which records it.
func waitTask(t *testing.T, s *Service, taskID string) TaskResult {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Arguments = map[string]any{"task_id": taskID, "timeout_seconds": 30}
	res, err := s.handleWait(t.Context(), req)
	require.NoError(t, err)
	require.False(t, res.IsError, "%v", res.Content)
	r := res.StructuredContent.(TaskResult)
	require.True(t, r.Done)
	return r
}

// assertMatchesSchema checks a structured result against a tool's output
// schema: every required property present, every declared one of its type.
func assertMatchesSchema(t *testing.T, schema json.RawMessage, v any) {
	t.Helper()
	var s struct {
		Properties map[string]struct{ Type string } `json:"properties"`
		Required   []string                         `json:"required"`
	}
	require.NoError(t, json.Unmarshal(schema, &s))
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(raw, &got))
	for _, name := range s.Required {
		assert.Contains(t, got, name, "required by the output schema")
	}
	for name, p := range s.Properties {
		if value, ok := got[name]; ok {
			kind := map[string]string{"string": "string", "bool": "boolean", "float64": "number"}[typeName(value)]
			assert.Equal(t, p.Type, kind, "%s in %s", name, raw)
		}
	}
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "bool"
	case float64:
		return "float64"
	}
	return "other"
}

func TestGetTaskAnswersAnEndedTaskFromAnyProcesssJournalWithoutAQuery(t *testing.T) {
	fake := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: 50 * time.Millisecond, VideoDuration: 5}))
	state := t.TempDir()
	submitter := process(t, fake, state)
	sub := submitter.submit(t.Context(), dashscope.VideoOutpainting{Prompt: "p", VideoURL: "https://x/v.mp4"}, false)
	require.False(t, sub.IsError)
	id := sub.StructuredContent.(TaskResult).TaskID
	seen := waitTask(t, submitter, id)
	require.Equal(t, "SUCCEEDED", seen.Status)
	require.NotNil(t, seen.CostUSD, "a query's answer states the settled cost too")
	queries := fake.Count(dashscopetest.EndpointGetTask)

	// Another process (or this one after a restart): its client has never seen the task.
	for range 3 {
		got, text := getTask(t, process(t, fake, state), id)
		assert.Equal(t, TaskResult{
			TaskID: id, Status: "SUCCEEDED", Done: true, Function: "video_outpainting",
			VideoURL: seen.VideoURL, ExpiresAt: seen.ExpiresAt, BilledSeconds: 5, CostUSD: new(0.5), FromJournal: true,
			Next: nextStep(dashscope.StatusSucceeded),
		}, got)
		assert.Contains(t, text, "SUCCEEDED: "+seen.VideoURL+" (5 s billed, USD 0.50). The link expires at "+seen.ExpiresAt)
	}
	assert.Equal(t, queries, fake.Count(dashscopetest.EndpointGetTask), "no query")
}

func TestGetTaskFromTheJournalAfterTheLinkExpiredPointsToTheSavedFile(t *testing.T) {
	fake := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: 50 * time.Millisecond, VideoDuration: 5}))
	state := t.TempDir()
	s := process(t, fake, state)
	sub := s.submit(t.Context(), dashscope.VideoOutpainting{Prompt: "p", VideoURL: "https://x/v.mp4"}, false)
	require.False(t, sub.IsError)
	id := sub.StructuredContent.(TaskResult).TaskID
	done := waitTask(t, s, id)
	// A day later: the link has expired.
	expired := time.Now().Add(-time.Minute)
	require.NoError(t, s.journal.Observe(t.Context(), journal.Observation{TaskID: id, Status: "SUCCEEDED", VideoURL: done.VideoURL, ExpiresAt: expired}))
	queries := fake.Count(dashscopetest.EndpointGetTask)

	got, text := getTask(t, process(t, fake, state), id)
	assert.Empty(t, got.VideoURL, "a dead link is no use")
	assert.Empty(t, got.LocalPath)
	assert.Contains(t, got.Next, "expired at "+rfc3339(expired)+" and the video was not saved")
	assert.Contains(t, text, "SUCCEEDED (5 s billed, USD 0.50)")

	saved := filepath.Join(t.TempDir(), "vace-"+id+".mp4")
	require.NoError(t, os.WriteFile(saved, dashscopetest.SampleVideo, 0o600))
	require.NoError(t, s.journal.Saved(t.Context(), id, saved))
	got, text = getTask(t, process(t, fake, state), id)
	assert.Equal(t, saved, got.LocalPath)
	assert.Contains(t, text, "Saved to "+saved)

	require.NoError(t, os.WriteFile(saved, []byte("not a video any more"), 0o600))
	got, _ = getTask(t, process(t, fake, state), id)
	assert.Empty(t, got.LocalPath, "a saved file is given while it passes the check")
	assert.Equal(t, queries, fake.Count(dashscopetest.EndpointGetTask), "no query")
}

func TestGetTaskAsksDashScopeForAFailureItStillHas(t *testing.T) {
	fake := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{FailCode: "InvalidParameter", FailMessage: "the mask does not match"}))
	state := t.TempDir()
	s := process(t, fake, state)
	sub := s.submit(t.Context(), dashscope.VideoOutpainting{Prompt: "p", VideoURL: "https://x/v.mp4"}, false)
	require.False(t, sub.IsError)
	id := sub.StructuredContent.(TaskResult).TaskID
	require.Equal(t, "FAILED", waitTask(t, s, id).Status)
	queries := fake.Count(dashscopetest.EndpointGetTask)

	other := process(t, fake, state)
	for range 3 {
		got, _ := getTask(t, other, id)
		assert.Equal(t, "the mask does not match", got.ErrorMessage, "what to fix, which the journal does not keep")
		assert.Equal(t, new(0.0), got.CostUSD)
		assert.False(t, got.FromJournal)
	}
	assert.Equal(t, queries+1, fake.Count(dashscopetest.EndpointGetTask), "one query; the client answers the rest")
}

func TestGetTaskAnswersACanceledTaskFromTheJournal(t *testing.T) {
	fake := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Queue: time.Hour}))
	state := t.TempDir()
	s := process(t, fake, state)
	sub := s.submit(t.Context(), dashscope.VideoOutpainting{Prompt: "p", VideoURL: "https://x/v.mp4"}, false)
	require.False(t, sub.IsError)
	id := sub.StructuredContent.(TaskResult).TaskID
	req := mcp.CallToolRequest{}
	req.Params.Arguments = map[string]any{"task_id": id}
	res, err := s.cancelTask().Handler(t.Context(), req)
	require.NoError(t, err)
	require.False(t, res.IsError, "the cancel's outcome is queried anew: %v", res.Content)
	queries := fake.Count(dashscopetest.EndpointGetTask)

	got, text := getTask(t, process(t, fake, state), id)
	assert.Equal(t, "CANCELED", got.Status)
	assert.True(t, got.FromJournal)
	assert.Equal(t, new(0.0), got.CostUSD)
	assert.Contains(t, text, "was CANCELED")
	assert.Equal(t, queries, fake.Count(dashscopetest.EndpointGetTask), "no query")
}
