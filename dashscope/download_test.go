package dashscope_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
)

// TestAnAnswerAboutAnotherTaskIsAnError: an upstream that answers a query
// with another task's state must not have it taken for the task asked about
// (download_video would save that task's video under this one's name).
func TestAnAnswerAboutAnotherTaskIsAnError(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"request_id":"r1","output":{"task_id":"other-task","task_status":"SUCCEEDED","video_url":"https://x.example/v.mp4"}}`)
	}))
	defer upstream.Close()
	c, err := dashscope.NewClient(dashscope.WithAPIKey("sk-test"), dashscope.WithBaseURL(upstream.URL+"/api/v1"), fastRetries, noLimits)
	require.NoError(t, err)
	task, err := c.GetTask(t.Context(), "asked-task")
	require.Error(t, err)
	assert.Nil(t, task)
	assert.Contains(t, err.Error(), "the answer about task asked-task names another task")
	_, known := c.LastObservation("asked-task")
	assert.False(t, known, "nothing is recorded for the task asked about")
}

// TestDownloadsAreCapped: a result larger than the cap is refused, whether
// its size is announced or it just keeps coming.
func TestDownloadsAreCapped(t *testing.T) {
	const limit = 1 << 20
	body := bytes.Repeat([]byte{'v'}, limit+1)
	results := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("announce") != "" {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		w.WriteHeader(http.StatusOK)
		for chunk := range slices.Chunk(body, 64<<10) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush() // without Content-Length, the size is learnt only by reading
		}
	}))
	defer results.Close()
	c, err := dashscope.NewClient(dashscope.WithAPIKey("sk-test"))
	require.NoError(t, err)
	for _, u := range []string{results.URL + "/v.mp4?announce=1", results.URL + "/v.mp4"} {
		var out bytes.Buffer
		_, err := c.Download(t.Context(), u, &out, limit)
		require.ErrorIs(t, err, dashscope.ErrResultTooLarge, u)
		assert.LessOrEqual(t, out.Len(), limit+1, "at most one byte past the cap is read")
	}
	var out bytes.Buffer
	n, err := c.Download(t.Context(), results.URL+"/v.mp4", &out, limit+1)
	require.NoError(t, err)
	assert.Equal(t, int64(limit+1), n)
	assert.Equal(t, 100<<20, dashscope.MaxResultBytes, "README states the default cap")
	assert.True(t, strings.HasPrefix(out.String(), "vvv"))
}
