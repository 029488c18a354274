// Package journaltest is the contract every [journal.Store] keeps: the
// duplicate guard, the daily budget, the states and their transitions, the
// save lease, the lists reconciliation and auto-save rely on, and the same
// decisions under concurrency, from one handle and from several. Run it
// against each implementation; time is a manual [Clock], never the wall clock.
package journaltest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/internal/journal"
)

// Clock is a clock tests move by hand.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Backend opens stores of one implementation for the suite. Each call makes
// a new, empty journal that no other call sees, and returns open, which
// opens a handle on that journal reading time from now: calling it again is
// another process or instance sharing the journal. Handles are closed when t
// ends.
type Backend func(t *testing.T, now func() time.Time) (open func() journal.Store)

// Start is where every test's clock starts: noon of a day, UTC. The
// embedded journal's day is its clock's (the times' location), a shared
// store's the UTC day; a clock in UTC makes them one, on a machine in any
// time zone.
var Start = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// Rules are the server's: a 15-minute duplicate window, a day for unknown outcomes.
var Rules = journal.Rules{Window: 15 * time.Minute, UncertainFor: 24 * time.Hour, InFlight: 2 * time.Minute}

// A Trait is something a store has that the contract checks only where it
// does.
type Trait int

const (
	// ClaimTokens: a Claim whose caller got an error may still have
	// recorded its intent (its reply was lost on the way from a store
	// reached over a network), so the store keeps each Claim's token and
	// AbandonClaim gives up on it. A store without it records nothing when
	// Claim fails, and its AbandonClaim changes nothing.
	ClaimTokens Trait = iota + 1
)

type env struct {
	t       *testing.T
	backend Backend
	// tokens is the ClaimTokens trait.
	tokens bool
	clock  *Clock
	open   func() journal.Store
	j      journal.Store
	ctx    context.Context
}

func setup(t *testing.T, b Backend, traits ...Trait) *env {
	clock := NewClock(Start)
	open := b(t, clock.Now)
	return &env{t: t, backend: b, tokens: slices.Contains(traits, ClaimTokens), clock: clock, open: open, j: open(), ctx: t.Context()}
}

func (e *env) claim(key string, estimate float64) *journal.Job {
	e.t.Helper()
	job, owner, err := e.j.Claim(e.ctx, journal.Intent{Key: key, Tool: "video_edit", Model: "m", EstimateUSD: estimate}, Rules)
	require.NoError(e.t, err)
	require.True(e.t, owner, "a new request is the caller's to send")
	return job
}

func (e *env) get(id int64) *journal.Job {
	e.t.Helper()
	job, err := e.j.Get(e.ctx, id)
	require.NoError(e.t, err)
	return job
}

func ids(jobs []journal.Job) []int64 {
	out := []int64{}
	for _, j := range jobs {
		out = append(out, j.ID)
	}
	return out
}

// Run runs the contract against b, whose stores have traits.
func Run(t *testing.T, b Backend, traits ...Trait) {
	tests := []struct {
		name string
		f    func(*testing.T, *env)
	}{
		{"ClaimRecordsTheIntent", testClaimRecordsTheIntent},
		{"ClaimIsTheDuplicateGuard", testClaimIsTheDuplicateGuard},
		{"AnAcceptedJobAnswersWithinTheWindowOnly", testWindow},
		{"AFailedOrCanceledTaskDoesNotAnswer", testFailedTaskDoesNotAnswer},
		{"TheBudgetCountsEstimatesUntilSettled", testBudget},
		{"TheDaysTotalCountsEveryJobAsItsCharge", testDaysTotal},
		{"ConcurrentIdenticalClaimsHaveOneOwner", testConcurrentIdentical},
		{"ConcurrentClaimsNeverPassTheBudget", testConcurrentBudget},
		{"ReconciliationSettlesOpenJobsOnly", testOpenOnly},
		{"AnUnknownTaskOrJobChangesNothing", testUnknown},
		{"ChangesToAJobThatIsGoneFail", testGone},
		{"TouchConfirmsAnIntentIsStillBeingSent", testTouch},
		{"AbandonClaimGivesUpOnlyAnUntouchedIntentOfItsToken", testAbandonClaim},
		{"ATaskBelongsToOneJob", testTaskUnique},
		{"ObserveRecordsWhatALookLearned", testObserve},
		{"OneSaveLeaseAtATime", testLease},
		{"UnsavedAndUnfinished", testUnsavedUnfinished},
		{"ListIsNewestFirst", testList},
		{"OpenSinceFindsOpenJobsOfAModel", testOpenSince},
		{"LostIntentsAreUncertainOrUntouched", testLost},
		{"PruneKeepsIntents", testPrune},
		{"HandlesShareOneJournal", testHandles},
		{"HealthAndDescribe", testHealth},
		{"OneTaskKeyForEveryHandle", testTaskKey},
		{"ACancelledCallIsNotUnavailability", testCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.f(t, setup(t, b, traits...))
		})
	}
}

func testClaimRecordsTheIntent(t *testing.T, e *env) {
	in := journal.Intent{Key: "k", Tool: "video_outpainting", Model: "wan2.1-vace-plus", PromptExcerpt: "a violinist", Inputs: "video=sha256:ab",
		EstimateUSD: 0.75}
	job, owner, err := e.j.Claim(e.ctx, in, Rules)
	require.NoError(t, err)
	require.True(t, owner)
	assert.Positive(t, job.ID)
	assert.Equal(t, journal.Job{ID: job.ID, Key: "k", Tool: "video_outpainting", Model: "wan2.1-vace-plus", PromptExcerpt: "a violinist",
		Inputs: "video=sha256:ab", EstimateUSD: 0.75, Owner: job.Owner, State: journal.StateIntent, CreatedAt: job.CreatedAt, UpdatedAt: job.UpdatedAt}, *job)
	assert.NotEmpty(t, job.Owner, "the owner is recorded for people reading the journal")
	assert.True(t, job.CreatedAt.Equal(Start), "created at the store's clock, %v", job.CreatedAt)
	assert.True(t, job.UpdatedAt.Equal(Start))
	assert.Equal(t, job, e.get(job.ID))

	e.clock.Add(time.Millisecond)
	second, owner, err := e.j.Claim(e.ctx, journal.Intent{Key: "other", Tool: "t", Model: "m", Forced: true}, Rules)
	require.NoError(t, err)
	require.True(t, owner)
	assert.Greater(t, second.ID, job.ID, "ids grow")
	assert.True(t, second.Forced)

	_, err = e.j.Get(e.ctx, second.ID+1000)
	assert.ErrorIs(t, err, journal.ErrNotFound)
}

func testClaimIsTheDuplicateGuard(t *testing.T, e *env) {
	j, ctx := e.j, e.ctx
	in := journal.Intent{Key: "k", Tool: "video_outpainting", Model: "m", EstimateUSD: 0.5}

	first, owner, err := j.Claim(ctx, in, Rules)
	require.NoError(t, err)
	require.True(t, owner)
	same, owner, err := j.Claim(ctx, in, Rules)
	require.NoError(t, err)
	assert.False(t, owner, "an intent being sent answers for an identical request")
	assert.Equal(t, first.ID, same.ID)

	require.NoError(t, j.Refused(ctx, first.ID, "InvalidParameter"))
	again, owner, err := j.Claim(ctx, in, Rules)
	require.NoError(t, err)
	assert.True(t, owner, "a refused submission protects nothing")
	require.NoError(t, j.Accepted(ctx, again.ID, "t1", "PENDING"))

	forced, owner, err := j.Claim(ctx, journal.Intent{Key: "k", Tool: "x", Model: "m", Forced: true}, Rules)
	require.NoError(t, err)
	assert.True(t, owner, "allow_duplicate always submits")
	require.NoError(t, j.Abandoned(ctx, forced.ID, "throttled"))
	kept, owner, err := j.Claim(ctx, in, Rules)
	require.NoError(t, err)
	assert.False(t, owner)
	assert.Equal(t, "t1", kept.TaskID, "a forced call that made nothing leaves the earlier task in place")

	stale := Rules
	stale.Stale = kept.ID
	replaced, owner, err := j.Claim(ctx, in, stale)
	require.NoError(t, err)
	assert.True(t, owner, "a caller that found the earlier task gone may replace it")
	require.NoError(t, j.Uncertain(ctx, replaced.ID, "HTTP 502"))

	e.clock.Add(time.Hour)
	blocked, owner, err := j.Claim(ctx, in, Rules)
	require.NoError(t, err)
	assert.False(t, owner, "an unknown outcome blocks identical requests beyond the window")
	assert.Equal(t, journal.StateUncertain, blocked.State)
	assert.Equal(t, "HTTP 502", blocked.Error)
	e.clock.Add(23*time.Hour + time.Millisecond)
	_, owner, err = j.Claim(ctx, in, Rules)
	require.NoError(t, err)
	assert.True(t, owner, "once such a task would have expired, an identical request is new")

	other, owner, err := j.Claim(ctx, journal.Intent{Key: "abandoned", Tool: "t", Model: "m"}, Rules)
	require.NoError(t, err)
	require.True(t, owner)
	require.NoError(t, j.Abandoned(ctx, other.ID, "cancelled"))
	_, owner, err = j.Claim(ctx, journal.Intent{Key: "abandoned", Tool: "t", Model: "m"}, Rules)
	require.NoError(t, err)
	assert.True(t, owner, "an abandoned submission may be sent again at once")
}

func testWindow(t *testing.T, e *env) {
	in := journal.Intent{Key: "k", Tool: "t", Model: "m"}
	job := e.claim("k", 0)
	require.NoError(t, e.j.Accepted(e.ctx, job.ID, "t1", "RUNNING"))
	e.clock.Add(Rules.Window)
	earlier, owner, err := e.j.Claim(e.ctx, in, Rules)
	require.NoError(t, err)
	assert.False(t, owner, "at the window's end the accepted job still answers")
	assert.Equal(t, job.ID, earlier.ID)
	assert.Equal(t, journal.StateAccepted, earlier.State)
	e.clock.Add(time.Millisecond)
	_, owner, err = e.j.Claim(e.ctx, in, Rules)
	require.NoError(t, err)
	assert.True(t, owner, "after the window an identical request is new")

	intent := e.claim("i", 0)
	e.clock.Add(Rules.UncertainFor)
	earlier, owner, err = e.j.Claim(e.ctx, journal.Intent{Key: "i", Tool: "t", Model: "m"}, Rules)
	require.NoError(t, err)
	assert.False(t, owner, "an intent answers as long as an unknown outcome does")
	assert.Equal(t, intent.ID, earlier.ID)
	e.clock.Add(time.Millisecond)
	_, owner, err = e.j.Claim(e.ctx, journal.Intent{Key: "i", Tool: "t", Model: "m"}, Rules)
	require.NoError(t, err)
	assert.True(t, owner)
}

func testFailedTaskDoesNotAnswer(t *testing.T, e *env) {
	for i, status := range []string{"FAILED", "CANCELED"} {
		key := fmt.Sprint("k", i)
		job := e.claim(key, 0)
		task := fmt.Sprint("t", i)
		require.NoError(t, e.j.Accepted(e.ctx, job.ID, task, "PENDING"))
		require.NoError(t, e.j.Observe(e.ctx, journal.Observation{TaskID: task, Status: status, CostUSD: new(0.0)}))
		_, owner, err := e.j.Claim(e.ctx, journal.Intent{Key: key, Tool: "t", Model: "m"}, Rules)
		require.NoError(t, err)
		assert.True(t, owner, status)
	}
}

func testBudget(t *testing.T, e *env) {
	j, ctx := e.j, e.ctx
	budget := Rules
	budget.DailyBudget = 1.0
	a, _, err := j.Claim(ctx, journal.Intent{Key: "a", Tool: "t", Model: "m", EstimateUSD: 0.5}, budget)
	require.NoError(t, err)
	require.NoError(t, j.Accepted(ctx, a.ID, "ta", "PENDING"))
	_, _, err = j.Claim(ctx, journal.Intent{Key: "b", Tool: "t", Model: "m", EstimateUSD: 0.5}, budget)
	require.NoError(t, err, "exactly at the budget is allowed")
	_, owner, err := j.Claim(ctx, journal.Intent{Key: "c", Tool: "t", Model: "m", EstimateUSD: 0.01}, budget)
	var over *journal.OverBudgetError
	require.ErrorAs(t, err, &over)
	assert.False(t, owner)
	assert.NotErrorIs(t, err, journal.ErrUnavailable, "a refusal is a decision, not a broken journal")
	assert.InDelta(t, 1.0, over.Today, 1e-9)
	assert.InDelta(t, 0.01, over.Estimate, 1e-12)
	assert.InDelta(t, 1.0, over.Budget, 1e-12)
	_, owner, err = j.Claim(ctx, journal.Intent{Key: "a", Tool: "t", Model: "m", EstimateUSD: 0.5}, budget)
	require.NoError(t, err, "an identical request is answered by its earlier job, whatever the budget")
	assert.False(t, owner)

	require.NoError(t, j.Observe(ctx, journal.Observation{TaskID: "ta", Status: "FAILED", CostUSD: new(0.0)}))
	_, _, err = j.Claim(ctx, journal.Intent{Key: "c", Tool: "t", Model: "m", EstimateUSD: 0.5}, budget)
	require.NoError(t, err, "a failed task releases its estimate")

	e.clock.Add(24 * time.Hour)
	today, err := j.ChargedToday(ctx)
	require.NoError(t, err)
	assert.Zero(t, today, "a new day starts at zero")
	_, _, err = j.Claim(ctx, journal.Intent{Key: "d", Tool: "t", Model: "m", EstimateUSD: 1}, budget)
	require.NoError(t, err, "and has the whole budget")
}

func testDaysTotal(t *testing.T, e *env) {
	j, ctx := e.j, e.ctx
	e.claim("yesterday", 100)
	e.clock.Add(-Start.Sub(journal.StartOfDay(Start)) + 24*time.Hour) // midnight: a new day
	settle := func(state journal.State, status string, cost *float64) {
		job, _, err := j.Claim(ctx, journal.Intent{Key: fmt.Sprint(state, status, cost), Tool: "t", Model: "m", EstimateUSD: 1}, Rules)
		require.NoError(t, err)
		task := fmt.Sprint("task-", job.ID)
		switch state {
		case journal.StateAccepted:
			require.NoError(t, j.Accepted(ctx, job.ID, task, status))
			require.NoError(t, j.Observe(ctx, journal.Observation{TaskID: task, Status: status, CostUSD: cost}))
		case journal.StateUncertain:
			require.NoError(t, j.Uncertain(ctx, job.ID, "lost"))
		case journal.StateRefused:
			require.NoError(t, j.Refused(ctx, job.ID, "no"))
		case journal.StateAbandoned:
			require.NoError(t, j.Abandoned(ctx, job.ID, "cancelled"))
		case journal.StateNeverCreated:
			require.NoError(t, j.NeverCreated(ctx, job.ID))
		}
	}
	settle(journal.StateIntent, "", nil)                  // 1: being sent
	settle(journal.StateAccepted, "RUNNING", nil)         // 1: the estimate until it ends
	settle(journal.StateAccepted, "SUCCEEDED", new(0.25)) // 0.25: settled
	settle(journal.StateAccepted, "SUCCEEDED", nil)       // 1: settled later
	settle(journal.StateAccepted, "FAILED", nil)          // 0
	settle(journal.StateAccepted, "CANCELED", new(0.0))   // 0
	settle(journal.StateUncertain, "", nil)               // 1: may exist and be billed
	settle(journal.StateRefused, "", nil)                 // 0
	settle(journal.StateAbandoned, "", nil)               // 0
	settle(journal.StateNeverCreated, "", nil)            // 0
	jobs, err := j.List(ctx, journal.StartOfDay(e.clock.Now()), 0)
	require.NoError(t, err)
	require.Len(t, jobs, 10)
	var sum float64
	for _, job := range jobs {
		sum += job.Charge()
	}
	today, err := j.ChargedToday(ctx)
	require.NoError(t, err)
	assert.InDelta(t, 4.25, sum, 1e-9)
	assert.InDelta(t, sum, today, 1e-9, "yesterday's job does not count")

	// A settled cost replaces the estimate, a later look without one keeps it.
	require.NoError(t, j.Observe(ctx, journal.Observation{TaskID: fmt.Sprint("task-", jobs[len(jobs)-2].ID), Status: "RUNNING"}))
	job, err := j.ByTask(ctx, fmt.Sprint("task-", jobs[len(jobs)-2].ID))
	require.NoError(t, err)
	require.Equal(t, "RUNNING", job.Status)
	require.NoError(t, j.Observe(ctx, journal.Observation{TaskID: job.TaskID, Status: "SUCCEEDED", CostUSD: new(0.4)}))
	require.NoError(t, j.Observe(ctx, journal.Observation{TaskID: job.TaskID, Status: "SUCCEEDED"}))
	today, err = j.ChargedToday(ctx)
	require.NoError(t, err)
	assert.InDelta(t, 3.65, today, 1e-9)
}

// testConcurrentIdentical: 64 callers on two handles claim one request at
// once; exactly one owns it, and every other is answered with its job.
func testConcurrentIdentical(t *testing.T, e *env) {
	handles := []journal.Store{e.j, e.open()}
	const n = 64
	var wg sync.WaitGroup
	var owners atomic.Int32
	got := make([]int64, n)
	for i := range n {
		j := handles[i%2]
		wg.Go(func() {
			job, owner, err := j.Claim(context.Background(), journal.Intent{Key: "same", Tool: "t", Model: "m", EstimateUSD: 0.5},
				journal.Rules{Window: Rules.Window, UncertainFor: Rules.UncertainFor, InFlight: Rules.InFlight, DailyBudget: 100})
			if assert.NoError(t, err) {
				got[i] = job.ID
				if owner {
					owners.Add(1)
				}
			}
		})
	}
	wg.Wait()
	require.Equal(t, int32(1), owners.Load(), "one owner in all, whichever handle asked")
	for _, id := range got {
		assert.Equal(t, got[0], id, "every caller is answered with the one job")
	}
	jobs, err := e.j.List(e.ctx, time.Time{}, 0)
	require.NoError(t, err)
	assert.Len(t, jobs, 1, "one intent recorded")
	today, err := e.j.ChargedToday(e.ctx)
	require.NoError(t, err)
	assert.InDelta(t, 0.5, today, 1e-9)
}

// testConcurrentBudget: callers on two handles claim different requests
// (and forced identical ones) at once; together they never pass the budget.
func testConcurrentBudget(t *testing.T, e *env) {
	handles := []journal.Store{e.j, e.open()}
	budget := Rules
	budget.DailyBudget = 2.0
	const n = 64
	var wg sync.WaitGroup
	var owners, refused atomic.Int32
	for i := range n {
		j := handles[i%2]
		in := journal.Intent{Key: fmt.Sprint("request-", i), Tool: "t", Model: "m", EstimateUSD: 0.25}
		if i%4 == 3 {
			in = journal.Intent{Key: "forced", Tool: "t", Model: "m", EstimateUSD: 0.25, Forced: true}
		}
		wg.Go(func() {
			_, owner, err := j.Claim(context.Background(), in, budget)
			var over *journal.OverBudgetError
			switch {
			case errors.As(err, &over):
				refused.Add(1)
				assert.LessOrEqual(t, over.Today+0.25, 2.0+1e-9+0.25)
				assert.Greater(t, over.Today+0.25, 2.0+1e-9)
			case assert.NoError(t, err):
				assert.True(t, owner)
				owners.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(8), owners.Load(), "USD 2.00 pays for eight USD 0.25 jobs, however they race")
	assert.Equal(t, int32(n-8), refused.Load())
	today, err := handles[1].ChargedToday(e.ctx)
	require.NoError(t, err)
	assert.InDelta(t, 2.0, today, 1e-9)
}

func testOpenOnly(t *testing.T, e *env) {
	j, ctx := e.j, e.ctx
	a := e.claim("a", 1) // intent: matched
	b := e.claim("b", 1) // uncertain: never created
	require.NoError(t, j.Uncertain(ctx, b.ID, "HTTP 502"))
	c := e.claim("c", 1) // intent: ambiguous
	d := e.claim("d", 1) // accepted: left alone
	require.NoError(t, j.Accepted(ctx, d.ID, "t-d", "RUNNING"))
	f := e.claim("f", 1) // refused: left alone
	require.NoError(t, j.Refused(ctx, f.ID, "InvalidParameter"))
	g := e.claim("g", 1) // abandoned: left alone
	require.NoError(t, j.Abandoned(ctx, g.ID, "cancelled"))
	e.clock.Add(time.Minute)

	require.NoError(t, j.Matched(ctx, a.ID, "t-a", "SUCCEEDED"))
	require.NoError(t, j.NeverCreated(ctx, b.ID))
	require.NoError(t, j.Ambiguous(ctx, c.ID, "two candidates"))
	ga, gb, gc := e.get(a.ID), e.get(b.ID), e.get(c.ID)
	assert.Equal(t, journal.StateAccepted, ga.State)
	assert.Equal(t, "t-a", ga.TaskID)
	assert.Equal(t, "SUCCEEDED", ga.Status)
	assert.True(t, ga.UpdatedAt.Equal(e.clock.Now()))
	byTask, err := j.ByTask(ctx, "t-a")
	require.NoError(t, err)
	assert.Equal(t, a.ID, byTask.ID)
	assert.Equal(t, journal.StateNeverCreated, gb.State)
	assert.Zero(t, gb.Charge())
	assert.Equal(t, journal.StateUncertain, gc.State)
	assert.Equal(t, "two candidates", gc.Error)
	require.NoError(t, j.Ambiguous(ctx, c.ID, "still two"), "an uncertain job stays open")
	assert.Equal(t, "still two", e.get(c.ID).Error)

	for _, settled := range []*journal.Job{e.get(d.ID), e.get(f.ID), e.get(g.ID), e.get(b.ID)} {
		require.NoError(t, j.Matched(ctx, settled.ID, "t-x", "SUCCEEDED"))
		require.NoError(t, j.NeverCreated(ctx, settled.ID))
		require.NoError(t, j.Ambiguous(ctx, settled.ID, "reconciliation"))
		assert.Equal(t, settled, e.get(settled.ID), "the sender knows better than reconciliation")
	}
	_, err = j.ByTask(ctx, "t-x")
	assert.ErrorIs(t, err, journal.ErrNotFound)

	// The sender's own outcome is recorded whatever the state.
	require.NoError(t, j.Accepted(ctx, c.ID, "t-c", "PENDING"))
	assert.Equal(t, journal.StateAccepted, e.get(c.ID).State)
}

// testUnknown: a task the journal does not know is ignored, and a change
// of a job it does not have is refused (testGone) and makes nothing up.
func testUnknown(t *testing.T, e *env) {
	j, ctx := e.j, e.ctx
	const id = 4242
	assert.ErrorIs(t, j.Accepted(ctx, id, "t1", "PENDING"), journal.ErrUnavailable)
	require.NoError(t, j.Observe(ctx, journal.Observation{TaskID: "t1", Status: "SUCCEEDED", CostUSD: new(1.0)}))
	require.NoError(t, j.Saved(ctx, "t1", "/tmp/x.mp4"))
	leased, err := j.LeaseSave(ctx, "t1", time.Minute)
	require.NoError(t, err)
	assert.False(t, leased)
	_, err = j.Get(ctx, id)
	assert.ErrorIs(t, err, journal.ErrNotFound)
	_, err = j.ByTask(ctx, "t1")
	assert.ErrorIs(t, err, journal.ErrNotFound)
	_, err = j.ByTask(ctx, "")
	assert.ErrorIs(t, err, journal.ErrNotFound)
	jobs, err := j.List(ctx, time.Time{}, 0)
	require.NoError(t, err)
	assert.Empty(t, jobs, "nothing was made up")
	today, err := j.ChargedToday(ctx)
	require.NoError(t, err)
	assert.Zero(t, today)
}

// testGone: every change of a job by id fails when the journal no longer
// has the job (its record was lost: Redis flushed, evicted or failed over
// without it; a journal file replaced), as unavailability saying so, never
// silently: the sender would otherwise believe its task recorded.
func testGone(t *testing.T, e *env) {
	j, ctx := e.j, e.ctx
	const id = 4242
	changes := map[string]func() error{
		"Accepted":     func() error { return j.Accepted(ctx, id, "t1", "PENDING") },
		"Uncertain":    func() error { return j.Uncertain(ctx, id, "x") },
		"Refused":      func() error { return j.Refused(ctx, id, "x") },
		"Abandoned":    func() error { return j.Abandoned(ctx, id, "x") },
		"NeverCreated": func() error { return j.NeverCreated(ctx, id) },
		"Matched":      func() error { return j.Matched(ctx, id, "t1", "PENDING") },
		"Ambiguous":    func() error { return j.Ambiguous(ctx, id, "x") },
		"Touch":        func() error { return j.Touch(ctx, id) },
	}
	for name, change := range changes {
		err := change()
		var gone *journal.GoneError
		if assert.ErrorAs(t, err, &gone, name) {
			assert.Equal(t, int64(id), gone.ID, name)
			assert.ErrorIs(t, err, journal.ErrUnavailable, name)
			assert.Contains(t, err.Error(), "journal job 4242's record is gone", name)
			assert.Contains(t, err.Error(), e.j.Describe(), name)
		}
	}
	_, err := j.Get(ctx, id)
	assert.ErrorIs(t, err, journal.ErrNotFound)
	_, err = j.ByTask(ctx, "t1")
	assert.ErrorIs(t, err, journal.ErrNotFound, "nothing was made up")
}

// testTouch: Touch marks an intent as being sent now, and fails, changing
// nothing, for a job that is no longer an intent: a sender touches its
// intent just before it sends, and sends nothing if someone else (another
// instance's reconciliation) settled it meanwhile.
func testTouch(t *testing.T, e *env) {
	j, ctx := e.j, e.ctx
	job := e.claim("k", 1)
	e.clock.Add(time.Second)
	require.NoError(t, e.open().Touch(ctx, job.ID), "any handle may touch it")
	assert.True(t, e.get(job.ID).UpdatedAt.Equal(e.clock.Now()))

	for _, settle := range []struct {
		state journal.State
		f     func(id int64) error
	}{
		{journal.StateNeverCreated, func(id int64) error { return j.NeverCreated(ctx, id) }},
		{journal.StateUncertain, func(id int64) error { return j.Ambiguous(ctx, id, "two candidates") }},
		{journal.StateAccepted, func(id int64) error { return j.Matched(ctx, id, fmt.Sprint("task-", id), "RUNNING") }},
		{journal.StateAbandoned, func(id int64) error { return j.Abandoned(ctx, id, "x") }},
	} {
		job := e.claim(fmt.Sprint("settled-", settle.state), 1)
		require.NoError(t, settle.f(job.ID))
		before := e.get(job.ID)
		e.clock.Add(time.Second)
		err := e.open().Touch(ctx, job.ID)
		var notIntent *journal.NotIntentError
		if assert.ErrorAs(t, err, &notIntent, settle.state) {
			assert.Equal(t, job.ID, notIntent.ID)
			assert.Equal(t, settle.state, notIntent.State)
		}
		assert.NotErrorIs(t, err, journal.ErrUnavailable, "the journal answered: the job was settled")
		assert.Equal(t, before, e.get(job.ID), "a failed Touch changes nothing")
	}
}

// testAbandonClaim: AbandonClaim gives up on a Claim whose caller got an
// error and sends nothing: it abandons the intent claimed with the token
// only while nobody has touched (is sending) or settled it, and a Claim
// with a token given up records nothing, in whichever order the two come.
// A store without claim tokens changes nothing.
func testAbandonClaim(t *testing.T, e *env) {
	j, ctx := e.j, e.ctx
	intent := func(key, token string) journal.Intent {
		return journal.Intent{Key: key, Tool: "video_edit", Model: "m", EstimateUSD: 1, Token: token}
	}
	claim := func(key, token string) *journal.Job {
		t.Helper()
		job, owner, err := j.Claim(ctx, intent(key, token), Rules)
		require.NoError(t, err)
		require.True(t, owner)
		return job
	}
	abandon := func(token string) int64 {
		t.Helper()
		id, err := e.open().AbandonClaim(ctx, token)
		require.NoError(t, err, "any handle may give up a claim: %q", token)
		return id
	}
	assert.Zero(t, abandon(""), "no token: nothing to give up")
	assert.Zero(t, abandon("never-claimed"), "an unknown token is no error")

	untouched := claim("untouched", "tok-untouched")
	touched := claim("touched", "tok-touched")
	require.NoError(t, j.Touch(ctx, touched.ID))
	accepted := claim("accepted", "tok-accepted")
	require.NoError(t, j.Accepted(ctx, accepted.ID, "t1", "PENDING"))
	never := claim("never", "tok-never")
	require.NoError(t, j.NeverCreated(ctx, never.ID))
	other := claim("other", "tok-other")
	before := map[int64]*journal.Job{}
	for _, job := range []*journal.Job{touched, accepted, never, other} {
		before[job.ID] = e.get(job.ID)
	}
	e.clock.Add(time.Second)
	for _, token := range []string{"tok-touched", "tok-accepted", "tok-never", "tok-someone-elses"} {
		assert.Zero(t, abandon(token), token)
	}
	for id, job := range before {
		assert.Equal(t, job, e.get(id), "left as it is")
	}
	require.NoError(t, j.Touch(ctx, touched.ID), "a touched intent is still its sender's to send")

	id := abandon("tok-untouched")
	if !e.tokens {
		assert.Zero(t, id)
		assert.Equal(t, journal.StateIntent, e.get(untouched.ID).State, "a store without claim tokens changes nothing")
		return
	}
	assert.Equal(t, untouched.ID, id)
	got := e.get(untouched.ID)
	assert.Equal(t, journal.StateAbandoned, got.State)
	assert.True(t, got.UpdatedAt.Equal(e.clock.Now()))
	assert.Zero(t, got.Charge(), "an intent never sent costs nothing")
	var notIntent *journal.NotIntentError
	assert.ErrorAs(t, j.Touch(ctx, untouched.ID), &notIntent, "nobody may send it now")
	again := claim("untouched", "tok-again")
	assert.NotEqual(t, untouched.ID, again.ID, "an identical request owns a new intent at once")
	assert.Zero(t, abandon("tok-untouched"), "given up once")
	_, _, err := j.Claim(ctx, intent("untouched-late", "tok-untouched"), Rules)
	assert.ErrorIs(t, err, journal.ErrClaimGivenUp, "a token given up claims nothing more")

	// A claim that reaches the store only after its caller gave it up
	// records nothing.
	assert.Zero(t, abandon("tok-late"))
	_, _, err = j.Claim(ctx, intent("late", "tok-late"), Rules)
	assert.ErrorIs(t, err, journal.ErrClaimGivenUp)
	assert.NotErrorIs(t, err, journal.ErrUnavailable, "a decision, not a broken store")
	jobs, err := j.List(ctx, time.Time{}, 0)
	require.NoError(t, err)
	for _, job := range jobs {
		assert.NotEqual(t, "late", job.Key, "nothing was recorded for it")
		assert.NotEqual(t, "untouched-late", job.Key, "nothing was recorded for it")
	}

	// A Claim retried with its token (its reply was lost) is the same
	// claim while its intent is untouched, allow_duplicate's too.
	for _, forced := range []bool{false, true} {
		in := intent(fmt.Sprint("retried-", forced), fmt.Sprint("tok-retried-", forced))
		in.Forced = forced
		first, owner, err := j.Claim(ctx, in, Rules)
		require.NoError(t, err)
		require.True(t, owner)
		second, owner, err := e.open().Claim(ctx, in, Rules)
		require.NoError(t, err)
		assert.True(t, owner, "forced=%t", forced)
		assert.Equal(t, first, second, "forced=%t: no second intent", forced)
		require.NoError(t, j.Touch(ctx, first.ID))
		if !forced {
			third, owner, err := j.Claim(ctx, in, Rules)
			require.NoError(t, err)
			assert.False(t, owner, "once touched it is being sent: the duplicate guard answers")
			assert.Equal(t, first.ID, third.ID)
		}
	}
}

func testTaskUnique(t *testing.T, e *env) {
	a, b := e.claim("a", 1), e.claim("b", 1)
	require.NoError(t, e.j.Accepted(e.ctx, a.ID, "t1", "PENDING"))
	assert.Error(t, e.j.Accepted(e.ctx, b.ID, "t1", "PENDING"), "a task is made by one submission")
	job, err := e.j.ByTask(e.ctx, "t1")
	require.NoError(t, err)
	assert.Equal(t, a.ID, job.ID)
	assert.Equal(t, journal.StateIntent, e.get(b.ID).State, "the failed change changed nothing")
}

func testObserve(t *testing.T, e *env) {
	j, ctx := e.j, e.ctx
	job := e.claim("k", 0.5)
	require.NoError(t, j.Accepted(ctx, job.ID, "t1", "PENDING"))
	e.clock.Add(time.Minute)
	require.NoError(t, j.Observe(ctx, journal.Observation{TaskID: "t1", Status: "RUNNING"}))
	got := e.get(job.ID)
	assert.Equal(t, "RUNNING", got.Status)
	assert.Nil(t, got.CostUSD)
	assert.True(t, got.UpdatedAt.Equal(e.clock.Now()))

	expires := e.clock.Now().Add(24 * time.Hour)
	require.NoError(t, j.Observe(ctx, journal.Observation{TaskID: "t1", Status: "SUCCEEDED", VideoURL: "https://x/v.mp4", ExpiresAt: expires,
		BilledSeconds: 5, CostUSD: new(0.35)}))
	require.NoError(t, j.Observe(ctx, journal.Observation{TaskID: "t1", Status: "SUCCEEDED"}))
	got = e.get(job.ID)
	assert.Equal(t, "SUCCEEDED", got.Status)
	assert.Equal(t, "https://x/v.mp4", got.VideoURL, "a look without a URL keeps the known one")
	assert.True(t, got.ExpiresAt.Equal(expires), "%v", got.ExpiresAt)
	assert.InDelta(t, 5.0, got.BilledSeconds, 0)
	require.NotNil(t, got.CostUSD)
	assert.InDelta(t, 0.35, *got.CostUSD, 0)
	assert.InDelta(t, 0.35, got.Charge(), 0)
	assert.Equal(t, journal.StateAccepted, got.State)
	byTask, err := j.ByTask(ctx, "t1")
	require.NoError(t, err)
	assert.Equal(t, got, byTask)
}

func testLease(t *testing.T, e *env) {
	j, ctx := e.j, e.ctx
	job := e.claim("k", 0.5)
	require.NoError(t, j.Accepted(ctx, job.ID, "t1", "PENDING"))
	require.NoError(t, j.Observe(ctx, journal.Observation{TaskID: "t1", Status: "SUCCEEDED", VideoURL: "https://x/v.mp4",
		ExpiresAt: e.clock.Now().Add(24 * time.Hour)}))
	other := e.open()
	got, err := j.LeaseSave(ctx, "t1", time.Minute)
	require.NoError(t, err)
	assert.True(t, got)
	got, err = other.LeaseSave(ctx, "t1", time.Minute)
	require.NoError(t, err)
	assert.False(t, got, "held by another")
	e.clock.Add(time.Minute)
	got, err = other.LeaseSave(ctx, "t1", time.Minute)
	require.NoError(t, err)
	assert.False(t, got, "held to its very end")
	e.clock.Add(time.Millisecond)
	got, err = other.LeaseSave(ctx, "t1", time.Minute)
	require.NoError(t, err)
	assert.True(t, got, "an ended lease may be taken")
	require.NoError(t, other.Saved(ctx, "t1", "/out/v.mp4"))
	assert.Equal(t, "/out/v.mp4", e.get(job.ID).LocalPath)
	e.clock.Add(time.Hour)
	got, err = j.LeaseSave(ctx, "t1", time.Minute)
	require.NoError(t, err)
	assert.False(t, got, "a saved video is not saved again")

	// Concurrent: one lease among many callers.
	job2 := e.claim("k2", 0.5)
	require.NoError(t, j.Accepted(ctx, job2.ID, "t2", "SUCCEEDED"))
	var wg sync.WaitGroup
	var leases atomic.Int32
	for i := range 32 {
		h := []journal.Store{j, other}[i%2]
		wg.Go(func() {
			ok, err := h.LeaseSave(context.Background(), "t2", time.Minute)
			if assert.NoError(t, err) && ok {
				leases.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), leases.Load())
}

func testUnsavedUnfinished(t *testing.T, e *env) {
	j, ctx := e.j, e.ctx
	now := e.clock.Now()
	accepted := func(key, status, url string, expires time.Time) *journal.Job {
		job := e.claim(key, 1)
		task := "task-" + key
		require.NoError(t, j.Accepted(ctx, job.ID, task, status))
		if url != "" || !expires.IsZero() {
			require.NoError(t, j.Observe(ctx, journal.Observation{TaskID: task, Status: status, VideoURL: url, ExpiresAt: expires}))
		}
		e.clock.Add(time.Second)
		return job
	}
	old := accepted("old-running", "RUNNING", "", time.Time{})
	e.clock.Add(2 * time.Hour)
	since := e.clock.Now()
	pending := accepted("pending", "PENDING", "", time.Time{})
	empty := accepted("empty-status", "", "", time.Time{})
	unsaved2 := accepted("unsaved-later-expiry", "SUCCEEDED", "https://x/2.mp4", now.Add(48*time.Hour))
	unsaved1 := accepted("unsaved", "SUCCEEDED", "https://x/1.mp4", now.Add(24*time.Hour))
	saved := accepted("saved", "SUCCEEDED", "https://x/3.mp4", now.Add(24*time.Hour))
	require.NoError(t, j.Saved(ctx, "task-saved", "/out/3.mp4"))
	accepted("expired", "SUCCEEDED", "https://x/4.mp4", now.Add(time.Hour))
	accepted("no-url", "SUCCEEDED", "", time.Time{})
	accepted("failed", "FAILED", "", time.Time{})
	accepted("canceled", "CANCELED", "", time.Time{})
	accepted("unknown", "UNKNOWN", "", time.Time{})
	e.claim("intent", 1)
	running := accepted("running", "RUNNING", "", time.Time{})
	_ = saved

	unfinished, err := j.Unfinished(ctx, since)
	require.NoError(t, err)
	assert.Equal(t, []int64{pending.ID, empty.ID, running.ID}, ids(unfinished), "oldest first, since the given time")
	all, err := j.Unfinished(ctx, time.Time{})
	require.NoError(t, err)
	assert.Equal(t, []int64{old.ID, pending.ID, empty.ID, running.ID}, ids(all))

	unsaved, err := j.Unsaved(ctx)
	require.NoError(t, err)
	assert.Equal(t, []int64{unsaved2.ID, unsaved1.ID}, ids(unsaved), "succeeded, with a URL, not saved, not expired; oldest first")
	require.NoError(t, j.Saved(ctx, "task-unsaved-later-expiry", "/out/2.mp4"))
	e.clock.Add(24 * time.Hour) // unsaved1's video expires
	unsaved, err = j.Unsaved(ctx)
	require.NoError(t, err)
	assert.Empty(t, ids(unsaved))

	require.NoError(t, j.Observe(ctx, journal.Observation{TaskID: "task-running", Status: "SUCCEEDED"}))
	unfinished, err = j.Unfinished(ctx, since)
	require.NoError(t, err)
	assert.Equal(t, []int64{pending.ID, empty.ID}, ids(unfinished))
}

func testList(t *testing.T, e *env) {
	var made []int64
	for i := range 5 {
		made = append(made, e.claim(fmt.Sprint("k", i), 1).ID) // all at one instant
	}
	e.clock.Add(time.Minute)
	since := e.clock.Now()
	for i := 5; i < 8; i++ {
		made = append(made, e.claim(fmt.Sprint("k", i), 1).ID)
	}
	all, err := e.j.List(e.ctx, time.Time{}, 0)
	require.NoError(t, err)
	want := []int64{made[7], made[6], made[5], made[4], made[3], made[2], made[1], made[0]}
	assert.Equal(t, want, ids(all), "newest first; one instant's jobs by id, newest first")
	limited, err := e.j.List(e.ctx, time.Time{}, 3)
	require.NoError(t, err)
	assert.Equal(t, want[:3], ids(limited))
	recent, err := e.j.List(e.ctx, since, 0)
	require.NoError(t, err)
	assert.Equal(t, want[:3], ids(recent))
	none, err := e.j.List(e.ctx, e.clock.Now().Add(time.Millisecond), 0)
	require.NoError(t, err)
	assert.Empty(t, none)
}

func testOpenSince(t *testing.T, e *env) {
	j, ctx := e.j, e.ctx
	claim := func(key, model string) *journal.Job {
		job, _, err := j.Claim(ctx, journal.Intent{Key: key, Tool: "t", Model: model}, Rules)
		require.NoError(t, err)
		return job
	}
	before := claim("before", "m")
	e.clock.Add(time.Minute)
	from := e.clock.Now()
	intent := claim("intent", "m")
	claim("other-model", "n")
	uncertain := claim("uncertain", "m")
	require.NoError(t, j.Uncertain(ctx, uncertain.ID, "lost"))
	accepted := claim("accepted", "m")
	require.NoError(t, j.Accepted(ctx, accepted.ID, "t", "RUNNING"))
	refused := claim("refused", "m")
	require.NoError(t, j.Refused(ctx, refused.ID, "no"))
	e.clock.Add(time.Minute)
	to := e.clock.Now()
	last := claim("at-to", "m")
	e.clock.Add(time.Millisecond)
	claim("after", "m")

	open, err := j.OpenSince(ctx, "m", from, to)
	require.NoError(t, err)
	assert.Equal(t, []int64{intent.ID, uncertain.ID, last.ID}, ids(open), "open jobs of the model in [from, to], oldest first")
	_ = before
}

func testLost(t *testing.T, e *env) {
	j, ctx := e.j, e.ctx
	const d = 2 * time.Minute
	fresh := e.claim("fresh", 1)
	uncertain := e.claim("uncertain", 1)
	require.NoError(t, j.Uncertain(ctx, uncertain.ID, "HTTP 502"))
	accepted := e.claim("accepted", 1)
	require.NoError(t, j.Accepted(ctx, accepted.ID, "t", "RUNNING"))
	lost, err := j.LostIntents(ctx, d)
	require.NoError(t, err)
	assert.Equal(t, []int64{uncertain.ID}, ids(lost), "an unknown outcome is for reconciliation at once; a fresh intent is not")

	e.clock.Add(d)
	lost, err = j.LostIntents(ctx, d)
	require.NoError(t, err)
	assert.Equal(t, []int64{uncertain.ID}, ids(lost), "an intent touched d ago is still followed")
	e.clock.Add(time.Millisecond)
	stale := e.claim("stale", 1)
	require.NoError(t, j.Touch(ctx, stale.ID))
	lost, err = j.LostIntents(ctx, d)
	require.NoError(t, err)
	assert.Equal(t, []int64{fresh.ID, uncertain.ID}, ids(lost), "untouched for longer than d: lost; oldest first")

	require.NoError(t, j.Touch(ctx, fresh.ID))
	touched := e.get(fresh.ID)
	assert.True(t, touched.UpdatedAt.Equal(e.clock.Now()), "Touch marks it as being sent now")
	assert.Equal(t, journal.StateIntent, touched.State)
	assert.True(t, touched.CreatedAt.Equal(fresh.CreatedAt))
	lost, err = j.LostIntents(ctx, d)
	require.NoError(t, err)
	assert.Equal(t, []int64{uncertain.ID}, ids(lost))

	e.clock.Add(d + time.Millisecond)
	require.NoError(t, j.Matched(ctx, uncertain.ID, "t-u", "RUNNING"))
	lost, err = e.open().LostIntents(ctx, d)
	require.NoError(t, err)
	assert.Equal(t, []int64{fresh.ID, stale.ID}, ids(lost), "another handle finds the same")
}

func testPrune(t *testing.T, e *env) {
	j, ctx := e.j, e.ctx
	intent := e.claim("intent", 1)
	accepted := e.claim("accepted", 1)
	require.NoError(t, j.Accepted(ctx, accepted.ID, "t-old", "SUCCEEDED"))
	refused := e.claim("refused", 1)
	require.NoError(t, j.Refused(ctx, refused.ID, "no"))
	uncertain := e.claim("uncertain", 1)
	require.NoError(t, j.Uncertain(ctx, uncertain.ID, "lost"))
	e.clock.Add(100 * 24 * time.Hour)
	recent := e.claim("recent", 1)
	require.NoError(t, j.Accepted(ctx, recent.ID, "t-new", "RUNNING"))

	n, err := j.Prune(ctx, e.clock.Now().AddDate(0, 0, -90))
	require.NoError(t, err)
	assert.Equal(t, int64(3), n, "settled and uncertain old jobs go")
	all, err := j.List(ctx, time.Time{}, 0)
	require.NoError(t, err)
	assert.Equal(t, []int64{recent.ID, intent.ID}, ids(all), "intents stay until settled")
	_, err = j.ByTask(ctx, "t-old")
	assert.ErrorIs(t, err, journal.ErrNotFound)
	_, err = j.Get(ctx, accepted.ID)
	assert.ErrorIs(t, err, journal.ErrNotFound)
	n, err = j.Prune(ctx, e.clock.Now().AddDate(0, 0, -90))
	require.NoError(t, err)
	assert.Zero(t, n)
	lost, err := j.LostIntents(ctx, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, []int64{intent.ID}, ids(lost))

	_, owner, err := j.Claim(ctx, journal.Intent{Key: "accepted", Tool: "t", Model: "m"}, Rules)
	require.NoError(t, err)
	assert.True(t, owner)
}

func testHandles(t *testing.T, e *env) {
	a, b := e.j, e.open()
	job := e.claim("k", 0.5)
	require.NoError(t, a.Accepted(e.ctx, job.ID, "t1", "PENDING"))
	got, err := b.ByTask(e.ctx, "t1")
	require.NoError(t, err)
	assert.Equal(t, job.ID, got.ID)
	earlier, owner, err := b.Claim(e.ctx, journal.Intent{Key: "k", Tool: "t", Model: "m"}, Rules)
	require.NoError(t, err)
	assert.False(t, owner)
	assert.Equal(t, job.ID, earlier.ID)
	require.NoError(t, b.Observe(e.ctx, journal.Observation{TaskID: "t1", Status: "SUCCEEDED", CostUSD: new(0.3)}))
	today, err := a.ChargedToday(e.ctx)
	require.NoError(t, err)
	assert.InDelta(t, 0.3, today, 1e-9)
	next, owner, err := b.Claim(e.ctx, journal.Intent{Key: "k2", Tool: "t", Model: "m"}, Rules)
	require.NoError(t, err)
	assert.True(t, owner)
	assert.Greater(t, next.ID, job.ID, "ids are the journal's, not a handle's")
}

func testHealth(t *testing.T, e *env) {
	e.claim("a", 1)
	e.claim("b", 1)
	h, err := e.j.Health(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, "ok", h.Check)
	assert.Equal(t, 2, h.Jobs)
	assert.Positive(t, h.SchemaVersion)
	assert.NotEmpty(t, h.Path)
	assert.NotEmpty(t, e.j.Describe())
}

func testTaskKey(t *testing.T, e *env) {
	const n = 8
	handles := []journal.Store{e.j}
	for range n - 1 {
		handles = append(handles, e.open())
	}
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, h := range handles {
		wg.Go(func() {
			<-start
			keys[i], errs[i] = h.TaskKey(e.ctx)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		assert.GreaterOrEqual(t, len(keys[i]), 32, "at least 256 bits")
		assert.Equal(t, keys[0], keys[i], "handle %d has the key the first one made", i)
	}
	again, err := e.open().TaskKey(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, keys[0], again, "a later handle (a restart) gets the same key")
	assert.NotEqual(t, make([]byte, len(keys[0])), keys[0], "the key is random, not zeros")

	other := setup(t, e.backend)
	theirs, err := other.j.TaskKey(e.ctx)
	require.NoError(t, err)
	assert.NotEqual(t, keys[0], theirs, "another journal has a key of its own")
}

func testCancelled(t *testing.T, e *env) {
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	_, _, err := e.j.Claim(ctx, journal.Intent{Key: "k", Tool: "t", Model: "m"}, Rules)
	require.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, journal.ErrUnavailable, "the caller gave up; the journal is fine")
	e.claim("k", 1)
}

// Bench measures what a store adds to a submission (Claim, then Accepted;
// with and without a daily budget, which sums the day) and to a look-up of
// a task (ByTask), on a journal already holding a busy day of 200 jobs.
// open returns a new, empty journal.
func Bench(b *testing.B, open func(b *testing.B) journal.Store) {
	ctx := context.Background()
	r := Rules
	submit := func(b *testing.B, j journal.Store, r journal.Rules, n int) {
		job, owner, err := j.Claim(ctx, journal.Intent{Key: fmt.Sprint("request-", n), Tool: "video_edit", Model: "wan2.1-vace-plus",
			PromptExcerpt: "a violinist on a wider stage", EstimateUSD: 0.5}, r)
		if err != nil || !owner {
			b.Fatal(err, owner)
		}
		if err := j.Accepted(ctx, job.ID, fmt.Sprint("task-", n), "PENDING"); err != nil {
			b.Fatal(err)
		}
	}
	busy := func(b *testing.B) journal.Store {
		j := open(b)
		for n := range 200 {
			submit(b, j, r, -n-1)
		}
		return j
	}
	for _, budget := range []float64{0, 1e6} {
		b.Run(fmt.Sprintf("ClaimAccepted/budget=%t", budget > 0), func(b *testing.B) {
			j := busy(b)
			r := r
			r.DailyBudget = budget
			n := 0
			for b.Loop() {
				submit(b, j, r, n)
				n++
			}
		})
	}
	b.Run("ByTask", func(b *testing.B) {
		j := busy(b)
		n := 0
		for b.Loop() {
			if _, err := j.ByTask(ctx, fmt.Sprint("task-", -n%200-1)); err != nil {
				b.Fatal(err)
			}
			n++
		}
	})
}
