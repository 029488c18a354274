package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// outpaintArgs is a VACE submission with no local files (nothing to upload);
// prompts make distinct requests.
func outpaintArgs(prompt string) map[string]any {
	return map[string]any{"prompt": prompt, "video_url": "https://example.com/in.mp4"}
}

// stateEnv points a process at a shared state directory (a later entry wins
// over the harness's own).
func stateEnv(fake *dashscopetest.Server, dir string) []string {
	return append(fakeEnv(fake), "VACE_MCP_STATE_DIR="+dir)
}

// journalRow is a job as `vace-mcp jobs --json` prints it.
type journalRow struct {
	Tool          string   `json:"tool"`
	State         string   `json:"state"`
	TaskID        string   `json:"task_id"`
	Status        string   `json:"status"`
	Prompt        string   `json:"prompt_excerpt"`
	BilledSeconds float64  `json:"billed_seconds"`
	EstimateUSD   float64  `json:"estimated_cost_usd"`
	CostUSD       *float64 `json:"cost_usd"`
}

type journalList struct {
	Journal       string       `json:"journal"`
	Jobs          []journalRow `json:"jobs"`
	BilledSeconds float64      `json:"billed_seconds"`
	CostUSD       float64      `json:"cost_usd"`
	TodayUSD      float64      `json:"today_usd"`
}

// jobsJSON runs `vace-mcp jobs --json` on a state directory.
func jobsJSON(t *testing.T, state string) journalList {
	t.Helper()
	stdout, stderr, code := runCLI(t, t.TempDir(), []string{"VACE_MCP_STATE_DIR=" + state}, "jobs", "--json")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	var out journalList
	require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
	return out
}

func TestJournalTwoProcessesRacingIdenticalCallsMakeOnePOST(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	state := t.TempDir()
	a := startStdio(t, startOptions{env: stateEnv(fake, state)})
	b := startStdio(t, startOptions{env: stateEnv(fake, state)})

	const each = 16
	type answer struct {
		res *mcp.CallToolResult
		err error
	}
	answers := make(chan answer, 2*each)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, s := range []*session{a, b} {
		for range each {
			wg.Go(func() {
				<-start
				res, err := callErr(t, s.Client, "video_outpainting", outpaintArgs("the same request from two hosts"), "")
				answers <- answer{res, err}
			})
		}
	}
	close(start)
	wg.Wait()
	close(answers)

	ids := map[string]int{}
	fresh := 0
	for ans := range answers {
		require.NoError(t, ans.err)
		require.False(t, ans.res.IsError, text(ans.res))
		out := structured(t, ans.res)
		ids[fmt.Sprint(out["task_id"])]++
		if out["duplicate"] != true {
			fresh++
		}
	}
	assert.Equal(t, 1, fake.Count(dashscopetest.EndpointSubmit), "one POST for 32 identical calls from two processes")
	require.Len(t, fake.TaskIDs(), 1)
	assert.Equal(t, map[string]int{fake.TaskIDs()[0]: 2 * each}, ids, "every answer names the one task")
	assert.Equal(t, 1, fresh, "one answer is the submission, the others say they are duplicates")

	jobs := jobsJSON(t, state)
	require.Len(t, jobs.Jobs, 1, "the journal has one job")
	assert.Equal(t, "accepted", jobs.Jobs[0].State)
	assert.Equal(t, fake.TaskIDs()[0], jobs.Jobs[0].TaskID)
}

// stallingProxy forwards to the fake, except that a submission, once the
// fake has accepted it, never gets its answer: the caller waits until it
// goes away (is killed). It returns the API root to use.
func stallingProxy(t *testing.T, fake *dashscopetest.Server) string {
	t.Helper()
	target, err := url.Parse(fake.URL)
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }
	rp.Transport = stallAfterSubmit{http.DefaultTransport}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL + strings.TrimPrefix(fake.BaseURL(), fake.URL)
}

type stallAfterSubmit struct{ next http.RoundTripper }

func (s stallAfterSubmit) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	if err != nil || r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/video-synthesis") {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body) // the task exists now
	_ = resp.Body.Close()
	<-r.Context().Done() // its answer never comes
	return nil, r.Context().Err()
}

func TestJournalReconcilesASubmissionWhoseProcessWasKilledBeforeTheAnswer(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	state := t.TempDir()
	first := startStdio(t, startOptions{env: append(stateEnv(fake, state), "DASHSCOPE_BASE_URL="+stallingProxy(t, fake))})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		req := mcp.CallToolRequest{}
		req.Params.Name, req.Params.Arguments = "video_outpainting", outpaintArgs("killed while sending")
		_, _ = first.Client.CallTool(ctx, req) // never answered: the process is killed
	}()
	for i := 0; i < 300 && len(fake.TaskIDs()) == 0; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	require.Len(t, fake.TaskIDs(), 1, "the fake accepted the submission")
	task := fake.TaskIDs()[0]
	require.NoError(t, first.Proc.cmd.Process.Kill())
	<-first.Proc.exited

	before := jobsJSON(t, state)
	require.Len(t, before.Jobs, 1)
	require.Equal(t, "intent", before.Jobs[0].State, "the killed process left its intent and no task id")

	second := startStdio(t, startOptions{env: stateEnv(fake, state)})
	var job journalRow
	for i := 0; i < 100; i++ { // reconciliation runs in the background at start
		if jobs := jobsJSON(t, state); len(jobs.Jobs) == 1 && jobs.Jobs[0].State != "intent" {
			job = jobs.Jobs[0]
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	assert.Equal(t, "accepted", job.State, "the next process found the task in DashScope's list")
	assert.Equal(t, task, job.TaskID)
	assert.Equal(t, "video_outpainting", job.Tool)
	assert.Equal(t, 0.5, job.EstimateUSD)

	again := call(t, second.Client, "video_outpainting", outpaintArgs("killed while sending"))
	require.False(t, again.IsError, text(again))
	out := structured(t, again)
	assert.Equal(t, task, out["task_id"])
	assert.Equal(t, true, out["duplicate"])
	assert.Equal(t, 1, fake.Count(dashscopetest.EndpointSubmit), "the identical call is answered with the reconciled task, not sent again")
}

func TestJournalBudgetRefusesTheSubmissionThatWouldPassItAcrossProcesses(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	state := t.TempDir()
	budget := startOptions{env: stateEnv(fake, state), args: []string{"--daily-budget", "0.75"}}
	a := startStdio(t, budget)
	b := startStdio(t, budget)

	first := call(t, a.Client, "video_outpainting", outpaintArgs("the first job of the day"))
	require.False(t, first.IsError, text(first))
	out := structured(t, first)
	assert.Equal(t, 0.5, out["estimated_cost_usd"], "5 s at USD 0.10")
	assert.Equal(t, 0.5, out["today_usd"])
	assert.Contains(t, text(first), "Estimated cost USD 0.50")
	assert.Contains(t, text(first), "today's total USD 0.50")

	second := call(t, b.Client, "video_outpainting", outpaintArgs("a second, different job"))
	require.True(t, second.IsError, text(second))
	msg := text(second)
	assert.Contains(t, msg, "nothing was sent")
	assert.Contains(t, msg, "estimated cost USD 0.50", "the estimate")
	assert.Contains(t, msg, "from USD 0.50", "today's total, made by the other process")
	assert.Contains(t, msg, "daily budget of USD 0.75")
	assert.Contains(t, msg, "--daily-budget")
	assert.Contains(t, msg, "VACE_MCP_DAILY_BUDGET")
	assert.Equal(t, 1, fake.Count(dashscopetest.EndpointSubmit), "the refused job was not sent")

	jobs := jobsJSON(t, state)
	assert.Len(t, jobs.Jobs, 1, "a refusal by the budget leaves no job")
	assert.Equal(t, 0.5, jobs.TodayUSD)
}

func TestJobsJSONAfterARestartListsEarlierJobsWithTheirCosts(t *testing.T) {
	t.Parallel()
	// The second job runs for an hour, so it stays unsettled whatever watches it.
	fake := newFake(t, dashscopetest.WithScript(func(s dashscopetest.Submission) dashscopetest.Lifecycle {
		if strings.HasPrefix(s.Prompt, "long") {
			return dashscopetest.Lifecycle{Run: time.Hour}
		}
		return testLife
	}))
	state := t.TempDir()
	s := startStdio(t, startOptions{env: stateEnv(fake, state)})
	done := structured(t, call(t, s.Client, "video_outpainting", outpaintArgs("short: a violinist on a wider stage")))
	running := structured(t, call(t, s.Client, "video_outpainting", outpaintArgs("long: a cellist on a wider stage")))
	var status any
	for i := 0; i < 20 && status != "SUCCEEDED"; i++ {
		res := call(t, s.Client, "wait_task", map[string]any{"task_id": done["task_id"], "timeout_seconds": 5})
		require.False(t, res.IsError, text(res))
		status = structured(t, res)["status"]
	}
	require.Equal(t, "SUCCEEDED", status)
	s.Proc.stop()

	jobs := jobsJSON(t, state)
	require.Len(t, jobs.Jobs, 2)
	byTask := map[any]journalRow{}
	for _, j := range jobs.Jobs {
		byTask[j.TaskID] = j
	}
	finished, open := byTask[done["task_id"]], byTask[running["task_id"]]
	assert.Equal(t, "accepted", finished.State)
	assert.Equal(t, "SUCCEEDED", finished.Status)
	assert.Equal(t, "video_outpainting", finished.Tool)
	assert.Equal(t, "short: a violinist on a wider stage", finished.Prompt)
	assert.Equal(t, 0.5, finished.EstimateUSD)
	assert.Equal(t, 5.0, finished.BilledSeconds, "billed seconds from the task's usage")
	if assert.NotNil(t, finished.CostUSD, "a succeeded job's cost is settled") {
		assert.Equal(t, 0.5, *finished.CostUSD)
	}
	assert.Equal(t, "accepted", open.State)
	assert.Equal(t, 0.5, open.EstimateUSD)
	assert.Nil(t, open.CostUSD, "an unfinished job has only its estimate")
	assert.Equal(t, 5.0, jobs.BilledSeconds)
	assert.Equal(t, 1.0, jobs.CostUSD, "the settled cost plus the open estimate")
	assert.Equal(t, 1.0, jobs.TodayUSD)
	assert.Equal(t, filepath.Join(state, "journal.db"), jobs.Journal)
}

// assertJournalUnavailable checks a server whose journal cannot be used:
// it serves reads, refuses submissions naming the file with nothing sent,
// and doctor reports the journal as failing.
func assertJournalUnavailable(t *testing.T, fake *dashscopetest.Server, env []string, path string) {
	t.Helper()
	c, err := fake.Client()
	require.NoError(t, err)
	task, err := c.Submit(context.Background(), dashscope.VideoOutpainting{Prompt: "made elsewhere", VideoURL: "https://example.com/in.mp4"})
	require.NoError(t, err)
	sent := fake.Count(dashscopetest.EndpointSubmit)

	s := startStdio(t, startOptions{env: env})
	got := call(t, s.Client, "get_task", map[string]any{"task_id": task.ID})
	require.False(t, got.IsError, text(got))
	assert.Equal(t, task.ID, structured(t, got)["task_id"])
	list := call(t, s.Client, "list_tasks", map[string]any{})
	require.False(t, list.IsError, text(list))
	assert.Contains(t, fmt.Sprint(structured(t, list)), task.ID)

	res := call(t, s.Client, "video_outpainting", outpaintArgs("refused without a journal"))
	require.True(t, res.IsError, text(res))
	assert.Contains(t, text(res), path, "the error names the journal's file")
	assert.Contains(t, text(res), "nothing is sent")
	assert.Equal(t, 1, strings.Count(text(res), path), "the file is named once, not in an error wrapped twice")
	assert.Equal(t, sent, fake.Count(dashscopetest.EndpointSubmit), "nothing was sent")

	stdout, stderr, code := runCLI(t, t.TempDir(), env, "doctor")
	assert.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	var line string
	for _, l := range strings.Split(stdout, "\n") {
		if strings.Contains(l, path) {
			line = l
		}
	}
	assert.True(t, strings.HasPrefix(line, "FAIL"), "doctor fails the journal:\n%s", stdout)
}

func TestJournalCorruptFileRefusesSubmissionsAndServesReads(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	state := t.TempDir()
	path := filepath.Join(state, "journal.db")
	require.NoError(t, os.WriteFile(path, []byte(strings.Repeat("this is not a database ", 400)), 0o600))
	assertJournalUnavailable(t, fake, stateEnv(fake, state), path)
}

func TestJournalStateDirectoryThatCannotBeCreatedRefusesSubmissions(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	file := filepath.Join(t.TempDir(), "a-file")
	require.NoError(t, os.WriteFile(file, []byte("not a directory"), 0o600))
	state := filepath.Join(file, "state")
	assertJournalUnavailable(t, fake, stateEnv(fake, state), filepath.Join(state, "journal.db"))
}

func TestJournalLockedTooLongRefusesTheSubmissionUntilReleased(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	state := t.TempDir()
	path := filepath.Join(state, "journal.db")
	jobsJSON(t, state) // an existing journal, as left by an earlier run

	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	defer db.Close()
	ctx := context.Background()
	holder, err := db.Conn(ctx)
	require.NoError(t, err)
	defer holder.Close()
	_, err = holder.ExecContext(ctx, "BEGIN IMMEDIATE") // another holder keeps the write lock
	require.NoError(t, err)

	// The server starts while the lock is held (and answers reads) ...
	s := startStdio(t, startOptions{env: stateEnv(fake, state)})
	list := call(t, s.Client, "list_tasks", map[string]any{})
	require.False(t, list.IsError, text(list))

	// ... waits its busy timeout (5 s) for a submission, then refuses it.
	res := call(t, s.Client, "video_outpainting", outpaintArgs("while the journal is locked"))
	require.True(t, res.IsError, text(res))
	assert.Contains(t, text(res), path, "the error names the journal's file")
	assert.Contains(t, text(res), "locked")
	assert.Contains(t, text(res), "nothing is sent")
	assert.Equal(t, 1, strings.Count(text(res), path), "the file is named once, not in an error wrapped twice")
	assert.Equal(t, 0, fake.Count(dashscopetest.EndpointSubmit), "nothing was sent")

	_, err = holder.ExecContext(ctx, "ROLLBACK")
	require.NoError(t, err)
	ok := call(t, s.Client, "video_outpainting", outpaintArgs("while the journal is locked"))
	require.False(t, ok.IsError, "once released, the same process submits: %s", text(ok))
	assert.Equal(t, 1, fake.Count(dashscopetest.EndpointSubmit))
	require.Len(t, fake.TaskIDs(), 1)
	assert.Equal(t, fake.TaskIDs()[0], structured(t, ok)["task_id"])
}
