package dashscope

import (
	"fmt"
	"slices"
)

// Function names one of the model's editing functions (input.function).
type Function string

// The five editing functions of wan2.1-vace-plus.
const (
	FunctionImageReference   Function = "image_reference"
	FunctionVideoRepainting  Function = "video_repainting"
	FunctionVideoEdit        Function = "video_edit"
	FunctionVideoExtension   Function = "video_extension"
	FunctionVideoOutpainting Function = "video_outpainting"
)

// Size is an output resolution, width*height.
type Size string

// The output sizes the service accepts (parameters.size).
const (
	Size1280x720 Size = "1280*720"
	Size720x1280 Size = "720*1280"
	Size960x960  Size = "960*960"
	Size832x1088 Size = "832*1088"
	Size1088x832 Size = "1088*832"
)

// Sizes lists every accepted Size, the default first.
var Sizes = []Size{Size1280x720, Size720x1280, Size960x960, Size832x1088, Size1088x832}

// ControlCondition names the features taken from an input video.
type ControlCondition string

// Control conditions: pose with face, pose only, depth (composition and
// motion contours), scribble (sketch edges).
const (
	ControlPoseBodyFace ControlCondition = "posebodyface"
	ControlPoseBody     ControlCondition = "posebody"
	ControlDepth        ControlCondition = "depth"
	ControlScribble     ControlCondition = "scribble"
)

// RepaintingConditions are the control conditions video_repainting takes;
// PoseOrDepth are the ones video_edit and video_extension take.
var (
	RepaintingConditions = []ControlCondition{ControlPoseBodyFace, ControlPoseBody, ControlDepth, ControlScribble}
	PoseOrDepth          = []ControlCondition{ControlPoseBodyFace, ControlDepth}
)

// MaskType says whether the edited area follows its target (tracking) or stays put (fixed).
type MaskType string

// Mask types for video_edit.
const (
	MaskTracking MaskType = "tracking"
	MaskFixed    MaskType = "fixed"
)

// MaskTypes lists the mask types, the default first.
var MaskTypes = []MaskType{MaskTracking, MaskFixed}

// ExpandMode is the shape a tracking mask grows into.
type ExpandMode string

// Expand modes for video_edit with a tracking mask.
const (
	ExpandHull     ExpandMode = "hull"
	ExpandBBox     ExpandMode = "bbox"
	ExpandOriginal ExpandMode = "original"
)

// ExpandModes lists the expand modes, the default first.
var ExpandModes = []ExpandMode{ExpandHull, ExpandBBox, ExpandOriginal}

// Role says whether a reference image shows a subject (obj) or a background (bg).
type Role string

// Reference image roles for image_reference.
const (
	RoleObject     Role = "obj"
	RoleBackground Role = "bg"
)

// Roles lists the reference image roles.
var Roles = []Role{RoleObject, RoleBackground}

// Limits and defaults the service documents for request fields. Validation,
// canonical forms and the tools' schemas all read them from here.
const (
	// MaxPromptRunes is the longest prompt, in characters; the service cuts longer ones.
	MaxPromptRunes = 800
	// MaxRefImages is the most reference images image_reference uses.
	MaxRefImages = 3
	// MaxSubjectImages is the most reference images video_repainting and video_edit take.
	MaxSubjectImages = 1
	// MaxSeed is the largest seed.
	MaxSeed = 2147483647

	// MinScale and MaxScale bound video_outpainting's four scales.
	MinScale, MaxScale = 1.0, 2.0
	// MinStrength and MaxStrength bound video_repainting's strength.
	MinStrength, MaxStrength = 0.0, 1.0
	// MinExpandRatio and MaxExpandRatio bound video_edit's expand_ratio.
	MinExpandRatio, MaxExpandRatio = 0.0, 1.0
	// MinMaskFrameID is the first frame's number.
	MinMaskFrameID = 1

	DefaultPromptExtend = true
	DefaultWatermark    = false
	DefaultSize         = Size1280x720
	DefaultStrength     = 1.0
	DefaultMaskType     = MaskTracking
	DefaultExpandRatio  = 0.05
	DefaultExpandMode   = ExpandHull
	DefaultMaskFrameID  = 1
	DefaultScale        = 1.0
)

// Request is a typed request for one editing function. Unset optional
// fields (nil pointers, empty strings and lists) stay out of the request body.
type Request interface {
	// Function is the editing function the request calls.
	Function() Function
	// Validate reports every field the service would refuse or misread, as
	// errors.Join of [*FieldError], or nil.
	Validate() error
	// ValidateWith is Validate with check deciding about each media URL
	// (Validate uses [CheckURL]).
	ValidateWith(check URLCheck) error
	// Media lists the request's media URLs in body order, list items included.
	Media() []Media
	// WithMedia returns a copy of the request whose media URLs are urls, in
	// the order Media lists them.
	WithMedia(urls []string) Request
	// Canonical returns the request as the service understands it: every
	// documented default filled in, and URL schemes and hosts lower-cased.
	// Two requests with the same canonical form make the same video.
	Canonical() Request

	// model is the model the request is for: the client's VACE model, or its editing model.
	model(c *Client) string
	body() (input, parameters any)
}

// ImageReference makes a video from 1–3 reference images of subjects and at
// most one background.
type ImageReference struct {
	Prompt       string
	RefImagesURL []string
	PromptExtend *bool
	ObjOrBg      []Role
	Size         Size
	Seed         *int
	Watermark    *bool
}

// VideoRepainting keeps an input video's pose, depth or sketch structure and
// repaints everything else from the prompt (optionally with a subject image).
type VideoRepainting struct {
	Prompt           string
	VideoURL         string
	RefImagesURL     []string
	PromptExtend     *bool
	ControlCondition ControlCondition
	Strength         *float64
	Seed             *int
	Watermark        *bool
}

// VideoEdit edits the area of a video marked by a mask image or mask video.
type VideoEdit struct {
	Prompt           string
	MaskImageURL     string
	MaskVideoURL     string
	VideoURL         string
	MaskFrameID      *int
	RefImagesURL     []string
	PromptExtend     *bool
	MaskType         MaskType
	ExpandRatio      *float64
	ExpandMode       ExpandMode
	ControlCondition ControlCondition
	Size             Size
	Seed             *int
	Watermark        *bool
}

// VideoExtension continues a clip or frame forwards or backwards to 5 seconds.
type VideoExtension struct {
	Prompt           string
	FirstClipURL     string
	LastClipURL      string
	FirstFrameURL    string
	LastFrameURL     string
	VideoURL         string
	PromptExtend     *bool
	ControlCondition ControlCondition
	Seed             *int
	Watermark        *bool
}

// VideoOutpainting widens a video's frame by a factor on each side.
type VideoOutpainting struct {
	Prompt       string
	VideoURL     string
	PromptExtend *bool
	TopScale     *float64
	BottomScale  *float64
	LeftScale    *float64
	RightScale   *float64
	Seed         *int
	Watermark    *bool
}

// Function implements Request.
func (ImageReference) Function() Function { return FunctionImageReference }

// Function implements Request.
func (VideoRepainting) Function() Function { return FunctionVideoRepainting }

// Function implements Request.
func (VideoEdit) Function() Function { return FunctionVideoEdit }

// Function implements Request.
func (VideoExtension) Function() Function { return FunctionVideoExtension }

// Function implements Request.
func (VideoOutpainting) Function() Function { return FunctionVideoOutpainting }

// Validate implements Request.
func (r ImageReference) Validate() error { return r.ValidateWith(CheckURL) }

// Validate implements Request.
func (r VideoRepainting) Validate() error { return r.ValidateWith(CheckURL) }

// Validate implements Request.
func (r VideoEdit) Validate() error { return r.ValidateWith(CheckURL) }

// Validate implements Request.
func (r VideoExtension) Validate() error { return r.ValidateWith(CheckURL) }

// Validate implements Request.
func (r VideoOutpainting) Validate() error { return r.ValidateWith(CheckURL) }

// ValidateWith implements Request.
func (r ImageReference) ValidateWith(check URLCheck) error {
	v := validator{check: check}
	v.common(r.Prompt, r.Seed)
	switch n := len(r.RefImagesURL); {
	case n == 0:
		v.add("ref_images_url", "required: 1 to %d image URLs", MaxRefImages)
	case n > MaxRefImages:
		v.add("ref_images_url", "at most %d images (got %d); the service would silently drop the rest", MaxRefImages, n)
	}
	v.urls("ref_images_url", r.RefImagesURL)
	switch {
	case len(r.ObjOrBg) == 0 && len(r.RefImagesURL) > 1:
		v.add("obj_or_bg", `required with more than one image: one "obj" or "bg" per image, in order`)
	case len(r.ObjOrBg) > 0 && len(r.ObjOrBg) != len(r.RefImagesURL):
		v.add("obj_or_bg", "needs one entry per image in ref_images_url: got %d entries for %d images", len(r.ObjOrBg), len(r.RefImagesURL))
	}
	bg := 0
	for i, role := range r.ObjOrBg {
		switch role {
		case RoleObject:
		case RoleBackground:
			bg++
		default:
			v.add(fmt.Sprintf("obj_or_bg[%d]", i), `must be "obj" or "bg" (got %q)`, role)
		}
	}
	if bg > 1 {
		v.add("obj_or_bg", `at most one "bg" (background) image (got %d)`, bg)
	}
	oneOf(&v, "size", r.Size, Sizes)
	return v.err()
}

// ValidateWith implements Request.
func (r VideoRepainting) ValidateWith(check URLCheck) error {
	v := validator{check: check}
	v.common(r.Prompt, r.Seed)
	v.requiredURL("video_url", r.VideoURL)
	v.subjectImage(r.RefImagesURL)
	if r.ControlCondition == "" {
		v.add("control_condition", "required: one of %s", quotedList(RepaintingConditions))
	}
	oneOf(&v, "control_condition", r.ControlCondition, RepaintingConditions)
	v.between("strength", r.Strength, MinStrength, MaxStrength)
	return v.err()
}

// ValidateWith implements Request.
func (r VideoEdit) ValidateWith(check URLCheck) error {
	v := validator{check: check}
	v.common(r.Prompt, r.Seed)
	v.requiredURL("video_url", r.VideoURL)
	switch {
	case r.MaskImageURL == "" && r.MaskVideoURL == "":
		v.add("mask_image_url", "one of mask_image_url (recommended) or mask_video_url is required")
	case r.MaskImageURL != "" && r.MaskVideoURL != "":
		v.add("mask_video_url", "give mask_image_url or mask_video_url, not both")
	case r.MaskImageURL != "":
		v.url("mask_image_url", r.MaskImageURL)
	default:
		v.url("mask_video_url", r.MaskVideoURL)
	}
	if r.MaskFrameID != nil {
		switch {
		case r.MaskImageURL == "":
			v.add("mask_frame_id", "only applies to mask_image_url (the frame the mask image belongs to)")
		case *r.MaskFrameID < MinMaskFrameID:
			v.add("mask_frame_id", "must be %d or more: frames are numbered from %d (got %d)", MinMaskFrameID, MinMaskFrameID, *r.MaskFrameID)
		}
	}
	v.subjectImage(r.RefImagesURL)
	oneOf(&v, "mask_type", r.MaskType, MaskTypes)
	v.between("expand_ratio", r.ExpandRatio, MinExpandRatio, MaxExpandRatio)
	oneOf(&v, "expand_mode", r.ExpandMode, ExpandModes)
	if r.MaskType == MaskFixed {
		if r.ExpandRatio != nil {
			v.add("expand_ratio", `only applies when mask_type is "tracking"`)
		}
		if r.ExpandMode != "" {
			v.add("expand_mode", `only applies when mask_type is "tracking"`)
		}
	}
	oneOf(&v, "control_condition", r.ControlCondition, PoseOrDepth)
	oneOf(&v, "size", r.Size, Sizes)
	return v.err()
}

// ValidateWith implements Request.
func (r VideoExtension) ValidateWith(check URLCheck) error {
	v := validator{check: check}
	v.common(r.Prompt, r.Seed)
	anchors := []struct{ name, url string }{
		{"first_clip_url", r.FirstClipURL}, {"last_clip_url", r.LastClipURL},
		{"first_frame_url", r.FirstFrameURL}, {"last_frame_url", r.LastFrameURL},
	}
	given := 0
	for _, a := range anchors {
		if a.url != "" {
			given++
			v.url(a.name, a.url)
		}
	}
	if given == 0 {
		v.add("first_clip_url", "at least one of first_clip_url, last_clip_url, first_frame_url or last_frame_url is required")
	}
	switch {
	case r.VideoURL != "":
		v.url("video_url", r.VideoURL)
		if r.ControlCondition == "" {
			v.add("control_condition", "required with video_url (the motion reference): %s", quotedList(PoseOrDepth))
		}
	case r.ControlCondition != "":
		v.add("control_condition", "only applies together with video_url (a motion reference video)")
	}
	oneOf(&v, "control_condition", r.ControlCondition, PoseOrDepth)
	return v.err()
}

// ValidateWith implements Request.
func (r VideoOutpainting) ValidateWith(check URLCheck) error {
	v := validator{check: check}
	v.common(r.Prompt, r.Seed)
	v.requiredURL("video_url", r.VideoURL)
	v.between("top_scale", r.TopScale, MinScale, MaxScale)
	v.between("bottom_scale", r.BottomScale, MinScale, MaxScale)
	v.between("left_scale", r.LeftScale, MinScale, MaxScale)
	v.between("right_scale", r.RightScale, MinScale, MaxScale)
	return v.err()
}

// oneOf reports a value outside allowed; the zero value means "not given".
func oneOf[T ~string](v *validator, field string, got T, allowed []T) {
	if got != "" && !slices.Contains(allowed, got) {
		v.add(field, "must be one of %s (got %q)", quotedList(allowed), got)
	}
}
