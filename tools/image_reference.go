package tools

import "github.com/vace-mcp/vace-mcp/dashscope"

// ImageReferenceArgs are the arguments of image_reference.
type ImageReferenceArgs struct {
	dashscope.ImageReference
	SubmitOptions
}

func (a ImageReferenceArgs) request() dashscope.Request { return a.ImageReference }
func (a ImageReferenceArgs) options() SubmitOptions     { return a.SubmitOptions }

func (s *Service) imageReference() Tool {
	return submitTool[ImageReferenceArgs](s, dashscope.FunctionImageReference, "Video from reference images",
		"Generate a video from 1-3 reference images (people, animals, objects, clothing, and at most one background) "+
			"combined as the prompt describes; mark each image obj or bg in obj_or_bg.")
}
