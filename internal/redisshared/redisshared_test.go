package redisshared_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/time/rate"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
	"github.com/vace-mcp/vace-mcp/internal/redisshared"
	"github.com/vace-mcp/vace-mcp/internal/redistest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// instance is one server instance's view of the shared Redis: a client of
// its own, as a process has.
func instance(t testing.TB, srv *redistest.Server, log *slog.Logger) *redisshared.Shared {
	t.Helper()
	c, err := redisshared.NewClient(srv.URL, "")
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return redisshared.New(c, redisshared.Options{Prefix: srv.Prefix, Logger: log})
}

var outpaint = dashscope.VideoOutpainting{Prompt: "a violinist on a wider stage", VideoURL: "https://example.com/in.mp4", TopScale: new(1.5)}

// maxInWindow is the most requests that arrived (by the wall clock) within
// any window of length d.
func maxInWindow(reqs []dashscopetest.Request, d time.Duration) int {
	at := make([]time.Time, len(reqs))
	for i, r := range reqs {
		at[i] = r.Wall
	}
	slices.SortFunc(at, time.Time.Compare)
	most, lo := 0, 0
	for hi := range at {
		for at[hi].Sub(at[lo]) >= d {
			lo++
		}
		most = max(most, hi-lo+1)
	}
	return most
}

// since keeps the requests that arrived at or after from.
func since(reqs []dashscopetest.Request, from time.Time) []dashscopetest.Request {
	return slices.DeleteFunc(slices.Clone(reqs), func(r dashscopetest.Request) bool { return r.Wall.Before(from) })
}

// hammer calls f from n goroutines per client, again and again, for d, and
// returns the errors.
func hammer(clients []*dashscope.Client, n int, d time.Duration, f func(ctx context.Context, c *dashscope.Client) error) []error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, c := range clients {
		for range n {
			wg.Go(func() {
				for ctx.Err() == nil {
					if err := f(ctx, c); err != nil && ctx.Err() == nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				}
			})
		}
	}
	wg.Wait()
	return errs
}

var ids atomic.Int64

// getNew queries a task id never asked before, so no answer is shared.
func getNew(ctx context.Context, c *dashscope.Client) error {
	_, err := c.GetTask(ctx, fmt.Sprintf("task-%d", ids.Add(1)))
	return err
}

func TestInstancesTogetherKeepTheAccountsRates(t *testing.T) {
	srv := redistest.Start(t)
	fake := dashscopetest.NewServer(t)
	const queryRate, submitRate = 5, 3
	var clients []*dashscope.Client
	for range 3 {
		sh := instance(t, srv, quiet)
		c, err := fake.Client(dashscope.WithLimiters(sh.Limiter("submit", submitRate, nil), sh.Limiter("query", queryRate, nil), nil))
		require.NoError(t, err)
		clients = append(clients, c)
	}
	var wg sync.WaitGroup
	var queryErrs, submitErrs []error
	wg.Go(func() { queryErrs = hammer(clients, 10, 2500*time.Millisecond, getNew) })
	wg.Go(func() {
		submitErrs = hammer(clients, 3, 2500*time.Millisecond, func(ctx context.Context, c *dashscope.Client) error {
			_, err := c.Submit(ctx, outpaint)
			return err
		})
	})
	wg.Wait()
	require.Empty(t, queryErrs)
	require.Empty(t, submitErrs)

	gets, posts := fake.Requests(dashscopetest.EndpointGetTask), fake.Requests(dashscopetest.EndpointSubmit)
	t.Logf("%d queries, at most %d in a second; %d submissions, at most %d in a second",
		len(gets), maxInWindow(gets, time.Second), len(posts), maxInWindow(posts, time.Second))
	// No burst: requests at least 1/rate apart, so at most rate+1 in a second
	// (the local limiters of three instances would allow three times that).
	assert.LessOrEqual(t, maxInWindow(gets, time.Second), queryRate+1)
	assert.LessOrEqual(t, maxInWindow(posts, time.Second), submitRate+1)
	// and they kept going at about the rate, not stuck.
	assert.GreaterOrEqual(t, len(gets), 2*queryRate)
	assert.GreaterOrEqual(t, len(posts), 2*submitRate)
}

// logBuffer collects an instance's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

func TestReadsKeepWorkingWhileRedisIsDownAndAreSharedAgainWhenItIsBack(t *testing.T) {
	srv := redistest.Spawn(t, redistest.SpawnOptions{})
	fake := dashscopetest.NewServer(t)
	const queryRate = 5
	var clients []*dashscope.Client
	var logs []*logBuffer
	for range 2 {
		lb := &logBuffer{}
		sh := instance(t, srv, slog.New(slog.NewTextHandler(lb, nil)))
		c, err := fake.Client(dashscope.WithLimiters(nil, sh.Limiter("query", queryRate, nil), nil), dashscope.WithSharedPolls(sh.Polls()))
		require.NoError(t, err)
		clients, logs = append(clients, c), append(logs, lb)
	}

	require.Empty(t, hammer(clients, 5, time.Second, getNew))

	srv.Stop()
	down := time.Now()
	require.Empty(t, hammer(clients, 5, 1500*time.Millisecond, getNew), "read-only calls must not fail for Redis's sake")
	back := time.Now()
	assert.NotEmpty(t, since(fake.Requests(dashscopetest.EndpointGetTask), down), "queries went on by the local limiters")
	for _, lb := range logs {
		assert.Equal(t, 1, lb.count("shared Redis unreachable"), "warned once per instance")
	}

	srv.Start()
	restarted := time.Now()
	var errs []error
	for _, lb := range logs { // recovered once Redis is tried again: within a second or two
		for lb.count("shared Redis reachable again") == 0 && time.Since(restarted) < 10*time.Second {
			errs = append(errs, hammer(clients, 5, 100*time.Millisecond, getNew)...)
		}
		assert.Equal(t, 1, lb.count("shared Redis reachable again"), "told once per instance")
	}
	t.Logf("both instances shared again %v after the restart", time.Since(restarted).Round(time.Millisecond))
	// Counted from two local intervals later: a request the local limiter
	// let through just before may still arrive.
	shared := time.Now().Add(2 * time.Second / queryRate)
	errs = append(errs, hammer(clients, 5, 2500*time.Millisecond, getNew)...)
	require.Empty(t, errs)
	// Shared again (by the local limiters alone, two instances send 2×rate).
	gets := fake.Requests(dashscopetest.EndpointGetTask)
	late := since(gets, shared)
	t.Logf("down: %d queries; shared again: %d, at most %d a second",
		len(since(gets, down))-len(since(gets, back)), len(late), maxInWindow(late, time.Second))
	assert.LessOrEqual(t, maxInWindow(late, time.Second), queryRate+1)
	assert.GreaterOrEqual(t, len(late), queryRate)
}

// waitAll has each client wait on the task, the first leaving after leave
// (if not zero), and returns what each waiter ended with.
func waitAll(t *testing.T, clients []*dashscope.Client, taskID string, leave time.Duration) []*dashscope.Task {
	t.Helper()
	got := make([]*dashscope.Task, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			if i == 0 && leave > 0 {
				ctx, cancel = context.WithTimeout(ctx, leave)
				defer cancel()
			}
			task, err := c.Wait(ctx, taskID, dashscope.WaitOptions{})
			if i == 0 && leave > 0 {
				return
			}
			assert.NoError(t, err)
			got[i] = task
		})
	}
	wg.Wait()
	return got
}

func getsOf(fake *dashscopetest.Server, taskID string) int {
	n := 0
	for _, r := range fake.Requests(dashscopetest.EndpointGetTask) {
		if strings.HasSuffix(r.Path, "/tasks/"+taskID) {
			n++
		}
	}
	return n
}

func TestInstancesWaitingOnOneTaskShareOnePoller(t *testing.T) {
	srv := redistest.Start(t)
	life := dashscopetest.Lifecycle{Queue: 100 * time.Millisecond, Run: 1200 * time.Millisecond, VideoDuration: 5}
	fake := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(life))
	opts := []dashscope.Option{
		dashscope.WithPollSchedule(dashscope.FixedSchedule(50 * time.Millisecond)),
		dashscope.WithRateLimits(dashscope.RateLimits{Query: 1000}),
	}
	newClients := func(n int) []*dashscope.Client {
		var cs []*dashscope.Client
		for range n {
			c, err := fake.Client(append(opts, dashscope.WithSharedPolls(instance(t, srv, quiet).Polls()))...)
			require.NoError(t, err)
			cs = append(cs, c)
		}
		return cs
	}
	unshared, err := fake.Client(opts...)
	require.NoError(t, err)
	submit := func(c *dashscope.Client) string {
		task, err := c.Submit(t.Context(), outpaint)
		require.NoError(t, err)
		return task.ID
	}

	// One instance alone, without Redis: the queries of one poller.
	alone := []*dashscope.Client{unshared}
	id := submit(alone[0])
	got := waitAll(t, alone, id, 0)
	require.Equal(t, dashscope.StatusSucceeded, got[0].Status)
	one := getsOf(fake, id)
	slack := one/5 + 2

	// Three instances, each with a waiter: still one stream of queries, and
	// every waiter sees the end.
	three := newClients(3)
	id = submit(three[0])
	for _, task := range waitAll(t, three, id, 0) {
		require.NotNil(t, task)
		assert.Equal(t, dashscope.StatusSucceeded, task.Status)
		assert.NotEmpty(t, task.VideoURL)
	}
	shared := getsOf(fake, id)
	t.Logf("one instance alone: %d queries; three instances together: %d", one, shared)
	assert.LessOrEqual(t, shared, one+slack)

	// The first instance's waiter leaves half-way: whichever held the lease,
	// the others carry on with one stream of queries.
	three = newClients(3)
	id = submit(three[0])
	for _, task := range waitAll(t, three, id, 600*time.Millisecond)[1:] {
		require.NotNil(t, task)
		assert.Equal(t, dashscope.StatusSucceeded, task.Status)
	}
	handed := getsOf(fake, id)
	t.Logf("with the first waiter leaving half-way: %d queries", handed)
	assert.LessOrEqual(t, handed, one+slack)
}

func TestAHolderThatVanishedIsReplacedWhenItsLeaseExpires(t *testing.T) {
	srv := redistest.Start(t)
	life := dashscopetest.Lifecycle{Queue: 100 * time.Millisecond, Run: 300 * time.Millisecond, VideoDuration: 5}
	fake := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(life))
	c, err := fake.Client(dashscope.WithPollSchedule(dashscope.FixedSchedule(50*time.Millisecond)),
		dashscope.WithSharedPolls(instance(t, srv, quiet).Polls()))
	require.NoError(t, err)
	task, err := c.Submit(t.Context(), outpaint)
	require.NoError(t, err)
	// An instance took the lease and died: it neither queries nor releases.
	held, err := instance(t, srv, quiet).Polls().Lease(t.Context(), task.ID, 500*time.Millisecond)
	require.NoError(t, err)
	require.True(t, held)

	got := waitAll(t, []*dashscope.Client{c}, task.ID, 0)
	assert.Equal(t, dashscope.StatusSucceeded, got[0].Status)
}

func TestWaitPollsLocallyWhileRedisIsDown(t *testing.T) {
	srv := redistest.Spawn(t, redistest.SpawnOptions{})
	life := dashscopetest.Lifecycle{Queue: 100 * time.Millisecond, Run: 300 * time.Millisecond, VideoDuration: 5}
	fake := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(life))
	var clients []*dashscope.Client
	for range 2 {
		c, err := fake.Client(dashscope.WithPollSchedule(dashscope.FixedSchedule(50*time.Millisecond)),
			dashscope.WithSharedPolls(instance(t, srv, quiet).Polls()))
		require.NoError(t, err)
		clients = append(clients, c)
	}
	task, err := clients[0].Submit(t.Context(), outpaint)
	require.NoError(t, err)
	srv.Stop()
	for _, got := range waitAll(t, clients, task.ID, 0) {
		assert.Equal(t, dashscope.StatusSucceeded, got.Status)
	}
}

func TestGetTaskUsesAnAnswerAnotherInstancePublishedWithinASecond(t *testing.T) {
	srv := redistest.Start(t)
	fake := dashscopetest.NewServer(t) // tasks run for minutes
	var clients []*dashscope.Client
	for range 2 {
		c, err := fake.Client(dashscope.WithSharedPolls(instance(t, srv, quiet).Polls()))
		require.NoError(t, err)
		clients = append(clients, c)
	}
	task, err := clients[0].Submit(t.Context(), outpaint)
	require.NoError(t, err)
	_, err = clients[0].QueryTask(t.Context(), task.ID)
	require.NoError(t, err)
	require.Equal(t, 1, getsOf(fake, task.ID))

	got, err := clients[1].GetTask(t.Context(), task.ID)
	require.NoError(t, err)
	assert.Equal(t, dashscope.StatusPending, got.Status)
	assert.Equal(t, 1, getsOf(fake, task.ID), "answered from the other instance's query")
	obs, ok := clients[1].LastObservation(task.ID)
	require.True(t, ok)
	assert.Equal(t, task.ID, obs.Task.ID)

	time.Sleep(1100 * time.Millisecond) // the answer is no longer fresh
	_, err = clients[1].GetTask(t.Context(), task.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, getsOf(fake, task.ID))
}

func TestPolls(t *testing.T) {
	srv := redistest.Start(t)
	a, b := instance(t, srv, quiet).Polls(), instance(t, srv, quiet).Polls()
	ctx := t.Context()

	held, err := a.Lease(ctx, "t1", time.Minute)
	require.NoError(t, err)
	assert.True(t, held)
	held, err = b.Lease(ctx, "t1", time.Minute)
	require.NoError(t, err)
	assert.False(t, held, "one holder at a time")
	held, err = a.Lease(ctx, "t1", time.Minute)
	require.NoError(t, err)
	assert.True(t, held, "the holder extends its lease")
	require.NoError(t, b.Release(ctx, "t1"))
	held, _ = b.Lease(ctx, "t1", time.Minute)
	assert.False(t, held, "only the holder releases")
	require.NoError(t, a.Release(ctx, "t1"))
	held, _ = b.Lease(ctx, "t1", 50*time.Millisecond)
	assert.True(t, held, "released")
	time.Sleep(100 * time.Millisecond)
	held, _ = a.Lease(ctx, "t1", time.Minute)
	assert.True(t, held, "expired")

	none, _, err := b.Latest(ctx, "t2")
	require.NoError(t, err)
	assert.Nil(t, none)

	var done dashscope.Task
	require.NoError(t, json.Unmarshal([]byte(`{"task_id":"t2","task_status":"SUCCEEDED","submit_time":"2026-03-02 17:00:00.123",
		"end_time":"2026-03-02 17:05:00.000","video_url":"https://example.com/v.mp4?Expires=1900000000","usage":{"video_duration":5,"SR":720}}`), &done))
	require.NoError(t, a.Publish(ctx, &done))
	require.NoError(t, a.Publish(ctx, &dashscope.Task{ID: "t2", Status: dashscope.StatusRunning}))
	got, age, err := b.Latest(ctx, "t2")
	require.NoError(t, err)
	assert.Equal(t, &done, got, "an ended task is not replaced by a running state, and comes back as it was")
	assert.GreaterOrEqual(t, age, time.Duration(0))
	assert.Less(t, age, 5*time.Second)
}

// BenchmarkLimiterWait is the cost of a Wait that is let through: a local
// limiter against the shared one (a loopback redis-server, or
// VACE_MCP_TEST_REDIS), in one run.
func BenchmarkLimiterWait(b *testing.B) {
	b.Run("local", func(b *testing.B) {
		// Always a token: a local limiter with one ready costs the same.
		var l dashscope.Limiter = rate.NewLimiter(rate.Inf, 1)
		for b.Loop() {
			if err := l.Wait(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("redis", func(b *testing.B) {
		srv := redistest.Start(b)
		// A million a second: never the bottleneck at a loopback round trip
		// a call, so every Wait is let through at the first ask.
		l := instance(b, srv, quiet).Limiter("bench", 1e6, nil)
		for b.Loop() {
			if err := l.Wait(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A wait Redis asks for that is far beyond the limiter's rate (its key set
// far ahead: by hand, a bug, an instance of another rate gone wrong) is a
// fault: the request is paced by the local fallback, not stalled for it.
func TestALimiterDoesNotObeyAWaitFarBeyondItsRate(t *testing.T) {
	srv := redistest.Start(t)
	c, err := redisshared.NewClient(srv.URL, "")
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	var log logBuffer
	l := instance(t, srv, slog.New(slog.NewTextHandler(&log, nil))).Limiter("query", 5, nil)
	require.NoError(t, l.Wait(t.Context()))

	now, err := c.Time(t.Context()).Result()
	require.NoError(t, err)
	const jan2017 = 1483228800 // redis_rate's epoch
	tat := float64(now.Unix()-jan2017) + 3600
	require.NoError(t, c.Set(t.Context(), "rate:"+srv.Prefix+"limit:query", fmt.Sprintf("%f", tat), time.Hour).Err())

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	start := time.Now()
	for range 3 {
		require.NoError(t, l.Wait(ctx), "not an hour's wait")
	}
	assert.Less(t, time.Since(start), time.Second, "paced locally at 5/s")
	assert.Equal(t, 1, log.count("far beyond its rate"), "logged once")
}

// An ended task's record is final: no later answer replaces it, not even
// UNKNOWN (a glitch, or the task expired) or another end.
func TestAnEndedTaskIsNeverReplaced(t *testing.T) {
	srv := redistest.Start(t)
	p := instance(t, srv, quiet).Polls()
	ctx := t.Context()
	done := &dashscope.Task{ID: "t3", Status: dashscope.StatusSucceeded, VideoURL: "https://example.com/v.mp4"}
	require.NoError(t, p.Publish(ctx, &dashscope.Task{ID: "t3", Status: dashscope.StatusRunning}))
	require.NoError(t, p.Publish(ctx, done))
	for _, later := range []dashscope.TaskStatus{dashscope.StatusUnknown, dashscope.StatusFailed, dashscope.StatusCanceled, dashscope.StatusPending} {
		require.NoError(t, p.Publish(ctx, &dashscope.Task{ID: "t3", Status: later}))
		got, _, err := p.Latest(ctx, "t3")
		require.NoError(t, err)
		assert.Equal(t, done, got, "after %s", later)
	}
}
