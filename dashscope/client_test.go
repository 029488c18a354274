package dashscope_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// fastRetries keeps retry pauses short so tests run quickly.
var fastRetries = dashscope.WithRetryPolicy(dashscope.RetryPolicy{Attempts: 4, Base: time.Millisecond, Max: 5 * time.Millisecond})

// noLimits lifts the client-side rate limits where a test is not about them.
var noLimits = dashscope.WithRateLimits(dashscope.RateLimits{Submit: 1e6, Query: 1e6, Upload: 1e6})

func newClient(t *testing.T, srv *dashscopetest.Server, opts ...dashscope.Option) *dashscope.Client {
	t.Helper()
	c, err := srv.Client(append([]dashscope.Option{fastRetries, noLimits}, opts...)...)
	require.NoError(t, err)
	return c
}

var outpaint = dashscope.VideoOutpainting{Prompt: "a violinist on a wider stage", VideoURL: "https://example.com/in.mp4", TopScale: new(1.5)}

func TestSubmitSendsTheDocumentedRequest(t *testing.T) {
	srv := dashscopetest.NewServer(t)
	c := newClient(t, srv, dashscope.WithUserAgent("vace-test/1"))

	task, err := c.Submit(t.Context(), outpaint)
	require.NoError(t, err)
	assert.Equal(t, dashscope.StatusPending, task.Status)
	assert.NotEmpty(t, task.ID)
	assert.NotEmpty(t, task.RequestID)

	reqs := srv.Requests(dashscopetest.EndpointSubmit)
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, "/api/v1/services/aigc/video-generation/video-synthesis", r.Path)
	assert.Equal(t, "Bearer "+srv.APIKey(), r.Header.Get("Authorization"))
	assert.Equal(t, "enable", r.Header.Get("X-DashScope-Async"))
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.Empty(t, r.Header.Get("X-DashScope-WorkSpace"), "no longer in the vendor's header tables: a workspace domain names the workspace")
	assert.Equal(t, "vace-test/1", r.Header.Get("User-Agent"))
	assert.Empty(t, r.Header.Get("X-DashScope-OssResourceResolve"))
	assert.JSONEq(t, `{"model":"wan2.1-vace-plus","input":{"function":"video_outpainting","prompt":"a violinist on a wider stage","video_url":"https://example.com/in.mp4"},"parameters":{"top_scale":1.5}}`, string(r.Body))
}

func TestSubmitUnderAProxyPrefixAndTheChinaRegion(t *testing.T) {
	srv := dashscopetest.NewServer(t, dashscopetest.WithPathPrefix("/qwen/api/v1"), dashscopetest.WithModels(dashscope.RegionCN.Model))
	c := newClient(t, srv, dashscope.WithRegion(dashscope.RegionCN), dashscope.WithBaseURL(srv.BaseURL()+"/"))
	_, err := c.Submit(t.Context(), outpaint)
	require.NoError(t, err)
	r := srv.Requests(dashscopetest.EndpointSubmit)[0]
	assert.Equal(t, "/qwen/api/v1/services/aigc/video-generation/video-synthesis", r.Path)
	assert.Contains(t, string(r.Body), `"model":"wanx2.1-vace-plus"`)
}

func TestSubmitRefusesInvalidRequestsWithoutSending(t *testing.T) {
	srv := dashscopetest.NewServer(t)
	c := newClient(t, srv)
	_, err := c.Submit(t.Context(), dashscope.VideoOutpainting{Prompt: "p", VideoURL: "https://x/v.mp4", LeftScale: new(2.5)})
	var fe *dashscope.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "left_scale", fe.Field)
	assert.Zero(t, srv.Count(dashscopetest.EndpointSubmit))
}

func TestFakeAcceptsEveryGoldenShapeAndRefusesMisplacedFields(t *testing.T) {
	srv := dashscopetest.NewServer(t)
	c := newClient(t, srv)
	for _, r := range []dashscope.Request{
		dashscope.ImageReference{Prompt: "p", RefImagesURL: []string{"https://x/a.png", "https://x/b.png"}, ObjOrBg: []dashscope.Role{"obj", "bg"}, Size: dashscope.Size720x1280, PromptExtend: new(true)},
		dashscope.VideoRepainting{Prompt: "p", VideoURL: "https://x/v.mp4", ControlCondition: dashscope.ControlPoseBody, Strength: new(0.4), RefImagesURL: []string{"https://x/a.png"}},
		dashscope.VideoEdit{Prompt: "p", VideoURL: "https://x/v.mp4", MaskVideoURL: "https://x/m.mp4", MaskType: dashscope.MaskFixed, Size: dashscope.Size832x1088},
		dashscope.VideoExtension{Prompt: "p", LastFrameURL: "https://x/f.png", VideoURL: "https://x/v.mp4", ControlCondition: dashscope.ControlDepth, Seed: new(42), Watermark: new(true)},
		outpaint,
	} {
		_, err := c.Submit(t.Context(), r)
		assert.NoError(t, err, "%T", r)
	}

	// A body with size under input, as a careless client might send it, is refused by the fake.
	resp, err := http.DefaultClient.Do(mustRequest(t, srv, `{"model":"wan2.1-vace-plus","input":{"function":"image_reference","prompt":"p","ref_images_url":["https://x/a.png"],"size":"1280*720"}}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct{ Code, Message string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "InvalidParameter", body.Code)
	assert.Contains(t, body.Message, `unknown field "size" in input`)
}

func mustRequest(t *testing.T, srv *dashscopetest.Server, body string) *http.Request {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.BaseURL()+"/services/aigc/video-generation/video-synthesis", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+srv.APIKey())
	req.Header.Set("X-DashScope-Async", "enable")
	req.Header.Set("Content-Type", "application/json")
	return req
}

func TestSubmitRetriesOnlyWhenTheServiceCertainlyRefused(t *testing.T) {
	tests := []struct {
		name      string
		fault     dashscopetest.Fault
		times     int
		wantSends int
		wantErr   func(t *testing.T, err error)
	}{
		{name: "429 is retried until accepted", fault: dashscopetest.Fault{Status: 429, Code: "Throttling.RateQuota"}, times: 2, wantSends: 3},
		{name: "429 with Retry-After is retried", fault: dashscopetest.Fault{Status: 429, Code: "Throttling", RetryAfter: time.Second}, times: 1, wantSends: 2},
		{name: "429 every time gives up after the policy's attempts", fault: dashscopetest.Fault{Status: 429, Code: "Throttling.AllocationQuota"}, times: 10, wantSends: 4,
			wantErr: func(t *testing.T, err error) {
				assert.True(t, dashscope.IsThrottled(err))
				assert.NotErrorIs(t, err, dashscope.ErrSubmitUncertain, "a 429 created no task")
			}},
		{name: "500 is not retried and may have made a task", fault: dashscopetest.Fault{Status: 500, Code: "InternalError"}, times: 1, wantSends: 1,
			wantErr: wantUncertain},
		{name: "503 is not retried", fault: dashscopetest.Fault{Status: 503, Code: "SystemError"}, times: 1, wantSends: 1, wantErr: wantUncertain},
		{name: "408 is not retried", fault: dashscopetest.Fault{Status: 408, Code: "RequestTimeOut"}, times: 1, wantSends: 1, wantErr: wantUncertain},
		{name: "a reset connection is not retried", fault: dashscopetest.Fault{Reset: true}, times: 1, wantSends: 1, wantErr: wantUncertain},
		{name: "an unreadable 200 is not retried", fault: dashscopetest.Fault{Malformed: true}, times: 1, wantSends: 1, wantErr: wantUncertain},
		{name: "400 is final and created nothing", fault: dashscopetest.Fault{Status: 400, Code: "InvalidParameter", Message: "The size is not match"}, times: 1, wantSends: 1,
			wantErr: func(t *testing.T, err error) {
				assert.True(t, dashscope.IsInvalidRequest(err))
				assert.NotErrorIs(t, err, dashscope.ErrSubmitUncertain)
				assert.Contains(t, err.Error(), "The size is not match")
			}},
		{name: "401 is final", fault: dashscopetest.Fault{Status: 401, Code: "InvalidApiKey"}, times: 1, wantSends: 1,
			wantErr: func(t *testing.T, err error) { assert.True(t, dashscope.IsAuth(err)) }},
		{name: "Arrearage is final", fault: dashscopetest.Fault{Status: 400, Code: "Arrearage", Message: "Access denied, please make sure your account is in good standing."}, times: 1, wantSends: 1,
			wantErr: func(t *testing.T, err error) { assert.True(t, dashscope.IsArrearage(err)) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := dashscopetest.NewServer(t)
			c := newClient(t, srv)
			srv.InjectFault(dashscopetest.EndpointSubmit, tc.times, tc.fault)
			task, err := c.Submit(t.Context(), outpaint)
			assert.Equal(t, tc.wantSends, srv.Count(dashscopetest.EndpointSubmit), "submissions sent")
			if tc.wantErr == nil {
				require.NoError(t, err)
				assert.Len(t, srv.TaskIDs(), 1)
				assert.Equal(t, srv.TaskIDs()[0], task.ID)
				return
			}
			require.Error(t, err)
			tc.wantErr(t, err)
		})
	}
}

func wantUncertain(t *testing.T, err error) {
	t.Helper()
	assert.ErrorIs(t, err, dashscope.ErrSubmitUncertain)
	var ue *dashscope.SubmitUncertainError
	require.ErrorAs(t, err, &ue)
	assert.False(t, ue.Since.IsZero())
	assert.Contains(t, err.Error(), "list tasks created since")
}

func TestSubmitWhoseAnswerIsLostCanBeFoundByListing(t *testing.T) {
	srv := dashscopetest.NewServer(t)
	c := newClient(t, srv)
	srv.InjectFault(dashscopetest.EndpointSubmit, 1, dashscopetest.Fault{Status: 502, Code: "InternalError", AfterAccept: true})

	_, err := c.Submit(t.Context(), outpaint)
	var ue *dashscope.SubmitUncertainError
	require.ErrorAs(t, err, &ue)
	require.Len(t, srv.TaskIDs(), 1, "the fake made the task before failing the response")
	assert.Equal(t, 1, srv.Count(dashscopetest.EndpointSubmit), "and the client did not pay twice")

	page, err := c.ListTasks(t.Context(), dashscope.ListFilter{Start: ue.Since.Add(-time.Second), End: ue.Since.Add(time.Minute)})
	require.NoError(t, err)
	require.Len(t, page.Tasks, 1)
	assert.Equal(t, srv.TaskIDs()[0], page.Tasks[0].ID)
}

func TestSubmitTimeoutIsUncertainAndNotRetried(t *testing.T) {
	srv := dashscopetest.NewServer(t)
	c := newClient(t, srv, dashscope.WithHTTPClient(&http.Client{Timeout: 50 * time.Millisecond}))
	srv.InjectFault(dashscopetest.EndpointSubmit, 1, dashscopetest.Fault{Delay: time.Second, AfterAccept: true, Status: 200})
	_, err := c.Submit(t.Context(), outpaint)
	wantUncertain(t, err)
	assert.Equal(t, 1, srv.Count(dashscopetest.EndpointSubmit))
}

func TestSubmitIsRetriedWhenNoConnectionWasMade(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now

	var dials atomic.Int32
	dialer := &net.Dialer{}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		dials.Add(1)
		return dialer.DialContext(ctx, network, a)
	}}}
	c, err := dashscope.NewClient(dashscope.WithAPIKey("k"), dashscope.WithBaseURL("http://"+addr+"/api/v1"), fastRetries, dashscope.WithHTTPClient(hc))
	require.NoError(t, err)
	_, err = c.Submit(t.Context(), outpaint)
	require.Error(t, err)
	assert.NotErrorIs(t, err, dashscope.ErrSubmitUncertain, "a refused connection sent nothing")
	assert.Contains(t, err.Error(), "connect")
	assert.EqualValues(t, 4, dials.Load(), "nothing was sent, so every attempt of the policy was made")
}

func TestPointerRequestsWorkToo(t *testing.T) {
	srv := dashscopetest.NewServer(t)
	c := newClient(t, srv)
	req := outpaint
	_, err := c.Submit(t.Context(), &req)
	require.NoError(t, err)
	assert.JSONEq(t, string(srv.Requests(dashscopetest.EndpointSubmit)[0].Body),
		`{"model":"wan2.1-vace-plus","input":{"function":"video_outpainting","prompt":"a violinist on a wider stage","video_url":"https://example.com/in.mp4"},"parameters":{"top_scale":1.5}}`)
}

func TestAPromptThatLooksLikeAnOSSURLDoesNotAskForOSSResolution(t *testing.T) {
	srv := dashscopetest.NewServer(t)
	c := newClient(t, srv)
	_, err := c.Submit(t.Context(), dashscope.VideoOutpainting{Prompt: "oss://not-a-url, just words", VideoURL: "https://x/v.mp4"})
	require.NoError(t, err)
	assert.Empty(t, srv.Requests(dashscopetest.EndpointSubmit)[0].Header.Get("X-DashScope-OssResourceResolve"))
}

func TestAKeyInALongPlainTextErrorIsRedactedBeforeShortening(t *testing.T) {
	const key = "sk-0123456789abcdef0123456789abcdef"
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, strings.Repeat("x", 190)+" upstream rejected "+key) // the key straddles byte 200
	}))
	defer proxy.Close()
	c, err := dashscope.NewClient(dashscope.WithAPIKey(key), dashscope.WithBaseURL(proxy.URL), dashscope.WithRetryPolicy(dashscope.RetryPolicy{Attempts: 1}))
	require.NoError(t, err)
	_, err = c.GetTask(t.Context(), "abc")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), key[:12], "not even the part of the key before the cut")
}

func TestReadsRetryTransientFailures(t *testing.T) {
	tests := []struct {
		name  string
		fault dashscopetest.Fault
		times int
		want  int // requests made
		ok    bool
	}{
		{"500 then success", dashscopetest.Fault{Status: 500, Code: "InternalError"}, 2, 3, true},
		{"503 then success", dashscopetest.Fault{Status: 503, Code: "SystemError"}, 1, 2, true},
		{"429 then success", dashscopetest.Fault{Status: 429, Code: "Throttling"}, 3, 4, true},
		{"reset then success", dashscopetest.Fault{Reset: true}, 1, 2, true},
		{"malformed then success", dashscopetest.Fault{Malformed: true}, 1, 2, true},
		{"500 forever gives up", dashscopetest.Fault{Status: 500, Code: "InternalError"}, 10, 4, false},
		{"400 is not retried", dashscopetest.Fault{Status: 400, Code: "InvalidParameter"}, 1, 1, false},
		{"401 is not retried", dashscopetest.Fault{Status: 401, Code: "InvalidApiKey"}, 1, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := dashscopetest.NewServer(t)
			c := newClient(t, srv)
			task, err := c.Submit(t.Context(), outpaint)
			require.NoError(t, err)

			srv.InjectFault(dashscopetest.EndpointGetTask, tc.times, tc.fault)
			got, err := c.GetTask(t.Context(), task.ID)
			assert.Equal(t, tc.want, srv.Count(dashscopetest.EndpointGetTask))
			if tc.ok {
				require.NoError(t, err)
				assert.Equal(t, task.ID, got.ID)
			} else {
				var apiErr *dashscope.APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, tc.fault.Status, apiErr.StatusCode)
			}

			srv.InjectFault(dashscopetest.EndpointListTasks, tc.times, tc.fault)
			before := srv.Count(dashscopetest.EndpointListTasks)
			_, err = c.ListTasks(t.Context(), dashscope.ListFilter{})
			assert.Equal(t, tc.want, srv.Count(dashscopetest.EndpointListTasks)-before)
			assert.Equal(t, tc.ok, err == nil, "%v", err)
		})
	}
}

func TestRetriesStopWhenTheContextEnds(t *testing.T) {
	srv := dashscopetest.NewServer(t)
	c := newClient(t, srv, dashscope.WithRetryPolicy(dashscope.RetryPolicy{Attempts: 100, Base: time.Hour, Max: time.Hour}))
	srv.InjectFault(dashscopetest.EndpointGetTask, 1, dashscopetest.Fault{Status: 500})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { _, err := c.GetTask(ctx, "0385dc79-5ff8-4d82-bcb6-000000000000"); done <- err }()
	require.Eventually(t, func() bool { return srv.Count(dashscopetest.EndpointGetTask) == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	assert.Equal(t, 1, srv.Count(dashscopetest.EndpointGetTask))
}

func TestAPIErrorCarriesStatusCodeMessageAndRequestID(t *testing.T) {
	srv := dashscopetest.NewServer(t)
	c := newClient(t, srv)
	srv.InjectFault(dashscopetest.EndpointGetTask, 1, dashscopetest.Fault{Status: 403, Code: "AccessDenied.Unpurchased", Message: "not purchased", UseMsg: true})
	_, err := c.GetTask(t.Context(), "abc")
	var apiErr *dashscope.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 403, apiErr.StatusCode)
	assert.Equal(t, "AccessDenied.Unpurchased", apiErr.Code)
	assert.Equal(t, "not purchased", apiErr.Message, "msg is read when message is absent")
	assert.NotEmpty(t, apiErr.RequestID)
	assert.True(t, dashscope.IsAuth(err))
	assert.Contains(t, err.Error(), apiErr.RequestID)
}

func TestWrongKeyIsAnAuthErrorThatNeverShowsTheKey(t *testing.T) {
	srv := dashscopetest.NewServer(t)
	const key = "sk-wrong-0123456789abcdef"
	c, err := dashscope.NewClient(dashscope.WithAPIKey(key), dashscope.WithBaseURL(srv.BaseURL()), fastRetries)
	require.NoError(t, err)
	_, err = c.Submit(t.Context(), outpaint)
	require.Error(t, err)
	assert.True(t, dashscope.IsAuth(err))
	assert.NotContains(t, err.Error(), key)

	// Even an upstream that echoes the key does not get it into an error.
	echo := dashscopetest.NewServer(t, dashscopetest.WithAPIKey(key))
	echo.InjectFault(dashscopetest.EndpointGetTask, 1, dashscopetest.Fault{Status: 400, Code: "InvalidParameter", Message: "bad request with key " + key})
	c2, err := echo.Client(fastRetries)
	require.NoError(t, err)
	_, err = c2.GetTask(t.Context(), "abc")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), key)
	assert.Contains(t, err.Error(), "[redacted]")
}

func TestNoKeyFailsWithoutARequest(t *testing.T) {
	srv := dashscopetest.NewServer(t)
	c, err := dashscope.NewClient(dashscope.WithBaseURL(srv.BaseURL()))
	require.NoError(t, err)
	_, err = c.GetTask(t.Context(), "abc")
	assert.ErrorIs(t, err, dashscope.ErrNoAPIKey, "a missing key is its own error, not a made-up 401")
	assert.False(t, dashscope.IsAuth(err))
	assert.Contains(t, err.Error(), "DASHSCOPE_API_KEY")
	_, err = c.Submit(t.Context(), dashscope.VideoOutpainting{Prompt: "p", VideoURL: "https://x/v.mp4"})
	assert.ErrorIs(t, err, dashscope.ErrNoAPIKey)
	assert.Empty(t, srv.Requests())
}

func TestBadTaskIDsAreRefusedBeforeAnyRequest(t *testing.T) {
	srv := dashscopetest.NewServer(t)
	c := newClient(t, srv)
	for _, id := range []string{"", "../uploads", "a b", "abc?x=1", strings.Repeat("a", 129), "任务"} {
		_, err := c.GetTask(t.Context(), id)
		var fe *dashscope.FieldError
		require.ErrorAs(t, err, &fe, "%q", id)
		assert.Equal(t, "task_id", fe.Field)
		assert.ErrorAs(t, c.CancelTask(t.Context(), id), &fe)
	}
	assert.Empty(t, srv.Requests())
}

// QueryTask, not GetTask: only the fake's clock moves here, so to the client
// its second-old answer about a running task is still the task's state.
func TestTaskLifecycleThroughQueryTask(t *testing.T) {
	clock := dashscopetest.NewManualClock(time.Now())
	srv := dashscopetest.NewServer(t, dashscopetest.WithClock(clock),
		dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Queue: 10 * time.Second, Run: 60 * time.Second, VideoDuration: 5}))
	c := newClient(t, srv, dashscope.WithClock(dashscope.RealClock{}))
	task, err := c.Submit(t.Context(), outpaint)
	require.NoError(t, err)

	got, err := c.QueryTask(t.Context(), task.ID)
	require.NoError(t, err)
	assert.Equal(t, dashscope.StatusPending, got.Status)
	assert.False(t, got.SubmitTime.IsZero())

	clock.Advance(30 * time.Second)
	got, err = c.QueryTask(t.Context(), task.ID)
	require.NoError(t, err)
	assert.Equal(t, dashscope.StatusRunning, got.Status)
	require.NotNil(t, got.Metrics)
	assert.Equal(t, 1, got.Metrics.Total)

	clock.Advance(50 * time.Second)
	got, err = c.QueryTask(t.Context(), task.ID)
	require.NoError(t, err)
	assert.Equal(t, dashscope.StatusSucceeded, got.Status)
	assert.True(t, strings.HasPrefix(got.VideoURL, srv.URL+"/results/"))
	require.NotNil(t, got.Usage)
	assert.Equal(t, 5.0, got.Usage.VideoDuration)
	assert.InDelta(t, 70, got.EndTime.Sub(got.SubmitTime.Time).Seconds(), 0.01)
	assert.Equal(t, outpaint.Prompt, got.OrigPrompt)
}

func TestFailedAndUnknownTasks(t *testing.T) {
	srv := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{FailCode: "InvalidParameter", FailMessage: "The size is not match xxxxxx"}))
	c := newClient(t, srv)
	task, err := c.Submit(t.Context(), outpaint)
	require.NoError(t, err)
	got, err := c.GetTask(t.Context(), task.ID)
	require.NoError(t, err)
	assert.Equal(t, dashscope.StatusFailed, got.Status)
	assert.Equal(t, "InvalidParameter", got.Code)
	assert.Equal(t, "The size is not match xxxxxx", got.Message)

	got, err = c.GetTask(t.Context(), "86ecf553-d340-4e21-0000-000000000000")
	require.NoError(t, err)
	assert.Equal(t, dashscope.StatusUnknown, got.Status)
	assert.True(t, got.Status.Terminal())
}

func TestCancelOnlyWhilePending(t *testing.T) {
	clock := dashscopetest.NewManualClock(time.Now())
	srv := dashscopetest.NewServer(t, dashscopetest.WithClock(clock),
		dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Queue: time.Hour, Run: time.Minute}))
	c := newClient(t, srv, dashscope.WithClock(dashscope.RealClock{}))
	task, err := c.Submit(t.Context(), outpaint)
	require.NoError(t, err)
	require.NoError(t, c.CancelTask(t.Context(), task.ID))
	got, err := c.GetTask(t.Context(), task.ID)
	require.NoError(t, err)
	assert.Equal(t, dashscope.StatusCanceled, got.Status)

	err = c.CancelTask(t.Context(), task.ID)
	assert.True(t, dashscope.IsUnsupportedOperation(err), "%v", err)
	assert.Equal(t, 2, srv.Count(dashscopetest.EndpointCancel), "an UnsupportedOperation is not retried")
}

func TestListTasksSendsFiltersAndReadsPages(t *testing.T) {
	srv := dashscopetest.NewServer(t)
	c := newClient(t, srv)
	for range 3 {
		_, err := c.Submit(t.Context(), outpaint)
		require.NoError(t, err)
	}
	start := time.Date(2026, 11, 21, 1, 2, 3, 0, time.UTC)
	_, err := c.ListTasks(t.Context(), dashscope.ListFilter{Start: start, End: start.Add(time.Hour), Status: dashscope.StatusRunning, PageNo: 2, PageSize: 5})
	require.NoError(t, err)
	q := srv.Requests(dashscopetest.EndpointListTasks)[0].Query
	assert.Equal(t, "20261121090203", q.Get("start_time"), "list times are UTC+8")
	assert.Equal(t, "20261121100203", q.Get("end_time"))
	assert.Equal(t, "RUNNING", q.Get("status"))
	assert.Equal(t, "wan2.1-vace-plus", q.Get("model_name"))
	assert.Equal(t, "2", q.Get("page_no"))
	assert.Equal(t, "5", q.Get("page_size"))

	page, err := c.ListTasks(t.Context(), dashscope.ListFilter{PageSize: 2})
	require.NoError(t, err)
	assert.Equal(t, 3, page.Total)
	assert.Equal(t, 2, page.TotalPage)
	require.Len(t, page.Tasks, 2)
	assert.Equal(t, dashscope.StatusPending, page.Tasks[0].Status)
	assert.False(t, page.Tasks[0].Created.IsZero())
	assert.Equal(t, srv.TaskIDs()[2], page.Tasks[0].ID, "newest first")

	page, err = c.ListTasks(t.Context(), dashscope.ListFilter{PageSize: 2, PageNo: 2})
	require.NoError(t, err)
	require.Len(t, page.Tasks, 1)
	assert.Equal(t, srv.TaskIDs()[0], page.Tasks[0].ID)

	_, err = c.ListTasks(t.Context(), dashscope.ListFilter{Start: start, End: start.Add(25 * time.Hour)})
	assert.True(t, dashscope.IsInvalidRequest(err), "the fake refuses windows over 24 h: %v", err)
}

func TestSubmitRateIsLimitedClientSide(t *testing.T) {
	srv := dashscopetest.NewServer(t)
	c, err := srv.Client(dashscope.WithRateLimits(dashscope.RateLimits{Submit: 20, Query: 1000}))
	require.NoError(t, err)
	for range 4 {
		_, err := c.Submit(t.Context(), outpaint)
		require.NoError(t, err)
	}
	reqs := srv.Requests(dashscopetest.EndpointSubmit)
	require.Len(t, reqs, 4)
	// At 20/s with no burst, consecutive submissions are at least ~50 ms apart.
	// (A lower bound only: a slow machine makes the gaps longer, never shorter.)
	for i := 1; i < len(reqs); i++ {
		assert.GreaterOrEqual(t, reqs[i].At.Sub(reqs[i-1].At), 45*time.Millisecond)
	}
}

func TestNewClientRefusesABadBaseURL(t *testing.T) {
	for _, u := range []string{"dashscope.aliyuncs.com", "ftp://x/api", "http://"} {
		_, err := dashscope.NewClient(dashscope.WithBaseURL(u))
		assert.Error(t, err, u)
	}
	c, err := dashscope.NewClient()
	require.NoError(t, err)
	assert.Equal(t, dashscope.RegionIntl.BaseURL, c.BaseURL())
	assert.Equal(t, "wan2.1-vace-plus", c.Model())
	assert.False(t, c.HasAPIKey())
}

func TestErrorHelpersMatchWrappedErrors(t *testing.T) {
	wrap := func(e *dashscope.APIError) error { return errors.Join(errors.New("context"), e) }
	assert.True(t, dashscope.IsThrottled(wrap(&dashscope.APIError{StatusCode: 429, Code: "Throttling.RateQuota"})))
	assert.True(t, dashscope.IsAuth(wrap(&dashscope.APIError{StatusCode: 401, Code: "InvalidApiKey"})))
	assert.False(t, dashscope.IsAuth(wrap(&dashscope.APIError{StatusCode: 400, Code: "InvalidParameter"})))
	assert.True(t, dashscope.IsInvalidRequest(wrap(&dashscope.APIError{StatusCode: 400, Code: "DataInspectionFailed"})))
	assert.False(t, dashscope.IsInvalidRequest(wrap(&dashscope.APIError{StatusCode: 400, Code: "UnsupportedOperation"})))
	assert.False(t, dashscope.IsThrottled(errors.New("429 Throttling")), "never judged by text")
}
