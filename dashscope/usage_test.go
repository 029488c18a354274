package dashscope_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
)

func TestUsageReadsBothModelsShapesAndSaysWhatIsBilled(t *testing.T) {
	tests := []struct {
		name, body string
		billed     float64
		sr         dashscope.Tier
	}{
		{"vace", `{"video_duration": 5, "video_ratio": "standard", "video_count": 1}`, 5, ""},
		{"wan2.7 with SR as a number", `{"duration": 10.04, "input_video_duration": 5.02, "output_video_duration": 5.02, "video_count": 1, "SR": 720}`, 10.04, "720"},
		{"wan2.7 with SR as a string", `{"duration": 7, "input_video_duration": 3, "output_video_duration": 4, "SR": "1080"}`, 7, "1080"},
		{"wan2.7 without the sum", `{"input_video_duration": 3, "output_video_duration": 4, "video_duration": 0, "video_ratio": ""}`, 7, ""},
		{"numbers written as strings", `{"duration": "10.04", "video_count": "1", "SR": "720"}`, 10.04, "720"},
		{"a field of an unexpected type", `{"video_duration": 5, "SR": true, "video_count": [1]}`, 5, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var u dashscope.Usage
			require.NoError(t, json.Unmarshal([]byte(tc.body), &u))
			assert.InDelta(t, tc.billed, u.BilledSeconds(), 1e-9)
			assert.Equal(t, tc.sr, u.SR)
		})
	}
	var none *dashscope.Usage
	assert.Zero(t, none.BilledSeconds())
	var task struct{ Usage *dashscope.Usage }
	require.NoError(t, json.Unmarshal([]byte(`{"Usage": "odd"}`), &task), "odd usage never makes a task unreadable")
}
