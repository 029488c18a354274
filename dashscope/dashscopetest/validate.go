package dashscopetest

import (
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
	var sub Submission
	top, err := decodeObject(body)
	if err != nil {
		return sub, invalid("request body is not a JSON object: %v", err)
	}
	for k := range top {
		if k != "model" && k != "input" && k != "parameters" {
			return sub, invalid("unknown top-level field %q: fields belong in input or parameters", k)
		}
	}
	model, _ := top["model"].(string)
	if model == "" {
		return sub, &badRequest{http.StatusBadRequest, "BadRequest.EmptyModel", "Required parameter \"model\" missing from request."}
	}
	if !slices.Contains(s.models, model) {
		return sub, invalid("Model not exist: %q (this region serves %s)", model, strings.Join(s.models, ", "))
	}
	input, ok := top["input"].(map[string]any)
	if !ok || len(input) == 0 {
		return sub, &badRequest{http.StatusBadRequest, "BadRequest.EmptyInput", "Required parameter \"input\" missing from request."}
	}
	params := map[string]any{}
	if p, present := top["parameters"]; present {
		if params, ok = p.(map[string]any); !ok {
			return sub, invalid("parameters must be a JSON object")
		}
	}
	fn, _ := input["function"].(string)
	spec, ok := functionSpecs[fn]
	if !ok {
		return sub, invalid("input.function must be one of image_reference, video_repainting, video_edit, video_extension, video_outpainting, got %v", input["function"])
	}
	prompt, isString := input["prompt"].(string)
	if !isString || strings.TrimSpace(prompt) == "" {
		return sub, invalid("input.prompt is required")
	}
	if utf8.RuneCountInString(prompt) > 800 {
		prompt = string([]rune(prompt)[:800]) // the service silently keeps the first 800 characters
	}
	usesOSS := false
	for k, v := range input {
		if k == "function" || k == "prompt" {
			continue
		}
		kind, ok := spec.input[k]
		if !ok {
			return sub, invalid("unknown field %q in input for %s%s", k, fn, misplaced(k, spec.params))
		}
		if bad := checkKind("input."+k, kind, v); bad != nil {
			return sub, bad
		}
		usesOSS = usesOSS || mentionsOSS(v)
	}
	for k, v := range params {
		kind, ok := spec.params[k]
		if !ok {
			kind, ok = commonParams[k]
		}
		if !ok {
			return sub, invalid("unknown field %q in parameters for %s%s", k, fn, misplaced(k, spec.input))
		}
		if bad := checkKind("parameters."+k, kind, v); bad != nil {
			return sub, bad
		}
	}
	if usesOSS {
		if bad := s.checkOSS(r, input); bad != nil {
			return sub, bad
		}
	}
	if bad := checkCommon(params); bad != nil {
		return sub, bad
	}
	if bad := checkFunction(fn, input, params); bad != nil {
		return sub, bad
	}
	return Submission{Model: model, Function: fn, Prompt: prompt, Input: input, Parameters: params}, nil
}

func misplaced(field string, other map[string]fieldKind) string {
	if _, ok := other[field]; ok {
		return " (it belongs in the other object)"
	}
	return ""
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

// checkMediaURL accepts http(s) and oss URLs without Chinese characters.
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

func mentionsOSS(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.HasPrefix(v, "oss://")
	case []any:
		return slices.ContainsFunc(v, mentionsOSS)
	}
	return false
}

// checkOSS applies the upload flow's rules: the header must be sent and the
// object must have been uploaded (to this fake).
func (s *Server) checkOSS(r *http.Request, input map[string]any) *badRequest {
	if r.Header.Get("X-DashScope-OssResourceResolve") != "enable" {
		return invalid("oss:// URLs need the header X-DashScope-OssResourceResolve: enable")
	}
	var urls []string
	for _, v := range input {
		switch v := v.(type) {
		case string:
			urls = append(urls, v)
		case []any:
			for _, e := range v {
				if str, ok := e.(string); ok {
					urls = append(urls, str)
				}
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range urls {
		if key, ok := strings.CutPrefix(u, "oss://"); ok {
			if _, found := s.uploads[key]; !found {
				return &badRequest{415, "BadRequest.InputDownloadFailed", fmt.Sprintf("Failed to download the input file %s", u)}
			}
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

// checkFunction applies each function's documented rules.
func checkFunction(fn string, input, params map[string]any) *badRequest {
	var bad *badRequest
	first := func(checks ...*badRequest) *badRequest {
		for _, c := range checks {
			if c != nil {
				return c
			}
		}
		return nil
	}
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

func cond(failed bool, bad *badRequest) *badRequest {
	if failed {
		return bad
	}
	return nil
}
