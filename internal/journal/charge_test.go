package journal

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The day's total is summed in SQL; it must count each job as Job.Charge does.
func TestTheDaysTotalCountsEveryJobAsItsCharge(t *testing.T) {
	clock := &manualNow{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.Local)}
	j := open(t, t.TempDir(), clock)
	ctx := t.Context()
	settle := func(state State, status string, cost *float64) {
		job, _, err := j.Claim(ctx, Intent{Key: fmt.Sprint(state, status, cost), Tool: "t", Model: "m", EstimateUSD: 1}, rules)
		require.NoError(t, err)
		switch state {
		case StateAccepted:
			require.NoError(t, j.Accepted(ctx, job.ID, "task-"+fmt.Sprint(job.ID), status))
			require.NoError(t, j.Observe(ctx, Observation{TaskID: "task-" + fmt.Sprint(job.ID), Status: status, CostUSD: cost}))
		case StateUncertain:
			require.NoError(t, j.Uncertain(ctx, job.ID, "lost"))
		case StateRefused:
			require.NoError(t, j.Refused(ctx, job.ID, "no"))
		case StateAbandoned:
			require.NoError(t, j.Abandoned(ctx, job.ID, "cancelled"))
		case StateNeverCreated:
			require.NoError(t, j.NeverCreated(ctx, job.ID))
		}
	}
	settle(StateIntent, "", nil)                  // 1: being sent
	settle(StateAccepted, "RUNNING", nil)         // 1: the estimate until it ends
	settle(StateAccepted, "SUCCEEDED", new(0.25)) // 0.25: settled
	settle(StateAccepted, "SUCCEEDED", nil)       // 1: settled later
	settle(StateAccepted, "FAILED", nil)          // 0
	settle(StateAccepted, "CANCELED", new(0.0))   // 0
	settle(StateUncertain, "", nil)               // 1: may exist and be billed
	settle(StateRefused, "", nil)                 // 0
	settle(StateAbandoned, "", nil)               // 0
	settle(StateNeverCreated, "", nil)            // 0
	jobs, err := j.List(ctx, StartOfDay(clock.now()), 0)
	require.NoError(t, err)
	var sum float64
	for _, job := range jobs {
		sum += job.Charge()
	}
	today, err := j.ChargedToday(ctx)
	require.NoError(t, err)
	assert.InDelta(t, 4.25, sum, 1e-9)
	assert.InDelta(t, sum, today, 1e-9)
}
