package dashscopetest_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// The vendor's two wan2.7-videoedit example bodies, byte for byte as
// dashscope-wan27-videoedit.md gives them.
const (
	wan27StyleExample = `{"model": "wan2.7-videoedit",
 "input": {"prompt": "Convert the entire scene to a claymation style",
           "media": [{"type": "video", "url": "https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/20260402/ldnfdf/wan2.7-videoedit-style-change.mp4"}]},
 "parameters": {"resolution": "720P", "prompt_extend": true, "watermark": true}}`
	wan27ClothesExample = `{"model": "wan2.7-videoedit",
 "input": {"prompt": "Replace the girl's clothes in the video with the clothes from the image",
           "media": [{"type": "video", "url": "https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/20260403/nlspwm/T2VA_22.mp4"},
                     {"type": "reference_image", "url": "https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/20260402/fwjpqf/wan2.7-videoedit-change-clothes.png"}]},
 "parameters": {"resolution": "720P", "prompt_extend": true, "watermark": true}}`
)

// wan27Minimal is the least the docs require: the video alone.
const wan27Minimal = `{"model":"wan2.7-videoedit","input":{"media":[{"type":"video","url":"https://x/v.mp4"}]}}`

// wan27Body builds a wan2.7-videoedit body from the raw JSON of its input
// fields and parameters.
func wan27Body(input, params string) string {
	if params == "" {
		return fmt.Sprintf(`{"model":"wan2.7-videoedit","input":{%s}}`, input)
	}
	return fmt.Sprintf(`{"model":"wan2.7-videoedit","input":{%s},"parameters":{%s}}`, input, params)
}

const (
	video = `{"type":"video","url":"https://x/v.mp4"}`
	image = `{"type":"reference_image","url":"https://x/a.png"}`
)

func mediaOf(entries ...string) string { return `"media":[` + strings.Join(entries, ",") + `]` }

var pngData = "data:image/png;base64," + base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\n"))

func TestWan27BodiesTheDocsShowAreAccepted(t *testing.T) {
	var mu sync.Mutex
	var subs []dashscopetest.Submission
	s := dashscopetest.NewServer(t, dashscopetest.WithScript(func(sub dashscopetest.Submission) dashscopetest.Lifecycle {
		mu.Lock()
		defer mu.Unlock()
		subs = append(subs, sub)
		return dashscopetest.DefaultLifecycle
	}))
	bodies := []string{wan27StyleExample, wan27ClothesExample, wan27Minimal}
	for _, body := range bodies {
		r := send(t, "POST", submitURL(s), s.APIKey(), asyncJSON, body)
		require.Equal(t, 200, r.status, r.raw)
		assert.Equal(t, "PENDING", r.body["output"].(map[string]any)["task_status"])
	}

	reqs := s.Requests(dashscopetest.EndpointSubmit)
	require.Len(t, reqs, len(bodies))
	for i, body := range bodies {
		assert.Equal(t, body, string(reqs[i].Body), "the record keeps the exact bytes")
	}

	require.Len(t, subs, len(bodies))
	assert.Equal(t, dashscopetest.Wan27Model, subs[0].Model)
	assert.Empty(t, subs[0].Function, "wan2.7-videoedit has no function")
	assert.Equal(t, "Convert the entire scene to a claymation style", subs[0].Prompt)
	assert.Equal(t, []dashscopetest.Media{
		{Type: "video", URL: "https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/20260403/nlspwm/T2VA_22.mp4"},
		{Type: "reference_image", URL: "https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/20260402/fwjpqf/wan2.7-videoedit-change-clothes.png"},
	}, subs[1].Media)
	assert.Equal(t, "720P", subs[1].Parameters["resolution"])
	assert.Empty(t, subs[2].Prompt, "the prompt is optional")
	assert.Equal(t, []dashscopetest.Media{{Type: "video", URL: "https://x/v.mp4"}}, subs[2].Media)
}

func TestWan27BodiesWithinTheLimitsAreAccepted(t *testing.T) {
	s := dashscopetest.NewServer(t)
	tests := []struct{ name, body string }{
		{"every field", wan27Body(`"prompt":"make it snow","negative_prompt":"`+strings.Repeat("n", 500)+`",`+mediaOf(video, image, image, image, image),
			`"resolution":"1080P","ratio":"9:16","duration":10,"audio_setting":"origin","prompt_extend":false,"watermark":false,"seed":2147483647`)},
		{"the video after the images", wan27Body(mediaOf(image, video), "")},
		{"ratio 16:9", wan27Body(mediaOf(video), `"ratio":"16:9"`)},
		{"ratio 1:1", wan27Body(mediaOf(video), `"ratio":"1:1"`)},
		{"ratio 4:3", wan27Body(mediaOf(video), `"ratio":"4:3"`)},
		{"ratio 3:4", wan27Body(mediaOf(video), `"ratio":"3:4"`)},
		{"duration 0 keeps the whole input", wan27Body(mediaOf(video), `"duration":0`)},
		{"duration 2", wan27Body(mediaOf(video), `"duration":2`)},
		{"seed 0", wan27Body(mediaOf(video), `"seed":0`)},
		{"audio auto", wan27Body(mediaOf(video), `"audio_setting":"auto"`)},
		{"empty parameters", `{"model":"wan2.7-videoedit","input":{"media":[` + video + `]},"parameters":{}}`},
		{"png data URL", wan27Body(mediaOf(video, `{"type":"reference_image","url":"`+pngData+`"}`), "")},
		{"jpeg, bmp and webp data URLs", wan27Body(mediaOf(video,
			`{"type":"reference_image","url":"data:image/jpeg;base64,/9j/4A=="}`,
			`{"type":"reference_image","url":"data:image/bmp;base64,Qk0="}`,
			`{"type":"reference_image","url":"data:image/webp;base64,UklGRg=="}`), "")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := send(t, "POST", submitURL(s), s.APIKey(), asyncJSON, tc.body)
			assert.Equal(t, 200, r.status, r.raw)
		})
	}
}

func TestWan27PromptsOverTheLimitAreCutSilently(t *testing.T) {
	s := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{}))
	r := send(t, "POST", submitURL(s), s.APIKey(), asyncJSON, wan27Body(`"prompt":"`+strings.Repeat("猫", 5001)+`",`+mediaOf(video), ""))
	require.Equal(t, 200, r.status, r.raw)
	id := r.body["output"].(map[string]any)["task_id"].(string)
	out := send(t, "GET", s.BaseURL()+"/tasks/"+id, s.APIKey(), nil, "").body["output"].(map[string]any)
	assert.Equal(t, strings.Repeat("猫", 5000), out["orig_prompt"])
}

func TestWan27SubmissionsAreCheckedAsTheDocsDescribe(t *testing.T) {
	s := dashscopetest.NewServer(t)
	outpaintAsWan27 := strings.Replace(outpaintBody, `"wan2.1-vace-plus"`, `"wan2.7-videoedit"`, 1)
	wan27AsVACE := strings.Replace(wan27StyleExample, `"wan2.7-videoedit"`, `"wan2.1-vace-plus"`, 1)
	tests := []struct {
		name, body string
		status     int
		code, says string
	}{
		{"a function field", wan27Body(`"function":"video_edit",`+mediaOf(video), ""), 400, "InvalidParameter", "input.function"},
		{"a VACE body", outpaintAsWan27, 400, "InvalidParameter", "input.function"},
		{"a wan2.7 body for VACE", wan27AsVACE, 400, "InvalidParameter", "input.function"},
		{"a VACE media field", wan27Body(`"video_url":"https://x/v.mp4",`+mediaOf(video), ""), 400, "InvalidParameter", `unknown field "video_url" in input`},
		{"a parameter in input", wan27Body(`"resolution":"720P",`+mediaOf(video), ""), 400, "InvalidParameter", `"resolution" in input for wan2.7-videoedit (it belongs in the other object)`},
		{"media in parameters", wan27Body(mediaOf(video), mediaOf(video)), 400, "InvalidParameter", `"media" in parameters for wan2.7-videoedit (it belongs in the other object)`},
		{"a VACE parameter", wan27Body(mediaOf(video), `"size":"1280*720"`), 400, "InvalidParameter", `unknown field "size" in parameters`},
		{"parameters not an object", `{"model":"wan2.7-videoedit","input":{"media":[` + video + `]},"parameters":[]}`, 400, "InvalidParameter", "parameters must be a JSON object"},
		{"no input", `{"model":"wan2.7-videoedit"}`, 400, "BadRequest.EmptyInput", "input"},
		{"an empty input", `{"model":"wan2.7-videoedit","input":{}}`, 400, "BadRequest.EmptyInput", "input"},
		{"no media", wan27Body(`"prompt":"p"`, ""), 400, "InvalidParameter", "input.media is required"},
		{"null media", wan27Body(`"media":null`, ""), 400, "InvalidParameter", "input.media is required"},
		{"empty media", wan27Body(`"media":[]`, ""), 400, "InvalidParameter", "input.media is empty"},
		{"media an object", wan27Body(`"media":`+video, ""), 400, "InvalidParameter", "input.media must be an array"},
		{"media a URL list", wan27Body(`"media":["https://x/v.mp4"]`, ""), 400, "InvalidParameter", "input.media[0] must be"},
		{"an extra media field", wan27Body(mediaOf(`{"type":"video","url":"https://x/v.mp4","role":"main"}`), ""), 400, "InvalidParameter", `unknown field "role" in input.media[0]`},
		{"no type", wan27Body(mediaOf(`{"url":"https://x/v.mp4"}`), ""), 400, "InvalidParameter", "input.media[0].type"},
		{"a numeric type", wan27Body(mediaOf(`{"type":1,"url":"https://x/v.mp4"}`), ""), 400, "InvalidParameter", "input.media[0].type"},
		{"no url", wan27Body(mediaOf(`{"type":"video"}`), ""), 400, "InvalidParameter", "input.media[0].url"},
		{"an unknown type", wan27Body(mediaOf(video, `{"type":"image","url":"https://x/a.png"}`), ""), 400, "InvalidParameter", `input.media[1].type must be video or reference_image, got "image"`},
		{"no video", wan27Body(mediaOf(image), ""), 400, "InvalidParameter", "input.media must hold exactly one video, got 0"},
		{"two videos", wan27Body(mediaOf(video, video), ""), 400, "InvalidParameter", "input.media must hold exactly one video, got 2"},
		{"five images", wan27Body(mediaOf(video, image, image, image, image, image), ""), 400, "InvalidParameter", "input.media holds at most 4 reference_image entries, got 5"},
		{"a file video", wan27Body(mediaOf(`{"type":"video","url":"file:///v.mp4"}`), ""), 400, "InvalidURL", "input.media[0].url"},
		{"a video as data", wan27Body(mediaOf(`{"type":"video","url":"data:video/mp4;base64,AAAA"}`), ""), 400, "InvalidURL", "input.media[0].url"},
		{"a relative image", wan27Body(mediaOf(video, `{"type":"reference_image","url":"a.png"}`), ""), 400, "InvalidURL", "input.media[1].url"},
		{"data without base64", wan27Body(mediaOf(video, `{"type":"reference_image","url":"data:image/png,abc"}`), ""), 400, "InvalidURL", "input.media[1].url"},
		{"data without a type", wan27Body(mediaOf(video, `{"type":"reference_image","url":"data:;base64,AAAA"}`), ""), 400, "InvalidURL", "input.media[1].url"},
		{"data that does not decode", wan27Body(mediaOf(video, `{"type":"reference_image","url":"data:image/png;base64,%%%"}`), ""), 400, "InvalidURL", "input.media[1].url"},
		{"empty data", wan27Body(mediaOf(video, `{"type":"reference_image","url":"data:image/png;base64,"}`), ""), 400, "InvalidURL", "input.media[1].url"},
		{"a GIF", wan27Body(mediaOf(video, `{"type":"reference_image","url":"data:image/gif;base64,R0lGOA=="}`), ""), 415, "BadRequest.UnsupportedFileFormat", "input.media[1].url"},
		{"a numeric prompt", wan27Body(`"prompt":5,`+mediaOf(video), ""), 400, "InvalidParameter", "input.prompt must be a string"},
		{"a long negative prompt", wan27Body(`"negative_prompt":"`+strings.Repeat("n", 501)+`",`+mediaOf(video), ""), 400, "InvalidParameter", "input.negative_prompt"},
		{"a list negative prompt", wan27Body(`"negative_prompt":["blur"],`+mediaOf(video), ""), 400, "InvalidParameter", "input.negative_prompt must be a string"},
		{"a 4K resolution", wan27Body(mediaOf(video), `"resolution":"4K"`), 400, "InvalidParameter", "parameters.resolution"},
		{"a lower-case resolution", wan27Body(mediaOf(video), `"resolution":"720p"`), 400, "InvalidParameter", "parameters.resolution"},
		{"a numeric resolution", wan27Body(mediaOf(video), `"resolution":720`), 400, "InvalidParameter", "parameters.resolution must be a string"},
		{"a 21:9 ratio", wan27Body(mediaOf(video), `"ratio":"21:9"`), 400, "InvalidParameter", "parameters.ratio"},
		{"a VACE size as ratio", wan27Body(mediaOf(video), `"ratio":"1280*720"`), 400, "InvalidParameter", "parameters.ratio"},
		{"duration 1", wan27Body(mediaOf(video), `"duration":1`), 400, "InvalidParameter", "parameters.duration"},
		{"duration 11", wan27Body(mediaOf(video), `"duration":11`), 400, "InvalidParameter", "parameters.duration"},
		{"a negative duration", wan27Body(mediaOf(video), `"duration":-5`), 400, "InvalidParameter", "parameters.duration"},
		{"a fractional duration", wan27Body(mediaOf(video), `"duration":5.5`), 400, "InvalidParameter", "parameters.duration must be an integer"},
		{"a string duration", wan27Body(mediaOf(video), `"duration":"5"`), 400, "InvalidParameter", "parameters.duration must be an integer"},
		{"an unknown audio setting", wan27Body(mediaOf(video), `"audio_setting":"mute"`), 400, "InvalidParameter", "parameters.audio_setting"},
		{"a string prompt_extend", wan27Body(mediaOf(video), `"prompt_extend":"true"`), 400, "InvalidParameter", "parameters.prompt_extend must be a boolean"},
		{"a numeric watermark", wan27Body(mediaOf(video), `"watermark":1`), 400, "InvalidParameter", "parameters.watermark must be a boolean"},
		{"a negative seed", wan27Body(mediaOf(video), `"seed":-1`), 400, "InvalidParameter", "parameters.seed"},
		{"a seed too large", wan27Body(mediaOf(video), `"seed":2147483648`), 400, "InvalidParameter", "parameters.seed"},
		{"a string seed", wan27Body(mediaOf(video), `"seed":"7"`), 400, "InvalidParameter", "parameters.seed must be an integer"},
		{"an oss video without the header", wan27Body(mediaOf(`{"type":"video","url":"oss://dashscope-instant/x/v.mp4"}`), ""), 400, "InvalidParameter", "X-DashScope-OssResourceResolve"},
		{"an oss image without the header", wan27Body(mediaOf(video, `{"type":"reference_image","url":"oss://dashscope-instant/x/a.png"}`), ""), 400, "InvalidParameter", "X-DashScope-OssResourceResolve"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := send(t, "POST", submitURL(s), s.APIKey(), asyncJSON, tc.body)
			assert.Equal(t, tc.status, r.status, r.raw)
			assert.Equal(t, tc.code, r.body["code"])
			assert.Contains(t, r.body["message"], tc.says)
		})
	}
	assert.Empty(t, s.TaskIDs())
}

func TestWithModelsDecidesWhetherWan27IsServed(t *testing.T) {
	s := dashscopetest.NewServer(t, dashscopetest.WithModels(dashscope.RegionCN.Model))
	r := send(t, "POST", submitURL(s), s.APIKey(), asyncJSON, wan27Minimal)
	assert.Equal(t, 400, r.status)
	assert.Contains(t, r.body["message"], "Model not exist")

	s = dashscopetest.NewServer(t, dashscopetest.WithModels(dashscopetest.Wan27Model))
	assert.Equal(t, 200, send(t, "POST", submitURL(s), s.APIKey(), asyncJSON, wan27Minimal).status)
	assert.Equal(t, 400, send(t, "POST", submitURL(s), s.APIKey(), asyncJSON, outpaintBody).status)
}

// base64Stream yields Base64 characters without end, to stand for a large
// body without holding it.
type base64Stream struct{}

func (base64Stream) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'A'
	}
	return len(p), nil
}

func TestABodyOverTheLimitIsRefused(t *testing.T) {
	s := dashscopetest.NewServer(t)
	const size = 200 << 20 // over the fake's limit; four 20 MB images in Base64 are about 107 MB
	req, err := http.NewRequestWithContext(t.Context(), "POST", submitURL(s), io.LimitReader(base64Stream{}, size))
	require.NoError(t, err)
	req.ContentLength = size
	req.Header.Set("Authorization", "Bearer "+s.APIKey())
	for k, v := range asyncJSON {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, 413, resp.StatusCode)
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Equal(t, "BadRequest.TooLarge", body["code"])
	assert.Empty(t, s.TaskIDs())
	reqs := s.Requests(dashscopetest.EndpointSubmit)
	require.Len(t, reqs, 1, "the refused request is in the record")
	assert.Nil(t, reqs[0].Body)
}
