package dashscope_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// start is where every wait test's clock stands at first.
var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// manual returns a fake and a client sharing a clock that moves only when the
// test moves it, so no outcome depends on how busy the machine is.
func manual(t *testing.T, life dashscopetest.Lifecycle, opts ...dashscope.Option) (*dashscopetest.Server, *dashscope.Client, *dashscopetest.ManualClock) {
	t.Helper()
	clock := dashscopetest.NewManualClock(start)
	srv := dashscopetest.NewServer(t, dashscopetest.WithClock(clock), dashscopetest.WithLifecycle(life))
	return srv, newClient(t, srv, opts...), clock
}

// driven runs f while the clock jumps to each sleeper's wake time as soon as
// one sleeps, so f runs through its waits in an instant of wall time.
func driven(clock *dashscopetest.ManualClock, f func()) {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for clock.AdvanceToNextSleeper(ctx) == nil {
		}
	}()
	defer func() { stop(); <-done }()
	f()
}

// lockstep runs f while the clock moves to the poller's next wake-up once
// each time f calls next (from OnUpdate), so the poller never outruns the
// waiter and no state goes unseen.
func lockstep(clock *dashscopetest.ManualClock, f func(next func())) {
	ctx, stop := context.WithCancel(context.Background())
	tokens := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-tokens:
			case <-ctx.Done():
				return
			}
			if clock.AdvanceToNextSleeper(ctx) != nil {
				return
			}
		}
	}()
	defer func() { stop(); <-done }()
	f(func() {
		select {
		case tokens <- struct{}{}:
		default:
		}
	})
}

func TestWaitReportsEachStatusAndReturnsTheFinishedTask(t *testing.T) {
	life := dashscopetest.Lifecycle{Queue: 5 * time.Second, Run: 5 * time.Minute, VideoDuration: 5}
	srv, c, clock := manual(t, life)
	task, err := c.Submit(t.Context(), outpaint)
	require.NoError(t, err)

	var statuses []dashscope.TaskStatus
	var got *dashscope.Task
	updates := 0
	lockstep(clock, func(next func()) {
		got, err = c.Wait(t.Context(), task.ID, dashscope.WaitOptions{OnUpdate: func(o dashscope.Observation) {
			require.NoError(t, o.Err)
			updates++
			if len(statuses) == 0 || statuses[len(statuses)-1] != o.Task.Status {
				statuses = append(statuses, o.Task.Status)
			}
			next()
		}})
	})
	require.NoError(t, err)
	assert.Equal(t, dashscope.StatusSucceeded, got.Status)
	assert.NotEmpty(t, got.VideoURL)
	assert.Equal(t, []dashscope.TaskStatus{dashscope.StatusPending, dashscope.StatusRunning, dashscope.StatusSucceeded}, statuses)
	expected, _ := simulateJob(dashscope.DefaultSchedule, life.Queue+life.Run)
	assert.Equal(t, expected, srv.Count(dashscopetest.EndpointGetTask), "queries follow the schedule")
	assert.Equal(t, expected+1, updates, "the submission, then every poll")
}

func TestWaitFirstQueryFollowsTheScheduleAfterSubmit(t *testing.T) {
	srv, c, clock := manual(t, dashscopetest.Lifecycle{Run: 3 * time.Second})
	task, err := c.Submit(t.Context(), outpaint)
	require.NoError(t, err)
	driven(clock, func() {
		_, err = c.Wait(t.Context(), task.ID, dashscope.WaitOptions{})
	})
	require.NoError(t, err)
	gets := srv.Requests(dashscopetest.EndpointGetTask)
	require.NotEmpty(t, gets)
	// A task just submitted is PENDING: the first query waits the schedule's first interval.
	assert.Equal(t, dashscope.DefaultSchedule.Interval(0, 0), gets[0].At.Sub(start))
}

func TestManyWaitersShareOnePoller(t *testing.T) {
	life := dashscopetest.Lifecycle{Run: 300 * time.Second}
	queries := func(waiters int) int {
		srv, c, clock := manual(t, life)
		task, err := c.Submit(t.Context(), outpaint)
		require.NoError(t, err)
		driven(clock, func() {
			var wg sync.WaitGroup
			for range waiters {
				wg.Go(func() {
					got, err := c.Wait(t.Context(), task.ID, dashscope.WaitOptions{})
					if assert.NoError(t, err) {
						assert.Equal(t, dashscope.StatusSucceeded, got.Status)
					}
				})
			}
			wg.Wait()
		})
		return srv.Count(dashscopetest.EndpointGetTask)
	}
	one, many := queries(1), queries(200)
	expected, _ := simulateJob(dashscope.DefaultSchedule, life.Run)
	assert.Equal(t, expected, one, "one waiter polls as the schedule says")
	assert.Equal(t, one, many, "200 waiters cost what one does")
}

func TestWaitResumesTheScheduleInsteadOfStartingOver(t *testing.T) {
	srv, c, clock := manual(t, dashscopetest.Lifecycle{Run: time.Hour}, dashscope.WithPollSchedule(dashscope.FixedSchedule(20*time.Second)))
	task, err := c.Submit(t.Context(), outpaint)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	lockstep(clock, func(next func()) {
		_, err = c.Wait(ctx, task.ID, dashscope.WaitOptions{OnUpdate: func(o dashscope.Observation) {
			if o.Task.Status == dashscope.StatusRunning {
				cancel() // give up after the first poll, as a bounded wait does
				return
			}
			next()
		}})
	})
	require.ErrorIs(t, err, context.Canceled)
	first := srv.Requests(dashscopetest.EndpointGetTask)
	require.Len(t, first, 1)

	var resumedWith *dashscope.Task
	ctx2, cancel2 := context.WithCancel(t.Context())
	lockstep(clock, func(next func()) {
		_, err = c.Wait(ctx2, task.ID, dashscope.WaitOptions{OnUpdate: func(o dashscope.Observation) {
			if resumedWith != nil {
				cancel2() // the resumed wait's first poll
				return
			}
			resumedWith = o.Task // the last known state, at once, without a query
			next()
		}})
	})
	require.ErrorIs(t, err, context.Canceled)
	require.NotNil(t, resumedWith)
	assert.Equal(t, dashscope.StatusRunning, resumedWith.Status)
	gets := srv.Requests(dashscopetest.EndpointGetTask)
	require.Len(t, gets, 2)
	assert.Equal(t, 20*time.Second, gets[1].At.Sub(gets[0].At), "the resumed wait kept the 20 s interval")
}

func TestWaitOnAFinishedTaskAsksNothing(t *testing.T) {
	srv, c, clock := manual(t, dashscopetest.Lifecycle{Run: 10 * time.Second})
	task, err := c.Submit(t.Context(), outpaint)
	require.NoError(t, err)
	driven(clock, func() {
		_, err = c.Wait(t.Context(), task.ID, dashscope.WaitOptions{})
	})
	require.NoError(t, err)
	n := srv.Count(dashscopetest.EndpointGetTask)
	got, err := c.Wait(t.Context(), task.ID, dashscope.WaitOptions{})
	require.NoError(t, err)
	assert.Equal(t, dashscope.StatusSucceeded, got.Status)
	assert.Equal(t, n, srv.Count(dashscopetest.EndpointGetTask))
	obs, ok := c.LastObservation(task.ID)
	require.True(t, ok)
	assert.Equal(t, dashscope.StatusSucceeded, obs.Task.Status)
}

func TestWaitEndsOnAnUnknownTask(t *testing.T) {
	srv, c, clock := manual(t, dashscopetest.DefaultLifecycle)
	var got *dashscope.Task
	var err error
	driven(clock, func() {
		got, err = c.Wait(t.Context(), "0385dc79-5ff8-4d82-bcb6-000000000000", dashscope.WaitOptions{})
	})
	require.NoError(t, err)
	assert.Equal(t, dashscope.StatusUnknown, got.Status)
	gets := srv.Requests(dashscopetest.EndpointGetTask)
	require.Len(t, gets, 1)
	assert.Equal(t, start, gets[0].At, "an unseen task is queried at once")
}

func TestWaitStopsOnARefusedQueryButRidesOutTransientOnes(t *testing.T) {
	// One try per query, so that each injected fault is one failed poll.
	srv, c, clock := manual(t, dashscopetest.Lifecycle{Run: 20 * time.Second}, dashscope.WithRetryPolicy(dashscope.RetryPolicy{Attempts: 1}))
	task, err := c.Submit(t.Context(), outpaint)
	require.NoError(t, err)
	srv.InjectFault(dashscopetest.EndpointGetTask, 3, dashscopetest.Fault{Status: 503, Code: "SystemError"})
	var failures int
	var got *dashscope.Task
	lockstep(clock, func(next func()) {
		got, err = c.Wait(t.Context(), task.ID, dashscope.WaitOptions{OnUpdate: func(o dashscope.Observation) {
			if o.Err != nil {
				failures++
				assert.NotNil(t, o.Task, "a failed poll still carries the last known state")
			}
			next()
		}})
	})
	require.NoError(t, err)
	assert.Equal(t, dashscope.StatusSucceeded, got.Status)
	assert.Equal(t, 3, failures, "each failed poll is reported, and the wait goes on")

	task2, err := c.Submit(t.Context(), outpaint)
	require.NoError(t, err)
	srv.InjectFault(dashscopetest.EndpointGetTask, 1, dashscopetest.Fault{Status: 401, Code: "InvalidApiKey", Message: "Invalid API-key provided."})
	driven(clock, func() {
		got, err = c.Wait(t.Context(), task2.ID, dashscope.WaitOptions{})
	})
	assert.True(t, dashscope.IsAuth(err), "%v", err)
	require.NotNil(t, got)
	assert.Equal(t, dashscope.StatusPending, got.Status, "the last known state comes back with the error")
}

func TestWaitBacksOffWhileQueriesFail(t *testing.T) {
	const outage = 2 * time.Minute
	// Polls 1 s apart at first, then each pause at least doubles up to 30–60 s:
	// 8 polls fit in two minutes, and each makes the retry policy's 4 tries.
	const most = 8 * 4
	for _, tc := range []struct {
		name     string
		ownsTask bool // the waiting client submitted the task, so it knows when
	}{
		{"submitted here", true},
		{"known only by id", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []dashscope.Option{dashscope.WithRetryPolicy(dashscope.DefaultRetryPolicy), dashscope.WithPollSchedule(dashscope.FixedSchedule(time.Second))}
			srv, c, clock := manual(t, dashscopetest.Lifecycle{Run: time.Hour}, opts...)
			task, err := c.Submit(t.Context(), outpaint)
			require.NoError(t, err)
			waiter := c
			if !tc.ownsTask {
				waiter = newClient(t, srv, opts...)
			}
			srv.InjectFault(dashscopetest.EndpointGetTask, 10000, dashscopetest.Fault{Status: 503, Code: "ServiceUnavailable"})

			ctx, cancel := context.WithCancel(t.Context())
			driven(clock, func() {
				_, err = waiter.Wait(ctx, task.ID, dashscope.WaitOptions{OnUpdate: func(o dashscope.Observation) {
					if o.At.Sub(start) >= outage {
						cancel()
					}
				}})
			})
			require.ErrorIs(t, err, context.Canceled)
			queries := 0
			for _, r := range srv.Requests(dashscopetest.EndpointGetTask) {
				if r.At.Sub(start) < outage {
					queries++
				}
			}
			assert.Positive(t, queries)
			assert.LessOrEqual(t, queries, most, "queries in the first %v of an outage", outage)
		})
	}
}

func TestWaitReturnsToTheScheduleAfterAnOutage(t *testing.T) {
	srv, c, clock := manual(t, dashscopetest.Lifecycle{Run: 20 * time.Second}, dashscope.WithPollSchedule(dashscope.FixedSchedule(time.Second)))
	task, err := c.Submit(t.Context(), outpaint)
	require.NoError(t, err)
	// Two polls fail, each after all 4 tries of the retry policy.
	srv.InjectFault(dashscopetest.EndpointGetTask, 8, dashscopetest.Fault{Status: 503, Code: "ServiceUnavailable"})
	driven(clock, func() {
		_, err = c.Wait(t.Context(), task.ID, dashscope.WaitOptions{})
	})
	require.NoError(t, err)
	gets := srv.Requests(dashscopetest.EndpointGetTask)
	require.Greater(t, len(gets), 10)

	afterFirst, afterSecond := gets[4].At.Sub(gets[3].At), gets[8].At.Sub(gets[7].At)
	assert.GreaterOrEqual(t, afterFirst, time.Second, "never sooner than the schedule")
	assert.LessOrEqual(t, afterFirst, 2*time.Second)
	assert.GreaterOrEqual(t, afterSecond, 2*time.Second, "backing off")
	assert.LessOrEqual(t, afterSecond, 4*time.Second)
	for i := 9; i < len(gets); i++ {
		assert.Equal(t, time.Second, gets[i].At.Sub(gets[i-1].At), "on schedule again after query %d", i)
	}
}

func TestWaitRefusesABadTaskID(t *testing.T) {
	srv, c, _ := manual(t, dashscopetest.DefaultLifecycle)
	_, err := c.Wait(t.Context(), "../../etc/passwd", dashscope.WaitOptions{})
	var fe *dashscope.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Empty(t, srv.Requests())
}
