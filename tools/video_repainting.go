package tools

import "github.com/vace-mcp/vace-mcp/dashscope"

// VideoRepaintingArgs are the arguments of video_repainting.
type VideoRepaintingArgs struct {
	dashscope.VideoRepainting
	SubmitOptions
}

func (a VideoRepaintingArgs) request() dashscope.Request { return a.VideoRepainting }
func (a VideoRepaintingArgs) options() SubmitOptions     { return a.SubmitOptions }

func (s *Service) videoRepainting() Tool {
	return submitTool[VideoRepaintingArgs](s, dashscope.FunctionVideoRepainting, "Repaint a video",
		"Remake a video with new content or style but the same motion: keep its pose, depth or sketch structure "+
			"(control_condition) and draw everything else from the prompt, optionally with a subject image.")
}
