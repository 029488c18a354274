package tools

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
	"github.com/vace-mcp/vace-mcp/internal/journal"
	"github.com/vace-mcp/vace-mcp/internal/localfiles"
)

// flakyStore is a journal that can be taken down, as a shared store whose
// server stops: while down, every call fails as redisjournal's do.
type flakyStore struct {
	journal.Store
	down  atomic.Bool
	calls atomic.Int32 // calls made while down
}

func (f *flakyStore) err() error {
	if !f.down.Load() {
		return nil
	}
	f.calls.Add(1)
	return &journal.UnavailableError{Path: "redis://127.0.0.1:1/0 (keys vace-mcp:*)", Err: errors.New("connection refused"),
		Hint: "check that Redis is running and reachable from here"}
}

func (f *flakyStore) Claim(ctx context.Context, in journal.Intent, r journal.Rules) (*journal.Job, bool, error) {
	if err := f.err(); err != nil {
		return nil, false, err
	}
	return f.Store.Claim(ctx, in, r)
}

func (f *flakyStore) Accepted(ctx context.Context, id int64, taskID, status string) error {
	if err := f.err(); err != nil {
		return err
	}
	return f.Store.Accepted(ctx, id, taskID, status)
}

func (f *flakyStore) Observe(ctx context.Context, o journal.Observation) error {
	if err := f.err(); err != nil {
		return err
	}
	return f.Store.Observe(ctx, o)
}

func (f *flakyStore) Saved(ctx context.Context, taskID, path string) error {
	if err := f.err(); err != nil {
		return err
	}
	return f.Store.Saved(ctx, taskID, path)
}

func (f *flakyStore) LeaseSave(ctx context.Context, taskID string, lease time.Duration) (bool, error) {
	if err := f.err(); err != nil {
		return false, err
	}
	return f.Store.LeaseSave(ctx, taskID, lease)
}

func (f *flakyStore) Get(ctx context.Context, id int64) (*journal.Job, error) {
	if err := f.err(); err != nil {
		return nil, err
	}
	return f.Store.Get(ctx, id)
}

func (f *flakyStore) ByTask(ctx context.Context, taskID string) (*journal.Job, error) {
	if err := f.err(); err != nil {
		return nil, err
	}
	return f.Store.ByTask(ctx, taskID)
}

func (f *flakyStore) List(ctx context.Context, since time.Time, limit int) ([]journal.Job, error) {
	if err := f.err(); err != nil {
		return nil, err
	}
	return f.Store.List(ctx, since, limit)
}

func (f *flakyStore) ChargedToday(ctx context.Context) (float64, error) {
	if err := f.err(); err != nil {
		return 0, err
	}
	return f.Store.ChargedToday(ctx)
}

func TestAStoreThatIsDownRefusesSubmissionsAndTheReadOnlyToolsAnswerFromDashScope(t *testing.T) {
	fake := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(quickJob))
	c, err := fake.Client(dashscope.WithRateLimits(dashscope.RateLimits{Query: 1000}), dashscope.WithPollSchedule(dashscope.FixedSchedule(20*time.Millisecond)))
	require.NoError(t, err)
	store := &flakyStore{Store: testJournal(t)}
	outputs := t.TempDir()
	out, err := localfiles.NewOutputDir(outputs)
	require.NoError(t, err)
	s := New(Options{Client: c, Journal: store, Outputs: out})
	before := submitOutpainting(t, s, "before the store went down")

	store.down.Store(true)
	res := s.submit(t.Context(), dashscope.VideoOutpainting{Prompt: "while the store is down", VideoURL: "https://x/v.mp4"}, false)
	require.True(t, res.IsError)
	msg := res.Content[0].(mcp.TextContent).Text
	assert.Contains(t, msg, "Not submitted: nothing was sent to DashScope or billed")
	assert.Contains(t, msg, "redis://127.0.0.1:1/0")
	assert.Contains(t, msg, "Redis is running")
	again := s.submit(t.Context(), dashscope.VideoOutpainting{Prompt: "before the store went down", VideoURL: "https://x/v.mp4"}, false)
	require.True(t, again.IsError, "an identical request is refused too: the guard cannot be asked")
	assert.Equal(t, 1, fake.Count(dashscopetest.EndpointSubmit), "nothing was sent while the store was down")

	r := waitTask(t, s, before)
	assert.Equal(t, "SUCCEEDED", r.Status, "wait_task answers from DashScope")
	got, _ := getTask(t, s, before)
	assert.Equal(t, "SUCCEEDED", got.Status, "get_task answers from DashScope")
	assert.False(t, got.FromJournal)
	assert.Equal(t, "video_outpainting", got.Function, "this process's client remembers the function")

	req := mcp.CallToolRequest{}
	req.Params.Arguments = map[string]any{}
	list, err := s.listTasks().Handler(t.Context(), req)
	require.NoError(t, err)
	require.False(t, list.IsError, "%v", list.Content)
	rows := list.StructuredContent.(TaskList)
	require.Len(t, rows.Tasks, 1)
	assert.Equal(t, before, rows.Tasks[0].TaskID)
	assert.Zero(t, rows.TodayUSD, "today's total is unknown, and left out")

	dl := callDownload(t, s, before)
	require.False(t, dl.IsError, "%v", dl.Content)
	assert.FileExists(t, dl.StructuredContent.(TaskResult).LocalPath)
	assert.Positive(t, store.calls.Load(), "the tools did try the store")

	store.down.Store(false)
	job, err := store.ByTask(t.Context(), before)
	require.NoError(t, err)
	assert.Empty(t, job.LocalPath, "the save could not be recorded while the store was down")
	waitTask(t, s, before) // the next look records what the store missed
	job, err = store.ByTask(t.Context(), before)
	require.NoError(t, err)
	assert.Equal(t, "SUCCEEDED", job.Status)
	require.NotNil(t, job.CostUSD, "its cost is settled once the store is back")
	assert.InDelta(t, 0.5, *job.CostUSD, 1e-9)
	ok := s.submit(t.Context(), dashscope.VideoOutpainting{Prompt: "after the store came back", VideoURL: "https://x/v.mp4"}, false)
	require.False(t, ok.IsError, "%v", ok.Content)
	assert.Equal(t, 2, fake.Count(dashscopetest.EndpointSubmit))
}
