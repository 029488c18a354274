package journal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// manualNow is a clock tests move by hand.
type manualNow struct {
	mu sync.Mutex
	t  time.Time
}

func (m *manualNow) now() time.Time { m.mu.Lock(); defer m.mu.Unlock(); return m.t }
func (m *manualNow) add(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.t = m.t.Add(d)
}

func open(t *testing.T, dir string, clock *manualNow) *Journal {
	t.Helper()
	j, err := Open(t.Context(), Options{Dir: dir, Now: clock.now})
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	return j
}

var rules = Rules{Window: 15 * time.Minute, UncertainFor: 24 * time.Hour, InFlight: 2 * time.Minute}

func TestClaimIsTheDuplicateGuard(t *testing.T) {
	clock := &manualNow{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.Local)}
	j := open(t, t.TempDir(), clock)
	ctx := t.Context()
	in := Intent{Key: "k", Tool: "video_outpainting", Model: "m", EstimateUSD: 0.5}

	first, owner, err := j.Claim(ctx, in, rules)
	require.NoError(t, err)
	require.True(t, owner)
	same, owner, err := j.Claim(ctx, in, rules)
	require.NoError(t, err)
	assert.False(t, owner, "an intent being sent answers for an identical request")
	assert.Equal(t, first.ID, same.ID)

	require.NoError(t, j.Refused(ctx, first.ID, "InvalidParameter"))
	again, owner, err := j.Claim(ctx, in, rules)
	require.NoError(t, err)
	assert.True(t, owner, "a refused submission protects nothing")
	require.NoError(t, j.Accepted(ctx, again.ID, "t1", "PENDING"))

	forced, owner, err := j.Claim(ctx, Intent{Key: "k", Tool: "x", Model: "m", Forced: true}, rules)
	require.NoError(t, err)
	assert.True(t, owner, "allow_duplicate always submits")
	require.NoError(t, j.Abandoned(ctx, forced.ID, "throttled"))
	kept, owner, err := j.Claim(ctx, in, rules)
	require.NoError(t, err)
	assert.False(t, owner)
	assert.Equal(t, "t1", kept.TaskID, "a forced call that made nothing leaves the earlier task in place")

	replaced, owner, err := j.Claim(ctx, in, Rules{Window: rules.Window, UncertainFor: rules.UncertainFor, InFlight: rules.InFlight, Stale: kept.ID})
	require.NoError(t, err)
	assert.True(t, owner, "a caller that found the earlier task gone may replace it")
	require.NoError(t, j.Uncertain(ctx, replaced.ID, "HTTP 502"))

	clock.add(time.Hour)
	blocked, owner, err := j.Claim(ctx, in, rules)
	require.NoError(t, err)
	assert.False(t, owner, "an unknown outcome blocks identical requests beyond the window")
	assert.Equal(t, StateUncertain, blocked.State)
	clock.add(24 * time.Hour)
	_, owner, err = j.Claim(ctx, in, rules)
	require.NoError(t, err)
	assert.True(t, owner, "once such a task would have expired, an identical request is new")
}

func TestAFailedTaskDoesNotAnswerForANewRequest(t *testing.T) {
	clock := &manualNow{t: time.Now()}
	j := open(t, t.TempDir(), clock)
	in := Intent{Key: "k", Tool: "t", Model: "m"}
	job, _, err := j.Claim(t.Context(), in, rules)
	require.NoError(t, err)
	require.NoError(t, j.Accepted(t.Context(), job.ID, "t1", "PENDING"))
	require.NoError(t, j.Observe(t.Context(), Observation{TaskID: "t1", Status: "FAILED", CostUSD: new(0.0)}))
	_, owner, err := j.Claim(t.Context(), in, rules)
	require.NoError(t, err)
	assert.True(t, owner)
}

func TestTheBudgetCountsEstimatesUntilSettledAndRefusesWhatWouldPassIt(t *testing.T) {
	clock := &manualNow{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.Local)}
	j := open(t, t.TempDir(), clock)
	ctx := t.Context()
	budget := rules
	budget.DailyBudget = 1.0
	a, _, err := j.Claim(ctx, Intent{Key: "a", Tool: "t", Model: "m", EstimateUSD: 0.5}, budget)
	require.NoError(t, err)
	require.NoError(t, j.Accepted(ctx, a.ID, "ta", "PENDING"))
	_, _, err = j.Claim(ctx, Intent{Key: "b", Tool: "t", Model: "m", EstimateUSD: 0.5}, budget)
	require.NoError(t, err, "exactly at the budget is allowed")
	_, _, err = j.Claim(ctx, Intent{Key: "c", Tool: "t", Model: "m", EstimateUSD: 0.01}, budget)
	var over *OverBudgetError
	require.ErrorAs(t, err, &over)
	assert.InDelta(t, 1.0, over.Today, 1e-9)

	require.NoError(t, j.Observe(ctx, Observation{TaskID: "ta", Status: "FAILED", CostUSD: new(0.0)}))
	_, _, err = j.Claim(ctx, Intent{Key: "c", Tool: "t", Model: "m", EstimateUSD: 0.5}, budget)
	require.NoError(t, err, "a failed task releases its estimate")

	clock.add(24 * time.Hour)
	today, err := j.ChargedToday(ctx)
	require.NoError(t, err)
	assert.Zero(t, today, "a new day starts at zero")
}

func TestTwoJournalsOnOneFileDecideTogether(t *testing.T) {
	dir := t.TempDir()
	clock := &manualNow{t: time.Now()}
	a, b := open(t, dir, clock), open(t, dir, clock)
	const n = 32
	var wg sync.WaitGroup
	owners := make(chan int64, 2*n)
	for i := range 2 * n {
		j := a
		if i%2 == 1 {
			j = b
		}
		wg.Go(func() {
			job, owner, err := j.Claim(context.Background(), Intent{Key: "same", Tool: "t", Model: "m"}, rules)
			if assert.NoError(t, err) && owner {
				owners <- job.ID
			}
		})
	}
	wg.Wait()
	close(owners)
	assert.Len(t, owners, 1, "one owner in all, whichever connection asked")
}

func TestANewerSchemaOrACorruptFileIsUnavailableNamingTheFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, FileName), []byte("this is not a database, it is a text file of some length"), 0o600))
	_, err := Open(t.Context(), Options{Dir: dir})
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Contains(t, err.Error(), filepath.Join(dir, FileName))
	assert.Contains(t, err.Error(), "nothing is sent untracked")

	dir2 := t.TempDir()
	j, err := Open(t.Context(), Options{Dir: dir2})
	require.NoError(t, err)
	_, err = j.db.Exec("PRAGMA user_version = 99")
	require.NoError(t, err)
	require.NoError(t, j.Close())
	_, err = Open(t.Context(), Options{Dir: dir2})
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Contains(t, err.Error(), "newer")
	var ue *UnavailableError
	assert.True(t, errors.As(err, &ue))
}

func TestALockHeldTooLongIsUnavailableNotAHang(t *testing.T) {
	dir := t.TempDir()
	clock := &manualNow{t: time.Now()}
	holder := open(t, dir, clock)
	j, err := Open(t.Context(), Options{Dir: dir, Now: clock.now, BusyTimeout: 50 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	tx, err := holder.db.BeginTx(t.Context(), nil) // an immediate transaction: holds the write lock
	require.NoError(t, err)
	_, err = tx.Exec("UPDATE jobs SET owner = owner")
	require.NoError(t, err)
	_, _, err = j.Claim(t.Context(), Intent{Key: "k", Tool: "t", Model: "m"}, rules)
	require.ErrorIs(t, err, ErrUnavailable, "the claim gives up after the busy timeout")
	require.NoError(t, tx.Rollback())
	_, owner, err := j.Claim(t.Context(), Intent{Key: "k", Tool: "t", Model: "m"}, rules)
	require.NoError(t, err)
	assert.True(t, owner, "and works again once the lock is gone")
}
