package dashscope

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTaskStatusesReadBothSpellingsAndKnowWhichAreFinal(t *testing.T) {
	tests := []struct {
		wire     string
		want     TaskStatus
		terminal bool
	}{
		{"PENDING", StatusPending, false},
		{"RUNNING", StatusRunning, false},
		{"SUSPENDED", StatusSuspended, false},
		{"SUCCEEDED", StatusSucceeded, true},
		{"FAILED", StatusFailed, true},
		{"CANCELED", StatusCanceled, true},
		{"CANCELLED", StatusCanceled, true},
		{"UNKNOWN", StatusUnknown, true},
	}
	for _, tc := range tests {
		var task Task
		require.NoError(t, json.Unmarshal([]byte(`{"task_id":"x","task_status":"`+tc.wire+`"}`), &task))
		assert.Equal(t, tc.want, task.Status, tc.wire)
		assert.Equal(t, tc.terminal, task.Status.Terminal(), tc.wire)
	}
}

func TestTaskReadsTheDocumentedSucceededResponse(t *testing.T) {
	body := `{"request_id":"851985d0-fbba-9d8d-a17a-xxxxxx","output":{"task_id":"208e2fd1-fcb4-4adf-9fcc-xxxxxx",
	"task_status":"SUCCEEDED","submit_time":"2025-05-15 16:14:44.723","scheduled_time":"2025-05-15 16:14:44.750",
	"end_time":"2025-05-15 16:20:09.389","video_url":"https://dashscope-result-wlcb.oss-cn-wulanchabu.aliyuncs.com/xxx.mp4?xxxxxx",
	"orig_prompt":"o","actual_prompt":"a"},"usage":{"video_duration":5,"video_ratio":"standard","video_count":1}}`
	var resp taskResponse
	require.NoError(t, json.Unmarshal([]byte(body), &resp))
	task, err := resp.task(asIs)
	require.NoError(t, err)
	assert.Equal(t, "851985d0-fbba-9d8d-a17a-xxxxxx", task.RequestID)
	assert.Equal(t, time.Date(2025, 5, 15, 8, 14, 44, 723e6, time.UTC), task.SubmitTime.UTC(), "times are UTC+8")
	assert.Equal(t, 5*time.Minute+24*time.Second+666*time.Millisecond, task.EndTime.Sub(task.SubmitTime.Time))
	assert.Equal(t, &Usage{VideoDuration: 5, VideoRatio: "standard", VideoCount: 1}, task.Usage)
	assert.Equal(t, "a", task.ActualPrompt)

	out, err := json.Marshal(task.SubmitTime)
	require.NoError(t, err)
	assert.Equal(t, `"2025-05-15 16:14:44.723"`, string(out), "times round-trip in the service's format")
}

// asIs keeps upstream text as it came, for tests of decoding alone.
func asIs(s string, _ int) string { return s }

func TestTaskResponseWithoutAnIDIsAnError(t *testing.T) {
	var resp taskResponse
	require.NoError(t, json.Unmarshal([]byte(`{"request_id":"r","output":{}}`), &resp))
	_, err := resp.task(asIs)
	assert.ErrorContains(t, err, "task_id")
}

func TestEpochMilliAcceptsNumbersAndStrings(t *testing.T) {
	var row TaskSummary
	require.NoError(t, json.Unmarshal([]byte(`{"task_id":"t","status":"RUNNING","gmt_create":1745568428109,"start_time":"1745568428138"}`), &row))
	assert.Equal(t, int64(1745568428109), row.Created.UnixMilli())
	assert.Equal(t, int64(1745568428138), row.Started.UnixMilli())
	assert.True(t, row.Ended.IsZero())
}
