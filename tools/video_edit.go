package tools

import (
	"github.com/mark3labs/mcp-go/server"

	"github.com/vace-mcp/vace-mcp/dashscope"
)

// VideoEditArgs are the arguments of video_edit.
type VideoEditArgs struct {
	Prompt           string                     `json:"prompt"`
	VideoURL         string                     `json:"video_url"`
	MaskImageURL     string                     `json:"mask_image_url,omitempty"`
	MaskVideoURL     string                     `json:"mask_video_url,omitempty"`
	MaskFrameID      *int                       `json:"mask_frame_id,omitempty"`
	RefImagesURL     []string                   `json:"ref_images_url,omitempty"`
	MaskType         dashscope.MaskType         `json:"mask_type,omitempty"`
	ExpandRatio      *float64                   `json:"expand_ratio,omitempty"`
	ExpandMode       dashscope.ExpandMode       `json:"expand_mode,omitempty"`
	ControlCondition dashscope.ControlCondition `json:"control_condition,omitempty"`
	Size             dashscope.Size             `json:"size,omitempty"`
	commonArgs
}

func (a VideoEditArgs) request() dashscope.Request {
	return dashscope.VideoEdit{Prompt: a.Prompt, MaskImageURL: a.MaskImageURL, MaskVideoURL: a.MaskVideoURL, VideoURL: a.VideoURL,
		MaskFrameID: a.MaskFrameID, RefImagesURL: a.RefImagesURL, PromptExtend: a.PromptExtend, MaskType: a.MaskType,
		ExpandRatio: a.ExpandRatio, ExpandMode: a.ExpandMode, ControlCondition: a.ControlCondition, Size: a.Size,
		Seed: a.Seed, Watermark: a.Watermark}
}

func (s *Service) videoEdit() server.ServerTool {
	return submitTool[VideoEditArgs](s, dashscope.FunctionVideoEdit, "Edit part of a video",
		"Add, remove or replace a subject or background in the masked area of a video and keep the rest.",
		props{
			"prompt":            promptProp("What the whole video shows, the edited area included"),
			"video_url":         videoProp("Input video"),
			"mask_image_url":    {desc: "Mask image of one frame, tracked (recommended): white=edit, black=keep, the video's size. Or mask_video_url."},
			"mask_video_url":    {desc: "Mask video of the video's size and length."},
			"mask_frame_id":     {desc: "Frame (from 1) of the mask image.", min: num(dashscope.MinMaskFrameID), def: dashscope.DefaultMaskFrameID},
			"ref_images_url":    subjectImageProp(),
			"mask_type":         {desc: "tracking: the area follows its object.", enum: strs(dashscope.MaskTypes), def: dashscope.DefaultMaskType},
			"expand_ratio":      {desc: "How far a tracking mask grows.", min: num(dashscope.MinExpandRatio), max: num(dashscope.MaxExpandRatio), def: dashscope.DefaultExpandRatio},
			"expand_mode":       {desc: "Shape a tracking mask grows into.", enum: strs(dashscope.ExpandModes), def: dashscope.DefaultExpandMode},
			"control_condition": {desc: "Keep the input's pose or depth there.", enum: strs(dashscope.PoseOrDepth)},
			"size":              sizeProp,
		})
}
