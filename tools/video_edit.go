package tools

import "github.com/vace-mcp/vace-mcp/dashscope"

// VideoEditArgs are the arguments of video_edit.
type VideoEditArgs struct {
	dashscope.VideoEdit
	SubmitOptions
}

func (a VideoEditArgs) request() dashscope.Request { return a.VideoEdit }
func (a VideoEditArgs) options() SubmitOptions     { return a.SubmitOptions }

func (s *Service) videoEdit() Tool {
	return submitTool[VideoEditArgs](s, dashscope.FunctionVideoEdit, "Edit part of a video",
		"Edit one area of a video (add, remove or replace a subject or background) and keep the rest: mark the area white "+
			"in a mask image of one frame (tracked through the video) or in a mask video; optionally use a reference image.")
}
