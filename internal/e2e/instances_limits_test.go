package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
	"github.com/vace-mcp/vace-mcp/internal/redistest"
)

// The account's limits kept by several instances of the built binary
// sharing one Redis: the query rate counted across all of them, one poller
// per task whichever instances wait on it, and the load of TestLoad spread
// over two of them.

// submitStraight submits n jobs straight to the fake (another tool, the
// console), so that no instance knows them until it asks.
func submitStraight(t *testing.T, fake *dashscopetest.Server, n int) []string {
	t.Helper()
	c, err := fake.Client(dashscope.WithRateLimits(dashscope.RateLimits{Submit: 1e6}))
	require.NoError(t, err)
	var ids []string
	for i := range n {
		task, err := c.Submit(t.Context(), dashscope.VideoOutpainting{Prompt: fmt.Sprint("job ", i), VideoURL: "https://x/v.mp4"})
		require.NoError(t, err)
		ids = append(ids, task.ID)
	}
	return ids
}

// mostInASecond is the most requests that arrived (by the wall clock) within
// any one-second window, sliding: stricter than fixed one-second buckets.
func mostInASecond(reqs []dashscopetest.Request) int {
	at := make([]time.Time, len(reqs))
	for i, r := range reqs {
		at[i] = r.Wall
	}
	slices.SortFunc(at, time.Time.Compare)
	most, lo := 0, 0
	for hi := range at {
		for at[hi].Sub(at[lo]) >= time.Second {
			lo++
		}
		most = max(most, hi-lo+1)
	}
	return most
}

// perSecond counts requests in fixed one-second buckets from the first one.
func perSecond(reqs []dashscopetest.Request) []int {
	if len(reqs) == 0 {
		return nil
	}
	first := slices.MinFunc(reqs, func(a, b dashscopetest.Request) int { return a.Wall.Compare(b.Wall) }).Wall
	var out []int
	for _, r := range reqs {
		i := int(r.Wall.Sub(first) / time.Second)
		for len(out) <= i {
			out = append(out, 0)
		}
		out[i]++
	}
	return out
}

// queriesOf counts the fake's queries of one task.
func queriesOf(fake *dashscopetest.Server, taskID string) int {
	n := 0
	for _, r := range fake.Requests(dashscopetest.EndpointGetTask) {
		if strings.HasSuffix(r.Path, "/tasks/"+taskID) {
			n++
		}
	}
	return n
}

// TestInstancesSharingRedisStayWithinTheQueryRate: 200 get_task and
// wait_task calls at once on 200 different tasks, through three instances
// of --query-rate 5, make at most 5 DashScope queries a second in all. Each
// task is asked about by one call, so neither an instance's singleflight nor
// the answers shared through Redis stand in for the limiter. At 5 a second
// the 200 queries would take 40 s: the calls are cut off after a few
// seconds, which is long enough to see the rate. A limiter of each process
// alone would let about 15 a second through (three times 5, 18 at most).
func TestInstancesSharingRedisStayWithinTheQueryRate(t *testing.T) {
	t.Parallel()
	const rate, calls, perInstance = 5, 200, 10
	redis := redistest.Spawn(t, redistest.SpawnOptions{})
	fake := newFake(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: time.Hour})) // running throughout
	servers := instances(t, 3, fake, redis.URL, fmt.Sprint("VACE_MCP_QUERY_RATE=", rate))
	ids := submitStraight(t, fake, calls)
	var sessions []*session
	for _, h := range servers {
		for range perInstance { // a session each, under --max-waits-per-session
			sessions = append(sessions, connectHTTP(t, h, "http", true, nil))
		}
	}
	require.Zero(t, fake.Count(dashscopetest.EndpointGetTask), "no query before the calls")

	// The cut-off ends the calls still waiting for the limiter (and every
	// wait_task, whose tasks never end): their context is cancelled.
	ctx, cutOff := context.WithTimeout(context.Background(), 3*time.Second)
	defer cutOff()
	var mu sync.Mutex
	var answered, cut int
	var failures []string
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			req := mcp.CallToolRequest{}
			req.Params.Name, req.Params.Arguments = "get_task", map[string]any{"task_id": id}
			if i%4 == 3 { // a poller of its own for each of these
				req.Params.Name, req.Params.Arguments = "wait_task", map[string]any{"task_id": id, "timeout_seconds": 60}
			}
			<-start
			res, err := sessions[i%len(sessions)].Client.CallTool(ctx, req)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil && ctx.Err() != nil: // cut off
				cut++
			case err != nil:
				failures = append(failures, fmt.Sprintf("%s %s: %v", req.Params.Name, id, err))
			case res.IsError:
				failures = append(failures, fmt.Sprintf("%s %s: %s", req.Params.Name, id, text(res)))
			default:
				answered++
				if status := structured(t, res)["status"]; status != "RUNNING" {
					failures = append(failures, fmt.Sprintf("%s %s: status %v", req.Params.Name, id, status))
				}
			}
		})
	}
	close(start)
	wg.Wait()
	// Queries already let through may still be on their way to the fake.
	time.Sleep(500 * time.Millisecond)

	require.Empty(t, failures, "every call answered or was cut off waiting")
	gets := fake.Requests(dashscopetest.EndpointGetTask)
	most := mostInASecond(gets)
	t.Logf("%d calls: %d answered, %d cut off; %d DashScope queries, at most %d in any one second (by second: %v)",
		calls, answered, cut, len(gets), most, perSecond(gets))
	// No burst: queries at least 1/rate apart in Redis, so at most rate+1
	// in any second (the +1 for a window's two edges, as redisshared's own
	// test allows).
	assert.LessOrEqual(t, most, rate+1, "three instances together keep --query-rate")
	// Not vacuous: the limiter let queries through, about one every 1/rate.
	assert.GreaterOrEqual(t, len(gets), 2*rate, "queries kept going at about the rate")
	assert.Positive(t, answered, "get_task answered as its queries were let through")
}

// TestInstancesSharingRedisPollEachTaskOnce: three instances waiting on one
// task at once make the queries of one poller. The baseline is measured in
// the same test: one instance alone waiting on a task of the same lifecycle.
// --query-rate is far above the polls (10 a second) so that the limiter
// cannot hide three pollers, which at the account's 20 a second it would
// partly do.
func TestInstancesSharingRedisPollEachTaskOnce(t *testing.T) {
	t.Parallel()
	redis := redistest.Spawn(t, redistest.SpawnOptions{})
	life := dashscopetest.Lifecycle{Queue: 200 * time.Millisecond, Run: 1300 * time.Millisecond, VideoDuration: 5}
	fake := newFake(t, dashscopetest.WithLifecycle(life))
	servers := instances(t, 3, fake, redis.URL, "VACE_MCP_QUERY_RATE=1000") // polled every 100 ms (fastFlags)
	var clients []*session
	for _, h := range servers {
		clients = append(clients, connectHTTP(t, h, "http", true, nil))
	}
	// Each waits on id at once and must see it succeed.
	waitOn := func(cs []*session, id string) {
		t.Helper()
		var wg sync.WaitGroup
		for _, c := range cs {
			wg.Go(func() {
				res := call(t, c.Client, "wait_task", map[string]any{"task_id": id, "timeout_seconds": 30})
				if assert.False(t, res.IsError, text(res)) {
					out := structured(t, res)
					assert.Equal(t, "SUCCEEDED", out["status"], "every waiter sees the end")
					assert.NotEmpty(t, out["video_url"])
				}
			})
		}
		wg.Wait()
	}

	// Submitted straight to the fake, so that no instance knew the task
	// from its submission: each learns of it by asking.
	alone := submitStraight(t, fake, 1)[0]
	waitOn(clients[:1], alone)
	single := queriesOf(fake, alone)

	together := submitStraight(t, fake, 1)[0]
	waitOn(clients, together)
	shared := queriesOf(fake, together)

	t.Logf("queries of a %s job: %d by one instance alone, %d by three instances waiting together", life.Queue+life.Run, single, shared)
	require.Positive(t, single)
	// One poller's count, with slack: the instances' first looks may each
	// cost a query before one of them holds the lease and has published (up
	// to 2 more), and the polls of a 1.5 s job at 100 ms vary by a few from
	// run to run on a busy machine (hence the 1.5x and one more). Three
	// instances polling on their own make about 3x single, far above.
	assert.LessOrEqual(t, shared, single*3/2+3, "three instances waiting on one task poll it about once")
}

// TestLoadTwoInstancesSharingRedis is TestLoad — 50 streamable HTTP clients
// making 20 calls each, get_task and list_tasks — spread over two instances
// sharing Redis: every call goes through the shared limiter and the poll
// records in Redis. As in TestLoad, --query-rate is far above the account's
// 20 a second, which, now counted for both instances together, would make
// this a test of the limiter.
func TestLoadTwoInstancesSharingRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: skipped with -short")
	}
	const clients, callsEach = 50, 20
	redis := redistest.Spawn(t, redistest.SpawnOptions{})
	fake := newFake(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: time.Hour}))
	servers := instances(t, 2, fake, redis.URL, "VACE_MCP_QUERY_RATE=5000")
	setup := connectHTTP(t, servers[0], "http", true, nil)
	id := structured(t, call(t, setup.Client, "video_outpainting", map[string]any{"prompt": "load", "video_url": "https://x/v.mp4"}))["task_id"]

	var mu sync.Mutex
	var latencies []time.Duration
	var failures []string
	start := time.Now()
	var wg sync.WaitGroup
	for _, h := range servers {
		wg.Go(func() {
			l, f := load(t, h, clients/len(servers), callsEach, func(_, j int) (string, map[string]any) {
				if j%4 == 3 {
					return "list_tasks", map[string]any{}
				}
				return "get_task", map[string]any{"task_id": id}
			}, nil)
			mu.Lock()
			defer mu.Unlock()
			latencies, failures = append(latencies, l...), append(failures, f...)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	require.Empty(t, failures, "zero errors under load")
	require.Len(t, latencies, clients*callsEach)
	p50, p99 := percentile(latencies, 50), percentile(latencies, 99)
	t.Logf("load over two instances sharing Redis: %d clients x %d calls in %s (%.0f calls/s): p50 %s, p99 %s, peak RSS %s and %s; %d DashScope queries, %d lists",
		clients, callsEach, elapsed.Round(time.Millisecond), float64(clients*callsEach)/elapsed.Seconds(),
		p50.Round(100*time.Microsecond), p99.Round(100*time.Microsecond),
		peakRSS(t, servers[0].Proc.cmd.Process.Pid), peakRSS(t, servers[1].Proc.cmd.Process.Pid),
		fake.Count(dashscopetest.EndpointGetTask), fake.Count(dashscopetest.EndpointListTasks))
	assert.Less(t, p99, 10*time.Second, "no call starves")
}
