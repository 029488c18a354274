package tools

import (
	"github.com/mark3labs/mcp-go/server"

	"github.com/vace-mcp/vace-mcp/dashscope"
)

// VideoRepaintingArgs are the arguments of video_repainting.
type VideoRepaintingArgs struct {
	Prompt           string                     `json:"prompt"`
	VideoURL         string                     `json:"video_url"`
	RefImagesURL     []string                   `json:"ref_images_url,omitempty"`
	ControlCondition dashscope.ControlCondition `json:"control_condition"`
	Strength         *float64                   `json:"strength,omitempty"`
	commonArgs
}

func (a VideoRepaintingArgs) request() dashscope.Request {
	return dashscope.VideoRepainting{Prompt: a.Prompt, VideoURL: a.VideoURL, RefImagesURL: a.RefImagesURL, PromptExtend: a.PromptExtend,
		ControlCondition: a.ControlCondition, Strength: a.Strength, Seed: a.Seed, Watermark: a.Watermark}
}

func (s *Service) videoRepainting() server.ServerTool {
	return submitTool[VideoRepaintingArgs](s, dashscope.FunctionVideoRepainting, "Repaint a video",
		"Remake a video's content or style but keep its motion: its pose, depth or sketch structure.",
		props{
			"prompt":            promptProp("What the new video shows"),
			"video_url":         videoProp("Input video"),
			"ref_images_url":    subjectImageProp(),
			"control_condition": {desc: "What to keep: pose+face, pose, depth or sketch.", enum: strs(dashscope.RepaintingConditions)},
			"strength":          {desc: "How closely to follow the input.", min: num(dashscope.MinStrength), max: num(dashscope.MaxStrength), def: dashscope.DefaultStrength},
		})
}
