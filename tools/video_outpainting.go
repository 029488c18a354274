package tools

import (
	"github.com/mark3labs/mcp-go/server"

	"github.com/vace-mcp/vace-mcp/dashscope"
)

// VideoOutpaintingArgs are the arguments of video_outpainting.
type VideoOutpaintingArgs struct {
	Prompt      string   `json:"prompt"`
	VideoURL    string   `json:"video_url"`
	TopScale    *float64 `json:"top_scale,omitempty"`
	BottomScale *float64 `json:"bottom_scale,omitempty"`
	LeftScale   *float64 `json:"left_scale,omitempty"`
	RightScale  *float64 `json:"right_scale,omitempty"`
	commonArgs
}

func (a VideoOutpaintingArgs) request() dashscope.Request {
	return dashscope.VideoOutpainting{Prompt: a.Prompt, VideoURL: a.VideoURL, PromptExtend: a.PromptExtend, TopScale: a.TopScale,
		BottomScale: a.BottomScale, LeftScale: a.LeftScale, RightScale: a.RightScale, Seed: a.Seed, Watermark: a.Watermark}
}

func (s *Service) videoOutpainting() server.ServerTool {
	scale := func(side string) prop {
		return prop{desc: "Grow the frame " + side + " by this factor.", min: num(dashscope.MinScale), max: num(dashscope.MaxScale), def: dashscope.DefaultScale}
	}
	return submitTool[VideoOutpaintingArgs](s, dashscope.FunctionVideoOutpainting, "Widen a video's frame",
		"Extend a video's picture beyond its edges to match the prompt.",
		props{
			"prompt":       promptProp("What the whole widened scene shows"),
			"video_url":    videoProp("Input video"),
			"top_scale":    scale("upwards"),
			"bottom_scale": scale("downwards"),
			"left_scale":   scale("to the left"),
			"right_scale":  scale("to the right"),
		})
}
