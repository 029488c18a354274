package redisjournal_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/internal/journal"
	"github.com/vace-mcp/vace-mcp/internal/journal/journaltest"
	"github.com/vace-mcp/vace-mcp/internal/journal/redisjournal"
	"github.com/vace-mcp/vace-mcp/internal/redistest"
)

// A Redis that may evict keys (a maxmemory with any policy but noeviction,
// e.g. volatile-lru, the default of many managed Redis) can drop the
// duplicate guard's index, an intent, the id sequence or a day's charge:
// an identical request would be sent and paid twice. Claim refuses such a
// Redis, saying what to set, and Health reports it for doctor.
func TestARedisThatMayEvictIsRefused(t *testing.T) {
	srv := redistest.Spawn(t, redistest.SpawnOptions{}) // a server of its own: its settings change
	c := client(t, srv.URL)
	clock := journaltest.NewClock(journaltest.Start)
	s := open(t, redisjournal.Options{URL: srv.URL, Prefix: srv.Prefix, Now: clock.Now})
	ctx := t.Context()
	in := journal.Intent{Key: "K", Tool: "t", Model: "m", EstimateUSD: 1}
	_, owner, err := s.Claim(ctx, in, journaltest.Rules)
	require.NoError(t, err)
	require.True(t, owner)

	// Another application's cache entries share the Redis, which evicts keys
	// with a TTL under pressure.
	require.NoError(t, c.ConfigSet(ctx, "maxmemory-policy", "volatile-lru").Err())
	require.NoError(t, c.ConfigSet(ctx, "maxmemory", "3mb").Err())
	big := strings.Repeat("x", 20000)
	for i := range 400 {
		if c.Set(ctx, fmt.Sprint("cache:", i), big, time.Hour).Err() != nil {
			break
		}
	}
	clock.Add(30 * time.Second) // the last look at the settings is no longer trusted
	_, _, err = s.Claim(ctx, in, journaltest.Rules)
	require.ErrorIs(t, err, journal.ErrUnavailable, "refused, not sent a second time")
	assert.Contains(t, err.Error(), "maxmemory-policy volatile-lru")
	assert.Contains(t, err.Error(), "set `maxmemory-policy noeviction`")
	assert.Contains(t, err.Error(), "nothing is sent untracked")
	_, _, err = s.Claim(ctx, journal.Intent{Key: "other", Tool: "t", Model: "m"}, journaltest.Rules)
	require.ErrorIs(t, err, journal.ErrUnavailable, "every submission is refused")
	h, err := s.Health(ctx)
	require.NoError(t, err)
	assert.Contains(t, h.Check, "maxmemory-policy volatile-lru")
	assert.Contains(t, h.Check, "set `maxmemory-policy noeviction`")

	// No maxmemory: nothing is evicted, whatever the policy.
	require.NoError(t, c.FlushDB(ctx).Err())
	require.NoError(t, c.ConfigSet(ctx, "maxmemory", "0").Err())
	h, err = s.Health(ctx)
	require.NoError(t, err)
	assert.Equal(t, "ok", h.Check)
	clock.Add(30 * time.Second)
	_, owner, err = s.Claim(ctx, in, journaltest.Rules)
	require.NoError(t, err)
	assert.True(t, owner)

	// A maxmemory with noeviction: writes fail when it is full, nothing is lost.
	require.NoError(t, c.ConfigSet(ctx, "maxmemory", "64mb").Err())
	require.NoError(t, c.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err())
	clock.Add(30 * time.Second)
	_, _, err = s.Claim(ctx, in, journaltest.Rules)
	require.ErrorIs(t, err, journal.ErrUnavailable, "allkeys-* evicts too")
	require.NoError(t, c.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err())
	clock.Add(29 * time.Second)
	_, _, err = s.Claim(ctx, in, journaltest.Rules)
	require.ErrorIs(t, err, journal.ErrUnavailable, "the answer is kept for 30 s")
	clock.Add(time.Second)
	_, owner, err = s.Claim(ctx, in, journaltest.Rules)
	require.NoError(t, err, "the fix takes effect by itself")
	assert.False(t, owner, "the identical request's intent is still there")
}

// The budget's day is the UTC day for every instance: two instances whose
// clocks are in different time zones count one day, so together they stay
// within the budget of any day.
func TestInstancesInDifferentTimeZonesShareOneBudgetDay(t *testing.T) {
	srv := redistest.Start(t)
	clock := journaltest.NewClock(time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC))
	shanghai, angeles := time.FixedZone("UTC+8", 8*3600), time.FixedZone("UTC-8", -8*3600)
	a := open(t, redisjournal.Options{URL: srv.URL, Prefix: srv.Prefix, Now: func() time.Time { return clock.Now().In(shanghai) }})
	b := open(t, redisjournal.Options{URL: srv.URL, Prefix: srv.Prefix, Now: func() time.Time { return clock.Now().In(angeles) }})
	ctx := t.Context()
	budget := journaltest.Rules
	budget.DailyBudget = 1
	claim := func(s *redisjournal.Store, key string) error {
		_, _, err := s.Claim(ctx, journal.Intent{Key: key, Tool: "t", Model: "m", EstimateUSD: 0.9}, budget)
		return err
	}
	today := func(s *redisjournal.Store) float64 {
		total, err := s.ChargedToday(ctx)
		require.NoError(t, err)
		return total
	}

	// 20:00 UTC on Dec 1: 04:00 on Dec 2 in A's zone, 12:00 on Dec 1 in B's.
	require.NoError(t, claim(b, "x1"))
	var over *journal.OverBudgetError
	require.ErrorAs(t, claim(a, "x2"), &over, "one day for both")
	assert.InDelta(t, 0.9, today(a), 1e-9)
	assert.InDelta(t, 0.9, today(b), 1e-9)

	// 00:30 UTC on Dec 2: a new day for both (still Dec 1 in B's zone).
	clock.Add(4*time.Hour + 30*time.Minute)
	assert.Zero(t, today(a))
	assert.Zero(t, today(b))
	require.NoError(t, claim(b, "x3"))
	require.ErrorAs(t, claim(a, "x4"), &over)
	assert.InDelta(t, 0.9, today(a), 1e-9, "A's day never holds more than the budget")
	assert.InDelta(t, 0.9, today(b), 1e-9)
}

// A job whose record Redis lost (FLUSHDB, eviction, a failover to a replica
// that lagged, a restart without persistence) makes its sender's Accepted
// fail, saying so, instead of succeeding with the task recorded nowhere.
func TestAChangeOfAJobRedisLostFails(t *testing.T) {
	srv := redistest.Start(t)
	c := client(t, srv.URL)
	s := open(t, redisjournal.Options{URL: srv.URL, Prefix: srv.Prefix})
	ctx := t.Context()
	job, _, err := s.Claim(ctx, journal.Intent{Key: "K", Tool: "t", Model: "m", EstimateUSD: 1}, journaltest.Rules)
	require.NoError(t, err)
	require.NoError(t, s.Touch(ctx, job.ID))
	require.NoError(t, c.Del(ctx, fmt.Sprint(srv.Prefix, "job:", job.ID)).Err())

	err = s.Accepted(ctx, job.ID, "task-abc", "PENDING")
	var gone *journal.GoneError
	require.ErrorAs(t, err, &gone)
	require.ErrorIs(t, err, journal.ErrUnavailable)
	assert.Contains(t, err.Error(), fmt.Sprintf("journal job %d's record is gone", job.ID))
	assert.Contains(t, err.Error(), "Redis lost it")
	_, err = s.ByTask(ctx, "task-abc")
	assert.ErrorIs(t, err, journal.ErrNotFound, "and nothing half-made")
	require.ErrorAs(t, s.Touch(ctx, job.ID), &gone, "a sender about to POST learns it too")
}

// A Claim whose reply is lost (Redis busy past the caller's deadline, here a
// slow script of another client; or a connection dropped after the script
// ran) may still record its intent, which its caller, who got an error,
// never sends. Giving up the claim's token abandons that intent, or, if the
// Claim reaches Redis only afterwards, makes it record nothing: either way
// an identical request owns a new intent at once instead of waiting two
// minutes as "in flight", then as "of unknown outcome" until reconciliation.
func TestAClaimWhoseReplyIsLostIsGivenUp(t *testing.T) {
	srv := redistest.Spawn(t, redistest.SpawnOptions{}) // a server of its own: it is kept busy
	c := client(t, srv.URL)
	s := open(t, redisjournal.Options{URL: srv.URL, Prefix: srv.Prefix})
	ctx := t.Context()
	rules := journaltest.Rules
	rules.DailyBudget = 10
	_, _, err := s.Claim(ctx, journal.Intent{Key: "warm-up", Tool: "t", Model: "warm-up"}, rules) // the script is cached, as on any running server
	require.NoError(t, err)
	openOf := func(key string) []journal.Job {
		jobs, err := s.OpenSince(ctx, "m", time.Now().Add(-time.Minute), time.Now().Add(time.Minute))
		require.NoError(t, err)
		var out []journal.Job
		for _, j := range jobs {
			if j.Key == key {
				out = append(out, j)
			}
		}
		return out
	}

	for _, tc := range []struct {
		name string
		// late: the caller gives the claim up only after the Claim has run.
		late bool
	}{{"given up after the claim ran", true}, {"given up while Redis is still busy", false}} {
		t.Run(tc.name, func(t *testing.T) {
			before, err := s.ChargedToday(ctx)
			require.NoError(t, err)
			key := fmt.Sprint("K-", tc.late)
			in := journal.Intent{Key: key, Tool: "t", Model: "m", EstimateUSD: 2.5, Token: "tok-" + key}
			busy := make(chan struct{})
			go func() {
				defer close(busy)
				c.Eval(context.Background(), `local t = redis.call('TIME')
					while true do
					  local n = redis.call('TIME')
					  if (n[1] - t[1]) * 1000000 + (n[2] - t[2]) > 1000000 then break end
					end
					return 1`, nil)
			}()
			time.Sleep(50 * time.Millisecond)
			cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			_, _, err = s.Claim(cctx, in, rules)
			cancel()
			require.Error(t, err, "the caller gave up before Redis answered")

			if tc.late {
				<-busy
				require.Eventually(t, func() bool { return len(openOf(key)) == 1 }, 5*time.Second, 10*time.Millisecond, "the claim ran after its caller left: an orphan intent")
				id, err := s.AbandonClaim(ctx, in.Token)
				require.NoError(t, err)
				assert.Positive(t, id, "the orphan is abandoned")
				assert.Equal(t, journal.StateAbandoned, jobState(t, s, id))
			} else {
				_, err := s.AbandonClaim(ctx, in.Token) // waits for Redis, behind the script and, or before, the claim
				require.NoError(t, err)
				<-busy
				time.Sleep(100 * time.Millisecond) // the lost claim has surely reached Redis by now
			}
			assert.Empty(t, openOf(key), "no intent is left open")
			today, err := s.ChargedToday(ctx)
			require.NoError(t, err)
			assert.InDelta(t, before, today, 1e-9, "nothing more counts against the budget")

			in.Token = "tok-again-" + key
			start := time.Now()
			job, owner, err := s.Claim(ctx, in, rules)
			require.NoError(t, err)
			assert.True(t, owner, "an identical request owns a new intent at once")
			assert.Equal(t, journal.StateIntent, job.State)
			assert.Less(t, time.Since(start), time.Second)
		})
	}
}

func jobState(t *testing.T, s *redisjournal.Store, id int64) journal.State {
	t.Helper()
	job, err := s.Get(t.Context(), id)
	require.NoError(t, err)
	return job.State
}
