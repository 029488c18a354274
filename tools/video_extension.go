package tools

import (
	"github.com/mark3labs/mcp-go/server"

	"github.com/vace-mcp/vace-mcp/dashscope"
)

// VideoExtensionArgs are the arguments of video_extension.
type VideoExtensionArgs struct {
	Prompt           string                     `json:"prompt"`
	FirstClipURL     string                     `json:"first_clip_url,omitempty"`
	LastClipURL      string                     `json:"last_clip_url,omitempty"`
	FirstFrameURL    string                     `json:"first_frame_url,omitempty"`
	LastFrameURL     string                     `json:"last_frame_url,omitempty"`
	VideoURL         string                     `json:"video_url,omitempty"`
	ControlCondition dashscope.ControlCondition `json:"control_condition,omitempty"`
	commonArgs
}

func (a VideoExtensionArgs) request() dashscope.Request {
	return dashscope.VideoExtension{Prompt: a.Prompt, FirstClipURL: a.FirstClipURL, LastClipURL: a.LastClipURL,
		FirstFrameURL: a.FirstFrameURL, LastFrameURL: a.LastFrameURL, VideoURL: a.VideoURL, PromptExtend: a.PromptExtend,
		ControlCondition: a.ControlCondition, Seed: a.Seed, Watermark: a.Watermark}
}

func (s *Service) videoExtension() server.ServerTool {
	return submitTool[VideoExtensionArgs](s, dashscope.FunctionVideoExtension, "Extend a video",
		"Continue a first clip or frame and/or lead up to a last one (give at least one of the four).",
		props{
			"prompt":            promptProp("What happens in the video"),
			"first_clip_url":    {desc: "Clip to continue: " + mediaText(dashscope.VACEClip) + "."},
			"last_clip_url":     {desc: "Clip to lead up to (same limits; both clips together at most " + seconds(dashscope.VACEClipsMaxTotal) + ")."},
			"first_frame_url":   {desc: "Image to start from."},
			"last_frame_url":    {desc: "Image to end on."},
			"video_url":         {desc: "Motion reference video; needs control_condition."},
			"control_condition": {desc: "What to take from video_url.", enum: strs(dashscope.PoseOrDepth)},
		})
}
