package dashscope

import (
	"fmt"
	"unicode/utf8"
)

// FunctionInstructEdit names wan2.7-videoedit's one operation, editing a
// video by instruction. Its request body has no input.function.
const FunctionInstructEdit Function = "video_instruct_edit"

// EditModel is the vendor's current video-editing model, the same name in
// every region.
const EditModel = "wan2.7-videoedit"

// Resolution is wan2.7-videoedit's output tier, which also sets its price.
type Resolution string

// Output tiers.
const (
	Resolution720P  Resolution = "720P"
	Resolution1080P Resolution = "1080P"
)

// Resolutions lists the tiers, the default first.
var Resolutions = []Resolution{Resolution1080P, Resolution720P}

// Ratio is an output aspect ratio; without one the output keeps the input's.
type Ratio string

// Ratios lists the aspect ratios wan2.7-videoedit accepts.
var Ratios = []Ratio{"16:9", "9:16", "1:1", "4:3", "3:4"}

// AudioSetting says what becomes of the sound: auto lets the model make it
// anew from the prompt, origin keeps the input's.
type AudioSetting string

// Audio settings.
const (
	AudioAuto   AudioSetting = "auto"
	AudioOrigin AudioSetting = "origin"
)

// AudioSettings lists the audio settings, the default first.
var AudioSettings = []AudioSetting{AudioAuto, AudioOrigin}

// Limits and defaults of wan2.7-videoedit's fields.
const (
	// MaxInstructionRunes is the longest prompt; the service cuts longer ones.
	MaxInstructionRunes = 5000
	// MaxNegativePromptRunes is the longest negative prompt.
	MaxNegativePromptRunes = 500
	// MaxEditRefImages is the most reference images.
	MaxEditRefImages = 4
	// MinEditDuration and MaxEditDuration bound duration (0 or absent keeps the whole input).
	MinEditDuration, MaxEditDuration = 2, 10

	DefaultResolution   = Resolution1080P
	DefaultAudioSetting = AudioAuto
)

// InstructEdit edits a video by instruction with wan2.7-videoedit, optionally
// guided by reference images: a style change, a swapped garment, a new scene.
type InstructEdit struct {
	Prompt         string
	NegativePrompt string
	VideoURL       string
	RefImagesURL   []string
	Resolution     Resolution
	Ratio          Ratio
	// Duration cuts the input to its first Duration seconds; nil or 0 keeps it whole.
	Duration     *int
	AudioSetting AudioSetting
	PromptExtend *bool
	Watermark    *bool
	Seed         *int
}

// Function implements Request.
func (InstructEdit) Function() Function { return FunctionInstructEdit }

func (InstructEdit) model(c *Client) string { return c.editModel }

// Validate implements Request.
func (r InstructEdit) Validate() error { return r.ValidateWith(CheckURL) }

// ValidateWith implements Request.
func (r InstructEdit) ValidateWith(check URLCheck) error {
	v := validator{check: check}
	if n := utf8.RuneCountInString(r.Prompt); n > MaxInstructionRunes {
		v.add("prompt", "at most %d characters (got %d); the service would silently cut the rest", MaxInstructionRunes, n)
	}
	if n := utf8.RuneCountInString(r.NegativePrompt); n > MaxNegativePromptRunes {
		v.add("negative_prompt", "at most %d characters (got %d)", MaxNegativePromptRunes, n)
	}
	v.requiredURL("video_url", r.VideoURL)
	if n := len(r.RefImagesURL); n > MaxEditRefImages {
		v.add("ref_images_url", "at most %d images (got %d)", MaxEditRefImages, n)
	}
	v.urls("ref_images_url", r.RefImagesURL)
	oneOf(&v, "resolution", r.Resolution, Resolutions)
	oneOf(&v, "ratio", r.Ratio, Ratios)
	if d := r.Duration; d != nil && *d != 0 && (*d < MinEditDuration || *d > MaxEditDuration) {
		v.add("duration", "must be %d to %d seconds, or left out for the whole input (got %d)", MinEditDuration, MaxEditDuration, *d)
	}
	oneOf(&v, "audio_setting", r.AudioSetting, AudioSettings)
	if r.Seed != nil && (*r.Seed < 0 || *r.Seed > MaxSeed) {
		v.add("seed", "must be between 0 and %d (got %d)", MaxSeed, *r.Seed)
	}
	return v.err()
}

// editMedia is one entry of wan2.7-videoedit's input.media.
type editMedia struct {
	Type string `json:"type"`
	URL  string `json:"url"`
}

type instructEditInput struct {
	Prompt         string      `json:"prompt,omitempty"`
	NegativePrompt string      `json:"negative_prompt,omitempty"`
	Media          []editMedia `json:"media"`
}

type instructEditParameters struct {
	Resolution   Resolution   `json:"resolution,omitempty"`
	Ratio        Ratio        `json:"ratio,omitempty"`
	Duration     *int         `json:"duration,omitempty"`
	AudioSetting AudioSetting `json:"audio_setting,omitempty"`
	PromptExtend *bool        `json:"prompt_extend,omitempty"`
	Watermark    *bool        `json:"watermark,omitempty"`
	Seed         *int         `json:"seed,omitempty"`
}

// body builds input.media: the video first, then the reference images in order.
func (r InstructEdit) body() (any, any) {
	media := []editMedia{{Type: "video", URL: r.VideoURL}}
	for _, u := range r.RefImagesURL {
		media = append(media, editMedia{Type: "reference_image", URL: u})
	}
	return instructEditInput{r.Prompt, r.NegativePrompt, media},
		instructEditParameters{r.Resolution, r.Ratio, r.Duration, r.AudioSetting, r.PromptExtend, r.Watermark, r.Seed}
}

// Media implements Request.
func (r InstructEdit) Media() []Media {
	var l []Media
	if r.VideoURL != "" {
		l = append(l, Media{Field: "video_url", Name: "video_url", URL: r.VideoURL, Limits: Wan27Video})
	}
	for i, u := range r.RefImagesURL {
		l = append(l, Media{Field: fmt.Sprintf("ref_images_url[%d]", i), Name: "ref_images_url", URL: u, Limits: Wan27RefImage})
	}
	return l
}

// WithMedia implements Request.
func (r InstructEdit) WithMedia(urls []string) Request {
	s := mediaSetter{urls}
	r.VideoURL = s.one(r.VideoURL)
	r.RefImagesURL = s.many(r.RefImagesURL)
	return r
}

// Canonical implements Request.
func (r InstructEdit) Canonical() Request {
	r.Resolution = orDefaultString(r.Resolution, DefaultResolution)
	r.AudioSetting = orDefaultString(r.AudioSetting, DefaultAudioSetting)
	r.PromptExtend = orDefault(r.PromptExtend, DefaultPromptExtend)
	r.Watermark = orDefault(r.Watermark, DefaultWatermark)
	if r.Duration != nil && *r.Duration == 0 {
		r.Duration = nil // 0 and absent both keep the whole input
	}
	return canonicalMedia(r)
}
