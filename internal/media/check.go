package media

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vace-mcp/vace-mcp/dashscope"
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

// Check inspects the file at r (size bytes) and checks it against limits.
//
// It returns what Inspect read, warnings about things the service will
// quietly change or that could not be checked (e.g. "video is 7.2 s long; the
// service uses only the first 5 s"), and an error if the file must not be
// sent. A *LimitError names every problem found; other errors say why the
// file could not be read.
func Check(r io.ReaderAt, size int64, limits dashscope.MediaLimits) (Info, []string, error) {
	if limits.Kind != dashscope.MediaImage && limits.Kind != dashscope.MediaVideo {
		return Info{}, nil, errors.New("media limits do not say whether the field takes an image or a video")
	}
	info, err := Inspect(r, size)
	var unknown *unrecognizedError
	switch {
	case errors.As(err, &unknown):
		return info, nil, wrongFormat(limits, "file is not a recognised image or video ("+unknown.hint+")")
	case info.Format != "" && !limits.Accepts(dashscope.MediaFormat(info.Format)):
		// Even a broken file: what it is matters more than how it is broken.
		return info, nil, wrongFormat(limits, "file is "+formats[info.Format].label)
	case err != nil:
		return info, nil, err
	}

	var problems, warnings []string
	if limits.MaxBytes > 0 && size > limits.MaxBytes {
		problems = append(problems, fmt.Sprintf("file is %s; this field takes at most %s", bytesText(size), bytesText(limits.MaxBytes)))
	}
	p, w := checkFrame(info, limits)
	problems, warnings = append(problems, p...), append(warnings, w...)
	if limits.OpaquePNG && info.Alpha {
		problems = append(problems, "image is a PNG with an alpha channel (transparency); this field takes PNG images without one: flatten it onto a background or save it as JPG")
	}
	if limits.Kind == dashscope.MediaVideo {
		p, w := checkVideo(info, limits)
		problems, warnings = append(problems, p...), append(warnings, w...)
	}
	if len(problems) > 0 {
		return info, warnings, &LimitError{Problems: problems}
	}
	return info, warnings, nil
}

// wrongFormat says that the file is not what the field takes.
func wrongFormat(limits dashscope.MediaLimits, what string) error {
	return &LimitError{Problems: []string{fmt.Sprintf("%s; this field takes %s %ss", what, limits.FormatList(), limits.Kind)}}
}

// checkFrame checks the width and height: each side, and the aspect ratio.
func checkFrame(info Info, limits dashscope.MediaLimits) (problems, warnings []string) {
	if limits.MinSide == 0 && limits.MaxSide == 0 && limits.MaxAspect == 0 {
		return nil, nil
	}
	w, h := info.Width, info.Height
	if w == 0 || h == 0 {
		// Images always have a size (Inspect refuses them otherwise); a
		// video's track header may leave it out.
		return nil, []string{fmt.Sprintf("could not read the %s's width and height from its header, so they were not checked", info.Kind)}
	}
	if limits.MinSide > 0 && (w < limits.MinSide || h < limits.MinSide) ||
		limits.MaxSide > 0 && (w > limits.MaxSide || h > limits.MaxSide) {
		problems = append(problems, fmt.Sprintf("%s is %dx%d px; each side must be %s", info.Kind, w, h, limits.SideRange()))
	}
	long, short := int64(max(w, h)), int64(min(w, h))
	if limits.MaxAspect > 0 && long > int64(limits.MaxAspect)*short {
		// Rounded up to hundredths, so that a ratio just over the limit
		// never reads as equal to it.
		ratio := strconv.FormatFloat(float64((long*100+short-1)/short)/100, 'f', -1, 64)
		if w < h {
			ratio = "1:" + ratio
		} else {
			ratio += ":1"
		}
		problems = append(problems, fmt.Sprintf("%s is %dx%d px, an aspect ratio of %s; this field takes 1:%d to %d:1",
			info.Kind, w, h, ratio, limits.MaxAspect, limits.MaxAspect))
	}
	return problems, warnings
}

// checkVideo checks duration and frame rate.
func checkVideo(info Info, limits dashscope.MediaLimits) (problems, warnings []string) {
	d := info.Duration
	switch {
	case d == 0 && (limits.MinDuration > 0 || limits.MaxDuration > 0):
		warnings = append(warnings, fmt.Sprintf("could not read the video's duration from its header, so %s was not checked", durationRule(limits)))
	case limits.MaxDuration > 0 && d > limits.MaxDuration:
		problems = append(problems, fmt.Sprintf("video is %s long; this field takes at most %s", secondsText(d), secondsText(limits.MaxDuration)))
	case d < limits.MinDuration:
		problems = append(problems, fmt.Sprintf("video is %s long; this field takes at least %s", secondsTextDown(d), secondsText(limits.MinDuration)))
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

// durationRule names the duration limits for a warning that they were not
// checked: "the 3 s limit", "the 2 s minimum", "the 2 s to 10 s range".
func durationRule(l dashscope.MediaLimits) string {
	switch {
	case l.MinDuration > 0 && l.MaxDuration > 0:
		return "the " + secondsText(l.MinDuration) + " to " + secondsText(l.MaxDuration) + " range"
	case l.MinDuration > 0:
		return "the " + secondsText(l.MinDuration) + " minimum"
	default:
		return "the " + secondsText(l.MaxDuration) + " limit"
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

// secondsTextDown rounds down instead, for a video just under a minimum.
func secondsTextDown(d time.Duration) string {
	return strconv.FormatFloat(float64(d/time.Millisecond)/1000, 'f', -1, 64) + " s"
}

// fpsText gives a frame rate rounded down to hundredths, so that a rate just
// under a limit never reads as equal to it (29.97 stays 29.97).
func fpsText(fps float64) string {
	return strconv.FormatFloat(math.Floor(fps*100)/100, 'f', -1, 64) + " fps"
}
