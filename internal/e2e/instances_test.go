package e2e

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
	"github.com/vace-mcp/vace-mcp/internal/redistest"
)

// Several instances of the built binary sharing one Redis (--store) and one
// fake DashScope, each with state and output directories of its own, so
// that whatever they agree on went through Redis. Each test runs a
// redis-server of its own: the binary writes under the default key prefix.

// instance runs one HTTP server of several sharing store.
func instance(t *testing.T, fake *dashscopetest.Server, store, name string, env ...string) *httpServer {
	t.Helper()
	return startHTTP(t, "http", append(append(fakeEnv(fake), "VACE_MCP_STORE="+store, "VACE_MCP_INSTANCE_ID="+name), env...))
}

// instances runs n of them, named vace1, vace2, ...
func instances(t *testing.T, n int, fake *dashscopetest.Server, store string, env ...string) []*httpServer {
	t.Helper()
	var out []*httpServer
	for i := range n {
		out = append(out, instance(t, fake, store, fmt.Sprint("vace", i+1), env...))
	}
	return out
}

// storeJobs runs `vace-mcp jobs --json` on the shared store.
func storeJobs(t *testing.T, store string) journalList {
	t.Helper()
	stdout, stderr, code := runCLI(t, t.TempDir(), []string{"VACE_MCP_STORE=" + store}, "jobs", "--json", "--since", "0")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	var out journalList
	require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
	return out
}

func TestInstancesSharingRedisMakeOnePOSTForIdenticalConcurrentCalls(t *testing.T) {
	t.Parallel()
	redis := redistest.Spawn(t, redistest.SpawnOptions{})
	fake := newFake(t)
	servers := instances(t, 3, fake, redis.URL, taskEnv...)

	// Through each instance: a client of the 2025-11-25 handshake (a
	// session there) and a stateless 2026-07-28 one.
	var clients []*session
	for _, h := range servers {
		clients = append(clients, connectHTTP(t, h, "http", true, nil), connectHTTP(t, h, "http", false, nil))
	}
	const each = 4
	type answer struct {
		res *mcp.CallToolResult
		err error
	}
	answers := make(chan answer, len(clients)*each)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range clients {
		for range each {
			wg.Go(func() {
				<-start
				res, err := callErr(t, c.Client, "video_outpainting", outpaintArgs("the same request through three instances"), "")
				answers <- answer{res, err}
			})
		}
	}
	close(start)
	wg.Wait()
	close(answers)

	ids := map[string]int{}
	fresh := 0
	for a := range answers {
		require.NoError(t, a.err)
		require.False(t, a.res.IsError, text(a.res))
		out := structured(t, a.res)
		ids[fmt.Sprint(out["task_id"])]++
		if out["duplicate"] != true {
			fresh++
		}
	}
	assert.Equal(t, 1, fake.Count(dashscopetest.EndpointSubmit), "one POST for 24 identical calls through three instances")
	require.Len(t, fake.TaskIDs(), 1)
	assert.Equal(t, map[string]int{fake.TaskIDs()[0]: len(clients) * each}, ids, "every answer names the one task")
	assert.Equal(t, 1, fresh, "one answer is the submission, the others say they are duplicates")

	jobs := storeJobs(t, redis.URL)
	require.Len(t, jobs.Jobs, 1, "the shared journal has one job")
	assert.Equal(t, "accepted", jobs.Jobs[0].State)
	assert.Equal(t, fake.TaskIDs()[0], jobs.Jobs[0].TaskID)
	assert.Contains(t, jobs.Journal, strings.TrimPrefix(redis.URL, "redis://"), "jobs names the store")

	// Session ids name the instance that holds the session, for a proxy's
	// sticky routing; a task id made through one instance works on any.
	sessions := make([]*rawHTTPSession, len(servers))
	for i, h := range servers {
		sessions[i] = &rawHTTPSession{url: h.URL + "/mcp"}
		sessions[i].initialize(t)
		assert.True(t, strings.HasPrefix(sessions[i].id, fmt.Sprintf("vace%d-", i+1)), sessions[i].id)
	}
	task := *decode[toolResult](t, httpRPC(t, sessions[0]).call(taskCallLine("ID", "a task made through vace1", `,"task":{}`)).Result).Task
	assert.Equal(t, "completed", pollUntilEnded(t, httpRPC(t, sessions[1]), task.TaskID, "").Status, "vace2 knows vace1's task")
	rep := httpRPC(t, sessions[2]).call(taskMethodLine("ID", "tasks/result", task.TaskID, ""))
	require.Nil(t, rep.Error, "vace3 gives its result")
	assert.Equal(t, "SUCCEEDED", decode[toolResult](t, rep.Result).StructuredContent["status"])
	assert.Equal(t, 2, fake.Count(dashscopetest.EndpointSubmit))
}

func TestInstancesSharingRedisKeepOneDailyBudget(t *testing.T) {
	t.Parallel()
	redis := redistest.Spawn(t, redistest.SpawnOptions{})
	fake := newFake(t)
	servers := instances(t, 3, fake, redis.URL, "VACE_MCP_DAILY_BUDGET=1.00")
	var clients []*session
	for _, h := range servers {
		clients = append(clients, connectHTTP(t, h, "http", false, nil))
	}

	// Nine different USD 0.50 jobs at once, three through each instance:
	// USD 1.00 pays for two of them.
	const n = 9
	results := make([]*mcp.CallToolResult, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			results[i] = call(t, clients[i%len(clients)].Client, "video_outpainting", outpaintArgs(fmt.Sprint("job ", i, " of a busy day")))
		})
	}
	close(start)
	wg.Wait()

	var sent, refused int
	for _, res := range results {
		if !res.IsError {
			sent++
			continue
		}
		refused++
		assert.Contains(t, text(res), "Not submitted, nothing was sent or billed")
		assert.Contains(t, text(res), "past the daily budget of USD 1.00")
	}
	assert.Equal(t, 2, sent, "USD 1.00 pays for two USD 0.50 jobs, whichever instances take them")
	assert.Equal(t, n-2, refused)
	assert.Equal(t, 2, fake.Count(dashscopetest.EndpointSubmit), "refused jobs were not sent")
	jobs := storeJobs(t, redis.URL)
	assert.Len(t, jobs.Jobs, 2, "a refusal by the budget leaves no job")
	assert.Equal(t, 1.0, jobs.TodayUSD)

	late := call(t, clients[0].Client, "video_outpainting", outpaintArgs("one more, later"))
	require.True(t, late.IsError, text(late))
	assert.Contains(t, text(late), "from USD 1.00 past the daily budget of USD 1.00", "today's total is every instance's")
}

func TestInstancesSharingRedisAutoSaveEachVideoOnce(t *testing.T) {
	t.Parallel()
	redis := redistest.Spawn(t, redistest.SpawnOptions{})
	fake := newFake(t)
	var servers []*httpServer
	var outs []string
	for i := range 3 {
		out := t.TempDir()
		outs = append(outs, out)
		servers = append(servers, instance(t, fake, redis.URL, fmt.Sprint("vace", i+1), "VACE_MCP_AUTO_SAVE=", "VACE_MCP_OUTPUT_DIR="+out))
	}
	var ids []string
	for i, prompt := range []string{"one", "two", "three", "four"} {
		c := connectHTTP(t, servers[i%len(servers)], "http", false, nil)
		ids = append(ids, submitUnwatched(t, c, prompt))
	}
	for _, id := range ids {
		waitForVideo(t, id, outs...)
	}
	time.Sleep(time.Second) // ten more rounds of each instance: nobody saves anything again
	saved := savedVideos(outs...)
	assert.Len(t, saved, len(ids))
	for name, where := range saved {
		assert.Len(t, where, 1, "%s saved by one instance", name)
	}
	assert.Equal(t, len(ids), fake.Count(dashscopetest.EndpointResult), "one download per video, by whichever instance held its lease")
	for _, job := range storeJobs(t, redis.URL).Jobs {
		assert.Equal(t, "SUCCEEDED", job.Status, job.TaskID)
	}
}

func TestInstancesWhileRedisIsDownRefuseSubmissionsServeReadsAndRecoverByThemselves(t *testing.T) {
	t.Parallel()
	redis := redistest.Spawn(t, redistest.SpawnOptions{Persist: true})
	fake := newFake(t)
	env := append([]string{}, taskEnv...)
	a := instance(t, fake, redis.URL, "vace1", env...)
	b := instance(t, fake, redis.URL, "vace2", env...)
	ca, cb := connectHTTP(t, a, "http", false, nil), connectHTTP(t, b, "http", true, nil)
	first := structured(t, call(t, ca.Client, "video_outpainting", outpaintArgs("before Redis stopped")))
	firstID := first["task_id"].(string)

	redis.Stop()
	refusedBecauseRedis := func(res *mcp.CallToolResult) {
		t.Helper()
		require.True(t, res.IsError, text(res))
		msg := text(res)
		assert.Contains(t, msg, "Not submitted: nothing was sent to DashScope or billed")
		assert.Contains(t, msg, redis.URL, "the error names the store")
		assert.Contains(t, msg, "nothing is sent untracked")
		assert.Contains(t, msg, "check that Redis is running")
	}
	refusedBecauseRedis(call(t, cb.Client, "video_outpainting", outpaintArgs("while Redis is down")))
	refusedBecauseRedis(call(t, ca.Client, "video_outpainting", outpaintArgs("before Redis stopped")))
	assert.Equal(t, 1, fake.Count(dashscopetest.EndpointSubmit), "nothing was sent while Redis was down")

	// The read-only tools answer from DashScope.
	got := call(t, cb.Client, "get_task", map[string]any{"task_id": firstID})
	require.False(t, got.IsError, text(got))
	waited := call(t, ca.Client, "wait_task", map[string]any{"task_id": firstID, "timeout_seconds": 30})
	require.False(t, waited.IsError, text(waited))
	assert.Equal(t, "SUCCEEDED", structured(t, waited)["status"])
	list := call(t, cb.Client, "list_tasks", map[string]any{})
	require.False(t, list.IsError, text(list))
	assert.Contains(t, text(list), firstID)
	saved := call(t, ca.Client, "download_video", map[string]any{"task_id": firstID})
	require.False(t, saved.IsError, text(saved))
	assert.FileExists(t, structured(t, saved)["local_path"].(string))

	// An instance started while Redis is down starts, and refuses tasks and
	// submissions until Redis answers.
	c := instance(t, fake, redis.URL, "vace3", env...)
	assert.Contains(t, c.Stderr.String(), "the shared job journal does not answer")
	cs := &rawHTTPSession{url: c.URL + "/mcp"}
	cs.initialize(t)
	rep := httpRPC(t, cs).call(taskCallLine("ID", "a task through vace3", `,"task":{}`))
	require.NotNil(t, rep.Error, "no task without the shared key")
	assert.Contains(t, rep.Error.Message, "MCP tasks are unavailable until the shared job journal answers")
	assert.Equal(t, 1, fake.Count(dashscopetest.EndpointSubmit))
	assert.NotContains(t, a.Stderr.String()+b.Stderr.String()+c.Stderr.String(), "panic")

	redis.Start() // with its data; no instance is restarted
	var again *mcp.CallToolResult
	require.Eventually(t, func() bool {
		again = call(t, cb.Client, "video_outpainting", outpaintArgs("before Redis stopped"))
		return !again.IsError
	}, 15*time.Second, 100*time.Millisecond, "submissions work again once Redis answers")
	out := structured(t, again)
	assert.Equal(t, firstID, out["task_id"], "the job from before is still known: the identical request is its duplicate")
	assert.Equal(t, true, out["duplicate"])
	assert.Equal(t, 1, fake.Count(dashscopetest.EndpointSubmit), "nothing was billed twice")

	cc := connectHTTP(t, c, "http", false, nil)
	fresh := call(t, cc.Client, "video_outpainting", outpaintArgs("after Redis came back"))
	require.False(t, fresh.IsError, "the instance started while Redis was down submits now: %s", text(fresh))
	var task mcpTask
	require.Eventually(t, func() bool {
		rep := httpRPC(t, cs).call(taskCallLine("ID", "a task through vace3", `,"task":{}`))
		if rep.Error != nil {
			return false
		}
		task = *decode[toolResult](t, rep.Result).Task
		return true
	}, 15*time.Second, 100*time.Millisecond, "tasks work on vace3 once it has the shared key")
	assert.Equal(t, "completed", pollUntilEnded(t, httpRPC(t, &rawHTTPSession{url: a.URL + "/mcp", id: mustSession(t, a)}), task.TaskID, "").Status,
		"and vace1 knows vace3's task")
	assert.Equal(t, 3, fake.Count(dashscopetest.EndpointSubmit))

	jobs := storeJobs(t, redis.URL)
	var recorded []string
	for _, j := range jobs.Jobs {
		assert.Equal(t, "accepted", j.State, j.TaskID)
		recorded = append(recorded, j.TaskID)
	}
	slices.Sort(recorded)
	sent := fake.TaskIDs()
	slices.Sort(sent)
	assert.Equal(t, sent, recorded, "every task DashScope made is in the journal: no job was lost")
}

// mustSession initializes a session on h and returns its id.
func mustSession(t *testing.T, h *httpServer) string {
	t.Helper()
	s := &rawHTTPSession{url: h.URL + "/mcp"}
	s.initialize(t)
	return s.id
}

func TestInstancesNeverShowTheRedisPassword(t *testing.T) {
	t.Parallel()
	const pw = "s3cret-redis-pw"
	redis := redistest.Spawn(t, redistest.SpawnOptions{Password: pw})
	require.Contains(t, redis.URL, pw)
	bare := strings.Replace(redis.URL, ":"+pw+"@", "", 1)
	fake := newFake(t)
	inURL := instance(t, fake, redis.URL, "vace1")                                  // the password in the URL
	inEnv := instance(t, fake, bare, "vace2", "VACE_MCP_REDIS_PASSWORD="+pw)        // or in its own variable
	wrong := instance(t, fake, bare, "vace3", "VACE_MCP_REDIS_PASSWORD=not-the-pw") // a wrong one refuses submissions
	for i, h := range []*httpServer{inURL, inEnv} {
		res := call(t, connectHTTP(t, h, "http", false, nil).Client, "video_outpainting", outpaintArgs(fmt.Sprint("job ", i)))
		require.False(t, res.IsError, text(res))
	}
	refused := call(t, connectHTTP(t, wrong, "http", false, nil).Client, "video_outpainting", outpaintArgs("with a wrong password"))
	require.True(t, refused.IsError)
	assert.Contains(t, text(refused), "Not submitted: nothing was sent to DashScope or billed")
	assert.Equal(t, 2, fake.Count(dashscopetest.EndpointSubmit))

	doctor, stderr, code := runCLI(t, t.TempDir(), append(fakeEnv(fake), "VACE_MCP_STORE="+redis.URL), "doctor")
	require.Equal(t, 0, code, "%s\n%s", doctor, stderr)
	assert.Contains(t, doctor, "ok    shared job journal redis://:xxxxx@")
	jobs, stderr, code := runCLI(t, t.TempDir(), []string{"VACE_MCP_STORE=" + bare, "VACE_MCP_REDIS_PASSWORD=" + pw}, "jobs")
	require.Equal(t, 0, code, "%s\n%s", jobs, stderr)
	assert.Contains(t, jobs, "2 job(s)")
	helpOut, helpErr, _ := runCLI(t, t.TempDir(), []string{"VACE_MCP_STORE=" + redis.URL}, "--help")
	help := helpOut + helpErr
	assert.Contains(t, help, "redis://:xxxxx@", "--help shows the store's default from the environment, redacted")
	for what, out := range map[string]string{
		"vace1's log": inURL.Stderr.String(), "vace2's log": inEnv.Stderr.String(), "vace3's log": wrong.Stderr.String(),
		"the refusal": text(refused), "doctor": doctor + stderr, "jobs": jobs, "--help": help,
	} {
		assert.NotContains(t, out, pw, what)
	}
}
