package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// TestFinishedTasksUnderLoadCostOneQueryEach: 50 streamable HTTP clients
// making 20 get_task calls each on 5 finished tasks cost at most one
// DashScope query per task, and none when the journal knows how they ended,
// where they used to cost 1,000 (and 50 s behind the account's 20 queries a
// second). The server runs at the account's rate, so the latencies, which
// are reported, not asserted, include the limiter spacing those first
// queries 50 ms apart.
func TestFinishedTasksUnderLoadCostOneQueryEach(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: skipped with -short")
	}
	const clients, callsEach, tasks = 50, 20, 5
	for _, tc := range []struct {
		name       string
		submit     func(t *testing.T, fake *dashscopetest.Server, state string) []string
		maxQueries int
	}{
		{"seen ending by a process that has quit", submitWaitThenQuit, 0},
		{"submitted by a process that quit before they ended", submitThenQuit, tasks},
		{"unknown to the journal", submitElsewhere, tasks},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFake(t)
			state := t.TempDir()
			ids := tc.submit(t, fake, state)
			require.Len(t, ids, tasks)
			time.Sleep(testLife.Queue + testLife.Run) // every job has ended, with no server following it
			before := fake.Count(dashscopetest.EndpointGetTask)

			h := startHTTP(t, "http", append(fakeEnv(fake), "VACE_MCP_STATE_DIR="+state), "--output-dir", t.TempDir())
			start := time.Now()
			latencies, failures := load(t, h, clients, callsEach, func(i, j int) (string, map[string]any) {
				return "get_task", map[string]any{"task_id": ids[(i+j)%tasks]}
			}, succeeded)
			elapsed := time.Since(start)
			require.Empty(t, failures)
			queries := fake.Count(dashscopetest.EndpointGetTask) - before
			assert.LessOrEqual(t, queries, tc.maxQueries, "one query per finished task at most; none for what the journal knows")
			t.Logf("%d clients x %d get_task on %d finished tasks in %s: %d DashScope queries; p50 %s, p99 %s, max %s",
				clients, callsEach, tasks, elapsed.Round(time.Millisecond), queries, percentile(latencies, 50).Round(10*time.Microsecond),
				percentile(latencies, 99).Round(10*time.Microsecond), percentile(latencies, 100).Round(10*time.Microsecond))
		})
	}
}

// submitThenQuit submits through a server process that then quits before
// any job ends: the journal knows the tasks, not how they ended.
func submitThenQuit(t *testing.T, fake *dashscopetest.Server, state string) []string {
	return submitThroughAProcess(t, fake, state, false)
}

// submitWaitThenQuit submits through a server process that waits for every
// job to end, then quits: the journal knows how they ended.
func submitWaitThenQuit(t *testing.T, fake *dashscopetest.Server, state string) []string {
	return submitThroughAProcess(t, fake, state, true)
}

func submitThroughAProcess(t *testing.T, fake *dashscopetest.Server, state string, wait bool) []string {
	s := startStdio(t, startOptions{env: append(fakeEnv(fake), "VACE_MCP_STATE_DIR="+state, "VACE_MCP_AUTO_SAVE=false"),
		args: []string{"--output-dir", t.TempDir()}})
	var ids []string
	for i := range 5 {
		res := call(t, s.Client, "video_outpainting", map[string]any{"prompt": fmt.Sprintf("job %d", i), "video_url": "https://x/v.mp4"})
		require.False(t, res.IsError, text(res))
		ids = append(ids, structured(t, res)["task_id"].(string))
	}
	if wait {
		for _, id := range ids {
			require.Equal(t, "SUCCEEDED", structured(t, call(t, s.Client, "wait_task", map[string]any{"task_id": id}))["status"])
		}
	}
	s.Proc.stop()
	return ids
}

// submitElsewhere submits straight to DashScope (another tool, the console):
// only the server's client can remember how the tasks ended.
func submitElsewhere(t *testing.T, fake *dashscopetest.Server, _ string) []string {
	c, err := fake.Client(dashscope.WithRateLimits(dashscope.RateLimits{Submit: 100}))
	require.NoError(t, err)
	var ids []string
	for i := range 5 {
		task, err := c.Submit(t.Context(), dashscope.VideoOutpainting{Prompt: fmt.Sprintf("job %d", i), VideoURL: "https://x/v.mp4"})
		require.NoError(t, err)
		ids = append(ids, task.ID)
	}
	return ids
}

func succeeded(res *mcp.CallToolResult) error {
	m, ok := res.StructuredContent.(map[string]any)
	if !ok || m["status"] != "SUCCEEDED" || m["video_url"] == "" {
		return fmt.Errorf("not a succeeded task with its video: %s", text(res))
	}
	return nil
}
