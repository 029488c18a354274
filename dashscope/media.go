package dashscope

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MediaKind is what an input field takes: an image or a video.
type MediaKind int

// The kinds of input media. The zero MediaKind means neither (a document,
// text, audio).
const (
	MediaImage MediaKind = iota + 1
	MediaVideo
)

// String returns "image" or "video".
func (k MediaKind) String() string {
	switch k {
	case MediaImage:
		return "image"
	case MediaVideo:
		return "video"
	default:
		return "unknown"
	}
}

// MediaFormat is a file format, named as a content sniffer names it.
type MediaFormat string

// The file formats the service accepts in some field.
const (
	FormatJPEG MediaFormat = "jpeg"
	FormatPNG  MediaFormat = "png"
	FormatBMP  MediaFormat = "bmp"
	FormatTIFF MediaFormat = "tiff"
	FormatWEBP MediaFormat = "webp"
	FormatMP4  MediaFormat = "mp4"
	FormatMOV  MediaFormat = "mov"
)

// String returns the name people know the format by: "JPG", "PNG", "MP4".
func (f MediaFormat) String() string {
	if f == FormatJPEG {
		return "JPG"
	}
	return strings.ToUpper(string(f))
}

// MediaLimits are the documented limits of one input field's media. A zero
// limit is not checked.
type MediaLimits struct {
	Kind    MediaKind     // what the field takes
	Formats []MediaFormat // the file formats it takes
	// OpaquePNG refuses PNG images with an alpha channel.
	OpaquePNG bool

	MaxBytes int64 // file size

	// MinSide and MaxSide bound each side, in pixels.
	MinSide, MaxSide int
	// MaxAspect bounds the longer side over the shorter: 8 means any aspect
	// ratio from 1:8 to 8:1.
	MaxAspect int

	// MinDuration and MaxDuration refuse shorter and longer videos.
	MinDuration, MaxDuration time.Duration
	// CutDuration is how much of a video the service uses: a longer video is
	// accepted, and quietly cut.
	CutDuration time.Duration
	// MinFPS refuses videos with a lower frame rate.
	MinFPS float64
}

// The documented limits of wan2.1-vace-plus's input media.
//
// The vendor writes "10MB" and "50MB" without saying which megabyte; the
// decimal one is the stricter reading. Refusing a file that is 5% too big
// costs the agent a re-encode, while accepting one the service then rejects
// costs an upload and a failed job.
var (
	// VACEImage is for every image field.
	VACEImage = MediaLimits{
		Kind:     MediaImage,
		Formats:  []MediaFormat{FormatJPEG, FormatPNG, FormatBMP, FormatTIFF, FormatWEBP},
		MaxBytes: 10_000_000,
		MinSide:  360,
		MaxSide:  2000,
	}

	// VACEVideo is for video_url and mask_video_url. The service uses only
	// the first 5 s of a longer video.
	VACEVideo = MediaLimits{
		Kind:        MediaVideo,
		Formats:     []MediaFormat{FormatMP4},
		MaxBytes:    50_000_000,
		CutDuration: 5 * time.Second,
		MinFPS:      16,
	}

	// VACEClip is for video_extension's first_clip_url and last_clip_url.
	// Both clips together may last at most VACEClipsMaxTotal.
	VACEClip = MediaLimits{
		Kind:        MediaVideo,
		Formats:     []MediaFormat{FormatMP4},
		MaxBytes:    50_000_000,
		MaxDuration: 3 * time.Second,
		MinFPS:      16,
	}
)

// VACEClipsMaxTotal is how long video_extension's first and last clips may
// be together.
const VACEClipsMaxTotal = 3 * time.Second

// The documented limits of wan2.7-videoedit's input media (megabytes read as
// for VACE).
var (
	// Wan27Video is for the input video.
	Wan27Video = MediaLimits{
		Kind:        MediaVideo,
		Formats:     []MediaFormat{FormatMP4, FormatMOV},
		MaxBytes:    100_000_000,
		MinSide:     240,
		MaxSide:     4096,
		MaxAspect:   8,
		MinDuration: 2 * time.Second,
		MaxDuration: 10 * time.Second,
	}

	// Wan27RefImage is for a reference image.
	Wan27RefImage = MediaLimits{
		Kind:      MediaImage,
		Formats:   []MediaFormat{FormatJPEG, FormatPNG, FormatBMP, FormatWEBP},
		OpaquePNG: true,
		MaxBytes:  20_000_000,
		MinSide:   240,
		MaxSide:   8000,
		MaxAspect: 8,
	}
)

// Accepts reports whether the field takes files of format f.
func (l MediaLimits) Accepts(f MediaFormat) bool {
	return slices.Contains(l.Formats, f)
}

// FormatList names the accepted formats: "JPG, PNG, BMP, TIFF or WEBP".
func (l MediaLimits) FormatList() string {
	names := make([]string, len(l.Formats))
	for i, f := range l.Formats {
		names[i] = f.String()
	}
	return orList(names)
}

// Summary describes the limits in a few words, for tool descriptions and
// error messages: "JPG, PNG, BMP, TIFF or WEBP, 360-2000 px per side, at most
// 10 MB".
func (l MediaLimits) Summary() string {
	names := make([]string, len(l.Formats))
	for i, f := range l.Formats {
		names[i] = f.String()
		if f == FormatPNG && l.OpaquePNG {
			names[i] += " (no alpha)"
		}
	}
	parts := []string{orList(names)}
	if s := l.SideRange(); s != "" {
		parts = append(parts, s+" per side")
	}
	if l.MaxAspect > 0 {
		parts = append(parts, fmt.Sprintf("aspect 1:%d to %d:1", l.MaxAspect, l.MaxAspect))
	}
	if l.MinFPS > 0 {
		parts = append(parts, "at least "+strconv.FormatFloat(l.MinFPS, 'f', -1, 64)+" fps")
	}
	switch {
	case l.MinDuration > 0 && l.MaxDuration > 0:
		parts = append(parts, seconds(l.MinDuration)+"-"+seconds(l.MaxDuration)+" s")
	case l.MinDuration > 0:
		parts = append(parts, "at least "+seconds(l.MinDuration)+" s")
	case l.MaxDuration > 0:
		parts = append(parts, "up to "+seconds(l.MaxDuration)+" s")
	}
	if l.MaxBytes > 0 {
		parts = append(parts, "at most "+strconv.FormatFloat(float64(l.MaxBytes)/1e6, 'f', -1, 64)+" MB")
	}
	s := strings.Join(parts, ", ")
	if l.CutDuration > 0 {
		s += "; only the first " + seconds(l.CutDuration) + " s is used"
	}
	return s
}

// SideRange describes the allowed side lengths: "360-2000 px", "at least
// 240 px", "at most 2000 px", or "" when neither bound is set.
func (l MediaLimits) SideRange() string {
	switch {
	case l.MinSide > 0 && l.MaxSide > 0:
		return fmt.Sprintf("%d-%d px", l.MinSide, l.MaxSide)
	case l.MinSide > 0:
		return fmt.Sprintf("at least %d px", l.MinSide)
	case l.MaxSide > 0:
		return fmt.Sprintf("at most %d px", l.MaxSide)
	default:
		return ""
	}
}

// seconds writes d in seconds, without the unit: "2", "2.5".
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// orList joins names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
