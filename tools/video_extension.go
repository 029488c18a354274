package tools

import "github.com/vace-mcp/vace-mcp/dashscope"

// VideoExtensionArgs are the arguments of video_extension.
type VideoExtensionArgs struct {
	dashscope.VideoExtension
	SubmitOptions
}

func (a VideoExtensionArgs) request() dashscope.Request { return a.VideoExtension }
func (a VideoExtensionArgs) options() SubmitOptions     { return a.SubmitOptions }

func (s *Service) videoExtension() Tool {
	return submitTool[VideoExtensionArgs](s, dashscope.FunctionVideoExtension, "Extend a video",
		"Make a 5 s video that continues forwards from a first clip or frame and/or leads up to a last clip or frame, "+
			"as the prompt describes; give at least one of first_clip_url, last_clip_url, first_frame_url, last_frame_url.")
}
