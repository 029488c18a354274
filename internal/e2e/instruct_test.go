package e2e

import (
	"bytes"
	be "encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// The vendor's two example bodies for wan2.7-videoedit, byte for byte.
const (
	vendorStyleBody   = `{"model":"wan2.7-videoedit","input":{"prompt":"Convert the entire scene to a claymation style","media":[{"type":"video","url":"https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/20260402/ldnfdf/wan2.7-videoedit-style-change.mp4"}]},"parameters":{"resolution":"720P","prompt_extend":true,"watermark":true}}`
	vendorClothesBody = `{"model":"wan2.7-videoedit","input":{"prompt":"Replace the girl's clothes in the video with the clothes from the image","media":[{"type":"video","url":"https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/20260403/nlspwm/T2VA_22.mp4"},{"type":"reference_image","url":"https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/20260402/fwjpqf/wan2.7-videoedit-change-clothes.png"}]},"parameters":{"resolution":"720P","prompt_extend":true,"watermark":true}}`
)

func TestVideoInstructEditSendsExactlyTheDocumentedBytes(t *testing.T) {
	tests := []struct {
		name string
		args map[string]any
		body string
	}{
		{"vendor style change", map[string]any{"prompt": "Convert the entire scene to a claymation style",
			"video_url":  "https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/20260402/ldnfdf/wan2.7-videoedit-style-change.mp4",
			"resolution": "720P", "prompt_extend": true, "watermark": true}, vendorStyleBody},
		{"vendor clothes", map[string]any{"prompt": "Replace the girl's clothes in the video with the clothes from the image",
			"video_url":      "https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/20260403/nlspwm/T2VA_22.mp4",
			"ref_images_url": []any{"https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/20260402/fwjpqf/wan2.7-videoedit-change-clothes.png"},
			"resolution":     "720P", "prompt_extend": true, "watermark": true}, vendorClothesBody},
		{"minimal", map[string]any{"video_url": "https://x/v.mp4"},
			`{"model":"wan2.7-videoedit","input":{"media":[{"type":"video","url":"https://x/v.mp4"}]},"parameters":{}}`},
		{"maximal", map[string]any{"prompt": "make it rain", "negative_prompt": "blur", "video_url": "https://x/v.mov",
			"ref_images_url": []any{"https://x/1.png", "https://x/2.png", "https://x/3.png", "https://x/4.png"},
			"resolution":     "1080P", "ratio": "9:16", "duration": 10, "audio_setting": "origin", "prompt_extend": false,
			"watermark": false, "seed": 2147483647, "allow_duplicate": true},
			`{"model":"wan2.7-videoedit","input":{"prompt":"make it rain","negative_prompt":"blur","media":[{"type":"video","url":"https://x/v.mov"},` +
				`{"type":"reference_image","url":"https://x/1.png"},{"type":"reference_image","url":"https://x/2.png"},{"type":"reference_image","url":"https://x/3.png"},{"type":"reference_image","url":"https://x/4.png"}]},` +
				`"parameters":{"resolution":"1080P","ratio":"9:16","duration":10,"audio_setting":"origin","prompt_extend":false,"watermark":false,"seed":2147483647}}`},
	}
	fake := newFake(t)
	for _, transport := range []string{"stdio", "http"} {
		t.Run(transport, func(t *testing.T) {
			var s *session
			if transport == "stdio" {
				s = startStdio(t, startOptions{env: fakeEnv(fake), legacy: true})
			} else {
				s = connectHTTP(t, startHTTP(t, "http", fakeEnv(fake)), "http", true, nil)
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					before := fake.Count(dashscopetest.EndpointSubmit)
					res := call(t, s.Client, "video_instruct_edit", tc.args)
					require.False(t, res.IsError, text(res))
					out := structured(t, res)
					assert.Equal(t, "video_instruct_edit", out["function"])
					reqs := fake.Requests(dashscopetest.EndpointSubmit)
					require.Len(t, reqs, before+1)
					assert.Equal(t, tc.body, string(reqs[before].Body))
				})
			}
		})
	}
}

func TestVideoInstructEditRefusesEveryLimitAndSendsNothing(t *testing.T) {
	dir, _ := mediaDir(t)
	writeAlphaPNG(t, filepath.Join(dir, "alpha.png"), 400, 400)
	v := "https://x/v.mp4"
	five := []any{"https://x/1.png", "https://x/2.png", "https://x/3.png", "https://x/4.png", "https://x/5.png"}
	tests := []struct {
		name  string
		args  map[string]any
		field string
	}{
		{"prompt too long", map[string]any{"video_url": v, "prompt": strings.Repeat("a", 5001)}, "prompt"},
		{"negative prompt too long", map[string]any{"video_url": v, "negative_prompt": strings.Repeat("a", 501)}, "negative_prompt"},
		{"no video", map[string]any{"prompt": "p"}, "video_url"},
		{"five images", map[string]any{"video_url": v, "ref_images_url": five}, "ref_images_url"},
		{"resolution", map[string]any{"video_url": v, "resolution": "4K"}, "resolution"},
		{"ratio", map[string]any{"video_url": v, "ratio": "2:1"}, "ratio"},
		{"duration too short", map[string]any{"video_url": v, "duration": 1}, "duration"},
		{"duration too long", map[string]any{"video_url": v, "duration": 11}, "duration"},
		{"audio setting", map[string]any{"video_url": v, "audio_setting": "mute"}, "audio_setting"},
		{"seed", map[string]any{"video_url": v, "seed": -1}, "seed"},
		{"a local video too small", map[string]any{"video_url": filepath.Join(dir, "in.mp4")}, "video_url"},
		{"a local image with alpha", map[string]any{"video_url": v, "ref_images_url": []any{filepath.Join(dir, "alpha.png")}}, "ref_images_url[0]"},
		{"a local image too small", map[string]any{"video_url": v, "ref_images_url": []any{filepath.Join(dir, "tiny.png")}}, "ref_images_url[0]"},
	}
	fake := newFake(t)
	s := startStdio(t, startOptions{env: fakeEnv(fake), args: []string{"--allow-dir", dir}, legacy: true})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := call(t, s.Client, "video_instruct_edit", tc.args)
			require.True(t, res.IsError, text(res))
			assert.Contains(t, text(res), "- "+tc.field+":")
			assert.Contains(t, text(res), "nothing was sent")
		})
	}
	assert.Zero(t, fake.Count(dashscopetest.EndpointSubmit))
	assert.Empty(t, fake.Uploads())
}

func TestVideoInstructEditUploadsLocalMP4AndMOVForItsModel(t *testing.T) {
	dir := t.TempDir()
	mp4 := resized(t, dashscopetest.SampleVideo, 640, 360)
	mov := append([]byte(nil), mp4...)
	copy(mov[bytes.Index(mov, []byte("ftyp"))+4:], "qt  ") // a QuickTime brand makes it a MOV
	require.NoError(t, os.WriteFile(filepath.Join(dir, "clip.mp4"), mp4, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "clip.mov"), mov, 0o644))
	writePNG(t, filepath.Join(dir, "ref.png"), 400, 400)
	fake := newFake(t)
	s := startStdio(t, startOptions{env: fakeEnv(fake), args: []string{"--allow-dir", dir}, legacy: true})
	for i, name := range []string{"clip.mp4", "clip.mov"} {
		res := call(t, s.Client, "video_instruct_edit", map[string]any{"prompt": "claymation " + name,
			"video_url": filepath.Join(dir, name), "ref_images_url": []any{filepath.Join(dir, "ref.png")}})
		require.False(t, res.IsError, text(res))
		sub := fake.Requests(dashscopetest.EndpointSubmit)[i]
		assert.Equal(t, "enable", sub.Header.Get("X-DashScope-OssResourceResolve"))
		assert.Regexp(t, `"media":\[\{"type":"video","url":"oss://[^"]+`+strings.ReplaceAll(name, ".", `\.`)+`"\},\{"type":"reference_image","url":"oss://[^"]+ref\.png"\}\]`, string(sub.Body))
	}
	for _, p := range fake.Policies() {
		assert.Equal(t, "wan2.7-videoedit", p.Model, "files are uploaded for the model that uses them")
	}
	assert.Len(t, fake.Policies(), 4)
}

func TestVideoInstructEditRunsInTheSandboxAndSaysWhatIsBilled(t *testing.T) {
	stdout, stderr, code := runCLI(t, t.TempDir(), nil, "call", "video_instruct_edit", "--sandbox", "--prompt", "turn it into claymation",
		"--video_url", "https://example.com/in.mp4", "--resolution", "720P", "--wait", "--json", "--poll-interval", "500ms")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stdout, `"status": "SUCCEEDED"`)
	assert.Contains(t, stdout, `"simulated": true`)
	assert.Contains(t, stdout, `"billed_seconds"`)
	assert.Contains(t, stdout, `"input_video_duration"`)
}

// resized returns an MP4 whose track header says w×h, for the media checks
// that read it; the fake does not look at pixels.
func resized(t *testing.T, mp4 []byte, w, h uint32) []byte {
	t.Helper()
	out := append([]byte(nil), mp4...)
	i := bytes.Index(out, []byte("tkhd"))
	require.Positive(t, i)
	at := i + 4 + 76 // version 0: the 16.16 width and height end the box
	if out[i+4] == 1 {
		at += 12
	}
	be.BigEndian.PutUint32(out[at:], w<<16)
	be.BigEndian.PutUint32(out[at+4:], h<<16)
	return out
}
