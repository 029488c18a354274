package dashscope

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// The request bodies on the wire. Each function's input and parameters are
// plain structs marshalled by encoding/json: a field's place is fixed at
// compile time, and omitempty leaves out what the caller did not set.

type imageReferenceInput struct {
	Function     Function `json:"function"`
	Prompt       string   `json:"prompt"`
	RefImagesURL []string `json:"ref_images_url,omitempty"`
}

type imageReferenceParameters struct {
	PromptExtend *bool  `json:"prompt_extend,omitempty"`
	ObjOrBg      []Role `json:"obj_or_bg,omitempty"`
	Size         Size   `json:"size,omitempty"`
	Seed         *int   `json:"seed,omitempty"`
	Watermark    *bool  `json:"watermark,omitempty"`
}

type videoRepaintingInput struct {
	Function     Function `json:"function"`
	Prompt       string   `json:"prompt"`
	VideoURL     string   `json:"video_url,omitempty"`
	RefImagesURL []string `json:"ref_images_url,omitempty"`
}

type videoRepaintingParameters struct {
	PromptExtend     *bool            `json:"prompt_extend,omitempty"`
	ControlCondition ControlCondition `json:"control_condition,omitempty"`
	Strength         *float64         `json:"strength,omitempty"`
	Seed             *int             `json:"seed,omitempty"`
	Watermark        *bool            `json:"watermark,omitempty"`
}

type videoEditInput struct {
	Function     Function `json:"function"`
	Prompt       string   `json:"prompt"`
	MaskImageURL string   `json:"mask_image_url,omitempty"`
	MaskVideoURL string   `json:"mask_video_url,omitempty"`
	VideoURL     string   `json:"video_url,omitempty"`
	MaskFrameID  *int     `json:"mask_frame_id,omitempty"`
	RefImagesURL []string `json:"ref_images_url,omitempty"`
}

type videoEditParameters struct {
	PromptExtend     *bool            `json:"prompt_extend,omitempty"`
	MaskType         MaskType         `json:"mask_type,omitempty"`
	ExpandRatio      *float64         `json:"expand_ratio,omitempty"`
	ExpandMode       ExpandMode       `json:"expand_mode,omitempty"`
	ControlCondition ControlCondition `json:"control_condition,omitempty"`
	Size             Size             `json:"size,omitempty"`
	Seed             *int             `json:"seed,omitempty"`
	Watermark        *bool            `json:"watermark,omitempty"`
}

type videoExtensionInput struct {
	Function      Function `json:"function"`
	Prompt        string   `json:"prompt"`
	FirstClipURL  string   `json:"first_clip_url,omitempty"`
	LastClipURL   string   `json:"last_clip_url,omitempty"`
	FirstFrameURL string   `json:"first_frame_url,omitempty"`
	LastFrameURL  string   `json:"last_frame_url,omitempty"`
	VideoURL      string   `json:"video_url,omitempty"`
}

type videoExtensionParameters struct {
	PromptExtend     *bool            `json:"prompt_extend,omitempty"`
	ControlCondition ControlCondition `json:"control_condition,omitempty"`
	Seed             *int             `json:"seed,omitempty"`
	Watermark        *bool            `json:"watermark,omitempty"`
}

type videoOutpaintingInput struct {
	Function Function `json:"function"`
	Prompt   string   `json:"prompt"`
	VideoURL string   `json:"video_url,omitempty"`
}

type videoOutpaintingParameters struct {
	PromptExtend *bool    `json:"prompt_extend,omitempty"`
	TopScale     *float64 `json:"top_scale,omitempty"`
	BottomScale  *float64 `json:"bottom_scale,omitempty"`
	LeftScale    *float64 `json:"left_scale,omitempty"`
	RightScale   *float64 `json:"right_scale,omitempty"`
	Seed         *int     `json:"seed,omitempty"`
	Watermark    *bool    `json:"watermark,omitempty"`
}

func (r ImageReference) body() (any, any) {
	return imageReferenceInput{r.Function(), r.Prompt, r.RefImagesURL},
		imageReferenceParameters{r.PromptExtend, r.ObjOrBg, r.Size, r.Seed, r.Watermark}
}

func (r VideoRepainting) body() (any, any) {
	return videoRepaintingInput{r.Function(), r.Prompt, r.VideoURL, r.RefImagesURL},
		videoRepaintingParameters{r.PromptExtend, r.ControlCondition, r.Strength, r.Seed, r.Watermark}
}

func (r VideoEdit) body() (any, any) {
	return videoEditInput{r.Function(), r.Prompt, r.MaskImageURL, r.MaskVideoURL, r.VideoURL, r.MaskFrameID, r.RefImagesURL},
		videoEditParameters{r.PromptExtend, r.MaskType, r.ExpandRatio, r.ExpandMode, r.ControlCondition, r.Size, r.Seed, r.Watermark}
}

func (r VideoExtension) body() (any, any) {
	return videoExtensionInput{r.Function(), r.Prompt, r.FirstClipURL, r.LastClipURL, r.FirstFrameURL, r.LastFrameURL, r.VideoURL},
		videoExtensionParameters{r.PromptExtend, r.ControlCondition, r.Seed, r.Watermark}
}

func (r VideoOutpainting) body() (any, any) {
	return videoOutpaintingInput{r.Function(), r.Prompt, r.VideoURL},
		videoOutpaintingParameters{r.PromptExtend, r.TopScale, r.BottomScale, r.LeftScale, r.RightScale, r.Seed, r.Watermark}
}

func (ImageReference) model(c *Client) string   { return c.model }
func (VideoRepainting) model(c *Client) string  { return c.model }
func (VideoEdit) model(c *Client) string        { return c.model }
func (VideoExtension) model(c *Client) string   { return c.model }
func (VideoOutpainting) model(c *Client) string { return c.model }

// RequestBody is the JSON the service receives for r under model:
// {"model", "input": {"function", …}, "parameters": {…}}, fields in the
// order the vendor documents them, unset optional fields left out.
func RequestBody(model string, r Request) ([]byte, error) {
	input, params := r.body()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // the vendor's examples write URLs with & as is
	err := enc.Encode(struct {
		Model      string `json:"model"`
		Input      any    `json:"input"`
		Parameters any    `json:"parameters"`
	}{model, input, params})
	if err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// usesOSS reports whether any media URL is a temporary oss:// upload, which
// the submission must announce with X-DashScope-OssResourceResolve.
func usesOSS(r Request) bool {
	return slices.ContainsFunc(r.Media(), func(m Media) bool {
		u, err := url.Parse(m.URL)
		return err == nil && u.Scheme == "oss" // url.Parse lower-cases the scheme: OSS:// is one too
	})
}

// Media is one media URL of a request.
type Media struct {
	// Field names it as a caller writes it: "video_url", "ref_images_url[1]".
	Field string
	// Name is the API field: "ref_images_url".
	Name string
	URL  string
	// Limits is what the service accepts there.
	Limits MediaLimits
}

// vaceLimits is what the service accepts in a media field of a VACE
// function: a video, a short clip, or an image.
func vaceLimits(field string) MediaLimits {
	switch field {
	case "video_url", "mask_video_url":
		return VACEVideo
	case "first_clip_url", "last_clip_url":
		return VACEClip
	}
	return VACEImage
}

// mediaList builds Media in body order from (name, url) pairs and lists.
type mediaList []Media

func (l *mediaList) one(name, u string) {
	if u != "" {
		*l = append(*l, Media{Field: name, Name: name, URL: u, Limits: vaceLimits(name)})
	}
}

func (l *mediaList) many(name string, us []string) {
	for i, u := range us {
		*l = append(*l, Media{Field: name + "[" + strconv.Itoa(i) + "]", Name: name, URL: u, Limits: vaceLimits(name)})
	}
}

// mediaSetter hands out replacement URLs in Media order.
type mediaSetter struct{ urls []string }

func (s *mediaSetter) one(u string) string {
	if u == "" {
		return u
	}
	next := s.urls[0]
	s.urls = s.urls[1:]
	return next
}

func (s *mediaSetter) many(us []string) []string {
	if us == nil {
		return nil
	}
	out := make([]string, len(us))
	for i := range us {
		out[i] = s.one("x")
	}
	return out
}

// Media implements Request.
func (r ImageReference) Media() []Media {
	var l mediaList
	l.many("ref_images_url", r.RefImagesURL)
	return l
}

// Media implements Request.
func (r VideoRepainting) Media() []Media {
	var l mediaList
	l.one("video_url", r.VideoURL)
	l.many("ref_images_url", r.RefImagesURL)
	return l
}

// Media implements Request.
func (r VideoEdit) Media() []Media {
	var l mediaList
	l.one("mask_image_url", r.MaskImageURL)
	l.one("mask_video_url", r.MaskVideoURL)
	l.one("video_url", r.VideoURL)
	l.many("ref_images_url", r.RefImagesURL)
	return l
}

// Media implements Request.
func (r VideoExtension) Media() []Media {
	var l mediaList
	l.one("first_clip_url", r.FirstClipURL)
	l.one("last_clip_url", r.LastClipURL)
	l.one("first_frame_url", r.FirstFrameURL)
	l.one("last_frame_url", r.LastFrameURL)
	l.one("video_url", r.VideoURL)
	return l
}

// Media implements Request.
func (r VideoOutpainting) Media() []Media {
	var l mediaList
	l.one("video_url", r.VideoURL)
	return l
}

// WithMedia implements Request.
func (r ImageReference) WithMedia(urls []string) Request {
	s := mediaSetter{urls}
	r.RefImagesURL = s.many(r.RefImagesURL)
	return r
}

// WithMedia implements Request.
func (r VideoRepainting) WithMedia(urls []string) Request {
	s := mediaSetter{urls}
	r.VideoURL = s.one(r.VideoURL)
	r.RefImagesURL = s.many(r.RefImagesURL)
	return r
}

// WithMedia implements Request.
func (r VideoEdit) WithMedia(urls []string) Request {
	s := mediaSetter{urls}
	r.MaskImageURL = s.one(r.MaskImageURL)
	r.MaskVideoURL = s.one(r.MaskVideoURL)
	r.VideoURL = s.one(r.VideoURL)
	r.RefImagesURL = s.many(r.RefImagesURL)
	return r
}

// WithMedia implements Request.
func (r VideoExtension) WithMedia(urls []string) Request {
	s := mediaSetter{urls}
	r.FirstClipURL = s.one(r.FirstClipURL)
	r.LastClipURL = s.one(r.LastClipURL)
	r.FirstFrameURL = s.one(r.FirstFrameURL)
	r.LastFrameURL = s.one(r.LastFrameURL)
	r.VideoURL = s.one(r.VideoURL)
	return r
}

// WithMedia implements Request.
func (r VideoOutpainting) WithMedia(urls []string) Request {
	s := mediaSetter{urls}
	r.VideoURL = s.one(r.VideoURL)
	return r
}

// canonicalMedia lower-cases each media URL's scheme and host, which name
// the same resource in any case.
func canonicalMedia(r Request) Request {
	media := r.Media()
	urls := make([]string, len(media))
	for i, m := range media {
		urls[i] = m.URL
		if u, err := url.Parse(m.URL); err == nil && u.Host != "" {
			u.Host = strings.ToLower(u.Host)
			urls[i] = u.String()
		}
	}
	return r.WithMedia(urls)
}

func orDefault[T any](p *T, def T) *T {
	if p != nil {
		return p
	}
	return &def
}

func orDefaultString[T ~string](v, def T) T {
	if v != "" {
		return v
	}
	return def
}

// Canonical implements Request.
func (r ImageReference) Canonical() Request {
	r.PromptExtend = orDefault(r.PromptExtend, DefaultPromptExtend)
	r.Watermark = orDefault(r.Watermark, DefaultWatermark)
	r.Size = orDefaultString(r.Size, DefaultSize)
	return canonicalMedia(r)
}

// Canonical implements Request.
func (r VideoRepainting) Canonical() Request {
	r.PromptExtend = orDefault(r.PromptExtend, DefaultPromptExtend)
	r.Watermark = orDefault(r.Watermark, DefaultWatermark)
	r.Strength = orDefault(r.Strength, DefaultStrength)
	return canonicalMedia(r)
}

// Canonical implements Request.
func (r VideoEdit) Canonical() Request {
	r.PromptExtend = orDefault(r.PromptExtend, DefaultPromptExtend)
	r.Watermark = orDefault(r.Watermark, DefaultWatermark)
	r.Size = orDefaultString(r.Size, DefaultSize)
	r.MaskType = orDefaultString(r.MaskType, DefaultMaskType)
	if r.MaskType == MaskTracking {
		r.ExpandRatio = orDefault(r.ExpandRatio, DefaultExpandRatio)
		r.ExpandMode = orDefaultString(r.ExpandMode, DefaultExpandMode)
	}
	if r.MaskImageURL != "" {
		r.MaskFrameID = orDefault(r.MaskFrameID, DefaultMaskFrameID)
	}
	return canonicalMedia(r)
}

// Canonical implements Request.
func (r VideoExtension) Canonical() Request {
	r.PromptExtend = orDefault(r.PromptExtend, DefaultPromptExtend)
	r.Watermark = orDefault(r.Watermark, DefaultWatermark)
	return canonicalMedia(r)
}

// Canonical implements Request.
func (r VideoOutpainting) Canonical() Request {
	r.PromptExtend = orDefault(r.PromptExtend, DefaultPromptExtend)
	r.Watermark = orDefault(r.Watermark, DefaultWatermark)
	r.TopScale = orDefault(r.TopScale, DefaultScale)
	r.BottomScale = orDefault(r.BottomScale, DefaultScale)
	r.LeftScale = orDefault(r.LeftScale, DefaultScale)
	r.RightScale = orDefault(r.RightScale, DefaultScale)
	return canonicalMedia(r)
}
