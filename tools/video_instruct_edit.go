package tools

import (
	"github.com/mark3labs/mcp-go/server"

	"github.com/vace-mcp/vace-mcp/dashscope"
)

// VideoInstructEditArgs are the arguments of video_instruct_edit.
type VideoInstructEditArgs struct {
	Prompt         string                 `json:"prompt,omitempty"`
	NegativePrompt string                 `json:"negative_prompt,omitempty"`
	VideoURL       string                 `json:"video_url"`
	RefImagesURL   []string               `json:"ref_images_url,omitempty"`
	Resolution     dashscope.Resolution   `json:"resolution,omitempty"`
	Ratio          dashscope.Ratio        `json:"ratio,omitempty"`
	Duration       *int                   `json:"duration,omitempty"`
	AudioSetting   dashscope.AudioSetting `json:"audio_setting,omitempty"`
	commonArgs
}

func (a VideoInstructEditArgs) request() dashscope.Request {
	return dashscope.InstructEdit{Prompt: a.Prompt, NegativePrompt: a.NegativePrompt, VideoURL: a.VideoURL,
		RefImagesURL: a.RefImagesURL, Resolution: a.Resolution, Ratio: a.Ratio, Duration: a.Duration,
		AudioSetting: a.AudioSetting, PromptExtend: a.PromptExtend, Watermark: a.Watermark, Seed: a.Seed}
}

func (s *Service) videoInstructEdit() server.ServerTool {
	return submitToolWith[VideoInstructEditArgs](s, dashscope.FunctionInstructEdit, "Edit a video by instruction",
		"Edit a 2-10 s clip by instruction (restyle, new scene, clothes from an image), with sound, 720P/1080P. "+
			"Masked edits, outpainting, extension: use the VACE tools.",
		" Paid per input+output second (~USD 0.10-0.15); then use wait_task. URLs may be local paths.",
		props{
			"prompt":          {desc: "The edit, e.g. \"turn it into claymation\".", maxLength: dashscope.MaxInstructionRunes},
			"negative_prompt": {desc: "What to avoid.", maxLength: dashscope.MaxNegativePromptRunes},
			"video_url":       {desc: "Video to edit: " + mediaText(dashscope.Wan27Video) + "."},
			"ref_images_url":  {desc: "Guide images: " + mediaText(dashscope.Wan27RefImage) + ".", minItems: 1, maxItems: dashscope.MaxEditRefImages},
			"resolution":      {desc: "Output tier; sets the price.", enum: strs(dashscope.Resolutions), def: dashscope.DefaultResolution},
			"ratio":           {desc: "Default: the input's.", enum: strs(dashscope.Ratios)},
			"duration":        {desc: "Use the first N s; default all.", min: num(dashscope.MinEditDuration), max: num(dashscope.MaxEditDuration)},
			"audio_setting":   {desc: "origin keeps the input's sound.", enum: strs(dashscope.AudioSettings), def: dashscope.DefaultAudioSetting},
		})
}
