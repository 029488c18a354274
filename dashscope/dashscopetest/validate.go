package dashscopetest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file checks submissions the way the vendor's API reference describes
// the service doing it. It is written from the documentation, not from the
// client's validation, so the two can disagree in tests.

// fieldKind is the JSON type a field must have.
type fieldKind int

const (
	kindString fieldKind = iota
	kindURL
	kindURLList
	kindBool
	kindInt
	kindNumber
	kindStringList
	// kindMediaList is wan2.7-videoedit's input.media, which parseMedia checks.
	kindMediaList
)

// functionSpec lists a function's allowed input and parameter fields.
type functionSpec struct {
	input  map[string]fieldKind
	params map[string]fieldKind
}

var commonParams = map[string]fieldKind{"prompt_extend": kindBool, "seed": kindInt, "watermark": kindBool}

var functionSpecs = map[string]functionSpec{
	"image_reference": {
		input:  map[string]fieldKind{"ref_images_url": kindURLList},
		params: map[string]fieldKind{"obj_or_bg": kindStringList, "size": kindString},
	},
	"video_repainting": {
		input:  map[string]fieldKind{"video_url": kindURL, "ref_images_url": kindURLList},
		params: map[string]fieldKind{"control_condition": kindString, "strength": kindNumber},
	},
	"video_edit": {
		input: map[string]fieldKind{"video_url": kindURL, "mask_image_url": kindURL, "mask_video_url": kindURL,
			"mask_frame_id": kindInt, "ref_images_url": kindURLList},
		params: map[string]fieldKind{"mask_type": kindString, "expand_ratio": kindNumber, "expand_mode": kindString,
			"control_condition": kindString, "size": kindString},
	},
	"video_extension": {
		input: map[string]fieldKind{"first_clip_url": kindURL, "last_clip_url": kindURL, "first_frame_url": kindURL,
			"last_frame_url": kindURL, "video_url": kindURL},
		params: map[string]fieldKind{"control_condition": kindString},
	},
	"video_outpainting": {
		input: map[string]fieldKind{"video_url": kindURL},
		params: map[string]fieldKind{"top_scale": kindNumber, "bottom_scale": kindNumber, "left_scale": kindNumber,
			"right_scale": kindNumber},
	},
}

var sizes = []string{"1280*720", "720*1280", "960*960", "832*1088", "1088*832"}

// wan2.7-videoedit's fields: one body for every kind of edit, no function.
var (
	wan27Input  = map[string]fieldKind{"prompt": kindString, "negative_prompt": kindString, "media": kindMediaList}
	wan27Params = map[string]fieldKind{"resolution": kindString, "ratio": kindString, "duration": kindInt,
		"audio_setting": kindString, "prompt_extend": kindBool, "watermark": kindBool, "seed": kindInt}
)

// wan2.7-videoedit's limits on input.media.
const (
	mediaVideo          = "video"
	mediaReferenceImage = "reference_image"
	maxReferenceImages  = 4
)

// imageMIMEs are the data-URL types of the reference-image formats (JPEG, PNG,
// BMP, WEBP): the docs name formats, not MIME types, so the fake takes each
// format's usual type.
var imageMIMEs = []string{"image/jpeg", "image/png", "image/bmp", "image/webp"}

// badRequest is an error answer to a submission.
type badRequest struct {
	status    int
	code, msg string
}

func invalid(format string, args ...any) *badRequest {
	return &badRequest{http.StatusBadRequest, "InvalidParameter", fmt.Sprintf(format, args...)}
}

// parseSubmission parses and checks a submission body; a non-nil badRequest
// is the service's answer.
func (s *Server) parseSubmission(r *http.Request, body []byte) (Submission, *badRequest) {
	top, err := decodeObject(body)
	if err != nil {
		return Submission{}, invalid("request body is not a JSON object: %v", err)
	}
	for k := range top {
		if k != "model" && k != "input" && k != "parameters" {
			return Submission{}, invalid("unknown top-level field %q: fields belong in input or parameters", k)
		}
	}
	model, _ := top["model"].(string)
	if model == "" {
		return Submission{}, &badRequest{http.StatusBadRequest, "BadRequest.EmptyModel", "Required parameter \"model\" missing from request."}
	}
	if !slices.Contains(s.models, model) {
		return Submission{}, invalid("Model not exist: %q (this region serves %s)", model, strings.Join(s.models, ", "))
	}
	input, ok := top["input"].(map[string]any)
	if !ok || len(input) == 0 {
		return Submission{}, &badRequest{http.StatusBadRequest, "BadRequest.EmptyInput", "Required parameter \"input\" missing from request."}
	}
	params := map[string]any{}
	if p, present := top["parameters"]; present {
		if params, ok = p.(map[string]any); !ok {
			return Submission{}, invalid("parameters must be a JSON object")
		}
	}
	parse := parseVACE
	if model == Wan27Model {
		parse = parseWan27
	}
	sub, urls, bad := parse(input, params)
	if bad == nil {
		bad = s.checkOSS(r, model, urls)
	}
	if bad != nil {
		return Submission{}, bad
	}
	sub.Model, sub.Input, sub.Parameters = model, input, params
	return sub, nil
}

// parseVACE checks a VACE body. It returns the submission's function and
// prompt, and every media URL the body names.
func parseVACE(input, params map[string]any) (Submission, []string, *badRequest) {
	fn, _ := input["function"].(string)
	spec, ok := functionSpecs[fn]
	if !ok {
		return Submission{}, nil, invalid("input.function must be one of image_reference, video_repainting, video_edit, video_extension, video_outpainting, got %v", input["function"])
	}
	prompt, isString := input["prompt"].(string)
	if !isString || strings.TrimSpace(prompt) == "" {
		return Submission{}, nil, invalid("input.prompt is required")
	}
	var urls []string
	for k, v := range input {
		if k == "function" || k == "prompt" {
			continue
		}
		kind, ok := spec.input[k]
		if !ok {
			return Submission{}, nil, invalid("unknown field %q in input for %s%s", k, fn, misplaced(k, spec.params))
		}
		if bad := checkKind("input."+k, kind, v); bad != nil {
			return Submission{}, nil, bad
		}
		switch kind {
		case kindURL:
			urls = append(urls, v.(string))
		case kindURLList:
			for _, e := range v.([]any) {
				urls = append(urls, e.(string))
			}
		}
	}
	for k, v := range params {
		kind, ok := spec.params[k]
		if !ok {
			kind, ok = commonParams[k]
		}
		if !ok {
			return Submission{}, nil, invalid("unknown field %q in parameters for %s%s", k, fn, misplaced(k, spec.input))
		}
		if bad := checkKind("parameters."+k, kind, v); bad != nil {
			return Submission{}, nil, bad
		}
	}
	if bad := first(checkCommon(params), checkFunction(fn, input, params)); bad != nil {
		return Submission{}, nil, bad
	}
	return Submission{Function: fn, Prompt: cut(prompt, 800)}, urls, nil
}

// parseWan27 checks a wan2.7-videoedit body. It returns the submission's
// prompt and media, and every media URL the body names.
func parseWan27(input, params map[string]any) (Submission, []string, *badRequest) {
	if _, ok := input["function"]; ok {
		return Submission{}, nil, invalid("input.function is not a field of %s: it has no functions; the prompt says what to edit and the media go in input.media", Wan27Model)
	}
	for k, v := range input {
		kind, ok := wan27Input[k]
		if !ok {
			return Submission{}, nil, invalid("unknown field %q in input for %s%s", k, Wan27Model, misplaced(k, wan27Params))
		}
		if kind == kindMediaList {
			continue
		}
		if bad := checkKind("input."+k, kind, v); bad != nil {
			return Submission{}, nil, bad
		}
	}
	media, bad := parseMedia(input["media"])
	if bad != nil {
		return Submission{}, nil, bad
	}
	for k, v := range params {
		kind, ok := wan27Params[k]
		if !ok {
			return Submission{}, nil, invalid("unknown field %q in parameters for %s%s", k, Wan27Model, misplaced(k, wan27Input))
		}
		if bad := checkKind("parameters."+k, kind, v); bad != nil {
			return Submission{}, nil, bad
		}
	}
	// The docs say "at most 500 characters" without saying, as they do for
	// the prompt, that longer is cut: the fake refuses it, so a client that
	// sends more finds out in tests rather than from a surprise in production.
	negative, _ := input["negative_prompt"].(string)
	duration, hasDuration := num(params["duration"])
	bad = first(
		cond(utf8.RuneCountInString(negative) > 500, invalid("input.negative_prompt must be at most 500 characters, got %d", utf8.RuneCountInString(negative))),
		checkEnum(params, "resolution", "720P", "1080P"),
		checkEnum(params, "ratio", "16:9", "9:16", "1:1", "4:3", "3:4"),
		checkEnum(params, "audio_setting", "auto", "origin"),
		cond(hasDuration && duration != 0 && (duration < 2 || duration > 10),
			invalid("parameters.duration must be 0 (the whole input) or 2 to 10 seconds, got %g", duration)),
		checkCommon(params),
	)
	if bad != nil {
		return Submission{}, nil, bad
	}
	urls := make([]string, len(media))
	for i, m := range media {
		urls[i] = m.URL
	}
	// The prompt is optional, so an empty one is taken as none.
	prompt, _ := input["prompt"].(string)
	return Submission{Prompt: cut(prompt, 5000), Media: media}, urls, nil
}

// parseMedia checks input.media: exactly one video and at most four
// reference images, each an object with only type and url. The docs give no
// order, so the video may stand anywhere in the list.
func parseMedia(v any) ([]Media, *badRequest) {
	if v == nil {
		return nil, invalid(`input.media is required: one {"type": "video", "url": ...} and up to %d reference_image entries`, maxReferenceImages)
	}
	list, ok := v.([]any)
	if !ok {
		return nil, invalid(`input.media must be an array of {"type", "url"} objects`)
	}
	if len(list) == 0 {
		return nil, invalid("input.media is empty: it needs exactly one video and up to %d reference_image entries", maxReferenceImages)
	}
	media := make([]Media, len(list))
	videos, images := 0, 0
	for i, e := range list {
		name := fmt.Sprintf("input.media[%d]", i)
		obj, ok := e.(map[string]any)
		if !ok {
			return nil, invalid(`%s must be a {"type", "url"} object`, name)
		}
		for k := range obj {
			if k != "type" && k != "url" {
				return nil, invalid("unknown field %q in %s: an entry has only type and url", k, name)
			}
		}
		typ, ok := obj["type"].(string)
		if !ok {
			return nil, invalid("%s.type is required, a string: %s or %s", name, mediaVideo, mediaReferenceImage)
		}
		u, ok := obj["url"].(string)
		if !ok {
			return nil, invalid("%s.url is required, a URL string", name)
		}
		var bad *badRequest
		switch typ {
		case mediaVideo:
			videos++
			bad = checkVideoURL(name+".url", u)
		case mediaReferenceImage:
			images++
			bad = checkImageURL(name+".url", u)
		default:
			bad = invalid("%s.type must be %s or %s, got %q", name, mediaVideo, mediaReferenceImage, typ)
		}
		if bad != nil {
			return nil, bad
		}
		media[i] = Media{Type: typ, URL: u}
	}
	return media, first(
		cond(videos != 1, invalid("input.media must hold exactly one video, got %d", videos)),
		cond(images > maxReferenceImages, invalid("input.media holds at most %d reference_image entries, got %d", maxReferenceImages, images)),
	)
}

// checkVideoURL accepts a wan2.7-videoedit video's URL: http(s) or oss, no Base64.
func checkVideoURL(name, raw string) *badRequest {
	if strings.HasPrefix(raw, "data:") {
		return &badRequest{http.StatusBadRequest, "InvalidURL", fmt.Sprintf("%s: a video must be an http(s) or oss:// URL; Base64 data URLs are for reference images only", name)}
	}
	return checkMediaURL(name, raw)
}

// checkImageURL accepts a reference image's URL: http(s), oss, or
// data:{mime};base64,{data}. Like a URL's target, the image inside is not
// inspected (size, pixels).
func checkImageURL(name, raw string) *badRequest {
	rest, isData := strings.CutPrefix(raw, "data:")
	if !isData {
		return checkMediaURL(name, raw)
	}
	meta, data, hasComma := strings.Cut(rest, ",")
	mime, isBase64 := strings.CutSuffix(meta, ";base64")
	if !hasComma || !isBase64 || mime == "" {
		return &badRequest{http.StatusBadRequest, "InvalidURL", fmt.Sprintf("%s: a data URL must be data:{mime};base64,{data}", name)}
	}
	if !slices.Contains(imageMIMEs, strings.ToLower(mime)) {
		return &badRequest{http.StatusUnsupportedMediaType, "BadRequest.UnsupportedFileFormat",
			fmt.Sprintf("%s: %s is not a reference image type (%s)", name, mime, strings.Join(imageMIMEs, ", "))}
	}
	if _, err := base64.StdEncoding.DecodeString(data); err != nil || data == "" {
		return &badRequest{http.StatusBadRequest, "InvalidURL", fmt.Sprintf("%s: the data URL's Base64 does not decode", name)}
	}
	return nil
}

func misplaced(field string, other map[string]fieldKind) string {
	if _, ok := other[field]; ok {
		return " (it belongs in the other object)"
	}
	return ""
}

// cut keeps the first n characters of a prompt, as the service silently does.
func cut(prompt string, n int) string {
	if utf8.RuneCountInString(prompt) > n {
		return string([]rune(prompt)[:n])
	}
	return prompt
}

func checkKind(name string, kind fieldKind, v any) *badRequest {
	switch kind {
	case kindString:
		if _, ok := v.(string); !ok {
			return invalid("%s must be a string", name)
		}
	case kindURL:
		u, ok := v.(string)
		if !ok {
			return invalid("%s must be a URL string", name)
		}
		return checkMediaURL(name, u)
	case kindURLList, kindStringList:
		list, ok := v.([]any)
		if !ok || len(list) == 0 {
			return invalid("%s must be a non-empty array of strings", name)
		}
		for i, e := range list {
			str, ok := e.(string)
			if !ok {
				return invalid("%s[%d] must be a string", name, i)
			}
			if kind == kindURLList {
				if bad := checkMediaURL(fmt.Sprintf("%s[%d]", name, i), str); bad != nil {
					return bad
				}
			}
		}
	case kindBool:
		if _, ok := v.(bool); !ok {
			return invalid("%s must be a boolean", name)
		}
	case kindInt:
		n, ok := v.(json.Number)
		if _, err := n.Int64(); !ok || err != nil {
			return invalid("%s must be an integer", name)
		}
	case kindNumber:
		n, ok := v.(json.Number)
		if _, err := n.Float64(); !ok || err != nil {
			return invalid("%s must be a number", name)
		}
	}
	return nil
}

// checkMediaURL accepts http(s) and oss URLs without Chinese characters. The
// wan2.7-videoedit page does not repeat VACE's rule against Chinese
// characters; the fake keeps it for both models.
func checkMediaURL(name, raw string) *badRequest {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "oss") || u.Host == "" {
		return &badRequest{http.StatusBadRequest, "InvalidURL", fmt.Sprintf("%s is not a valid http(s) or oss URL: %q", name, raw)}
	}
	if strings.IndexFunc(raw, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0 {
		return &badRequest{http.StatusBadRequest, "InvalidURL", fmt.Sprintf("%s must not contain Chinese characters", name)}
	}
	return nil
}

// checkOSS applies the upload flow's rules to the oss:// URLs among urls:
// the header must be sent, and each object must have been uploaded (to this
// fake) under a policy asked for with the submission's model.
func (s *Server) checkOSS(r *http.Request, model string, urls []string) *badRequest {
	var keys []string
	for _, u := range urls {
		if key, ok := strings.CutPrefix(u, "oss://"); ok {
			keys = append(keys, key)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	if r.Header.Get("X-DashScope-OssResourceResolve") != "enable" {
		return invalid("oss:// URLs need the header X-DashScope-OssResourceResolve: enable")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range keys {
		up, found := s.uploads[key]
		switch {
		case !found:
			return &badRequest{http.StatusUnsupportedMediaType, "BadRequest.InputDownloadFailed", fmt.Sprintf("Failed to download the input file oss://%s", key)}
		case up.Model != model:
			// The docs bind a file to the model its policy was asked for but do
			// not say how the service refuses it to another model: the fake
			// answers as for a missing file, which is what that model sees.
			return &badRequest{http.StatusUnsupportedMediaType, "BadRequest.InputDownloadFailed",
				fmt.Sprintf("Failed to download the input file oss://%s: it was uploaded for model %s, not %s", key, up.Model, model)}
		}
	}
	return nil
}

func num(v any) (float64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

func checkCommon(params map[string]any) *badRequest {
	if v, ok := num(params["seed"]); ok && (v < 0 || v > 2147483647) {
		return invalid("parameters.seed must be in [0, 2147483647]")
	}
	return nil
}

func checkRange(params map[string]any, name string, lo, hi float64) *badRequest {
	if v, ok := num(params[name]); ok && (v < lo || v > hi) {
		return invalid("parameters.%s must be in [%g, %g], got %g", name, lo, hi, v)
	}
	return nil
}

func checkEnum(params map[string]any, name string, allowed ...string) *badRequest {
	if v, ok := params[name].(string); ok && !slices.Contains(allowed, v) {
		return invalid("parameters.%s must be one of %s, got %q", name, strings.Join(allowed, ", "), v)
	}
	return nil
}

// checkFunction applies each VACE function's documented rules.
func checkFunction(fn string, input, params map[string]any) *badRequest {
	var bad *badRequest
	count := func(name string) int {
		list, _ := input[name].([]any)
		return len(list)
	}
	switch fn {
	case "image_reference":
		images := count("ref_images_url")
		roles, _ := params["obj_or_bg"].([]any)
		bg := 0
		for _, r := range roles {
			switch r {
			case "bg":
				bg++
			case "obj":
			default:
				return invalid("parameters.obj_or_bg entries must be obj or bg, got %v", r)
			}
		}
		bad = first(
			cond(images == 0, invalid("input.ref_images_url is required")),
			cond(len(roles) == 0 && images > 1, invalid("parameters.obj_or_bg is required when there is more than one image")),
			cond(len(roles) > 0 && len(roles) != images, invalid("The length of obj_or_bg must be the same as ref_images_url")),
			cond(bg > 1, invalid("at most one bg image is allowed")),
			checkEnum(params, "size", sizes...),
		)
	case "video_repainting":
		_, hasCC := params["control_condition"]
		bad = first(
			cond(input["video_url"] == nil, invalid("input.video_url is required")),
			cond(count("ref_images_url") > 1, invalid("input.ref_images_url takes exactly one image for video_repainting")),
			cond(!hasCC, invalid("parameters.control_condition is required")),
			checkEnum(params, "control_condition", "posebodyface", "posebody", "depth", "scribble"),
			checkRange(params, "strength", 0, 1),
		)
	case "video_edit":
		_, img := input["mask_image_url"]
		_, vid := input["mask_video_url"]
		_, frame := input["mask_frame_id"]
		fixed := params["mask_type"] == "fixed"
		_, ratio := params["expand_ratio"]
		_, mode := params["expand_mode"]
		bad = first(
			cond(input["video_url"] == nil, invalid("input.video_url is required")),
			cond(img == vid, invalid("exactly one of input.mask_image_url and input.mask_video_url is required")),
			cond(frame && !img, invalid("input.mask_frame_id requires input.mask_image_url")),
			cond(count("ref_images_url") > 1, invalid("input.ref_images_url takes exactly one image for video_edit")),
			checkEnum(params, "mask_type", "tracking", "fixed"),
			checkRange(params, "expand_ratio", 0, 1),
			checkEnum(params, "expand_mode", "hull", "bbox", "original"),
			cond(fixed && (ratio || mode), invalid("expand_ratio and expand_mode apply only to mask_type tracking")),
			checkEnum(params, "control_condition", "posebodyface", "depth"),
			checkEnum(params, "size", sizes...),
		)
		if v, ok := num(input["mask_frame_id"]); bad == nil && ok && v < 1 {
			bad = invalid("input.mask_frame_id must be at least 1")
		}
	case "video_extension":
		anchors := 0
		for _, k := range []string{"first_clip_url", "last_clip_url", "first_frame_url", "last_frame_url"} {
			if _, ok := input[k]; ok {
				anchors++
			}
		}
		_, video := input["video_url"]
		_, cc := params["control_condition"]
		bad = first(
			cond(anchors == 0, invalid("at least one of first_clip_url, last_clip_url, first_frame_url, last_frame_url is required")),
			cond(video && !cc, invalid("parameters.control_condition is required with input.video_url")),
			cond(cc && !video, invalid("parameters.control_condition applies only with input.video_url")),
			checkEnum(params, "control_condition", "posebodyface", "depth"),
		)
	case "video_outpainting":
		bad = first(
			cond(input["video_url"] == nil, invalid("input.video_url is required")),
			checkRange(params, "top_scale", 1, 2),
			checkRange(params, "bottom_scale", 1, 2),
			checkRange(params, "left_scale", 1, 2),
			checkRange(params, "right_scale", 1, 2),
		)
	}
	return bad
}

// first is the first failed check, or nil.
func first(checks ...*badRequest) *badRequest {
	for _, c := range checks {
		if c != nil {
			return c
		}
	}
	return nil
}

func cond(failed bool, bad *badRequest) *badRequest {
	if failed {
		return bad
	}
	return nil
}
