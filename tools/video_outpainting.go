package tools

import "github.com/vace-mcp/vace-mcp/dashscope"

// VideoOutpaintingArgs are the arguments of video_outpainting.
type VideoOutpaintingArgs struct {
	dashscope.VideoOutpainting
	SubmitOptions
}

func (a VideoOutpaintingArgs) request() dashscope.Request { return a.VideoOutpainting }
func (a VideoOutpaintingArgs) options() SubmitOptions     { return a.SubmitOptions }

func (s *Service) videoOutpainting() Tool {
	return submitTool[VideoOutpaintingArgs](s, dashscope.FunctionVideoOutpainting, "Widen a video's frame",
		"Extend a video's picture beyond its edges (top, bottom, left, right by 1.0-2.0 times each), "+
			"filling the new area to match the prompt and the scene.")
}
