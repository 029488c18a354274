package dashscope_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

func TestGetTaskAnswersAnEndedTaskFromWhatItKnowsUntilItsResultExpires(t *testing.T) {
	for name, life := range map[string]dashscopetest.Lifecycle{
		"succeeded": {Queue: time.Second, Run: time.Second, VideoDuration: 5},
		"failed":    {Queue: time.Second, FailCode: "InvalidParameter", FailMessage: "bad input"},
	} {
		t.Run(name, func(t *testing.T) {
			srv, c, clock := manual(t, life)
			task, err := c.Submit(t.Context(), outpaint)
			require.NoError(t, err)
			clock.Advance(time.Minute)

			ended, err := c.GetTask(t.Context(), task.ID)
			require.NoError(t, err)
			require.True(t, ended.Status.Terminal())
			clock.Advance(23 * time.Hour) // well past any freshness window, short of the result's expiry
			for range 10 {
				got, err := c.GetTask(t.Context(), task.ID)
				require.NoError(t, err)
				assert.Same(t, ended, got)
			}
			assert.Equal(t, 1, srv.Count(dashscopetest.EndpointGetTask), "an ended task never changes: one query")

			clock.Advance(time.Hour) // the result has expired: only the service can say what is left
			got, err := c.GetTask(t.Context(), task.ID)
			require.NoError(t, err)
			assert.Equal(t, dashscope.StatusUnknown, got.Status)
			assert.Equal(t, 2, srv.Count(dashscopetest.EndpointGetTask))
		})
	}
}

func TestGetTaskAnswersARunningTaskFromAQueryOfTheLastSecond(t *testing.T) {
	srv, c, clock := manual(t, dashscopetest.Lifecycle{Queue: time.Minute, Run: time.Hour})
	task, err := c.Submit(t.Context(), outpaint)
	require.NoError(t, err)
	queries := func() int { return srv.Count(dashscopetest.EndpointGetTask) }

	got, err := c.GetTask(t.Context(), task.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, queries(), "the submission's answer lacks the task's times: it does not stand for a query")
	assert.False(t, got.SubmitTime.IsZero())

	clock.Advance(999 * time.Millisecond)
	_, err = c.GetTask(t.Context(), task.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, queries(), "a running task read within the last second")

	clock.Advance(time.Millisecond)
	_, err = c.GetTask(t.Context(), task.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, queries(), "a second later, it is asked again")

	_, err = c.QueryTask(t.Context(), task.ID)
	require.NoError(t, err)
	assert.Equal(t, 3, queries(), "QueryTask always asks")
}

func TestGetTaskAsksAgainAboutAnUnknownTask(t *testing.T) {
	srv, c, _ := manual(t, dashscopetest.DefaultLifecycle)
	for range 2 {
		got, err := c.GetTask(t.Context(), "no-such-task")
		require.NoError(t, err)
		assert.Equal(t, dashscope.StatusUnknown, got.Status)
	}
	assert.Equal(t, 2, srv.Count(dashscopetest.EndpointGetTask), "UNKNOWN may be a task made a moment ago")
}

// gate holds task queries until opened, and says when one has arrived.
type gate struct {
	arrived chan struct{}
	open    chan struct{}
}

func newGate() *gate { return &gate{arrived: make(chan struct{}, 100), open: make(chan struct{})} }

func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/tasks/") {
		g.arrived <- struct{}{}
		select {
		case <-g.open:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestConcurrentGetTasksShareOneQuery(t *testing.T) {
	srv := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Queue: time.Hour}))
	g := newGate()
	c := newClient(t, srv, dashscope.WithHTTPClient(&http.Client{Transport: g}))
	task, err := c.Submit(t.Context(), outpaint)
	require.NoError(t, err)

	const callers = 50
	var wg sync.WaitGroup
	got := make([]*dashscope.Task, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() { got[i], errs[i] = c.GetTask(t.Context(), task.ID) })
	}
	<-g.arrived
	time.Sleep(50 * time.Millisecond) // let the other callers join the query under way
	close(g.open)
	wg.Wait()
	for i := range callers {
		require.NoError(t, errs[i])
		assert.Equal(t, dashscope.StatusPending, got[i].Status)
	}
	assert.Equal(t, 1, srv.Count(dashscopetest.EndpointGetTask))
	assert.Empty(t, g.arrived, "no second query was sent")
}

func TestASharedQueryOutlivesTheCallerThatStartedIt(t *testing.T) {
	srv := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Queue: time.Hour}))
	g := newGate()
	c := newClient(t, srv, dashscope.WithHTTPClient(&http.Client{Transport: g}))
	task, err := c.Submit(t.Context(), outpaint)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	first := make(chan error, 1)
	go func() { _, err := c.GetTask(ctx, task.ID); first <- err }()
	<-g.arrived
	second := make(chan *dashscope.Task, 1)
	go func() {
		got, err := c.GetTask(t.Context(), task.ID)
		assert.NoError(t, err)
		second <- got
	}()
	time.Sleep(50 * time.Millisecond) // the second caller joins the query
	cancel()
	require.ErrorIs(t, <-first, context.Canceled, "the caller that left returns at once")
	close(g.open)
	got := <-second
	require.NotNil(t, got)
	assert.Equal(t, dashscope.StatusPending, got.Status)
	assert.Equal(t, 1, srv.Count(dashscopetest.EndpointGetTask))
	assert.Empty(t, g.arrived)
}

func TestTaskExpiresWithItsURLOrADayAfterSubmission(t *testing.T) {
	submitted := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	signed := &dashscope.Task{Status: dashscope.StatusSucceeded, SubmitTime: dashscope.ServiceTime{Time: submitted},
		VideoURL: "https://oss.example/v.mp4?Expires=1772528400&Signature=x"}
	assert.Equal(t, time.Unix(1772528400, 0), signed.Expires())
	failed := &dashscope.Task{Status: dashscope.StatusFailed, SubmitTime: dashscope.ServiceTime{Time: submitted}}
	assert.Equal(t, submitted.Add(dashscope.ResultTTL), failed.Expires())
	assert.True(t, (&dashscope.Task{Status: dashscope.StatusUnknown, SubmitTime: dashscope.ServiceTime{Time: submitted}}).Expires().IsZero())
	assert.True(t, (&dashscope.Task{Status: dashscope.StatusCanceled}).Expires().IsZero())
}
