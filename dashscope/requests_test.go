package dashscope

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	sampleVideo = "http://wanx.alicdn.com/material/20250318/"
)

// goldenPrompt reads the prompt of a golden body, so the tables below state
// only structure.
func goldenPrompt(t *testing.T, name string) string {
	t.Helper()
	var body struct {
		Input struct{ Prompt string } `json:"input"`
	}
	require.NoError(t, json.Unmarshal(readGolden(t, name), &body))
	return body.Input.Prompt
}

func readGolden(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "golden", name+".json"))
	require.NoError(t, err)
	var compact bytes.Buffer
	require.NoError(t, json.Compact(&compact, raw))
	return compact.Bytes()
}

// goldenRequests builds, for each vendor example body, the typed request that
// must produce it.
func goldenRequests(t *testing.T) []struct {
	name, model string
	req         Request
} {
	p := func(name string) string { return goldenPrompt(t, name) }
	return []struct {
		name, model string
		req         Request
	}{
		{"intl_image_reference", RegionIntl.Model, ImageReference{
			Prompt:       p("intl_image_reference"),
			RefImagesURL: []string{sampleVideo + "image_reference_2_5_16.png", sampleVideo + "image_reference_1_5_16.png"},
			PromptExtend: new(true), ObjOrBg: []Role{RoleObject, RoleBackground}, Size: Size1280x720,
		}},
		{"intl_video_repainting", RegionIntl.Model, VideoRepainting{
			Prompt: p("intl_video_repainting"), VideoURL: sampleVideo + "video_repainting_1.mp4",
			PromptExtend: new(false), ControlCondition: ControlDepth,
		}},
		{"intl_video_edit", RegionIntl.Model, VideoEdit{
			Prompt: p("intl_video_edit"), MaskImageURL: sampleVideo + "video_edit_1_mask.png",
			VideoURL: sampleVideo + "video_edit_2.mp4", MaskFrameID: new(1),
			PromptExtend: new(false), MaskType: MaskTracking, ExpandRatio: new(0.05), Size: Size1280x720,
		}},
		{"intl_video_extension", RegionIntl.Model, VideoExtension{
			Prompt: p("intl_video_extension"), FirstClipURL: sampleVideo + "video_extension_1.mp4", PromptExtend: new(false),
		}},
		{"intl_video_outpainting", RegionIntl.Model, VideoOutpainting{
			Prompt: p("intl_video_outpainting"), VideoURL: sampleVideo + "video_outpainting_1.mp4", PromptExtend: new(false),
			TopScale: new(1.5), BottomScale: new(1.5), LeftScale: new(1.5), RightScale: new(1.5),
		}},
		{"cn_video_repainting", RegionCN.Model, VideoRepainting{
			Prompt: p("cn_video_repainting"), VideoURL: sampleVideo + "video_repainting_1.mp4",
			PromptExtend: new(false), ControlCondition: ControlDepth,
		}},
		{"cn_video_edit", RegionCN.Model, VideoEdit{
			Prompt: p("cn_video_edit"), MaskImageURL: sampleVideo + "video_edit_1_mask.png",
			VideoURL: sampleVideo + "video_edit_2.mp4", MaskFrameID: new(1),
			PromptExtend: new(false), MaskType: MaskTracking, ExpandRatio: new(0.05),
		}},
		{"cn_video_extension", RegionCN.Model, VideoExtension{
			Prompt: p("cn_video_extension"), FirstClipURL: sampleVideo + "video_extension_1.mp4", PromptExtend: new(false),
		}},
		{"cn_video_outpainting", RegionCN.Model, VideoOutpainting{
			Prompt: p("cn_video_outpainting"), VideoURL: sampleVideo + "video_outpainting_1.mp4", PromptExtend: new(false),
			TopScale: new(1.5), BottomScale: new(1.5), LeftScale: new(1.5), RightScale: new(1.5),
		}},
	}
}

func TestRequestBodyMatchesVendorExamplesByteForByte(t *testing.T) {
	for _, tc := range goldenRequests(t) {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, tc.req.Validate())
			body, err := RequestBody(tc.model, tc.req)
			require.NoError(t, err)
			assert.Equal(t, string(readGolden(t, tc.name)), string(body))
			assert.False(t, usesOSS(tc.req))
		})
	}
}

func TestRequestBodyOmitsUnsetOptionalFieldsAndPlacesEveryField(t *testing.T) {
	minimal, err := RequestBody("m", VideoOutpainting{Prompt: "p", VideoURL: "https://x/v.mp4"})
	require.NoError(t, err)
	assert.Equal(t, `{"model":"m","input":{"function":"video_outpainting","prompt":"p","video_url":"https://x/v.mp4"},"parameters":{}}`, string(minimal))

	for _, r := range []Request{ // an empty optional list is not sent: absent means absent
		VideoRepainting{Prompt: "p", VideoURL: "https://x/v.mp4", RefImagesURL: []string{}, ControlCondition: ControlDepth},
		VideoEdit{Prompt: "p", VideoURL: "https://x/v.mp4", MaskImageURL: "https://x/m.png", RefImagesURL: []string{}},
		ImageReference{Prompt: "p", RefImagesURL: []string{"https://x/a.png"}, ObjOrBg: []Role{}},
	} {
		body, err := RequestBody("m", r)
		require.NoError(t, err)
		assert.NotContains(t, string(body), "[]", "%s", r.Function())
	}

	full := VideoEdit{
		Prompt: "p", MaskImageURL: "https://x/m.png", VideoURL: "oss://bucket/v.mp4", MaskFrameID: new(3),
		RefImagesURL: []string{"https://x/r.png"}, PromptExtend: new(true), MaskType: MaskTracking,
		ExpandRatio: new(0.2), ExpandMode: ExpandBBox, ControlCondition: ControlDepth, Size: Size960x960,
		Seed: new(0), Watermark: new(false),
	}
	body, err := RequestBody("m", full)
	require.NoError(t, err)
	assert.True(t, usesOSS(full), "an oss:// URL must switch on the OSS resolve header")
	assert.True(t, usesOSS(VideoOutpainting{Prompt: "p", VideoURL: "OSS://bucket/v.mp4"}), "a scheme in capitals is oss:// too")
	var got struct {
		Input      map[string]any `json:"input"`
		Parameters map[string]any `json:"parameters"`
	}
	require.NoError(t, json.Unmarshal(body, &got))
	assert.ElementsMatch(t, []string{"function", "prompt", "mask_image_url", "video_url", "mask_frame_id", "ref_images_url"}, keys(got.Input))
	assert.ElementsMatch(t, []string{"prompt_extend", "mask_type", "expand_ratio", "expand_mode", "control_condition", "size", "seed", "watermark"}, keys(got.Parameters))
	assert.Equal(t, 0.0, got.Parameters["seed"], "an explicit zero seed is sent, not omitted")
	assert.Equal(t, false, got.Parameters["watermark"])
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestValidateNamesTheFieldAndWhatIsAllowed(t *testing.T) {
	long := strings.Repeat("x", MaxPromptRunes+1)
	const v = "https://example.com/in.mp4"
	tests := []struct {
		name  string
		req   Request
		field string
		says  string
	}{
		{"empty prompt", VideoOutpainting{Prompt: "  ", VideoURL: v}, "prompt", "required"},
		{"prompt too long", VideoOutpainting{Prompt: long, VideoURL: v}, "prompt", "at most 800"},
		{"prompt of 800 CJK runes is fine, 801 is not", VideoOutpainting{Prompt: strings.Repeat("画", 801), VideoURL: v}, "prompt", "got 801"},
		{"seed negative", VideoOutpainting{Prompt: "p", VideoURL: v, Seed: new(-1)}, "seed", "between 0 and 2147483647"},
		{"seed too big", VideoOutpainting{Prompt: "p", VideoURL: v, Seed: new(MaxSeed + 1)}, "seed", "between 0"},
		{"missing video", VideoOutpainting{Prompt: "p"}, "video_url", "required"},
		{"ftp url", VideoOutpainting{Prompt: "p", VideoURL: "ftp://x/v.mp4"}, "video_url", "http(s) or oss://"},
		{"relative url", VideoOutpainting{Prompt: "p", VideoURL: "/tmp/v.mp4"}, "video_url", "http(s) or oss://"},
		{"no host", VideoOutpainting{Prompt: "p", VideoURL: "https:///v.mp4"}, "video_url", "no host"},
		{"chinese chars", VideoOutpainting{Prompt: "p", VideoURL: "https://x/视频.mp4"}, "video_url", "Chinese"},
		{"a space", VideoOutpainting{Prompt: "p", VideoURL: "https://example.com/a b.mp4"}, "video_url", "spaces"},
		{"a newline", VideoOutpainting{Prompt: "p", VideoURL: "https://example.com/a.mp4\n"}, "video_url", "not a valid URL"},
		{"scale low", VideoOutpainting{Prompt: "p", VideoURL: v, TopScale: new(0.9)}, "top_scale", "between 1.0 and 2.0"},
		{"scale high", VideoOutpainting{Prompt: "p", VideoURL: v, RightScale: new(2.01)}, "right_scale", "between 1.0 and 2.0"},
		{"no images", ImageReference{Prompt: "p"}, "ref_images_url", "1 to 3"},
		{"four images", ImageReference{Prompt: "p", RefImagesURL: []string{v, v, v, v}, ObjOrBg: []Role{"obj", "obj", "obj", "obj"}}, "ref_images_url", "at most 3"},
		{"roles missing for two images", ImageReference{Prompt: "p", RefImagesURL: []string{v, v}}, "obj_or_bg", "required"},
		{"roles length", ImageReference{Prompt: "p", RefImagesURL: []string{v, v}, ObjOrBg: []Role{"obj"}}, "obj_or_bg", "one entry per image"},
		{"two backgrounds", ImageReference{Prompt: "p", RefImagesURL: []string{v, v}, ObjOrBg: []Role{"bg", "bg"}}, "obj_or_bg", "at most one"},
		{"bad role", ImageReference{Prompt: "p", RefImagesURL: []string{v}, ObjOrBg: []Role{"person"}}, "obj_or_bg[0]", `"obj" or "bg"`},
		{"bad size", ImageReference{Prompt: "p", RefImagesURL: []string{v}, Size: "1920*1080"}, "size", "1280*720"},
		{"repaint needs condition", VideoRepainting{Prompt: "p", VideoURL: v}, "control_condition", "required"},
		{"repaint bad condition", VideoRepainting{Prompt: "p", VideoURL: v, ControlCondition: "edges"}, "control_condition", "scribble"},
		{"repaint strength", VideoRepainting{Prompt: "p", VideoURL: v, ControlCondition: ControlDepth, Strength: new(1.5)}, "strength", "between 0.0 and 1.0"},
		{"repaint two refs", VideoRepainting{Prompt: "p", VideoURL: v, ControlCondition: ControlDepth, RefImagesURL: []string{v, v}}, "ref_images_url", "at most 1"},
		{"edit no mask", VideoEdit{Prompt: "p", VideoURL: v}, "mask_image_url", "one of mask_image_url"},
		{"edit two masks", VideoEdit{Prompt: "p", VideoURL: v, MaskImageURL: v, MaskVideoURL: v}, "mask_video_url", "not both"},
		{"edit frame without image", VideoEdit{Prompt: "p", VideoURL: v, MaskVideoURL: v, MaskFrameID: new(2)}, "mask_frame_id", "only applies"},
		{"edit frame zero", VideoEdit{Prompt: "p", VideoURL: v, MaskImageURL: v, MaskFrameID: new(0)}, "mask_frame_id", "1 or more"},
		{"edit ratio range", VideoEdit{Prompt: "p", VideoURL: v, MaskImageURL: v, ExpandRatio: new(-0.1)}, "expand_ratio", "between 0.0 and 1.0"},
		{"edit ratio with fixed", VideoEdit{Prompt: "p", VideoURL: v, MaskImageURL: v, MaskType: MaskFixed, ExpandRatio: new(0.1)}, "expand_ratio", "tracking"},
		{"edit mode with fixed", VideoEdit{Prompt: "p", VideoURL: v, MaskImageURL: v, MaskType: MaskFixed, ExpandMode: ExpandHull}, "expand_mode", "tracking"},
		{"edit bad mask type", VideoEdit{Prompt: "p", VideoURL: v, MaskImageURL: v, MaskType: "follow"}, "mask_type", `"tracking" or "fixed"`},
		{"edit bad mode", VideoEdit{Prompt: "p", VideoURL: v, MaskImageURL: v, ExpandMode: "circle"}, "expand_mode", "hull"},
		{"edit scribble not allowed", VideoEdit{Prompt: "p", VideoURL: v, MaskImageURL: v, ControlCondition: ControlScribble}, "control_condition", `"posebodyface" or "depth"`},
		{"extension needs an anchor", VideoExtension{Prompt: "p"}, "first_clip_url", "at least one"},
		{"extension video needs condition", VideoExtension{Prompt: "p", FirstFrameURL: v, VideoURL: v}, "control_condition", "required with video_url"},
		{"extension condition needs video", VideoExtension{Prompt: "p", LastClipURL: v, ControlCondition: ControlDepth}, "control_condition", "only applies together with video_url"},
		{"extension bad url", VideoExtension{Prompt: "p", LastFrameURL: "file:///x.png"}, "last_frame_url", "http(s)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.req.Validate()
			require.Error(t, err)
			var fe *FieldError
			require.True(t, errors.As(err, &fe))
			found := false
			for _, e := range unjoin(err) {
				if errors.As(e, &fe) && fe.Field == tc.field {
					found = true
					assert.Contains(t, fe.Problem, tc.says)
				}
			}
			assert.True(t, found, "no error for field %s in %v", tc.field, err)
		})
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestValidateAcceptsBoundaryValues(t *testing.T) {
	const v = "oss://dashscope-instant/abc/v.mp4"
	ok := []Request{
		VideoOutpainting{Prompt: strings.Repeat("画", MaxPromptRunes), VideoURL: v, TopScale: new(1.0), BottomScale: new(2.0), Seed: new(MaxSeed)},
		ImageReference{Prompt: "p", RefImagesURL: []string{v}},
		ImageReference{Prompt: "p", RefImagesURL: []string{v, v, v}, ObjOrBg: []Role{"obj", "obj", "bg"}},
		VideoRepainting{Prompt: "p", VideoURL: v, ControlCondition: ControlScribble, Strength: new(0.0), RefImagesURL: []string{v}},
		VideoEdit{Prompt: "p", VideoURL: v, MaskVideoURL: v, MaskType: MaskFixed},
		VideoEdit{Prompt: "p", VideoURL: v, MaskImageURL: v, ExpandRatio: new(1.0), ExpandMode: ExpandOriginal},
		VideoExtension{Prompt: "p", LastFrameURL: v, VideoURL: v, ControlCondition: ControlPoseBodyFace},
	}
	for _, r := range ok {
		assert.NoError(t, r.Validate(), "%T %+v", r, r)
	}
}

func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	err := VideoOutpainting{TopScale: new(3.0), LeftScale: new(0.0)}.Validate()
	var fields []string
	for _, e := range unjoin(err) {
		var fe *FieldError
		require.True(t, errors.As(e, &fe))
		fields = append(fields, fe.Field)
	}
	assert.Equal(t, []string{"prompt", "video_url", "top_scale", "left_scale"}, fields)
}

func TestMediaListsEveryURLInBodyOrderAndWithMediaReplacesThem(t *testing.T) {
	r := VideoEdit{Prompt: "p", MaskImageURL: "/tmp/m.png", VideoURL: "https://x/v.mp4", RefImagesURL: []string{"file:///r.png"}}
	var fields, urls []string
	for _, m := range r.Media() {
		fields, urls = append(fields, m.Field), append(urls, m.URL)
	}
	assert.Equal(t, []string{"mask_image_url", "video_url", "ref_images_url[0]"}, fields)
	assert.Equal(t, []string{"/tmp/m.png", "https://x/v.mp4", "file:///r.png"}, urls)

	staged := r.WithMedia([]string{"oss://a/m.png", "https://x/v.mp4", "oss://a/r.png"}).(VideoEdit)
	assert.Equal(t, "oss://a/m.png", staged.MaskImageURL)
	assert.Equal(t, []string{"oss://a/r.png"}, staged.RefImagesURL)
	assert.Equal(t, []string{"file:///r.png"}, r.RefImagesURL, "the original request is left as it was")
}

func TestCanonicalFillsDefaultsAndLowerCasesHosts(t *testing.T) {
	plain := VideoOutpainting{Prompt: "p", VideoURL: "https://X.Example.COM/v.mp4", TopScale: new(1.5)}
	spelled := VideoOutpainting{Prompt: "p", VideoURL: "HTTPS://x.example.com/v.mp4", TopScale: new(1.5),
		PromptExtend: new(true), Watermark: new(false), BottomScale: new(1.0), LeftScale: new(1.0), RightScale: new(1.0)}
	a, err := RequestBody("m", plain.Canonical())
	require.NoError(t, err)
	b, err := RequestBody("m", spelled.Canonical())
	require.NoError(t, err)
	assert.Equal(t, string(a), string(b))
	assert.Contains(t, string(a), `"https://x.example.com/v.mp4"`)

	other, err := RequestBody("m", VideoOutpainting{Prompt: "p", VideoURL: "https://x.example.com/V.mp4", TopScale: new(1.5)}.Canonical())
	require.NoError(t, err)
	assert.NotEqual(t, string(a), string(other), "a path's case is significant")

	edit := VideoEdit{Prompt: "p", VideoURL: "https://x/v.mp4", MaskImageURL: "https://x/m.png"}.Canonical().(VideoEdit)
	assert.Equal(t, DefaultMaskFrameID, *edit.MaskFrameID)
	assert.Equal(t, DefaultExpandRatio, *edit.ExpandRatio)
	fixed := VideoEdit{Prompt: "p", VideoURL: "https://x/v.mp4", MaskVideoURL: "https://x/m.mp4", MaskType: MaskFixed}.Canonical().(VideoEdit)
	assert.Nil(t, fixed.ExpandRatio, "tracking-only defaults stay off a fixed mask")
	assert.Nil(t, fixed.MaskFrameID, "mask_frame_id belongs to a mask image")
}
