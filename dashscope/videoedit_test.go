package dashscope

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInstructEditBodyMatchesTheVendorExampleAndPutsTheVideoFirst(t *testing.T) {
	r := InstructEdit{
		Prompt:   "Replace the girl's clothes in the video with the clothes from the image",
		VideoURL: "https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/20260403/nlspwm/T2VA_22.mp4",
		RefImagesURL: []string{
			"https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/20260402/fwjpqf/wan2.7-videoedit-change-clothes.png",
		},
		Resolution: Resolution720P, PromptExtend: new(true), Watermark: new(true),
	}
	require.NoError(t, r.Validate())
	body, err := RequestBody(EditModel, r)
	require.NoError(t, err)
	assert.Equal(t, `{"model":"wan2.7-videoedit","input":{"prompt":"Replace the girl's clothes in the video with the clothes from the image",`+
		`"media":[{"type":"video","url":"https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/20260403/nlspwm/T2VA_22.mp4"},`+
		`{"type":"reference_image","url":"https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/20260402/fwjpqf/wan2.7-videoedit-change-clothes.png"}]},`+
		`"parameters":{"resolution":"720P","prompt_extend":true,"watermark":true}}`, string(body))

	var fields []string
	for _, m := range r.Media() {
		fields = append(fields, m.Field)
	}
	assert.Equal(t, []string{"video_url", "ref_images_url[0]"}, fields)
	assert.Equal(t, Wan27Video, r.Media()[0].Limits)
	assert.Equal(t, Wan27RefImage, r.Media()[1].Limits)
}

func TestInstructEditValidationNamesEveryLimit(t *testing.T) {
	five := []string{"https://x/1.png", "https://x/2.png", "https://x/3.png", "https://x/4.png", "https://x/5.png"}
	err := InstructEdit{
		Prompt: strings.Repeat("a", MaxInstructionRunes+1), NegativePrompt: strings.Repeat("a", MaxNegativePromptRunes+1),
		RefImagesURL: five, Resolution: "4K", Ratio: "2:1", Duration: new(11), AudioSetting: "mute", Seed: new(-1),
	}.Validate()
	for _, field := range []string{"prompt", "negative_prompt", "video_url", "ref_images_url", "resolution", "ratio", "duration", "audio_setting", "seed"} {
		assert.ErrorContains(t, err, field+": ")
	}
	for _, d := range []int{0, MinEditDuration, MaxEditDuration} {
		assert.NoError(t, InstructEdit{VideoURL: "https://x/v.mp4", Duration: new(d)}.Validate(), "duration %d", d)
	}
}

func TestInstructEditCanonicalFormFillsDefaults(t *testing.T) {
	a, err := RequestBody(EditModel, InstructEdit{VideoURL: "https://X/v.mp4", Duration: new(0)}.Canonical())
	require.NoError(t, err)
	b, err := RequestBody(EditModel, InstructEdit{VideoURL: "https://x/v.mp4", Resolution: Resolution1080P, AudioSetting: AudioAuto,
		PromptExtend: new(true), Watermark: new(false)}.Canonical())
	require.NoError(t, err)
	assert.Equal(t, string(a), string(b))
	c, err := RequestBody(EditModel, InstructEdit{VideoURL: "https://x/v.mp4", Resolution: Resolution720P}.Canonical())
	require.NoError(t, err)
	assert.NotEqual(t, string(a), string(c), "another tier is another video")
}
