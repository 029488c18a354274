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

// scaled returns a fake at factor× speed and a client on the same clock.
func scaled(t *testing.T, factor float64, life dashscopetest.Lifecycle, opts ...dashscope.Option) (*dashscopetest.Server, *dashscope.Client) {
	t.Helper()
	clock := dashscope.NewScaledClock(factor)
	srv := dashscopetest.NewServer(t, dashscopetest.WithClock(clock), dashscopetest.WithLifecycle(life))
	return srv, newClient(t, srv, opts...)
}

func TestWaitReportsEachStatusAndReturnsTheFinishedTask(t *testing.T) {
	// 5 minutes of running is 300 ms of real time: room to see RUNNING on a busy machine.
	srv, c := scaled(t, 1000, dashscopetest.Lifecycle{Queue: 5 * time.Second, Run: 5 * time.Minute, VideoDuration: 5})
	task, err := c.Submit(t.Context(), outpaint)
	require.NoError(t, err)

	var statuses []dashscope.TaskStatus
	got, err := c.Wait(t.Context(), task.ID, dashscope.WaitOptions{OnUpdate: func(o dashscope.Observation) {
		require.NoError(t, o.Err)
		if len(statuses) == 0 || statuses[len(statuses)-1] != o.Task.Status {
			statuses = append(statuses, o.Task.Status)
		}
	}})
	require.NoError(t, err)
	assert.Equal(t, dashscope.StatusSucceeded, got.Status)
	assert.NotEmpty(t, got.VideoURL)
	assert.Equal(t, []dashscope.TaskStatus{dashscope.StatusPending, dashscope.StatusRunning, dashscope.StatusSucceeded}, statuses)
	assert.Greater(t, srv.Count(dashscopetest.EndpointGetTask), 2)
}

func TestWaitFirstQueryFollowsTheScheduleAfterSubmit(t *testing.T) {
	srv, c := scaled(t, 100, dashscopetest.Lifecycle{Run: 3 * time.Second})
	task, err := c.Submit(t.Context(), outpaint)
	require.NoError(t, err)
	_, err = c.Wait(t.Context(), task.ID, dashscope.WaitOptions{})
	require.NoError(t, err)
	submitAt := srv.Requests(dashscopetest.EndpointSubmit)[0].At
	gets := srv.Requests(dashscopetest.EndpointGetTask)
	require.NotEmpty(t, gets)
	// A task just submitted is PENDING: the first query waits the schedule's first interval (1 s).
	assert.GreaterOrEqual(t, gets[0].At.Sub(submitAt), 900*time.Millisecond)
}

func TestManyWaitersShareOnePoller(t *testing.T) {
	life := dashscopetest.Lifecycle{Run: 300 * time.Second}
	queries := func(waiters int) int {
		srv, c := scaled(t, 300, life)
		task, err := c.Submit(t.Context(), outpaint)
		require.NoError(t, err)
		var wg sync.WaitGroup
		for range waiters {
			wg.Go(func() {
				got, err := c.Wait(t.Context(), task.ID, dashscope.WaitOptions{})
				assert.NoError(t, err)
				assert.Equal(t, dashscope.StatusSucceeded, got.Status)
			})
		}
		wg.Wait()
		return srv.Count(dashscopetest.EndpointGetTask)
	}
	one, many := queries(1), queries(200)
	expected, _ := simulateJob(dashscope.DefaultSchedule, life.Run)
	// At 300× a millisecond of scheduling noise is 0.3 s of task time, which
	// can move a query across the schedule's 6 s step: allow a few either way.
	assert.InDelta(t, expected, one, 3, "one waiter polls as the schedule says")
	assert.InDelta(t, one, many, 1, "200 waiters cost what one does")
}

func TestWaitResumesTheScheduleInsteadOfStartingOver(t *testing.T) {
	srv, c := scaled(t, 100, dashscopetest.Lifecycle{Run: time.Hour}, dashscope.WithPollSchedule(dashscope.FixedSchedule(20*time.Second)))
	task, err := c.Submit(t.Context(), outpaint)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	_, err = c.Wait(ctx, task.ID, dashscope.WaitOptions{OnUpdate: func(o dashscope.Observation) {
		if o.Task.Status == dashscope.StatusRunning {
			cancel() // give up after the first poll, as a bounded wait does
		}
	}})
	require.ErrorIs(t, err, context.Canceled)
	first := srv.Requests(dashscopetest.EndpointGetTask)
	require.Len(t, first, 1)

	var resumedWith *dashscope.Task
	ctx2, cancel2 := context.WithCancel(t.Context())
	_, err = c.Wait(ctx2, task.ID, dashscope.WaitOptions{OnUpdate: func(o dashscope.Observation) {
		if resumedWith == nil {
			resumedWith = o.Task // the last known state, at once, without a query
		}
		if len(srv.Requests(dashscopetest.EndpointGetTask)) == 2 {
			cancel2()
		}
	}})
	require.ErrorIs(t, err, context.Canceled)
	require.NotNil(t, resumedWith)
	assert.Equal(t, dashscope.StatusRunning, resumedWith.Status)
	gets := srv.Requests(dashscopetest.EndpointGetTask)
	require.Len(t, gets, 2)
	assert.GreaterOrEqual(t, gets[1].At.Sub(gets[0].At), 19*time.Second, "the resumed wait kept the 20 s interval")
}

func TestWaitOnAFinishedTaskAsksNothing(t *testing.T) {
	srv, c := scaled(t, 1000, dashscopetest.Lifecycle{Run: 10 * time.Second})
	task, err := c.Submit(t.Context(), outpaint)
	require.NoError(t, err)
	_, err = c.Wait(t.Context(), task.ID, dashscope.WaitOptions{})
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
	srv, c := scaled(t, 1000, dashscopetest.DefaultLifecycle)
	got, err := c.Wait(t.Context(), "0385dc79-5ff8-4d82-bcb6-000000000000", dashscope.WaitOptions{})
	require.NoError(t, err)
	assert.Equal(t, dashscope.StatusUnknown, got.Status)
	assert.Equal(t, 1, srv.Count(dashscopetest.EndpointGetTask), "an unseen task is queried at once")
}

func TestWaitStopsOnARefusedQueryButRidesOutTransientOnes(t *testing.T) {
	srv, c := scaled(t, 1000, dashscopetest.Lifecycle{Run: 20 * time.Second})
	task, err := c.Submit(t.Context(), outpaint)
	require.NoError(t, err)
	srv.InjectFault(dashscopetest.EndpointGetTask, 6, dashscopetest.Fault{Status: 503, Code: "SystemError"})
	var failures int
	got, err := c.Wait(t.Context(), task.ID, dashscope.WaitOptions{OnUpdate: func(o dashscope.Observation) {
		if o.Err != nil {
			failures++
			assert.NotNil(t, o.Task, "a failed poll still carries the last known state")
		}
	}})
	require.NoError(t, err)
	assert.Equal(t, dashscope.StatusSucceeded, got.Status)
	assert.Equal(t, 1, failures, "4 tries per poll: the first poll failed, the next one recovered")

	task2, err := c.Submit(t.Context(), outpaint)
	require.NoError(t, err)
	srv.InjectFault(dashscopetest.EndpointGetTask, 1, dashscopetest.Fault{Status: 401, Code: "InvalidApiKey", Message: "Invalid API-key provided."})
	got, err = c.Wait(t.Context(), task2.ID, dashscope.WaitOptions{})
	assert.True(t, dashscope.IsAuth(err), "%v", err)
	require.NotNil(t, got)
	assert.Equal(t, dashscope.StatusPending, got.Status, "the last known state comes back with the error")
}

func TestWaitRefusesABadTaskID(t *testing.T) {
	srv, c := scaled(t, 1000, dashscopetest.DefaultLifecycle)
	_, err := c.Wait(t.Context(), "../../etc/passwd", dashscope.WaitOptions{})
	var fe *dashscope.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Empty(t, srv.Requests())
}
