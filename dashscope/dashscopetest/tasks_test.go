package dashscopetest_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// finished submits body to a fake whose tasks succeed at once and returns
// the task's query answer, raw and decoded.
func finished(t *testing.T, life dashscopetest.Lifecycle, body string) (string, map[string]any) {
	t.Helper()
	s := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(life))
	r := send(t, "POST", submitURL(s), s.APIKey(), asyncJSON, body)
	require.Equal(t, 200, r.status, r.raw)
	id := r.body["output"].(map[string]any)["task_id"].(string)
	got := send(t, "GET", s.BaseURL()+"/tasks/"+id, s.APIKey(), nil, "")
	require.Equal(t, 200, got.status)
	require.Equal(t, "SUCCEEDED", got.body["output"].(map[string]any)["task_status"], got.raw)
	return got.raw, got.body
}

func TestASucceededWan27TaskAnswersWithItsUsageShape(t *testing.T) {
	raw, body := finished(t, dashscopetest.Lifecycle{}, wan27StyleExample)
	assert.Equal(t, map[string]any{
		"duration": 10.04, "input_video_duration": 5.02, "output_video_duration": 5.02, "video_count": 1.0, "SR": 720.0,
	}, body["usage"], "the vendor example's usage")
	var usage struct {
		Usage map[string]json.RawMessage `json:"usage"`
	}
	require.NoError(t, json.Unmarshal([]byte(raw), &usage))
	assert.Equal(t, "720", string(usage.Usage["SR"]), "SR is a JSON number, as in the vendor's example")

	out := body["output"].(map[string]any)
	assert.Equal(t, "Convert the entire scene to a claymation style", out["orig_prompt"])
	assert.NotContains(t, out, "actual_prompt")
	for _, k := range []string{"submit_time", "scheduled_time", "end_time", "video_url"} {
		assert.Contains(t, out, k)
	}
}

func TestWan27UsageSRIsTheRequestedTier(t *testing.T) {
	tests := []struct {
		name, params string
		sr           float64
	}{
		{"720P", `"resolution":"720P"`, 720},
		{"1080P", `"resolution":"1080P"`, 1080},
		{"the default", "", 1080},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, body := finished(t, dashscopetest.Lifecycle{}, wan27Body(mediaOf(video), tc.params))
			assert.Equal(t, tc.sr, body["usage"].(map[string]any)["SR"])
		})
	}
}

func TestWan27UsageSecondsFollowTheLifecycleAndDuration(t *testing.T) {
	tests := []struct {
		name         string
		life         dashscopetest.Lifecycle
		params       string
		in, out, sum float64
	}{
		{"both set", dashscopetest.Lifecycle{InputVideoDuration: 8, OutputVideoDuration: 4}, "", 8, 4, 12},
		{"output follows the input", dashscopetest.Lifecycle{InputVideoDuration: 7.5}, "", 7.5, 7.5, 15},
		{"duration cuts the output", dashscopetest.Lifecycle{InputVideoDuration: 8}, `"duration":3`, 8, 3, 11},
		{"duration past the input's end", dashscopetest.Lifecycle{InputVideoDuration: 4}, `"duration":10`, 4, 4, 8},
		{"duration 0 keeps it all", dashscopetest.Lifecycle{InputVideoDuration: 6}, `"duration":0`, 6, 6, 12},
		{"the set output wins", dashscopetest.Lifecycle{InputVideoDuration: 8, OutputVideoDuration: 5}, `"duration":3`, 8, 5, 13},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, body := finished(t, tc.life, wan27Body(mediaOf(video), tc.params))
			usage := body["usage"].(map[string]any)
			assert.Equal(t, tc.in, usage["input_video_duration"])
			assert.Equal(t, tc.out, usage["output_video_duration"])
			assert.Equal(t, tc.sum, usage["duration"])
		})
	}
}

func TestVACETasksKeepTheirUsageShape(t *testing.T) {
	_, body := finished(t, dashscopetest.Lifecycle{VideoDuration: 5, InputVideoDuration: 9}, outpaintBody)
	assert.Equal(t, map[string]any{"video_duration": 5.0, "video_ratio": "standard", "video_count": 1.0}, body["usage"])
}
