package tools

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
	"github.com/vace-mcp/vace-mcp/internal/journal"
)

// lostIntentSetup records, ten minutes ago, an intent that was never settled
// (as by a process killed while sending), and makes tasks at that time in a
// fake that knows nothing of the journal.
func lostIntentSetup(t *testing.T, tasks int) (*Service, *journal.Job, []string) {
	t.Helper()
	then := time.Now().Add(-10 * time.Minute)
	clock := dashscopetest.NewManualClock(then)
	fake := dashscopetest.NewServer(t, dashscopetest.WithClock(clock), dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: time.Hour}))
	c, err := fake.Client(dashscope.WithClock(clock))
	require.NoError(t, err)
	var ids []string
	for i := range tasks {
		task, err := c.Submit(t.Context(), dashscope.VideoOutpainting{Prompt: "p" + string(rune('a'+i)), VideoURL: "https://x/v.mp4"})
		require.NoError(t, err)
		ids = append(ids, task.ID)
	}
	now := then
	j, err := journal.Open(t.Context(), journal.Options{Dir: t.TempDir(), Now: func() time.Time { return now }})
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	job, owner, err := j.Claim(t.Context(), journal.Intent{Key: "k", Tool: "video_outpainting", Model: c.Model()},
		journal.Rules{Window: time.Minute, UncertainFor: time.Hour, InFlight: time.Minute})
	require.NoError(t, err)
	require.True(t, owner)
	now = time.Now() // the intent is ten minutes old, and its window is over
	return New(Options{Client: c, Journal: j}), job, ids
}

func TestReconcileMatchesALostSubmissionToItsOnlyTask(t *testing.T) {
	s, job, ids := lostIntentSetup(t, 1)
	require.NoError(t, s.Reconcile(t.Context()))
	got, err := s.journal.Get(t.Context(), job.ID)
	require.NoError(t, err)
	assert.Equal(t, journal.StateAccepted, got.State)
	assert.Equal(t, ids[0], got.TaskID)
}

func TestReconcileNeverGuessesBetweenTasks(t *testing.T) {
	s, job, ids := lostIntentSetup(t, 2)
	require.NoError(t, s.Reconcile(t.Context()))
	got, err := s.journal.Get(t.Context(), job.ID)
	require.NoError(t, err)
	assert.Equal(t, journal.StateUncertain, got.State, "two unowned tasks: it stays of unknown outcome")
	assert.Empty(t, got.TaskID)
	for _, id := range ids {
		assert.Contains(t, got.Error, id, "the candidates are named for a person to decide")
	}
}

func TestReconcileFindsNoTaskOnlyOnceTheWindowIsOver(t *testing.T) {
	s, job, _ := lostIntentSetup(t, 0)
	require.NoError(t, s.Reconcile(t.Context()))
	got, err := s.journal.Get(t.Context(), job.ID)
	require.NoError(t, err)
	assert.Equal(t, journal.StateNeverCreated, got.State)
}

func TestTwoFailedIdenticalJobsDoNotTrapANewCall(t *testing.T) {
	fake := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{FailCode: "DataInspectionFailed", FailMessage: "no"}))
	c, err := fake.Client()
	require.NoError(t, err)
	s := New(Options{Client: c, Journal: testJournal(t)})
	req := dashscope.VideoOutpainting{Prompt: "p", VideoURL: "https://x/v.mp4"}
	require.False(t, s.submit(t.Context(), req, false).IsError)
	require.False(t, s.submit(t.Context(), req, true).IsError)
	res := s.submit(t.Context(), req, false)
	require.False(t, res.IsError, "both earlier jobs failed: submitting again is what the caller wants")
	assert.Len(t, fake.TaskIDs(), 3)
}
