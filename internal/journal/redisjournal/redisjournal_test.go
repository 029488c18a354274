package redisjournal_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/internal/journal"
	"github.com/vace-mcp/vace-mcp/internal/journal/journaltest"
	"github.com/vace-mcp/vace-mcp/internal/journal/redisjournal"
	"github.com/vace-mcp/vace-mcp/internal/redistest"
)

// backend is the contract's Redis backend: each journal a prefix of its own
// on srv, each handle a client of its own (as an instance is).
func backend(srv *redistest.Server) journaltest.Backend {
	return func(t *testing.T, now func() time.Time) func() journal.Store {
		prefix := srv.NewPrefix(t)
		return func() journal.Store {
			return open(t, redisjournal.Options{URL: srv.URL, Prefix: prefix, Now: now})
		}
	}
}

func open(t testing.TB, o redisjournal.Options) *redisjournal.Store {
	t.Helper()
	s, err := redisjournal.Open(context.Background(), o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func client(t testing.TB, url string) *redis.Client {
	o, err := redis.ParseURL(url)
	require.NoError(t, err)
	c := redis.NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestTheRedisJournalKeepsTheContract(t *testing.T) {
	journaltest.Run(t, backend(redistest.Start(t)), journaltest.ClaimTokens)
}

func TestManyInstancesClaimingAtOncePayOnceAndKeepTheBudget(t *testing.T) {
	srv := redistest.Start(t)
	clock := journaltest.NewClock(journaltest.Start)
	var stores []journal.Store
	for range 4 {
		stores = append(stores, open(t, redisjournal.Options{URL: srv.URL, Prefix: srv.Prefix, Now: clock.Now}))
	}
	budget := journaltest.Rules
	budget.DailyBudget = 5
	const n = 256
	var wg sync.WaitGroup
	var owners, refused atomic.Int32
	owned := map[string]int{}
	var mu sync.Mutex
	for i := range n {
		s := stores[i%len(stores)]
		key := fmt.Sprint("request-", i%16) // 16 requests, each asked 16 times through four instances
		wg.Go(func() {
			job, owner, err := s.Claim(context.Background(), journal.Intent{Key: key, Tool: "t", Model: "m", EstimateUSD: 0.5}, budget)
			var over *journal.OverBudgetError
			switch {
			case errors.As(err, &over):
				refused.Add(1)
			case assert.NoError(t, err) && owner:
				owners.Add(1)
				mu.Lock()
				owned[job.Key]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(10), owners.Load(), "USD 5 pays for ten USD 0.50 requests")
	for key, k := range owned {
		assert.Equal(t, 1, k, "%s was sent once", key)
	}
	today, err := stores[3].ChargedToday(t.Context())
	require.NoError(t, err)
	assert.InDelta(t, 5.0, today, 1e-9)
	assert.Positive(t, refused.Load())
}

func TestRedisDownRefusesSubmissionsAndRecoversByItself(t *testing.T) {
	srv := redistest.Spawn(t, redistest.SpawnOptions{Persist: true})
	clock := journaltest.NewClock(journaltest.Start)
	s := open(t, redisjournal.Options{URL: srv.URL, Prefix: srv.Prefix, Now: clock.Now})
	ctx := t.Context()
	in := journal.Intent{Key: "k", Tool: "t", Model: "m", EstimateUSD: 0.5}
	job, owner, err := s.Claim(ctx, in, journaltest.Rules)
	require.NoError(t, err)
	require.True(t, owner)
	require.NoError(t, s.Accepted(ctx, job.ID, "t1", "RUNNING"))

	srv.Stop()
	unavailable := func(what string, err error) {
		t.Helper()
		require.ErrorIs(t, err, journal.ErrUnavailable, what)
		assert.Contains(t, err.Error(), "nothing is sent untracked", what)
		assert.Contains(t, err.Error(), srv.URL, what)
		assert.Contains(t, err.Error(), "Redis is running and reachable", what)
	}
	_, _, err = s.Claim(ctx, journal.Intent{Key: "new", Tool: "t", Model: "m"}, journaltest.Rules)
	unavailable("Claim", err)
	_, _, err = s.Claim(ctx, in, journaltest.Rules)
	unavailable("Claim of a known request", err)
	unavailable("Accepted", s.Accepted(ctx, job.ID, "t1", "RUNNING"))
	unavailable("Touch", s.Touch(ctx, job.ID))
	unavailable("Observe", s.Observe(ctx, journal.Observation{TaskID: "t1", Status: "SUCCEEDED"}))
	_, err = s.LeaseSave(ctx, "t1", time.Minute)
	unavailable("LeaseSave", err)
	_, err = s.Get(ctx, job.ID)
	unavailable("Get", err)
	_, err = s.ByTask(ctx, "t1")
	unavailable("ByTask", err)
	_, err = s.List(ctx, time.Time{}, 0)
	unavailable("List", err)
	_, err = s.LostIntents(ctx, time.Minute)
	unavailable("LostIntents", err)
	_, err = s.ChargedToday(ctx)
	unavailable("ChargedToday", err)
	_, err = s.Prune(ctx, clock.Now())
	unavailable("Prune", err)
	_, err = s.Health(ctx)
	unavailable("Health", err)
	_, err = s.TaskKey(ctx)
	unavailable("TaskKey", err)
	_, err = redisjournal.Open(ctx, redisjournal.Options{URL: srv.URL, Prefix: srv.Prefix})
	unavailable("Open", err)
	late, err := redisjournal.New(redisjournal.Options{URL: srv.URL, Prefix: srv.Prefix, Now: clock.Now})
	require.NoError(t, err, "New does not need Redis")
	defer late.Close()

	for range 100 { // enough failed dials to open the client's circuit breaker
		start := time.Now()
		_, _, err = s.Claim(ctx, journal.Intent{Key: "new", Tool: "t", Model: "m"}, journaltest.Rules)
		unavailable("Claim", err)
		assert.Less(t, time.Since(start), time.Second, "refused at once")
	}

	srv.Start() // with its data, and an empty script cache
	var earlier *journal.Job
	require.Eventually(t, func() bool {
		earlier, owner, err = s.Claim(ctx, in, journaltest.Rules)
		return err == nil
	}, 5*time.Second, 50*time.Millisecond, "the same store works again once Redis answers: %v", err)
	assert.False(t, owner)
	assert.Equal(t, "t1", earlier.TaskID)
	_, owner, err = late.Claim(ctx, journal.Intent{Key: "new", Tool: "t", Model: "m"}, journaltest.Rules)
	require.NoError(t, err)
	assert.True(t, owner)

	srv.Kill() // a crash: the append-only file has every write
	srv.Start()
	got, err := late.ByTask(ctx, "t1")
	require.NoError(t, err)
	assert.Equal(t, job.ID, got.ID)
}

func TestThePasswordIsNeverShown(t *testing.T) {
	srv := redistest.Spawn(t, redistest.SpawnOptions{Password: "s3cret-pw"})
	require.Contains(t, srv.URL, "s3cret-pw")
	s := open(t, redisjournal.Options{URL: srv.URL, Prefix: srv.Prefix})
	assert.NotContains(t, s.Describe(), "s3cret-pw")
	assert.Contains(t, s.Describe(), srv.Prefix)
	h, err := s.Health(t.Context())
	require.NoError(t, err)
	assert.NotContains(t, h.Path, "s3cret-pw")

	bare := strings.Replace(srv.URL, ":s3cret-pw@", "", 1)
	wrong := strings.Replace(srv.URL, "s3cret-pw", "wrong-pw", 1)
	open(t, redisjournal.Options{URL: bare, Password: "s3cret-pw", Prefix: srv.Prefix})
	open(t, redisjournal.Options{URL: wrong, Password: "s3cret-pw", Prefix: srv.Prefix})
	_, err = redisjournal.Open(t.Context(), redisjournal.Options{URL: wrong, Prefix: srv.Prefix})
	require.ErrorIs(t, err, journal.ErrUnavailable)
	assert.NotContains(t, err.Error(), "wrong-pw")
	_, err = redisjournal.Open(t.Context(), redisjournal.Options{URL: bare, Prefix: srv.Prefix})
	require.ErrorIs(t, err, journal.ErrUnavailable)
	_, err = redisjournal.Open(t.Context(), redisjournal.Options{URL: "http://nowhere"})
	require.ErrorIs(t, err, journal.ErrUnavailable)
}

func TestJobsExpireAfterTheirHistoryButIntentsStay(t *testing.T) {
	srv := redistest.Start(t)
	c := client(t, srv.URL)
	clock := journaltest.NewClock(journaltest.Start)
	s := open(t, redisjournal.Options{URL: srv.URL, Prefix: srv.Prefix, Now: clock.Now, HistoryTTL: 10 * 24 * time.Hour})
	ctx := t.Context()
	intent, _, err := s.Claim(ctx, journal.Intent{Key: "intent", Tool: "t", Model: "m", EstimateUSD: 1}, journaltest.Rules)
	require.NoError(t, err)
	accepted, _, err := s.Claim(ctx, journal.Intent{Key: "accepted", Tool: "t", Model: "m", EstimateUSD: 1}, journaltest.Rules)
	require.NoError(t, err)
	clock.Add(24 * time.Hour)
	require.NoError(t, s.Accepted(ctx, accepted.ID, "t1", "RUNNING"))

	ttl := func(key string) time.Duration {
		d, err := c.PTTL(ctx, srv.Prefix+key).Result()
		require.NoError(t, err)
		return d
	}
	assert.Equal(t, time.Duration(-1), ttl(fmt.Sprint("job:", intent.ID)), "an intent is kept until settled")
	left := ttl(fmt.Sprint("job:", accepted.ID))
	assert.InDelta(t, float64(9*24*time.Hour), float64(left), float64(time.Minute), "history counts from creation")
	assert.InDelta(t, float64(left), float64(ttl("task:t1")), float64(time.Minute), "the task's index goes with its job")

	// Redis expires the job: readers skip it and drop its index entries.
	require.NoError(t, c.PExpire(ctx, srv.Prefix+fmt.Sprint("job:", accepted.ID), time.Millisecond).Err())
	require.NoError(t, c.PExpire(ctx, srv.Prefix+"task:t1", time.Millisecond).Err())
	time.Sleep(10 * time.Millisecond)
	jobs, err := s.List(ctx, time.Time{}, 0)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	assert.Equal(t, intent.ID, jobs[0].ID)
	n, err := c.ZCard(ctx, srv.Prefix+"jobs").Result()
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	_, err = s.ByTask(ctx, "t1")
	assert.ErrorIs(t, err, journal.ErrNotFound)
	today, err := s.ChargedToday(ctx)
	require.NoError(t, err)
	assert.Zero(t, today, "yesterday's intent is not today's")
}

func TestANewerLayoutIsRefused(t *testing.T) {
	srv := redistest.Start(t)
	require.NoError(t, client(t, srv.URL).Set(t.Context(), srv.Prefix+"schema", redisjournal.SchemaVersion+1, 0).Err())
	_, err := redisjournal.Open(t.Context(), redisjournal.Options{URL: srv.URL, Prefix: srv.Prefix})
	require.ErrorIs(t, err, journal.ErrUnavailable)
	assert.Contains(t, err.Error(), "upgrade vace-mcp")
	s, err := redisjournal.New(redisjournal.Options{URL: srv.URL, Prefix: srv.Prefix})
	require.NoError(t, err)
	defer s.Close()
	_, _, err = s.Claim(t.Context(), journal.Intent{Key: "k", Tool: "t", Model: "m"}, journaltest.Rules)
	require.ErrorIs(t, err, journal.ErrUnavailable)
	assert.Contains(t, err.Error(), "upgrade vace-mcp")
}
