package tools

import (
	"github.com/mark3labs/mcp-go/server"

	"github.com/vace-mcp/vace-mcp/dashscope"
)

// ImageReferenceArgs are the arguments of image_reference.
type ImageReferenceArgs struct {
	Prompt       string           `json:"prompt"`
	RefImagesURL []string         `json:"ref_images_url"`
	ObjOrBg      []dashscope.Role `json:"obj_or_bg,omitempty"`
	Size         dashscope.Size   `json:"size,omitempty"`
	commonArgs
}

func (a ImageReferenceArgs) request() dashscope.Request {
	return dashscope.ImageReference{Prompt: a.Prompt, RefImagesURL: a.RefImagesURL, PromptExtend: a.PromptExtend,
		ObjOrBg: a.ObjOrBg, Size: a.Size, Seed: a.Seed, Watermark: a.Watermark}
}

func (s *Service) imageReference() server.ServerTool {
	return submitTool[ImageReferenceArgs](s, dashscope.FunctionImageReference, "Video from reference images",
		"Make a video from 1-3 images of subjects (people, animals, things) and at most one background.",
		props{
			"prompt":         promptProp("What the video shows, naming the images' subjects"),
			"ref_images_url": {desc: "Images: " + mediaText(dashscope.VACEImage) + ".", minItems: 1, maxItems: dashscope.MaxRefImages},
			"obj_or_bg":      {desc: "Each image's role, in order; needed with 2+ images.", itemEnum: strs(dashscope.Roles), minItems: 1, maxItems: dashscope.MaxRefImages},
			"size":           sizeProp,
		})
}
