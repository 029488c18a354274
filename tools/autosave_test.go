package tools

import (
	"context"
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
	"github.com/vace-mcp/vace-mcp/internal/localfiles"
)

// quickJob is a job of a tenth of a second.
var quickJob = dashscopetest.Lifecycle{Queue: 20 * time.Millisecond, Run: 80 * time.Millisecond, VideoDuration: 5}

// autoSaving is a service on fake that auto-saves into out, a round every
// every, keeping its journal in j (several services on one journal are
// several processes sharing a state directory).
func autoSaving(t *testing.T, fake *dashscopetest.Server, j *journal.Journal, out string, every time.Duration) *Service {
	t.Helper()
	c, err := fake.Client(dashscope.WithRateLimits(dashscope.RateLimits{Query: 1000}))
	require.NoError(t, err)
	outputs, err := localfiles.NewOutputDir(out)
	require.NoError(t, err)
	return New(Options{Client: c, Journal: j, Outputs: outputs, AutoSave: true, FollowEvery: every})
}

// follow runs s.Follow until the test ends, then checks that it returns.
func follow(t *testing.T, s *Service) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Follow(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Follow did not return after its context ended")
		}
	})
}

// sharedJournal opens the journal in dir, as another process would.
func sharedJournal(t *testing.T, dir string, now func() time.Time) *journal.Journal {
	t.Helper()
	j, err := journal.Open(t.Context(), journal.Options{Dir: dir, Now: now})
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	return j
}

func submitOutpainting(t *testing.T, s *Service, prompt string) string {
	t.Helper()
	res := s.submit(t.Context(), dashscope.VideoOutpainting{Prompt: prompt, VideoURL: "https://x/v.mp4"}, false)
	require.False(t, res.IsError, "%v", res.Content)
	return res.StructuredContent.(TaskResult).TaskID
}

func callDownload(t *testing.T, s *Service, taskID string) *mcp.CallToolResult {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Arguments = map[string]any{"task_id": taskID}
	res, err := s.downloadVideo().Handler(t.Context(), req)
	require.NoError(t, err)
	return res
}

// savedPath waits for the journal to record taskID's video as saved.
func savedPath(t *testing.T, j journal.Store, taskID string) string {
	t.Helper()
	var path string
	require.Eventually(t, func() bool {
		job, err := j.ByTask(t.Context(), taskID)
		require.NoError(t, err)
		path = job.LocalPath
		return path != ""
	}, 15*time.Second, 10*time.Millisecond, "the video of %s was never saved", taskID)
	return path
}

func TestAutoSaveSavesAJobNobodyWaitedForAndDownloadVideoAnswersWithIt(t *testing.T) {
	fake := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(quickJob))
	j, out := testJournal(t), t.TempDir()
	s := autoSaving(t, fake, j, out, 20*time.Millisecond)
	follow(t, s)
	id := submitOutpainting(t, s, "a violinist on a wider stage")

	path := savedPath(t, j, id)
	assert.Equal(t, filepath.Join(out, "vace-"+id+".mp4"), path)
	saved, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, dashscopetest.SampleVideo, saved)
	assert.Equal(t, 1, fake.Count(dashscopetest.EndpointResult), "downloaded once")
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file is left beside it")

	queries := fake.Count(dashscopetest.EndpointGetTask)
	res := callDownload(t, s, id)
	require.False(t, res.IsError, "%v", res.Content)
	r := res.StructuredContent.(TaskResult)
	assert.Equal(t, path, r.LocalPath)
	assert.Equal(t, "SUCCEEDED", r.Status)
	assert.Equal(t, "video_outpainting", r.Function)
	assert.NotEmpty(t, r.VideoURL, "the link has not expired")
	assert.Contains(t, res.Content[0].(mcp.TextContent).Text, "Already saved.")
	assert.Equal(t, queries, fake.Count(dashscopetest.EndpointGetTask), "answered from the journal, without a query")
	assert.Equal(t, 1, fake.Count(dashscopetest.EndpointResult))

	// A saved file that no longer passes the check is no answer: the video is saved again.
	require.NoError(t, os.WriteFile(path, []byte("<html>gone</html>"), 0o644))
	res = callDownload(t, s, id)
	require.False(t, res.IsError, "%v", res.Content)
	assert.Contains(t, res.Content[0].(mcp.TextContent).Text, "Saved.")
	saved, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, dashscopetest.SampleVideo, saved)
	assert.Equal(t, 2, fake.Count(dashscopetest.EndpointResult))
}

func TestAutoSaveInTwoProcessesSharingAJournalDownloadsEachVideoOnce(t *testing.T) {
	fake := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(quickJob))
	state := t.TempDir()
	a := autoSaving(t, fake, sharedJournal(t, state, nil), t.TempDir(), 10*time.Millisecond)
	b := autoSaving(t, fake, sharedJournal(t, state, nil), t.TempDir(), 10*time.Millisecond)
	follow(t, a)
	follow(t, b)
	ids := []string{submitOutpainting(t, a, "one"), submitOutpainting(t, b, "two"), submitOutpainting(t, a, "three")}
	for _, id := range ids {
		path := savedPath(t, a.journal, id)
		assert.FileExists(t, path)
	}
	time.Sleep(100 * time.Millisecond) // ten more rounds each: nobody saves anything again
	assert.Equal(t, len(ids), fake.Count(dashscopetest.EndpointResult), "one download per video, by whichever process leased it")
}

func TestAutoSaveCatchesUpWithJobsThatEndedWhileNoServerRan(t *testing.T) {
	fake := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(quickJob))
	state := t.TempDir()
	gone := New(Options{Client: mustClient(t, fake), Journal: sharedJournal(t, state, nil)}) // submits, never follows
	id := submitOutpainting(t, gone, "submitted, then the host quit")

	// A job accepted 25 hours ago: DashScope has forgotten it, so it is not asked about.
	old := sharedJournal(t, state, func() time.Time { return time.Now().Add(-25 * time.Hour) })
	job, _, err := old.Claim(t.Context(), journal.Intent{Key: "old", Tool: "video_edit", Model: "wan2.1-vace-plus"}, journal.Rules{})
	require.NoError(t, err)
	require.NoError(t, old.Accepted(t.Context(), job.ID, "task-from-yesterday", "RUNNING"))

	time.Sleep(quickJob.Queue + quickJob.Run) // the job ends with no process following it
	out := t.TempDir()
	later := autoSaving(t, fake, sharedJournal(t, state, nil), out, 20*time.Millisecond)
	follow(t, later)
	assert.Equal(t, filepath.Join(out, "vace-"+id+".mp4"), savedPath(t, later.journal, id))
	for _, r := range fake.Requests(dashscopetest.EndpointGetTask) {
		assert.NotContains(t, r.Path, "task-from-yesterday")
	}
}

func TestAutoSaveLooksOnlyWhenNobodyHasJustLooked(t *testing.T) {
	fake := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: time.Hour}))
	state := t.TempDir()
	const every = 10 * time.Second
	// The submitting process's journal stamps what it records a minute
	// early, so the job is due for a look at once.
	submitter := autoSaving(t, fake, sharedJournal(t, state, minuteAgo), t.TempDir(), every)
	id := submitOutpainting(t, submitter, "p")

	// Its client saw the task moments ago: that is recorded without a query.
	(&autoSaver{s: submitter}).lookAtUnfinished(t.Context())
	assert.Zero(t, fake.Count(dashscopetest.EndpointGetTask), "what this process's client saw is fresh enough")

	// Another process, whose client has never seen the task, asks once and records the answer.
	other := autoSaving(t, fake, sharedJournal(t, state, nil), t.TempDir(), every)
	(&autoSaver{s: other}).lookAtUnfinished(t.Context())
	assert.Equal(t, 1, fake.Count(dashscopetest.EndpointGetTask))
	job, err := other.journal.ByTask(t.Context(), id)
	require.NoError(t, err)
	assert.Equal(t, "RUNNING", job.Status, "what the query said is recorded")

	// A third finds the job stamped just now, by the other: nothing new to ask.
	third := autoSaving(t, fake, sharedJournal(t, state, nil), t.TempDir(), every)
	(&autoSaver{s: third}).lookAtUnfinished(t.Context())
	assert.Equal(t, 1, fake.Count(dashscopetest.EndpointGetTask))
}

// minuteAgo is a journal clock a minute behind, for jobs last looked at long ago.
func minuteAgo() time.Time { return time.Now().Add(-time.Minute) }

func TestAutoSaveSpreadsItsQueries(t *testing.T) {
	fake := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: time.Hour}))
	state := t.TempDir()
	submitter := New(Options{Client: mustClient(t, fake), Journal: sharedJournal(t, state, minuteAgo)})
	for _, p := range []string{"a", "b", "c"} {
		submitOutpainting(t, submitter, p)
	}
	const every = 300 * time.Millisecond
	s := autoSaving(t, fake, sharedJournal(t, state, nil), t.TempDir(), every)
	(&autoSaver{s: s}).lookAtUnfinished(t.Context())
	queries := fake.Requests(dashscopetest.EndpointGetTask)
	require.Len(t, queries, 3, "each unfinished job once a round")
	for i := 1; i < len(queries); i++ {
		assert.GreaterOrEqual(t, queries[i].Wall.Sub(queries[i-1].Wall), lookGap(every, 3)-20*time.Millisecond)
	}

	for _, tc := range []struct {
		every time.Duration
		jobs  int
		gap   time.Duration
	}{
		{20 * time.Second, 1, 20 * time.Second},
		{20 * time.Second, 4, 5 * time.Second},
		{20 * time.Second, 100, 500 * time.Millisecond}, // at most two queries a second, however many jobs
		{20 * time.Second, 0, 20 * time.Second},
		{100 * time.Millisecond, 5, 100 * time.Millisecond},
	} {
		assert.Equal(t, tc.gap, lookGap(tc.every, tc.jobs), "%s, %d jobs", tc.every, tc.jobs)
	}
}

func TestAutoSaveRunsAtMostTwoDownloadsAtOnce(t *testing.T) {
	fake := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(quickJob))
	fake.InjectFault(dashscopetest.EndpointResult, 3, dashscopetest.Fault{Delay: time.Second, Status: 500})
	j := testJournal(t)
	submitter := New(Options{Client: mustClient(t, fake), Journal: j})
	for _, p := range []string{"a", "b", "c"} {
		submitOutpainting(t, submitter, p)
	}
	time.Sleep(quickJob.Queue + quickJob.Run)
	s := autoSaving(t, fake, j, t.TempDir(), 10*time.Millisecond)
	follow(t, s)
	require.Eventually(t, func() bool { return fake.Count(dashscopetest.EndpointResult) == maxAutoSaves }, 10*time.Second, 5*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // thirty rounds, while both downloads hang
	assert.Equal(t, maxAutoSaves, fake.Count(dashscopetest.EndpointResult), "the third waits for a free slot")
	require.Eventually(t, func() bool { return fake.Count(dashscopetest.EndpointResult) == 3 }, 10*time.Second, 5*time.Millisecond)

	// The failed saves keep their leases, so they are not retried at once.
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, 3, fake.Count(dashscopetest.EndpointResult))
}

func TestFollowDoesNothingWhenAutoSaveIsOff(t *testing.T) {
	fake := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(quickJob))
	j := testJournal(t)
	s := autoSaving(t, fake, j, t.TempDir(), 10*time.Millisecond)
	s.opts.AutoSave = false
	done := make(chan struct{})
	go func() { defer close(done); s.Follow(t.Context()) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Follow runs although auto-save is off")
	}
	submitOutpainting(t, s, "p")
	time.Sleep(quickJob.Queue + quickJob.Run + 50*time.Millisecond)
	assert.Zero(t, fake.Count(dashscopetest.EndpointGetTask))
	assert.Zero(t, fake.Count(dashscopetest.EndpointResult))
}

func mustClient(t *testing.T, fake *dashscopetest.Server) *dashscope.Client {
	t.Helper()
	c, err := fake.Client()
	require.NoError(t, err)
	return c
}
