package dashscopetest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// These tests talk to the fake with plain HTTP, the way the vendor's curl
// examples do, to pin its wire format independently of the client.

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func send(t *testing.T, method, url, key string, header map[string]string, body string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	require.NoError(t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

var asyncJSON = map[string]string{"X-DashScope-Async": "enable", "Content-Type": "application/json"}

const outpaintBody = `{"model":"wan2.1-vace-plus","input":{"function":"video_outpainting","prompt":"p","video_url":"https://x/v.mp4"},"parameters":{"prompt_extend":false,"top_scale":1.5}}`

func submitURL(s *dashscopetest.Server) string {
	return s.BaseURL() + "/services/aigc/video-generation/video-synthesis"
}

func TestAuthAndAsyncHeaderAreChecked(t *testing.T) {
	s := dashscopetest.NewServer(t)
	r := send(t, "POST", submitURL(s), "", asyncJSON, outpaintBody)
	assert.Equal(t, 401, r.status)
	assert.Equal(t, "InvalidApiKey", r.body["code"])
	assert.Equal(t, "No API-key provided.", r.body["message"])
	assert.NotEmpty(t, r.body["request_id"])

	r = send(t, "GET", s.BaseURL()+"/tasks/abc", "sk-wrong", nil, "")
	assert.Equal(t, 401, r.status)
	assert.Equal(t, "Invalid API-key provided.", r.body["message"])

	r = send(t, "POST", submitURL(s), s.APIKey(), map[string]string{"Content-Type": "application/json"}, outpaintBody)
	assert.Equal(t, 400, r.status)
	assert.Contains(t, r.body["message"], "does not support synchronous calls")
	assert.Empty(t, s.TaskIDs())
}

func TestSubmissionsAreCheckedAsTheDocsDescribe(t *testing.T) {
	s := dashscopetest.NewServer(t)
	tests := []struct {
		name, body, code, says string
	}{
		{"no model", `{"input":{"function":"video_outpainting","prompt":"p","video_url":"https://x/v.mp4"}}`, "BadRequest.EmptyModel", "model"},
		{"unknown model", `{"model":"wan2.2-vace-plus","input":{"function":"video_outpainting","prompt":"p","video_url":"https://x/v.mp4"}}`, "InvalidParameter", "Model not exist"},
		{"no input", `{"model":"wan2.1-vace-plus"}`, "BadRequest.EmptyInput", "input"},
		{"bad function", `{"model":"wan2.1-vace-plus","input":{"function":"video_magic","prompt":"p"}}`, "InvalidParameter", "input.function"},
		{"no prompt", `{"model":"wan2.1-vace-plus","input":{"function":"video_outpainting","video_url":"https://x/v.mp4"}}`, "InvalidParameter", "prompt"},
		{"scale in input", `{"model":"wan2.1-vace-plus","input":{"function":"video_outpainting","prompt":"p","video_url":"https://x/v.mp4","top_scale":1.5}}`, "InvalidParameter", "belongs in the other object"},
		{"url in parameters", `{"model":"wan2.1-vace-plus","input":{"function":"video_outpainting","prompt":"p"},"parameters":{"video_url":"https://x/v.mp4"}}`, "InvalidParameter", `unknown field "video_url" in parameters`},
		{"scale out of range", `{"model":"wan2.1-vace-plus","input":{"function":"video_outpainting","prompt":"p","video_url":"https://x/v.mp4"},"parameters":{"left_scale":2.5}}`, "InvalidParameter", "left_scale"},
		{"bad url", `{"model":"wan2.1-vace-plus","input":{"function":"video_outpainting","prompt":"p","video_url":"file:///v.mp4"}}`, "InvalidURL", "video_url"},
		{"string for bool", `{"model":"wan2.1-vace-plus","input":{"function":"video_outpainting","prompt":"p","video_url":"https://x/v.mp4"},"parameters":{"prompt_extend":"false"}}`, "InvalidParameter", "boolean"},
		{"obj_or_bg length", `{"model":"wan2.1-vace-plus","input":{"function":"image_reference","prompt":"p","ref_images_url":["https://x/a.png","https://x/b.png"]},"parameters":{"obj_or_bg":["obj"]}}`, "InvalidParameter", "obj_or_bg"},
		{"repainting needs control_condition", `{"model":"wan2.1-vace-plus","input":{"function":"video_repainting","prompt":"p","video_url":"https://x/v.mp4"}}`, "InvalidParameter", "control_condition"},
		{"edit with two masks", `{"model":"wan2.1-vace-plus","input":{"function":"video_edit","prompt":"p","video_url":"https://x/v.mp4","mask_image_url":"https://x/m.png","mask_video_url":"https://x/m.mp4"}}`, "InvalidParameter", "exactly one"},
		{"extension without anchor", `{"model":"wan2.1-vace-plus","input":{"function":"video_extension","prompt":"p"}}`, "InvalidParameter", "at least one"},
		{"oss url without header", `{"model":"wan2.1-vace-plus","input":{"function":"video_outpainting","prompt":"p","video_url":"oss://dashscope-instant/x/v.mp4"}}`, "InvalidParameter", "X-DashScope-OssResourceResolve"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := send(t, "POST", submitURL(s), s.APIKey(), asyncJSON, tc.body)
			assert.Equal(t, 400, r.status, r.raw)
			assert.Equal(t, tc.code, r.body["code"])
			assert.Contains(t, r.body["message"], tc.says)
		})
	}
	assert.Empty(t, s.TaskIDs())
}

func TestTaskLifecycleOnTheWire(t *testing.T) {
	clock := dashscopetest.NewManualClock(time.Now())
	s := dashscopetest.NewServer(t, dashscopetest.WithClock(clock),
		dashscopetest.WithScript(func(sub dashscopetest.Submission) dashscopetest.Lifecycle {
			if strings.Contains(sub.Prompt, "fail") {
				return dashscopetest.Lifecycle{Queue: time.Second, Run: 5 * time.Second, FailCode: "InvalidParameter", FailMessage: "The size is not match xxxxxx"}
			}
			return dashscopetest.Lifecycle{Queue: time.Second, Run: 30 * time.Second, VideoDuration: 5}
		}))
	r := send(t, "POST", submitURL(s), s.APIKey(), asyncJSON, outpaintBody)
	require.Equal(t, 200, r.status, r.raw)
	out := r.body["output"].(map[string]any)
	assert.Equal(t, "PENDING", out["task_status"])
	id := out["task_id"].(string)
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, id)

	get := func() map[string]any {
		r := send(t, "GET", s.BaseURL()+"/tasks/"+id, s.APIKey(), nil, "")
		require.Equal(t, 200, r.status)
		return r.body
	}
	body := get()
	out = body["output"].(map[string]any)
	assert.Equal(t, "PENDING", out["task_status"])
	assert.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$`, out["submit_time"])
	assert.NotContains(t, out, "scheduled_time")

	clock.Advance(5 * time.Second)
	out = get()["output"].(map[string]any)
	assert.Equal(t, "RUNNING", out["task_status"])
	assert.Equal(t, map[string]any{"TOTAL": 1.0, "SUCCEEDED": 0.0, "FAILED": 0.0}, out["task_metrics"])

	clock.Advance(30 * time.Second)
	body = get()
	out = body["output"].(map[string]any)
	assert.Equal(t, "SUCCEEDED", out["task_status"])
	assert.Equal(t, map[string]any{"video_duration": 5.0, "video_ratio": "standard", "video_count": 1.0}, body["usage"])
	video := send(t, "GET", out["video_url"].(string), "", nil, "")
	assert.Equal(t, 200, video.status)
	assert.Equal(t, "video/mp4", video.header.Get("Content-Type"))
	assert.Equal(t, dashscopetest.SampleVideo, []byte(video.raw))

	failing := strings.Replace(outpaintBody, `"prompt":"p"`, `"prompt":"please fail"`, 1)
	r = send(t, "POST", submitURL(s), s.APIKey(), asyncJSON, failing)
	failID := r.body["output"].(map[string]any)["task_id"].(string)
	clock.Advance(10 * time.Second)
	out = send(t, "GET", s.BaseURL()+"/tasks/"+failID, s.APIKey(), nil, "").body["output"].(map[string]any)
	assert.Equal(t, "FAILED", out["task_status"])
	assert.Equal(t, "InvalidParameter", out["code"])
	assert.Equal(t, "The size is not match xxxxxx", out["message"])
}

func TestTasksAndVideosExpireAfter24Hours(t *testing.T) {
	clock := dashscope.NewScaledClock(1e6)
	s := dashscopetest.NewServer(t, dashscopetest.WithClock(clock), dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: time.Minute}))
	r := send(t, "POST", submitURL(s), s.APIKey(), asyncJSON, outpaintBody)
	id := r.body["output"].(map[string]any)["task_id"].(string)
	require.NoError(t, clock.Sleep(t.Context(), 2*time.Minute))
	out := send(t, "GET", s.BaseURL()+"/tasks/"+id, s.APIKey(), nil, "").body["output"].(map[string]any)
	require.Equal(t, "SUCCEEDED", out["task_status"])
	assert.Equal(t, 200, send(t, "GET", out["video_url"].(string), "", nil, "").status)

	require.NoError(t, clock.Sleep(t.Context(), 25*time.Hour))
	out = send(t, "GET", s.BaseURL()+"/tasks/"+id, s.APIKey(), nil, "").body["output"].(map[string]any)
	assert.Equal(t, "UNKNOWN", out["task_status"])
	assert.Equal(t, 403, send(t, "GET", s.URL+"/results/"+id+".mp4", "", nil, "").status)
}

func TestALongRunningFakeForgetsOldTasksAndRequests(t *testing.T) {
	clock := dashscope.NewScaledClock(1e6)
	s := dashscopetest.NewServer(t, dashscopetest.WithClock(clock), dashscopetest.WithRequestLimit(2))
	send(t, "POST", submitURL(s), s.APIKey(), asyncJSON, outpaintBody)
	require.NoError(t, clock.Sleep(t.Context(), 25*time.Hour))
	for range 4 {
		send(t, "POST", submitURL(s), s.APIKey(), asyncJSON, outpaintBody)
	}
	assert.Len(t, s.TaskIDs(), 4, "the day-old task is gone")
	assert.LessOrEqual(t, len(s.Requests()), 4, "the record keeps the newest requests")
}

func TestPromptsOverTheLimitAreCutSilently(t *testing.T) {
	s := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{}))
	long := strings.Repeat("猫", 900)
	r := send(t, "POST", submitURL(s), s.APIKey(), asyncJSON, strings.Replace(outpaintBody, `"prompt":"p"`, `"prompt":"`+long+`"`, 1))
	require.Equal(t, 200, r.status)
	id := r.body["output"].(map[string]any)["task_id"].(string)
	out := send(t, "GET", s.BaseURL()+"/tasks/"+id, s.APIKey(), nil, "").body["output"].(map[string]any)
	assert.Equal(t, strings.Repeat("猫", 800), out["orig_prompt"])
}

func TestFaultsApplyToTheNextRequestsOfAKind(t *testing.T) {
	s := dashscopetest.NewServer(t)
	s.InjectFault(dashscopetest.EndpointGetTask, 2, dashscopetest.Fault{Status: 429, Code: "Throttling.RateQuota", RetryAfter: 2 * time.Second})
	for range 2 {
		r := send(t, "GET", s.BaseURL()+"/tasks/x", s.APIKey(), nil, "")
		assert.Equal(t, 429, r.status)
		assert.Equal(t, "Throttling.RateQuota", r.body["code"])
		assert.Equal(t, "2", r.header.Get("Retry-After"))
	}
	assert.Equal(t, 200, send(t, "GET", s.BaseURL()+"/tasks/x", s.APIKey(), nil, "").status)
	assert.Equal(t, 200, send(t, "POST", submitURL(s), s.APIKey(), asyncJSON, outpaintBody).status, "other endpoints are untouched")

	s.InjectFault(dashscopetest.EndpointSubmit, 1, dashscopetest.Fault{Malformed: true})
	r := send(t, "POST", submitURL(s), s.APIKey(), asyncJSON, outpaintBody)
	assert.Equal(t, 200, r.status)
	assert.Nil(t, r.body, "the body is not JSON")

	s.InjectFault(dashscopetest.EndpointSubmit, 1, dashscopetest.Fault{Status: 500, Code: "InternalError", AfterAccept: true})
	r = send(t, "POST", submitURL(s), s.APIKey(), asyncJSON, outpaintBody)
	assert.Equal(t, 500, r.status)
	assert.Len(t, s.TaskIDs(), 2, "the task exists although the answer was an error")

	s.InjectFault(dashscopetest.EndpointGetTask, 1, dashscopetest.Fault{Reset: true})
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.BaseURL()+"/tasks/x", nil)
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}} // no silent retry on a reused connection
	_, err := fresh.Do(req)
	assert.Error(t, err, "the connection is closed without an answer")

	reqs := s.Requests(dashscopetest.EndpointSubmit)
	require.Len(t, reqs, 3)
	assert.Equal(t, "enable", reqs[0].Header.Get("X-DashScope-Async"))
	assert.JSONEq(t, outpaintBody, string(reqs[0].Body))
}

func TestCancelAndList(t *testing.T) {
	clock := dashscopetest.NewManualClock(time.Now())
	s := dashscopetest.NewServer(t, dashscopetest.WithClock(clock), dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Queue: 10 * time.Second, Run: time.Minute}))
	var ids []string
	for range 3 {
		r := send(t, "POST", submitURL(s), s.APIKey(), asyncJSON, outpaintBody)
		ids = append(ids, r.body["output"].(map[string]any)["task_id"].(string))
	}
	r := send(t, "POST", s.BaseURL()+"/tasks/"+ids[0]+"/cancel", s.APIKey(), nil, "")
	assert.Equal(t, 200, r.status)
	assert.NotEmpty(t, r.body["request_id"])

	clock.Advance(20 * time.Second)
	r = send(t, "POST", s.BaseURL()+"/tasks/"+ids[1]+"/cancel", s.APIKey(), nil, "")
	assert.Equal(t, 400, r.status)
	assert.Equal(t, "UnsupportedOperation", r.body["code"])

	r = send(t, "GET", s.BaseURL()+"/tasks?status=RUNNING&page_size=1", s.APIKey(), nil, "")
	require.Equal(t, 200, r.status)
	assert.Equal(t, 2.0, r.body["total"])
	assert.Equal(t, 2.0, r.body["total_page"])
	data := r.body["data"].([]any)
	require.Len(t, data, 1)
	row := data[0].(map[string]any)
	assert.Equal(t, ids[2], row["task_id"])
	assert.Equal(t, "RUNNING", row["status"])
	assert.IsType(t, 0.0, row["gmt_create"], "list times are epoch milliseconds")

	r = send(t, "GET", s.BaseURL()+"/tasks?status=CANCELED", s.APIKey(), nil, "")
	assert.Equal(t, 1.0, r.body["total"])
	r = send(t, "GET", s.BaseURL()+"/tasks?start_time=20250101000000&end_time=20250103000000", s.APIKey(), nil, "")
	assert.Equal(t, 400, r.status, "a window over 24 h is refused")
}

func TestUploadFlow(t *testing.T) {
	s := dashscopetest.NewServer(t, dashscopetest.WithUploadLimit(1))
	r := send(t, "GET", s.BaseURL()+"/uploads?action=getPolicy&model=wan2.1-vace-plus", s.APIKey(), nil, "")
	require.Equal(t, 200, r.status, r.raw)
	data := r.body["data"].(map[string]any)
	for _, k := range []string{"policy", "signature", "upload_dir", "upload_host", "oss_access_key_id", "x_oss_object_acl", "x_oss_forbid_overwrite"} {
		assert.NotEmpty(t, data[k], k)
	}
	assert.Equal(t, 1.0, data["max_file_size_mb"])

	form := func(fields [][2]string, fileFirst bool, content []byte) (*bytes.Buffer, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		writeFile := func() {
			fw, _ := mw.CreateFormFile("file", "clip.mp4")
			_, _ = fw.Write(content)
		}
		if fileFirst {
			writeFile()
		}
		for _, f := range fields {
			_ = mw.WriteField(f[0], f[1])
		}
		if !fileFirst {
			writeFile()
		}
		_ = mw.Close()
		return &b, mw.FormDataContentType()
	}
	key := data["upload_dir"].(string) + "/clip.mp4"
	fields := [][2]string{
		{"OSSAccessKeyId", data["oss_access_key_id"].(string)}, {"Signature", data["signature"].(string)},
		{"policy", data["policy"].(string)}, {"key", key}, {"x-oss-object-acl", "private"},
		{"x-oss-forbid-overwrite", "true"}, {"success_action_status", "200"},
	}
	post := func(body *bytes.Buffer, ct string, auth bool) int {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", data["upload_host"].(string), body)
		req.Header.Set("Content-Type", ct)
		if auth {
			req.Header.Set("Authorization", "Bearer "+s.APIKey())
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	body, ct := form(fields, true, []byte("x"))
	assert.Equal(t, 403, post(body, ct, false), "file must come last")
	body, ct = form(fields, false, []byte("x"))
	assert.Equal(t, 400, post(body, ct, true), "no Authorization header on the form")
	body, ct = form(fields, false, make([]byte, 1<<20+1))
	assert.Equal(t, 400, post(body, ct, false), "over max_file_size_mb")
	body, ct = form(fields, false, dashscopetest.SampleVideo)
	assert.Equal(t, 200, post(body, ct, false))
	body, ct = form(fields, false, dashscopetest.SampleVideo)
	assert.Equal(t, 409, post(body, ct, false), "x-oss-forbid-overwrite")

	ups := s.Uploads()
	require.Len(t, ups, 1)
	assert.Equal(t, key, ups[0].Key)
	assert.Equal(t, int64(len(dashscopetest.SampleVideo)), ups[0].Size)
	assert.Equal(t, "file", ups[0].Order[len(ups[0].Order)-1])
	assert.Equal(t, "wan2.1-vace-plus", ups[0].Model)

	withOSS := strings.Replace(outpaintBody, "https://x/v.mp4", "oss://"+key, 1)
	hdr := map[string]string{"X-DashScope-OssResourceResolve": "enable"}
	for k, v := range asyncJSON {
		hdr[k] = v
	}
	assert.Equal(t, 200, send(t, "POST", submitURL(s), s.APIKey(), hdr, withOSS).status)
	missing := strings.Replace(outpaintBody, "https://x/v.mp4", "oss://"+key+"-missing", 1)
	r = send(t, "POST", submitURL(s), s.APIKey(), hdr, missing)
	assert.Equal(t, 415, r.status)
	assert.Equal(t, "BadRequest.InputDownloadFailed", r.body["code"])
}
