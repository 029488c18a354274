package cli

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/internal/journal"
)

func TestParseJobsTakesItsFlagsAndLeavesTheServers(t *testing.T) {
	o, rest, err := ParseJobs([]string{"--json", "--since", "7d", "--state-dir", "/x"})
	require.NoError(t, err)
	assert.True(t, o.JSON)
	assert.Equal(t, 7*24*time.Hour, o.Since)
	assert.Equal(t, []string{"--state-dir", "/x"}, rest)
	_, _, err = ParseJobs([]string{"--since=soon"})
	assert.ErrorContains(t, err, "--since")
}

func TestJobsPrintsTheJournalWithTotals(t *testing.T) {
	j, err := journal.Open(t.Context(), journal.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	rules := journal.Rules{Window: time.Minute, UncertainFor: time.Hour, InFlight: time.Minute}
	done, _, err := j.Claim(t.Context(), journal.Intent{Key: "a", Tool: "video_outpainting", Model: "m", PromptExcerpt: "a violinist", EstimateUSD: 0.5}, rules)
	require.NoError(t, err)
	require.NoError(t, j.Accepted(t.Context(), done.ID, "t1", "PENDING"))
	require.NoError(t, j.Observe(t.Context(), journal.Observation{TaskID: "t1", Status: "SUCCEEDED", BilledSeconds: 5, CostUSD: new(0.5)}))
	open, _, err := j.Claim(t.Context(), journal.Intent{Key: "b", Tool: "video_instruct_edit", Model: "e", EstimateUSD: 3}, rules)
	require.NoError(t, err)
	require.NoError(t, j.Accepted(t.Context(), open.ID, "t2", "RUNNING"))

	var out, errOut bytes.Buffer
	require.Equal(t, 0, Jobs(t.Context(), j, JobsOptions{JSON: true}, time.Now(), &out, &errOut), errOut.String())
	var got struct {
		Jobs []struct {
			TaskID  string   `json:"task_id"`
			CostUSD *float64 `json:"cost_usd"`
		} `json:"jobs"`
		CostUSD  float64 `json:"cost_usd"`
		TodayUSD float64 `json:"today_usd"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	require.Len(t, got.Jobs, 2)
	assert.Equal(t, "t2", got.Jobs[0].TaskID, "newest first")
	assert.Nil(t, got.Jobs[0].CostUSD, "not settled yet")
	assert.InDelta(t, 3.5, got.CostUSD, 1e-9, "settled costs plus open estimates")
	assert.InDelta(t, 3.5, got.TodayUSD, 1e-9)

	out.Reset()
	require.Equal(t, 0, Jobs(t.Context(), j, JobsOptions{}, time.Now(), &out, &errOut))
	assert.Contains(t, out.String(), "video_outpainting")
	assert.Contains(t, out.String(), "~3.00", "an estimate is marked")
	assert.Contains(t, out.String(), "2 job(s), 5 s billed, USD 3.50")
}
