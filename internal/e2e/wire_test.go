package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// TestEverySubmitToolSendsExactlyTheDocumentedBytes compares, for a minimal
// and a maximal call of every submit tool, the exact bytes DashScope
// receives: what the caller leaves out never reaches the wire.
func TestEverySubmitToolSendsExactlyTheDocumentedBytes(t *testing.T) {
	const m = `{"model":"wan2.1-vace-plus","input":{"function":`
	tests := []struct {
		name, tool string
		args       map[string]any
		body       string
	}{
		{"image_reference/minimal", "image_reference",
			map[string]any{"prompt": "a girl", "ref_images_url": []any{"https://x/a.png"}},
			m + `"image_reference","prompt":"a girl","ref_images_url":["https://x/a.png"]},"parameters":{}}`},
		{"image_reference/maximal", "image_reference",
			map[string]any{"prompt": "a girl in a misty forest", "ref_images_url": []any{"https://x/a.png", "https://x/b.png?x=1&y=2"}, "obj_or_bg": []any{"obj", "bg"}, "size": "960*960", "prompt_extend": true, "seed": 7, "watermark": true, "allow_duplicate": true},
			m + `"image_reference","prompt":"a girl in a misty forest","ref_images_url":["https://x/a.png","https://x/b.png?x=1&y=2"]},"parameters":{"prompt_extend":true,"obj_or_bg":["obj","bg"],"size":"960*960","seed":7,"watermark":true}}`},
		{"video_repainting/minimal", "video_repainting",
			map[string]any{"prompt": "a car", "video_url": "https://x/v.mp4", "control_condition": "depth"},
			m + `"video_repainting","prompt":"a car","video_url":"https://x/v.mp4"},"parameters":{"control_condition":"depth"}}`},
		{"video_repainting/maximal", "video_repainting",
			map[string]any{"prompt": "a steampunk car", "video_url": "https://x/v.mp4", "ref_images_url": []any{"https://x/car.png"}, "control_condition": "posebody", "strength": 0.5, "prompt_extend": false, "seed": 0, "watermark": false},
			m + `"video_repainting","prompt":"a steampunk car","video_url":"https://x/v.mp4","ref_images_url":["https://x/car.png"]},"parameters":{"prompt_extend":false,"control_condition":"posebody","strength":0.5,"seed":0,"watermark":false}}`},
		{"video_edit/minimal", "video_edit",
			map[string]any{"prompt": "a lion", "video_url": "https://x/v.mp4", "mask_image_url": "https://x/m.png"},
			m + `"video_edit","prompt":"a lion","mask_image_url":"https://x/m.png","video_url":"https://x/v.mp4"},"parameters":{}}`},
		{"video_edit/maximal", "video_edit",
			map[string]any{"prompt": "a lion sipping coffee", "video_url": "https://x/v.mp4", "mask_image_url": "https://x/m.png", "mask_frame_id": 3, "ref_images_url": []any{"https://x/lion.png"}, "mask_type": "tracking", "expand_ratio": 0.2, "expand_mode": "bbox", "control_condition": "depth", "size": "720*1280", "prompt_extend": false, "seed": 2147483647, "watermark": true},
			m + `"video_edit","prompt":"a lion sipping coffee","mask_image_url":"https://x/m.png","video_url":"https://x/v.mp4","mask_frame_id":3,"ref_images_url":["https://x/lion.png"]},"parameters":{"prompt_extend":false,"mask_type":"tracking","expand_ratio":0.2,"expand_mode":"bbox","control_condition":"depth","size":"720*1280","seed":2147483647,"watermark":true}}`},
		{"video_edit/mask_video", "video_edit",
			map[string]any{"prompt": "a lion", "video_url": "https://x/v.mp4", "mask_video_url": "https://x/m.mp4", "mask_type": "fixed"},
			m + `"video_edit","prompt":"a lion","mask_video_url":"https://x/m.mp4","video_url":"https://x/v.mp4"},"parameters":{"mask_type":"fixed"}}`},
		{"video_extension/minimal", "video_extension",
			map[string]any{"prompt": "a dog", "first_frame_url": "https://x/f.png"},
			m + `"video_extension","prompt":"a dog","first_frame_url":"https://x/f.png"},"parameters":{}}`},
		{"video_extension/maximal", "video_extension",
			map[string]any{"prompt": "a dog skateboarding", "first_clip_url": "https://x/c.mp4", "last_clip_url": "https://x/d.mp4", "first_frame_url": "https://x/f.png", "last_frame_url": "https://x/g.png", "video_url": "https://x/motion.mp4", "control_condition": "posebodyface", "prompt_extend": true, "seed": 1, "watermark": false},
			m + `"video_extension","prompt":"a dog skateboarding","first_clip_url":"https://x/c.mp4","last_clip_url":"https://x/d.mp4","first_frame_url":"https://x/f.png","last_frame_url":"https://x/g.png","video_url":"https://x/motion.mp4"},"parameters":{"prompt_extend":true,"control_condition":"posebodyface","seed":1,"watermark":false}}`},
		{"video_outpainting/minimal", "video_outpainting",
			map[string]any{"prompt": "an orchestra", "video_url": "https://x/v.mp4"},
			m + `"video_outpainting","prompt":"an orchestra","video_url":"https://x/v.mp4"},"parameters":{}}`},
		{"video_outpainting/maximal", "video_outpainting",
			map[string]any{"prompt": "a violinist and an orchestra", "video_url": "https://x/v.mp4", "top_scale": 1.5, "bottom_scale": 1.2, "left_scale": 2, "right_scale": 1, "prompt_extend": false, "seed": 42, "watermark": true},
			m + `"video_outpainting","prompt":"a violinist and an orchestra","video_url":"https://x/v.mp4"},"parameters":{"prompt_extend":false,"top_scale":1.5,"bottom_scale":1.2,"left_scale":2,"right_scale":1,"seed":42,"watermark":true}}`},
	}
	fake := newFake(t)
	s := startStdio(t, startOptions{env: fakeEnv(fake), legacy: true})
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := call(t, s.Client, tc.tool, tc.args)
			require.False(t, res.IsError, text(res))
			out := structured(t, res)
			assert.Equal(t, "PENDING", out["status"])
			assert.Equal(t, tc.tool, out["function"])
			reqs := fake.Requests(dashscopetest.EndpointSubmit)
			require.Len(t, reqs, i+1)
			assert.Equal(t, tc.body, string(reqs[i].Body))
			assert.Empty(t, reqs[i].Header.Get("X-DashScope-OssResourceResolve"), "no oss:// input, no resolve header")
			ids := fake.TaskIDs()
			require.Len(t, ids, i+1)
			assert.Equal(t, ids[i], out["task_id"])
		})
	}
}

// TestTheSeedPagesReplayThroughAProxyRoot replays the first seed page as it
// is written: a proxy's /qwen/api/v1 root with the Beijing model name.
func TestTheSeedPagesReplayThroughAProxyRoot(t *testing.T) {
	const prompt = "Example prompt from provider documentation."
	const media = "http://wanx.alicdn.com/material/20250318/"
	tests := []struct {
		golden, tool string
		args         map[string]any
	}{
		{"cn_video_repainting", "video_repainting", map[string]any{"prompt": prompt, "video_url": media + "video_repainting_1.mp4", "prompt_extend": false, "control_condition": "depth"}},
		{"cn_video_edit", "video_edit", map[string]any{"prompt": prompt, "mask_image_url": media + "video_edit_1_mask.png", "video_url": media + "video_edit_2.mp4", "mask_frame_id": 1, "prompt_extend": false, "mask_type": "tracking", "expand_ratio": 0.05}},
		{"cn_video_extension", "video_extension", map[string]any{"prompt": prompt, "first_clip_url": media + "video_extension_1.mp4", "prompt_extend": false}},
		{"cn_video_outpainting", "video_outpainting", map[string]any{"prompt": prompt, "video_url": media + "video_outpainting_1.mp4", "prompt_extend": false, "top_scale": 1.5, "bottom_scale": 1.5, "left_scale": 1.5, "right_scale": 1.5}},
	}
	fake := newFake(t, dashscopetest.WithPathPrefix("/qwen/api/v1"), dashscopetest.WithModels("wanx2.1-vace-plus"))
	s := startStdio(t, startOptions{
		env:    []string{"DASHSCOPE_API_KEY=" + fake.APIKey()},
		args:   []string{"--base-url", fake.URL + "/qwen/api/v1", "--model", "wanx2.1-vace-plus"},
		legacy: true,
	})
	for i, tc := range tests {
		t.Run(tc.golden, func(t *testing.T) {
			res := call(t, s.Client, tc.tool, tc.args)
			require.False(t, res.IsError, text(res))
			raw, err := os.ReadFile(filepath.Join("..", "..", "dashscope", "testdata", "golden", tc.golden+".json"))
			require.NoError(t, err)
			var want bytes.Buffer
			require.NoError(t, json.Compact(&want, raw))
			reqs := fake.Requests(dashscopetest.EndpointSubmit)
			require.Len(t, reqs, i+1)
			assert.Equal(t, want.String(), string(reqs[i].Body))
			assert.Equal(t, "/qwen/api/v1/services/aigc/video-generation/video-synthesis", reqs[i].Path)
		})
	}
}

// TestIdenticalConcurrentCallsPayOnce fires 32 identical calls at once: one
// submission reaches DashScope and every call answers with its task.
func TestIdenticalConcurrentCallsPayOnce(t *testing.T) {
	fake := newFake(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: time.Hour}))
	s := startStdio(t, startOptions{env: fakeEnv(fake), legacy: true})
	args := map[string]any{"prompt": "wider", "video_url": "https://x/v.mp4", "top_scale": 1.5}
	const n = 32
	ids := make([]any, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res := call(t, s.Client, "video_outpainting", args)
			if assert.False(t, res.IsError, text(res)) {
				ids[i] = structured(t, res)["task_id"]
			}
		})
	}
	wg.Wait()
	require.Equal(t, 1, fake.Count(dashscopetest.EndpointSubmit), "one paid submission")
	for i := range n {
		assert.Equal(t, fake.TaskIDs()[0], ids[i], "call %d", i)
	}
}

// TestOneRequestWrittenManyWaysIsOneJob writes one request in the ways a
// model or a person does (defaults spelled out, a host's case, one local
// file by path, file:// URL, doubled slash and link): all are one paid job.
func TestOneRequestWrittenManyWaysIsOneJob(t *testing.T) {
	dir, _ := mediaDir(t)
	video := filepath.Join(dir, "in.mp4")
	require.NoError(t, os.Symlink(video, filepath.Join(dir, "alias.mp4")))
	fake := newFake(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: time.Hour}))
	s := startStdio(t, startOptions{env: fakeEnv(fake), args: []string{"--allow-dir", dir}, legacy: true})

	byURL := []map[string]any{
		{"prompt": "wider", "video_url": "https://cdn.example.com/v.mp4", "top_scale": 1.5},
		{"prompt": "wider", "video_url": "https://CDN.Example.com/v.mp4", "top_scale": 1.5, "prompt_extend": true, "watermark": false,
			"bottom_scale": 1, "left_scale": 1.0, "right_scale": 1},
	}
	byFile := []map[string]any{
		{"prompt": "wider", "video_url": video, "top_scale": 1.5},
		{"prompt": "wider", "video_url": "file://" + video, "top_scale": 1.5},
		{"prompt": "wider", "video_url": dir + "//in.mp4", "top_scale": 1.5, "prompt_extend": true},
		{"prompt": "wider", "video_url": filepath.Join(dir, "alias.mp4"), "top_scale": 1.5},
	}
	for _, group := range [][]map[string]any{byURL, byFile} {
		var first any
		for i, args := range group {
			out := structured(t, call(t, s.Client, "video_outpainting", args))
			if i == 0 {
				first = out["task_id"]
				continue
			}
			assert.Equal(t, first, out["task_id"], "%v", args)
			assert.Equal(t, true, out["duplicate"], "%v", args)
		}
	}
	assert.Equal(t, 2, fake.Count(dashscopetest.EndpointSubmit), "one job for the URL, one for the file")
	assert.Len(t, fake.Uploads(), 1, "the file is uploaded once")

	sent := fake.Requests(dashscopetest.EndpointSubmit)
	assert.Contains(t, string(sent[0].Body), `"video_url":"https://cdn.example.com/v.mp4"`, "what goes on the wire is what the caller sent")
}

// TestIntegersAreReadInAnyJSONSpelling: JSON Schema's "integer" is any whole
// number however it is written, so 3.0 and 30e-1 are the seed 3 (one job,
// sent as 3); a fraction is refused by the argument's name, and nothing is sent.
func TestIntegersAreReadInAnyJSONSpelling(t *testing.T) {
	fake := newFake(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: time.Hour}))
	s := startStdio(t, startOptions{env: fakeEnv(fake), legacy: true})
	callRaw := func(tool, args string) *mcp.CallToolResult {
		t.Helper()
		req := mcp.CallToolRequest{}
		req.Params.Name = tool
		req.Params.RawArguments = json.RawMessage(args)
		res, err := s.Client.CallTool(t.Context(), req)
		require.NoError(t, err)
		return res
	}
	var first any
	for _, seed := range []string{"3.0", "30e-1", "3e0", "3"} {
		res := callRaw("video_outpainting", `{"prompt":"p","video_url":"https://x/v.mp4","seed":`+seed+`}`)
		require.False(t, res.IsError, "seed %s: %s", seed, text(res))
		if first == nil {
			first = structured(t, res)["task_id"]
		}
		assert.Equal(t, first, structured(t, res)["task_id"], "seed %s is the same job", seed)
	}
	sent := fake.Requests(dashscopetest.EndpointSubmit)
	require.Len(t, sent, 1)
	assert.Contains(t, string(sent[0].Body), `"seed":3}`)

	res := callRaw("video_outpainting", `{"prompt":"q","video_url":"https://x/v.mp4","seed":2147483647.0}`)
	require.False(t, res.IsError, text(res))
	assert.Contains(t, string(fake.Requests(dashscopetest.EndpointSubmit)[1].Body), `"seed":2147483647}`, "exact at the top of the range")

	res = callRaw("video_outpainting", `{"prompt":"r","video_url":"https://x/v.mp4","seed":3.5}`)
	require.True(t, res.IsError)
	assert.Contains(t, text(res), "seed: must be an integer, not 3.5")
	res = callRaw("list_tasks", `{"page_no":1.0,"page_size":5e0}`)
	require.False(t, res.IsError, text(res))
	assert.Equal(t, "5", fake.Requests(dashscopetest.EndpointListTasks)[0].Query.Get("page_size"))
	assert.Equal(t, 2, fake.Count(dashscopetest.EndpointSubmit))
}
