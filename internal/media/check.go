package media

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Limits are the API's limits for one field. A zero limit is not checked.
type Limits struct {
	Kind     Kind  // what the field takes
	MaxBytes int64 // file size

	// MinSide and MaxSide bound each side of an image, in pixels.
	MinSide, MaxSide int

	// MaxDuration refuses longer videos; 0 means no hard limit.
	MaxDuration time.Duration
	// CutDuration is how much of a video the service uses: a longer video is
	// accepted with a warning, because the service quietly cuts it.
	CutDuration time.Duration
	// MinFPS refuses videos with a lower known frame rate. A video whose
	// frame rate cannot be read from its header is accepted with a warning.
	MinFPS float64
}

// The documented limits (DashScope wan2.1-vace-plus input media).
//
// The vendor writes "10MB" and "50MB" without saying which megabyte; the
// decimal one is the stricter reading. Refusing a file that is 5% too big
// costs the agent a re-encode, while accepting one the service then rejects
// costs an upload and a failed job.
var (
	// ImageLimits is for every image field: JPG, PNG, BMP, TIFF or WEBP,
	// 360-2000 px per side, at most 10 MB.
	ImageLimits = Limits{Kind: Image, MaxBytes: 10_000_000, MinSide: 360, MaxSide: 2000}

	// VideoLimits is for video_url and mask_video_url: MP4, at least 16 fps,
	// at most 50 MB. Videos over 5 s are accepted with a warning, because the
	// service uses only the first 5 s.
	VideoLimits = Limits{Kind: Video, MaxBytes: 50_000_000, MinFPS: 16, CutDuration: 5 * time.Second}

	// ClipLimits is for video_extension's first_clip_url and last_clip_url:
	// VideoLimits, and at most 3 s. (The API also wants both clips together
	// to be at most 3 s; the caller, which sees both, checks that.)
	ClipLimits = Limits{Kind: Video, MaxBytes: 50_000_000, MinFPS: 16, CutDuration: 5 * time.Second, MaxDuration: 3 * time.Second}
)

// LimitError is Check's error for a file that was read but does not suit the
// field. Each problem is a sentence naming the limit and the actual value.
type LimitError struct {
	Problems []string
}

// Error lists the problems, numbered when there are several.
func (e *LimitError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0]
	}
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = fmt.Sprintf("(%d) %s", i+1, p)
	}
	return fmt.Sprintf("%d problems: %s", len(e.Problems), strings.Join(parts, ". "))
}

// imageFormats completes "this field takes ...".
const imageFormats = "a JPG, PNG, BMP, TIFF or WEBP image"

// Check inspects the file at r (size bytes) and checks it against limits.
//
// It returns what Inspect read, warnings about things the service will
// quietly change or that could not be checked (e.g. "video is 7.2 s long; the
// service uses only the first 5 s"), and an error if the file must not be
// sent. A *LimitError names every problem found; other errors say why the
// file could not be read.
func Check(r io.ReaderAt, size int64, limits Limits) (Info, []string, error) {
	if limits.Kind != Image && limits.Kind != Video {
		return Info{}, nil, errors.New("media limits do not say whether the field takes an image or a video")
	}
	info, err := Inspect(r, size)
	var unknown *unrecognizedError
	switch {
	case errors.As(err, &unknown):
		return info, nil, &LimitError{Problems: []string{wrongFormat(limits.Kind, unknown.hint, "")}}
	case err != nil:
		return info, nil, err
	}
	if f := formats[info.Format]; !f.supported || f.kind != limits.Kind {
		return info, nil, &LimitError{Problems: []string{wrongFormat(limits.Kind, "", f.label)}}
	}

	var problems, warnings []string
	if limits.MaxBytes > 0 && size > limits.MaxBytes {
		problems = append(problems, fmt.Sprintf("file is %s; this field takes at most %s", bytesText(size), bytesText(limits.MaxBytes)))
	}
	switch limits.Kind {
	case Image:
		w, h := info.Width, info.Height
		if limits.MinSide > 0 && (w < limits.MinSide || h < limits.MinSide) ||
			limits.MaxSide > 0 && (w > limits.MaxSide || h > limits.MaxSide) {
			problems = append(problems, fmt.Sprintf("image is %dx%d px; each side must be %s", w, h, sideRange(limits)))
		}
	case Video:
		p, w := checkVideo(info, limits)
		problems, warnings = append(problems, p...), append(warnings, w...)
	}
	if len(problems) > 0 {
		return info, warnings, &LimitError{Problems: problems}
	}
	return info, warnings, nil
}

// checkVideo checks duration and frame rate.
func checkVideo(info Info, limits Limits) (problems, warnings []string) {
	d := info.Duration
	switch {
	case d == 0 && limits.MaxDuration > 0:
		warnings = append(warnings, fmt.Sprintf("could not read the video's duration from its header, so the %s limit was not checked", secondsText(limits.MaxDuration)))
	case limits.MaxDuration > 0 && d > limits.MaxDuration:
		problems = append(problems, fmt.Sprintf("video is %s long; this field takes at most %s", secondsText(d), secondsText(limits.MaxDuration)))
	case limits.CutDuration > 0 && d > limits.CutDuration:
		warnings = append(warnings, fmt.Sprintf("video is %s long; the service uses only the first %s", secondsText(d), secondsText(limits.CutDuration)))
	}
	if limits.MinFPS > 0 {
		switch {
		case info.FPS == 0:
			warnings = append(warnings, fmt.Sprintf("could not read the video's frame rate from its header, so the %s minimum was not checked", fpsText(limits.MinFPS)))
		case info.FPS < limits.MinFPS:
			problems = append(problems, fmt.Sprintf("video is %s; this field needs at least %s", fpsText(info.FPS), fpsText(limits.MinFPS)))
		}
	}
	return problems, warnings
}

// wrongFormat says that the file is not what the field takes. Exactly one of
// hint ("it starts with the bytes ...") and label ("a GIF image") is set.
func wrongFormat(want Kind, hint, label string) string {
	if want == Image {
		if label != "" {
			return fmt.Sprintf("file is %s; this field takes %s", label, imageFormats)
		}
		return fmt.Sprintf("file is not a recognised image or video (%s); this field takes %s", hint, imageFormats)
	}
	if label != "" {
		hint = "it is " + label
	}
	return fmt.Sprintf("file is not an MP4 video (%s); this field takes MP4 only", hint)
}

// sideRange describes the allowed side lengths.
func sideRange(l Limits) string {
	switch {
	case l.MinSide > 0 && l.MaxSide > 0:
		return fmt.Sprintf("%d-%d px", l.MinSide, l.MaxSide)
	case l.MinSide > 0:
		return fmt.Sprintf("at least %d px", l.MinSide)
	default:
		return fmt.Sprintf("at most %d px", l.MaxSide)
	}
}

// bytesText gives a size in decimal megabytes (or kilobytes) and in bytes, so
// that a value just over a limit is not shown as equal to it.
func bytesText(n int64) string {
	switch {
	case n >= 1_000_000:
		return fmt.Sprintf("%s MB (%d bytes)", strconv.FormatFloat(math.Floor(float64(n)/1e5)/10, 'f', -1, 64), n)
	case n >= 1_000:
		return fmt.Sprintf("%s KB (%d bytes)", strconv.FormatFloat(math.Floor(float64(n)/1e2)/10, 'f', -1, 64), n)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}

// secondsText gives a duration in seconds, rounded up to the millisecond so
// that a video just over a limit never reads as equal to it.
func secondsText(d time.Duration) string {
	ms := d / time.Millisecond
	if d%time.Millisecond != 0 {
		ms++
	}
	return strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64) + " s"
}

// fpsText gives a frame rate rounded down to hundredths, so that a rate just
// under a limit never reads as equal to it (29.97 stays 29.97).
func fpsText(fps float64) string {
	return strconv.FormatFloat(math.Floor(fps*100)/100, 'f', -1, 64) + " fps"
}
