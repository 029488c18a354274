package dashscope_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/vace-mcp/vace-mcp/dashscope"
)

// TestMediaLimitsSummary pins the text tools put into their descriptions, and
// with it every documented number (dashscope-vace-api.md, "Input media
// limits"; dashscope-wan27-videoedit.md, "Media limits").
func TestMediaLimitsSummary(t *testing.T) {
	tests := []struct {
		name    string
		limits  dashscope.MediaLimits
		summary string
	}{
		{"VACE image", dashscope.VACEImage, "JPG, PNG, BMP, TIFF or WEBP, 360-2000 px per side, at most 10 MB"},
		{"VACE video", dashscope.VACEVideo, "MP4, at least 16 fps, at most 50 MB; only the first 5 s is used"},
		{"VACE clip", dashscope.VACEClip, "MP4, at least 16 fps, up to 3 s, at most 50 MB"},
		{"wan2.7 video", dashscope.Wan27Video, "MP4 or MOV, 240-4096 px per side, aspect 1:8 to 8:1, 2-10 s, at most 100 MB"},
		{"wan2.7 reference image", dashscope.Wan27RefImage, "JPG, PNG (no alpha), BMP or WEBP, 240-8000 px per side, aspect 1:8 to 8:1, at most 20 MB"},
		{"minimum duration only", dashscope.MediaLimits{Formats: []dashscope.MediaFormat{dashscope.FormatMOV}, MinDuration: 1500 * time.Millisecond}, "MOV, at least 1.5 s"},
		{"one side bound", dashscope.MediaLimits{Formats: []dashscope.MediaFormat{dashscope.FormatPNG}, MaxSide: 100, MaxBytes: 1_500_000}, "PNG, at most 100 px per side, at most 1.5 MB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.summary, tt.limits.Summary())
		})
	}
}

func TestMediaLimitsAccepts(t *testing.T) {
	assert.True(t, dashscope.VACEImage.Accepts(dashscope.FormatTIFF))
	assert.False(t, dashscope.Wan27RefImage.Accepts(dashscope.FormatTIFF))
	assert.False(t, dashscope.VACEVideo.Accepts(dashscope.FormatMOV))
	assert.True(t, dashscope.Wan27Video.Accepts(dashscope.FormatMOV))
	assert.False(t, dashscope.VACEVideo.Accepts("gif"))
}

func TestMediaWords(t *testing.T) {
	assert.Equal(t, "MP4", dashscope.VACEVideo.FormatList())
	assert.Equal(t, "MP4 or MOV", dashscope.Wan27Video.FormatList())
	assert.Equal(t, "JPG, PNG, BMP or WEBP", dashscope.Wan27RefImage.FormatList(), "FormatList leaves out the alpha rule")
	assert.Equal(t, "", dashscope.VACEVideo.SideRange())
	assert.Equal(t, "at least 240 px", dashscope.MediaLimits{MinSide: 240}.SideRange())
	assert.Equal(t, "image", dashscope.MediaImage.String())
	assert.Equal(t, "video", dashscope.MediaVideo.String())
	assert.Equal(t, "unknown", dashscope.MediaKind(0).String())
	assert.Equal(t, "JPG", dashscope.FormatJPEG.String())
	assert.Equal(t, "WEBP", dashscope.FormatWEBP.String())
}
