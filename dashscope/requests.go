package dashscope

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
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
	DefaultSize       = Size1280x720
)

// Limits the service documents for request fields.
const (
	// MaxPromptRunes is the longest prompt, in characters; the service cuts longer ones.
	MaxPromptRunes = 800
	// MaxRefImages is the most reference images image_reference uses.
	MaxRefImages = 3
	// MaxSeed is the largest seed.
	MaxSeed = 2147483647

	minScale, maxScale = 1.0, 2.0
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

// MaskType says whether the edited area follows its target (tracking) or stays put (fixed).
type MaskType string

// Mask types for video_edit.
const (
	MaskTracking MaskType = "tracking"
	MaskFixed    MaskType = "fixed"
)

// ExpandMode is the shape a tracking mask grows into.
type ExpandMode string

// Expand modes for video_edit with a tracking mask.
const (
	ExpandHull     ExpandMode = "hull"
	ExpandBBox     ExpandMode = "bbox"
	ExpandOriginal ExpandMode = "original"
)

// Role says whether a reference image shows a subject (obj) or a background (bg).
type Role string

// Reference image roles for image_reference.
const (
	RoleObject     Role = "obj"
	RoleBackground Role = "bg"
)

// Request is a typed request for one editing function. Its fields carry the
// API's names in their json tags and their place (input or parameters) in a
// dashscope tag; unset optional fields are left out of the request body.
type Request interface {
	// Function is the editing function the request calls.
	Function() Function
	// Validate reports every field the service would refuse or misread, as
	// errors.Join of [*FieldError], or nil.
	Validate() error
}

// The struct tags below carry the API's own facts about each field: its JSON
// name, its place in the body (dashscope tag), and for JSON Schema generators
// (github.com/invopop/jsonschema) its range, enum, default and a description.

// Descriptions shared by every request type.
const (
	descPrompt       = "What the output video should show, in detail (at most 800 characters)."
	descPromptExtend = "Let the service rewrite the prompt (default true); set false when the prompt is precise."
	descSeed         = "Seed for repeatable output; random when omitted."
	descWatermark    = "Mark the video as AI generated (default false)."
	descInputVideo   = "Input video: MP4, at least 16 fps, at most 50 MB and 5 s (longer is cut)."
	descSubjectImage = "Optional: one image of a subject to put into the video (JPG, PNG, BMP, TIFF or WEBP, 360-2000 px per side, at most 10 MB)."
	descSize         = "Output width*height (default 1280*720)."
)

// ImageReference makes a video from 1–3 reference images of subjects and at
// most one background.
type ImageReference struct {
	Prompt       string   `json:"prompt" dashscope:"input" jsonschema:"maxLength=800" jsonschema_description:"What the output video should show, in detail (at most 800 characters); name the subjects and the scene of the images."`
	RefImagesURL []string `json:"ref_images_url" dashscope:"input" jsonschema:"minItems=1,maxItems=3" jsonschema_description:"1-3 images of subjects (people, animals, objects) and at most one background: JPG, PNG, BMP, TIFF or WEBP, 360-2000 px per side, at most 10 MB."`
	PromptExtend *bool    `json:"prompt_extend,omitempty" dashscope:"parameters" jsonschema:"default=true"`
	ObjOrBg      []Role   `json:"obj_or_bg,omitempty" dashscope:"parameters" jsonschema:"minItems=1,maxItems=3,enum=obj,enum=bg" jsonschema_description:"Role of each image, in the same order: obj (subject) or bg (background, at most one). Required with more than one image."`
	Size         Size     `json:"size,omitempty" dashscope:"parameters" jsonschema:"enum=1280*720,enum=720*1280,enum=960*960,enum=832*1088,enum=1088*832,default=1280*720"`
	Seed         *int     `json:"seed,omitempty" dashscope:"parameters" jsonschema:"minimum=0,maximum=2147483647"`
	Watermark    *bool    `json:"watermark,omitempty" dashscope:"parameters" jsonschema:"default=false"`
}

// VideoRepainting keeps an input video's pose, depth or sketch structure and
// repaints everything else from the prompt (optionally with a subject image).
type VideoRepainting struct {
	Prompt           string           `json:"prompt" dashscope:"input" jsonschema:"maxLength=800"`
	VideoURL         string           `json:"video_url" dashscope:"input"`
	RefImagesURL     []string         `json:"ref_images_url,omitempty" dashscope:"input" jsonschema:"minItems=1,maxItems=1"`
	PromptExtend     *bool            `json:"prompt_extend,omitempty" dashscope:"parameters" jsonschema:"default=true"`
	ControlCondition ControlCondition `json:"control_condition" dashscope:"parameters" jsonschema:"enum=posebodyface,enum=posebody,enum=depth,enum=scribble" jsonschema_description:"What to keep from the input video: posebodyface (pose and face), posebody (pose), depth (composition and motion), scribble (sketch edges)."`
	Strength         *float64         `json:"strength,omitempty" dashscope:"parameters" jsonschema:"minimum=0,maximum=1,default=1" jsonschema_description:"How closely to follow the input's structure, 0.0-1.0 (default 1.0); lower gives more freedom."`
	Seed             *int             `json:"seed,omitempty" dashscope:"parameters" jsonschema:"minimum=0,maximum=2147483647"`
	Watermark        *bool            `json:"watermark,omitempty" dashscope:"parameters" jsonschema:"default=false"`
}

// VideoEdit edits the area of a video marked by a mask image or mask video.
type VideoEdit struct {
	Prompt           string           `json:"prompt" dashscope:"input" jsonschema:"maxLength=800" jsonschema_description:"What the output video should show, in detail (at most 800 characters), including the edited area."`
	MaskImageURL     string           `json:"mask_image_url,omitempty" dashscope:"input" jsonschema_description:"Mask image for one frame (recommended): exactly the video's resolution, pure white where to edit, pure black where to keep. Give this or mask_video_url."`
	MaskVideoURL     string           `json:"mask_video_url,omitempty" dashscope:"input" jsonschema_description:"Mask video, same size and length as the video: white where to edit, black where to keep. Give this or mask_image_url."`
	VideoURL         string           `json:"video_url" dashscope:"input"`
	MaskFrameID      *int             `json:"mask_frame_id,omitempty" dashscope:"input" jsonschema:"minimum=1,default=1" jsonschema_description:"Frame number (from 1) that mask_image_url belongs to (default 1, the first frame)."`
	RefImagesURL     []string         `json:"ref_images_url,omitempty" dashscope:"input" jsonschema:"minItems=1,maxItems=1"`
	PromptExtend     *bool            `json:"prompt_extend,omitempty" dashscope:"parameters" jsonschema:"default=true"`
	MaskType         MaskType         `json:"mask_type,omitempty" dashscope:"parameters" jsonschema:"enum=tracking,enum=fixed,default=tracking" jsonschema_description:"tracking (default): the edited area follows its object; fixed: it stays in place."`
	ExpandRatio      *float64         `json:"expand_ratio,omitempty" dashscope:"parameters" jsonschema:"minimum=0,maximum=1,default=0.05" jsonschema_description:"How far a tracking mask grows outward, 0.0-1.0 (default 0.05). Tracking only."`
	ExpandMode       ExpandMode       `json:"expand_mode,omitempty" dashscope:"parameters" jsonschema:"enum=hull,enum=bbox,enum=original,default=hull" jsonschema_description:"Shape of a tracking mask: hull (default), bbox or original. Tracking only."`
	ControlCondition ControlCondition `json:"control_condition,omitempty" dashscope:"parameters" jsonschema:"enum=posebodyface,enum=depth" jsonschema_description:"Optional: keep the input's posebodyface (pose and face) or depth (composition) in the edited area."`
	Size             Size             `json:"size,omitempty" dashscope:"parameters" jsonschema:"enum=1280*720,enum=720*1280,enum=960*960,enum=832*1088,enum=1088*832,default=1280*720"`
	Seed             *int             `json:"seed,omitempty" dashscope:"parameters" jsonschema:"minimum=0,maximum=2147483647"`
	Watermark        *bool            `json:"watermark,omitempty" dashscope:"parameters" jsonschema:"default=false"`
}

// VideoExtension continues a clip or frame forwards or backwards to 5 seconds.
type VideoExtension struct {
	Prompt           string           `json:"prompt" dashscope:"input" jsonschema:"maxLength=800" jsonschema_description:"What happens in the extended video, in detail (at most 800 characters)."`
	FirstClipURL     string           `json:"first_clip_url,omitempty" dashscope:"input" jsonschema_description:"Clip to continue forwards: MP4 of at most 3 s (both clips together at most 3 s)."`
	LastClipURL      string           `json:"last_clip_url,omitempty" dashscope:"input" jsonschema_description:"Clip to lead up to (generation runs backwards to it): MP4 of at most 3 s."`
	FirstFrameURL    string           `json:"first_frame_url,omitempty" dashscope:"input" jsonschema_description:"Image the video starts from."`
	LastFrameURL     string           `json:"last_frame_url,omitempty" dashscope:"input" jsonschema_description:"Image the video ends on."`
	VideoURL         string           `json:"video_url,omitempty" dashscope:"input" jsonschema_description:"Optional motion reference video (MP4, at most 5 s); needs control_condition."`
	PromptExtend     *bool            `json:"prompt_extend,omitempty" dashscope:"parameters" jsonschema:"default=true"`
	ControlCondition ControlCondition `json:"control_condition,omitempty" dashscope:"parameters" jsonschema:"enum=posebodyface,enum=depth" jsonschema_description:"What to take from video_url: posebodyface (pose and face) or depth (composition); only with video_url."`
	Seed             *int             `json:"seed,omitempty" dashscope:"parameters" jsonschema:"minimum=0,maximum=2147483647"`
	Watermark        *bool            `json:"watermark,omitempty" dashscope:"parameters" jsonschema:"default=false"`
}

// VideoOutpainting widens a video's frame by a factor on each side.
type VideoOutpainting struct {
	Prompt       string   `json:"prompt" dashscope:"input" jsonschema:"maxLength=800" jsonschema_description:"What the whole widened scene should show, in detail (at most 800 characters)."`
	VideoURL     string   `json:"video_url" dashscope:"input"`
	PromptExtend *bool    `json:"prompt_extend,omitempty" dashscope:"parameters" jsonschema:"default=true"`
	TopScale     *float64 `json:"top_scale,omitempty" dashscope:"parameters" jsonschema:"minimum=1,maximum=2,default=1" jsonschema_description:"Grow the frame upwards by this factor, 1.0-2.0 (default 1.0: unchanged)."`
	BottomScale  *float64 `json:"bottom_scale,omitempty" dashscope:"parameters" jsonschema:"minimum=1,maximum=2,default=1" jsonschema_description:"Grow the frame downwards, 1.0-2.0 (default 1.0)."`
	LeftScale    *float64 `json:"left_scale,omitempty" dashscope:"parameters" jsonschema:"minimum=1,maximum=2,default=1" jsonschema_description:"Grow the frame to the left, 1.0-2.0 (default 1.0); 1.5 makes the left side 1.5 times as wide."`
	RightScale   *float64 `json:"right_scale,omitempty" dashscope:"parameters" jsonschema:"minimum=1,maximum=2,default=1" jsonschema_description:"Grow the frame to the right, 1.0-2.0 (default 1.0)."`
	Seed         *int     `json:"seed,omitempty" dashscope:"parameters" jsonschema:"minimum=0,maximum=2147483647"`
	Watermark    *bool    `json:"watermark,omitempty" dashscope:"parameters" jsonschema:"default=false"`
}

// FieldDescription describes a field whose meaning is the same in every
// request type, by JSON name ("" for others); a field's own
// jsonschema_description tag takes precedence over it.
func FieldDescription(name string) string {
	switch name {
	case "prompt":
		return descPrompt
	case "prompt_extend":
		return descPromptExtend
	case "seed":
		return descSeed
	case "watermark":
		return descWatermark
	case "video_url":
		return descInputVideo
	case "ref_images_url":
		return descSubjectImage
	case "size":
		return descSize
	}
	return ""
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
func (r ImageReference) Validate() error {
	var fe fieldErrors
	checkCommon(&fe, r.Prompt, r.Seed)
	switch n := len(r.RefImagesURL); {
	case n == 0:
		fe.add("ref_images_url", "required: 1 to %d image URLs", MaxRefImages)
	case n > MaxRefImages:
		fe.add("ref_images_url", "at most %d images (got %d); the service would silently drop the rest", MaxRefImages, n)
	}
	for i, u := range r.RefImagesURL {
		checkURL(&fe, fmt.Sprintf("ref_images_url[%d]", i), u)
	}
	switch {
	case len(r.ObjOrBg) == 0 && len(r.RefImagesURL) > 1:
		fe.add("obj_or_bg", `required with more than one image: one "obj" or "bg" per image, in order`)
	case len(r.ObjOrBg) > 0 && len(r.ObjOrBg) != len(r.RefImagesURL):
		fe.add("obj_or_bg", "needs one entry per image in ref_images_url: got %d entries for %d images", len(r.ObjOrBg), len(r.RefImagesURL))
	}
	bg := 0
	for i, role := range r.ObjOrBg {
		switch role {
		case RoleObject:
		case RoleBackground:
			bg++
		default:
			fe.add(fmt.Sprintf("obj_or_bg[%d]", i), `must be "obj" or "bg" (got %q)`, role)
		}
	}
	if bg > 1 {
		fe.add("obj_or_bg", `at most one "bg" (background) image (got %d)`, bg)
	}
	checkSize(&fe, r.Size)
	return fe.err()
}

// Validate implements Request.
func (r VideoRepainting) Validate() error {
	var fe fieldErrors
	checkCommon(&fe, r.Prompt, r.Seed)
	checkRequiredURL(&fe, "video_url", r.VideoURL)
	checkOptionalRefImage(&fe, r.RefImagesURL)
	switch r.ControlCondition {
	case ControlPoseBodyFace, ControlPoseBody, ControlDepth, ControlScribble:
	case "":
		fe.add("control_condition", `required: one of "posebodyface", "posebody", "depth", "scribble"`)
	default:
		fe.add("control_condition", `must be one of "posebodyface", "posebody", "depth", "scribble" (got %q)`, r.ControlCondition)
	}
	checkRange(&fe, "strength", r.Strength, 0, 1)
	return fe.err()
}

// Validate implements Request.
func (r VideoEdit) Validate() error {
	var fe fieldErrors
	checkCommon(&fe, r.Prompt, r.Seed)
	checkRequiredURL(&fe, "video_url", r.VideoURL)
	switch {
	case r.MaskImageURL == "" && r.MaskVideoURL == "":
		fe.add("mask_image_url", "one of mask_image_url (recommended) or mask_video_url is required")
	case r.MaskImageURL != "" && r.MaskVideoURL != "":
		fe.add("mask_video_url", "give mask_image_url or mask_video_url, not both")
	case r.MaskImageURL != "":
		checkURL(&fe, "mask_image_url", r.MaskImageURL)
	default:
		checkURL(&fe, "mask_video_url", r.MaskVideoURL)
	}
	if r.MaskFrameID != nil {
		switch {
		case r.MaskImageURL == "":
			fe.add("mask_frame_id", "only applies to mask_image_url (the frame the mask image belongs to)")
		case *r.MaskFrameID < 1:
			fe.add("mask_frame_id", "must be 1 or more: frames are numbered from 1 (got %d)", *r.MaskFrameID)
		}
	}
	checkOptionalRefImage(&fe, r.RefImagesURL)
	tracking := true
	switch r.MaskType {
	case "", MaskTracking:
	case MaskFixed:
		tracking = false
	default:
		fe.add("mask_type", `must be "tracking" or "fixed" (got %q)`, r.MaskType)
	}
	checkRange(&fe, "expand_ratio", r.ExpandRatio, 0, 1)
	if !tracking && r.ExpandRatio != nil {
		fe.add("expand_ratio", `only applies when mask_type is "tracking"`)
	}
	switch r.ExpandMode {
	case "", ExpandHull, ExpandBBox, ExpandOriginal:
	default:
		fe.add("expand_mode", `must be "hull", "bbox" or "original" (got %q)`, r.ExpandMode)
	}
	if !tracking && r.ExpandMode != "" {
		fe.add("expand_mode", `only applies when mask_type is "tracking"`)
	}
	checkPoseOrDepth(&fe, r.ControlCondition)
	checkSize(&fe, r.Size)
	return fe.err()
}

// Validate implements Request.
func (r VideoExtension) Validate() error {
	var fe fieldErrors
	checkCommon(&fe, r.Prompt, r.Seed)
	anchors := []struct{ name, url string }{
		{"first_clip_url", r.FirstClipURL}, {"last_clip_url", r.LastClipURL},
		{"first_frame_url", r.FirstFrameURL}, {"last_frame_url", r.LastFrameURL},
	}
	given := 0
	for _, a := range anchors {
		if a.url != "" {
			given++
			checkURL(&fe, a.name, a.url)
		}
	}
	if given == 0 {
		fe.add("first_clip_url", "at least one of first_clip_url, last_clip_url, first_frame_url or last_frame_url is required")
	}
	switch {
	case r.VideoURL != "":
		checkURL(&fe, "video_url", r.VideoURL)
		if r.ControlCondition == "" {
			fe.add("control_condition", `required with video_url (the motion reference): "posebodyface" or "depth"`)
		}
	case r.ControlCondition != "":
		fe.add("control_condition", "only applies together with video_url (a motion reference video)")
	}
	checkPoseOrDepth(&fe, r.ControlCondition)
	return fe.err()
}

// Validate implements Request.
func (r VideoOutpainting) Validate() error {
	var fe fieldErrors
	checkCommon(&fe, r.Prompt, r.Seed)
	checkRequiredURL(&fe, "video_url", r.VideoURL)
	checkRange(&fe, "top_scale", r.TopScale, minScale, maxScale)
	checkRange(&fe, "bottom_scale", r.BottomScale, minScale, maxScale)
	checkRange(&fe, "left_scale", r.LeftScale, minScale, maxScale)
	checkRange(&fe, "right_scale", r.RightScale, minScale, maxScale)
	return fe.err()
}

func checkCommon(fe *fieldErrors, prompt string, seed *int) {
	switch n := utf8.RuneCountInString(prompt); {
	case strings.TrimSpace(prompt) == "":
		fe.add("prompt", "required: describe the video you want (at most %d characters)", MaxPromptRunes)
	case n > MaxPromptRunes:
		fe.add("prompt", "at most %d characters (got %d); the service would silently cut the rest", MaxPromptRunes, n)
	}
	if seed != nil && (*seed < 0 || *seed > MaxSeed) {
		fe.add("seed", "must be between 0 and %d (got %d)", MaxSeed, *seed)
	}
}

func checkRequiredURL(fe *fieldErrors, field, u string) {
	if u == "" {
		fe.add(field, "required: an http(s) or oss:// URL")
		return
	}
	checkURL(fe, field, u)
}

func checkOptionalRefImage(fe *fieldErrors, urls []string) {
	if len(urls) > 1 {
		fe.add("ref_images_url", "at most 1 image for this function (got %d)", len(urls))
	}
	for i, u := range urls {
		checkURL(fe, fmt.Sprintf("ref_images_url[%d]", i), u)
	}
}

func checkPoseOrDepth(fe *fieldErrors, c ControlCondition) {
	switch c {
	case "", ControlPoseBodyFace, ControlDepth:
	default:
		fe.add("control_condition", `must be "posebodyface" or "depth" for this function (got %q)`, c)
	}
}

func checkSize(fe *fieldErrors, s Size) {
	if s != "" && !slices.Contains(Sizes, s) {
		fe.add("size", `must be one of "1280*720", "720*1280", "960*960", "832*1088", "1088*832" (got %q)`, s)
	}
}

func checkRange(fe *fieldErrors, field string, v *float64, lo, hi float64) {
	if v != nil && (*v < lo || *v > hi) {
		fe.add(field, "must be between %.1f and %.1f (got %g)", lo, hi, *v)
	}
}

// checkURL accepts what the service can fetch: an absolute http, https or
// oss URL with a host, free of Chinese characters.
func checkURL(fe *fieldErrors, field, raw string) {
	u, err := url.Parse(raw)
	if err != nil {
		fe.add(field, "not a valid URL (%q): give an http(s) or oss:// URL", raw)
		return
	}
	switch u.Scheme {
	case "http", "https", "oss":
	default:
		fe.add(field, "must be an http(s) or oss:// URL (got %q)", raw)
		return
	}
	if u.Host == "" {
		fe.add(field, "URL has no host (got %q)", raw)
		return
	}
	if strings.IndexFunc(raw, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0 {
		fe.add(field, "URL must not contain Chinese characters: percent-encode them (got %q)", raw)
		return
	}
	if strings.IndexFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		fe.add(field, "URL must not contain spaces or control characters: percent-encode them (got %q)", raw)
	}
}

// requestBody is the JSON the service expects for a request:
// {"model", "input": {"function", …}, "parameters": {…}}, with fields in the
// order the request type declares them and unset optional fields left out.
// It also reports whether any URL is an oss:// URL from the upload flow.
func requestBody(model string, r Request) (body []byte, usesOSS bool, err error) {
	var input, params bytes.Buffer
	input.WriteString(`{"function":`)
	if err := writeJSON(&input, r.Function()); err != nil {
		return nil, false, err
	}
	params.WriteByte('{')
	v := reflect.Indirect(reflect.ValueOf(r)) // *VideoEdit is a Request too, through its value methods
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		fv := v.Field(i)
		if opts == "omitempty" && fv.IsZero() {
			continue
		}
		if strings.HasSuffix(name, "_url") {
			usesOSS = usesOSS || hasOSSURL(fv)
		}
		var dst *bytes.Buffer
		switch place := f.Tag.Get("dashscope"); place {
		case "input":
			dst = &input
		case "parameters":
			dst = &params
		default:
			return nil, false, fmt.Errorf("dashscope: %s.%s has no place (dashscope tag %q)", t.Name(), f.Name, place)
		}
		if dst.Len() > 1 {
			dst.WriteByte(',')
		}
		if err := writeJSON(dst, name); err != nil {
			return nil, false, err
		}
		dst.WriteByte(':')
		if err := writeJSON(dst, fv.Interface()); err != nil {
			return nil, false, err
		}
	}
	input.WriteByte('}')
	params.WriteByte('}')

	var b bytes.Buffer
	b.WriteString(`{"model":`)
	if err := writeJSON(&b, model); err != nil {
		return nil, false, err
	}
	b.WriteString(`,"input":`)
	b.Write(input.Bytes())
	b.WriteString(`,"parameters":`)
	b.Write(params.Bytes())
	b.WriteByte('}')
	return b.Bytes(), usesOSS, nil
}

func hasOSSURL(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		return strings.HasPrefix(v.String(), "oss://")
	case reflect.Slice:
		for i := range v.Len() {
			if hasOSSURL(v.Index(i)) {
				return true
			}
		}
	}
	return false
}

// writeJSON writes v compactly without HTML escaping, as the vendor's examples are written.
func writeJSON(dst *bytes.Buffer, v any) error {
	enc := json.NewEncoder(dst)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	dst.Truncate(dst.Len() - 1) // Encode ends with a newline
	return nil
}
