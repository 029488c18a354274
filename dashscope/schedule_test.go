package dashscope_test

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// simulateJob runs a schedule against a job that ends at end (age), the way
// the poller does: the first query one interval after submission, then one
// interval after each query. It returns the queries made and how late the
// last one saw the end.
func simulateJob(s dashscope.PollSchedule, end time.Duration) (queries int, delay time.Duration) {
	var age time.Duration
	for {
		age += s.Interval(age, queries)
		queries++
		if age >= end {
			return queries, age - end
		}
	}
}

// benchmarkMix is the job mix: 10% fail within 5 s, the rest end
// uniformly between 4 and 10 minutes. It is seeded, so every run is the same.
func benchmarkMix(n int) []time.Duration {
	r := rand.New(rand.NewPCG(1, 2))
	jobs := make([]time.Duration, n)
	for i := range jobs {
		if i%10 == 0 {
			jobs[i] = time.Duration(r.Float64() * float64(5*time.Second))
		} else {
			jobs[i] = 4*time.Minute + time.Duration(r.Float64()*float64(6*time.Minute))
		}
	}
	return jobs
}

func scheduleFigures(s dashscope.PollSchedule, jobs []time.Duration) (queriesPerJob, meanDelaySeconds float64) {
	var q int
	var d time.Duration
	for _, end := range jobs {
		n, delay := simulateJob(s, end)
		q += n
		d += delay
	}
	return float64(q) / float64(len(jobs)), d.Seconds() / float64(len(jobs))
}

func TestSDKScheduleIsTheOfficialOne(t *testing.T) {
	var got []time.Duration
	for i := range 11 {
		got = append(got, dashscope.SDKSchedule{}.Interval(0, i)/time.Second)
	}
	assert.Equal(t, []time.Duration{1, 1, 2, 2, 2, 4, 4, 4, 5, 5, 5}, got)
	assert.Equal(t, 5*time.Second, dashscope.SDKSchedule{}.Interval(0, 10000), "no overflow on long waits")
}

func TestDefaultScheduleHalvesTheSDKsQueriesWithoutSlowerDetection(t *testing.T) {
	jobs := benchmarkMix(20000)
	ourQ, ourD := scheduleFigures(dashscope.DefaultSchedule, jobs)
	sdkQ, sdkD := scheduleFigures(dashscope.SDKSchedule{}, jobs)
	t.Logf("default: %.1f queries/job, %.2f s mean delay; SDK: %.1f queries/job, %.2f s mean delay", ourQ, ourD, sdkQ, sdkD)
	assert.LessOrEqual(t, ourQ, sdkQ/2, "at most half the SDK's queries")
	assert.LessOrEqual(t, ourD, sdkD, "an equal or smaller mean detection delay")
}

func TestDefaultScheduleStaysWithinItsBounds(t *testing.T) {
	for age := time.Duration(0); age < 2*time.Hour; age += 7 * time.Second {
		d := dashscope.DefaultSchedule.Interval(age, 0)
		require.GreaterOrEqual(t, d, time.Second, "age %v", age)
		require.LessOrEqual(t, d, time.Minute, "age %v", age)
	}
	assert.Less(t, dashscope.DefaultSchedule.Interval(2*time.Second, 2), 3*time.Second, "fast failures are caught within seconds")
	assert.Equal(t, time.Minute, dashscope.DefaultSchedule.Interval(2*time.Minute, 9), "little can happen between 10 s and 4 min")
	assert.Less(t, dashscope.DefaultSchedule.Interval(9*time.Minute, 20), 5*time.Second, "dense polling where jobs end")
}

// wideMix is a mix the schedule's duration model does not expect: jobs
// ending uniformly between 1 and 20 minutes.
func wideMix(n int) []time.Duration {
	r := rand.New(rand.NewPCG(3, 4))
	jobs := make([]time.Duration, n)
	for i := range jobs {
		jobs[i] = time.Minute + time.Duration(r.Float64()*float64(19*time.Minute))
	}
	return jobs
}

// BenchmarkPollSchedules reports, for the job mix and for a mix the
// model does not expect, the queries per job and the mean detection delay
// (time from a task ending to the wait seeing it) of the default schedule
// and of the official SDK's.
func BenchmarkPollSchedules(b *testing.B) {
	for _, tc := range []struct {
		name string
		s    dashscope.PollSchedule
		jobs []time.Duration
	}{
		{"mix=issue/default", dashscope.DefaultSchedule, benchmarkMix(20000)},
		{"mix=issue/sdk", dashscope.SDKSchedule{}, benchmarkMix(20000)},
		{"mix=wide/default", dashscope.DefaultSchedule, wideMix(5000)},
		{"mix=wide/sdk", dashscope.SDKSchedule{}, wideMix(5000)},
	} {
		jobs := tc.jobs
		b.Run(tc.name, func(b *testing.B) {
			var q, d float64
			for b.Loop() {
				q, d = scheduleFigures(tc.s, jobs)
			}
			b.ReportMetric(q, "queries/job")
			b.ReportMetric(d, "delay-s/job")
		})
	}
}

// sharedPollerRun starts `waiters` waits spread evenly over `tasks` tasks
// (each 40 s long, polled every 5 s) on a fake running factor× faster, and
// returns the queries made and the most made in any one wall-clock second.
func sharedPollerRun(tb testing.TB, tasks, waiters int, queryRate, factor float64) (queries, peakPerSecond int) {
	clock := dashscope.NewScaledClock(factor)
	srv := dashscopetest.NewServer(tb, dashscopetest.WithClock(clock),
		dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: 40 * time.Second}))
	c, err := srv.Client(fastRetries, dashscope.WithPollSchedule(dashscope.FixedSchedule(5*time.Second)),
		dashscope.WithRateLimits(dashscope.RateLimits{Submit: 1e6, Query: queryRate}))
	require.NoError(tb, err)
	ids := make([]string, tasks)
	for i := range ids {
		task, err := c.Submit(tb.Context(), outpaint)
		require.NoError(tb, err)
		ids[i] = task.ID
	}
	var wg sync.WaitGroup
	for i := range waiters {
		wg.Go(func() {
			got, err := c.Wait(tb.Context(), ids[i%tasks], dashscope.WaitOptions{})
			if assert.NoError(tb, err) {
				assert.Equal(tb, dashscope.StatusSucceeded, got.Status)
			}
		})
	}
	wg.Wait()
	gets := srv.Requests(dashscopetest.EndpointGetTask)
	return len(gets), peakInAnySecond(gets)
}

func peakInAnySecond(reqs []dashscopetest.Request) int {
	walls := make([]time.Time, len(reqs))
	for i, r := range reqs {
		walls[i] = r.Wall
	}
	sort.Slice(walls, func(i, j int) bool { return walls[i].Before(walls[j]) })
	peak, j := 0, 0
	for i := range walls {
		for walls[i].Sub(walls[j]) >= time.Second {
			j++
		}
		peak = max(peak, i-j+1)
	}
	return peak
}

func TestTenTimesTheWaitersCostNoMoreQueries(t *testing.T) {
	const rate = 100
	few, peakFew := sharedPollerRun(t, 20, 20, rate, 60)
	many, peakMany := sharedPollerRun(t, 20, 200, rate, 60)
	t.Logf("20 waiters: %d queries (peak %d/s); 200 waiters: %d queries (peak %d/s)", few, peakFew, many, peakMany)
	// Each task's poller makes about 40 s / 5 s = 8 queries however many wait on it.
	assert.LessOrEqual(t, many, few+20, "queries follow tasks, not waiters")
	assert.LessOrEqual(t, peakMany, rate+1, "the query rate limit holds")
	assert.LessOrEqual(t, peakFew, rate+1)
}

// BenchmarkSharedPoller is the scale: 100 and 1,000 concurrent
// waiters over 100 tasks. At 10× speed the pollers ask for 200 queries a
// second, over the configured limit of 150, so the limiter is at work.
func BenchmarkSharedPoller(b *testing.B) {
	for _, waiters := range []int{100, 1000} {
		b.Run(fmt.Sprintf("waiters=%d", waiters), func(b *testing.B) {
			var q, peak int
			for b.Loop() {
				q, peak = sharedPollerRun(b, 100, waiters, 150, 10)
			}
			b.ReportMetric(float64(q)/100, "queries/task")
			b.ReportMetric(float64(peak), "peak-queries/s")
		})
	}
}
