package tools

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
	"github.com/vace-mcp/vace-mcp/internal/localfiles"
)

func TestConcurrentIdenticalSubmitsPayOnce(t *testing.T) {
	fake := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: time.Hour}))
	c, err := fake.Client(dashscope.WithRateLimits(dashscope.RateLimits{Query: 1000}))
	require.NoError(t, err)
	s := New(Options{Client: c, Journal: testJournal(t)})
	spellings := []dashscope.Request{ // one request, written as models write it
		dashscope.VideoOutpainting{Prompt: "p", VideoURL: "https://x/v.mp4"},
		dashscope.VideoOutpainting{Prompt: "p", VideoURL: "HTTPS://X/v.mp4", PromptExtend: new(true), TopScale: new(1.0)},
	}
	const n = 64
	ids := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			res := s.submit(t.Context(), spellings[i%2], false)
			if assert.False(t, res.IsError) {
				ids[i] = res.StructuredContent.(TaskResult).TaskID
			}
		})
	}
	close(start)
	wg.Wait()
	require.Equal(t, 1, fake.Count(dashscopetest.EndpointSubmit), "one paid submission")
	for i := range n {
		assert.Equal(t, fake.TaskIDs()[0], ids[i])
	}
}

func TestAForcedSubmissionThatIsRefusedKeepsTheEarlierTask(t *testing.T) {
	fake := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: time.Hour}))
	c, err := fake.Client(dashscope.WithRetryPolicy(dashscope.RetryPolicy{Attempts: 1}))
	require.NoError(t, err)
	s := New(Options{Client: c, Journal: testJournal(t)})
	req := dashscope.VideoOutpainting{Prompt: "p", VideoURL: "https://x/v.mp4"}
	require.False(t, s.submit(t.Context(), req, false).IsError)
	fake.InjectFault(dashscopetest.EndpointSubmit, 1, dashscopetest.Fault{Status: 429, Code: "Throttling"})
	require.True(t, s.submit(t.Context(), req, true).IsError, "the forced submission is throttled")
	res := s.submit(t.Context(), req, false)
	require.False(t, res.IsError)
	assert.True(t, res.StructuredContent.(TaskResult).Duplicate, "the earlier task is still remembered")
	assert.Len(t, fake.TaskIDs(), 1)
}

func TestAnUnknownAnswerRightAfterSubmissionDoesNotResubmit(t *testing.T) {
	fake := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: time.Hour}))
	target, err := url.Parse(fake.URL)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target)
	glitch := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v1/tasks/") {
			id := strings.TrimPrefix(r.URL.Path, "/api/v1/tasks/")
			_, _ = fmt.Fprintf(w, `{"request_id":"r","output":{"task_id":%q,"task_status":"UNKNOWN"}}`, id)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(glitch.Close)
	c, err := dashscope.NewClient(dashscope.WithAPIKey(fake.APIKey()), dashscope.WithBaseURL(glitch.URL+"/api/v1"))
	require.NoError(t, err)
	s := New(Options{Client: c, Journal: testJournal(t)})
	req := dashscope.VideoOutpainting{Prompt: "p", VideoURL: "https://x/v.mp4"}
	require.False(t, s.submit(t.Context(), req, false).IsError)
	res := s.submit(t.Context(), req, false)
	require.True(t, res.IsError)
	assert.Contains(t, res.Content[0].(mcp.TextContent).Text, "may still exist")
	assert.Len(t, fake.TaskIDs(), 1, "not paid again on a glitch")
}

func TestErrorsSayWhatWasBilledAndWhatToDo(t *testing.T) {
	dir := t.TempDir()
	video := filepath.Join(dir, "in.mp4")
	require.NoError(t, os.WriteFile(video, dashscopetest.SampleVideo, 0o644))
	files, err := localfiles.NewPolicy([]string{dir})
	require.NoError(t, err)
	tests := []struct {
		name     string
		endpoint dashscopetest.Endpoint
		fault    dashscopetest.Fault
		videoURL string
		says     []string
	}{
		{"a refused submission", dashscopetest.EndpointSubmit, dashscopetest.Fault{Status: 400, Code: "InvalidParameter", Message: "bad scale"},
			"https://x/v.mp4", []string{"InvalidParameter", "nothing was billed", "Change what the message names"}},
		{"an input the service cannot fetch", dashscopetest.EndpointSubmit, dashscopetest.Fault{Status: 400, Code: "InvalidURL"},
			"https://x/v.mp4", []string{"nothing was billed", "public http(s)"}},
		{"a failed upload", dashscopetest.EndpointPolicy, dashscopetest.Fault{Status: 403, Code: "AccessDenied"},
			video, []string{"Nothing was submitted or billed", "public http(s) URL for video_url", "another region"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := dashscopetest.NewServer(t)
			fake.InjectFault(tc.endpoint, 1, tc.fault)
			c, err := fake.Client(dashscope.WithRetryPolicy(dashscope.RetryPolicy{Attempts: 1}))
			require.NoError(t, err)
			s := New(Options{Client: c, Files: files, Journal: testJournal(t)})
			res := s.submit(t.Context(), dashscope.VideoOutpainting{Prompt: "p", VideoURL: tc.videoURL}, false)
			require.True(t, res.IsError)
			msg := res.Content[0].(mcp.TextContent).Text
			for _, want := range tc.says {
				assert.Contains(t, msg, want)
			}
			assert.Zero(t, len(fake.TaskIDs()), "no task was created")
		})
	}

	c, err := dashscope.NewClient(dashscope.WithBaseURL("http://127.0.0.1:1/api/v1"))
	require.NoError(t, err)
	res := New(Options{Client: c, Journal: testJournal(t)}).submit(t.Context(), dashscope.VideoOutpainting{Prompt: "p", VideoURL: "https://x/v.mp4"}, false)
	require.True(t, res.IsError)
	assert.Contains(t, res.Content[0].(mcp.TextContent).Text, "No DashScope API key is configured, so nothing was sent")
}
