package media

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCheck covers each documented limit, met and violated, and the wording
// the agent will read.
func TestCheck(t *testing.T) {
	type file struct {
		r    io.ReaderAt
		size int64
	}
	whole := func(data []byte) file { return file{bytes.NewReader(data), int64(len(data))} }
	// sized presents data as the start of a file of n bytes without writing it.
	sized := func(data []byte, n int64) file { return file{padded(data, n), n} }
	fixed := func(name string) file { return whole(fixture(t, name)) }
	noDurations := movieSpec{timescale: 1000, trackTimescale: 1000, width: 64, height: 64, mvex: trex(1, 0)}

	tests := []struct {
		name     string
		file     file
		limits   Limits
		err      string // "" for none
		warnings []string
	}{
		// Images.
		{"image within limits", whole(pngBytes(t, 400, 380)), ImageLimits, "", nil},
		{"image at the bounds", whole(jpegBytes(t, 360, 2000)), ImageLimits, "", nil},
		{"image too small", whole(pngBytes(t, 120, 90)), ImageLimits, "image is 120x90 px; each side must be 360-2000 px", nil},
		{"image one side too small", whole(jpegBytes(t, 1000, 359)), ImageLimits, "image is 1000x359 px; each side must be 360-2000 px", nil},
		{"image too large", sized(webpHeader("VP8X", vp8xData(2001, 1000)), 50_000), ImageLimits, "image is 2001x1000 px; each side must be 360-2000 px", nil},
		{"image of too many bytes", sized(bmpHeader(40, 1920, 1080), 10_000_001), ImageLimits, "file is 10 MB (10000001 bytes); this field takes at most 10 MB (10000000 bytes)", nil},
		{"image of exactly the limit", sized(bmpHeader(40, 1920, 1080), 10_000_000), ImageLimits, "", nil},
		{"image with two problems", sized(tiffHeader(true, tiffEntry{256, 4, 4000}, tiffEntry{257, 4, 3000}), 12_345_678), ImageLimits,
			"2 problems: (1) file is 12.3 MB (12345678 bytes); this field takes at most 10 MB (10000000 bytes). (2) image is 4000x3000 px; each side must be 360-2000 px", nil},
		{"gif", whole(gifBytes(t, 400, 400)), ImageLimits, "file is a GIF image; this field takes a JPG, PNG, BMP, TIFF or WEBP image", nil},
		{"heic", whole(ftyp("heic", "mif1", "heic")), ImageLimits, "file is a HEIC/HEIF image; this field takes a JPG, PNG, BMP, TIFF or WEBP image", nil},
		{"svg", whole([]byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)), ImageLimits, "file is an SVG image; this field takes a JPG, PNG, BMP, TIFF or WEBP image", nil},
		{"video in an image field", fixed("moov_front_2s_30fps.mp4"), ImageLimits, "file is an MP4 video; this field takes a JPG, PNG, BMP, TIFF or WEBP image", nil},
		{"text in an image field", whole([]byte("https://example.com/cat.png")), ImageLimits, "file is plain text; this field takes a JPG, PNG, BMP, TIFF or WEBP image", nil},
		{"pdf in an image field", whole([]byte("%PDF-1.4\n")), ImageLimits, "file is a PDF document; this field takes a JPG, PNG, BMP, TIFF or WEBP image", nil},
		{"unknown bytes in an image field", whole([]byte{0, 1, 2, 3}), ImageLimits, "file is not a recognised image or video (it starts with the bytes 00 01 02 03); this field takes a JPG, PNG, BMP, TIFF or WEBP image", nil},

		// Videos.
		{"video within limits", fixed("moov_front_2s_30fps.mp4"), VideoLimits, "", nil},
		{"real sample", fixed(sandboxMP4), VideoLimits, "", nil},
		{"video over 5 s is cut by the service", fixed("long_7s_24fps.mp4"), VideoLimits, "", []string{"video is 7 s long; the service uses only the first 5 s"}},
		{"video under 16 fps", fixed("slow_2s_10fps.mp4"), VideoLimits, "video is 10 fps; this field needs at least 16 fps", nil},
		{"video of too many bytes", file{growMdat(t, fixture(t, "moov_end_2s_30fps.mp4"), 50_000_001), 50_000_001}, VideoLimits,
			"file is 50 MB (50000001 bytes); this field takes at most 50 MB (50000000 bytes)", nil},
		{"video of exactly 50 MB", file{growMdat(t, fixture(t, "moov_end_2s_30fps.mp4"), 50_000_000), 50_000_000}, VideoLimits, "", nil},
		{"video with unknown duration and rate", whole(noDurations.file(moof(1, 0, 10, nil))), VideoLimits, "",
			[]string{"could not read the video's frame rate from its header, so the 16 fps minimum was not checked"}},
		{"mov", fixed("quicktime_2s_30fps.mov"), VideoLimits, "file is not an MP4 video (it is a QuickTime .mov video); this field takes MP4 only", nil},
		{"webm", fixed("webm_2s_30fps.webm"), VideoLimits, "file is not an MP4 video (it is a WebM video); this field takes MP4 only", nil},
		{"avi", whole(cat([]byte("RIFF"), le32b(100), []byte("AVI LIST"))), VideoLimits, "file is not an MP4 video (it is an AVI video); this field takes MP4 only", nil},
		{"3gp", whole(cat(ftyp("3gp4", "isom"), twoSeconds.moov())), VideoLimits, "file is not an MP4 video (it is a 3GP video); this field takes MP4 only", nil},
		{"m4a", whole(ftyp("M4A ", "isom")), VideoLimits, "file is not an MP4 video (it is an M4A audio file); this field takes MP4 only", nil},
		{"image in a video field", whole(pngBytes(t, 400, 400)), VideoLimits, "file is not an MP4 video (it is a PNG image); this field takes MP4 only", nil},
		{"text in a video field", whole([]byte("a cat\n")), VideoLimits, "file is not an MP4 video (it is plain text); this field takes MP4 only", nil},
		{"zip in a video field", whole(cat([]byte("PK\x03\x04"), make([]byte, 26))), VideoLimits, "file is not an MP4 video (it looks like application/zip); this field takes MP4 only", nil},

		// video_extension clips.
		{"clip within limits", fixed("moov_end_2s_30fps.mp4"), ClipLimits, "", nil},
		{"clip over 3 s", fixed("fragmented_moov_samples_4s_30fps.mp4"), ClipLimits, "video is 4 s long; this field takes at most 3 s", nil},
		{"clip over 5 s: an error, not a warning", fixed("long_7s_24fps.mp4"), ClipLimits, "video is 7 s long; this field takes at most 3 s", nil},
		{"clip just over 3 s", whole(movieSpec{timescale: 10000, duration: 30004, trackTimescale: 10000, trackDuration: 30004, samples: 90, width: 64, height: 64}.file()), ClipLimits,
			"video is 3.001 s long; this field takes at most 3 s", nil},
		{"clip too slow and too long", whole(movieSpec{timescale: 1000, duration: 4500, trackTimescale: 30000, trackDuration: 135000, samples: 67, width: 64, height: 64}.file()), ClipLimits,
			"2 problems: (1) video is 4.5 s long; this field takes at most 3 s. (2) video is 14.88 fps; this field needs at least 16 fps", nil},
		{"clip with unknown duration", whole(noDurations.file(moof(1, 0, 10, nil))), ClipLimits, "", []string{
			"could not read the video's duration from its header, so the 3 s limit was not checked",
			"could not read the video's frame rate from its header, so the 16 fps minimum was not checked",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, warnings, err := Check(tt.file.r, tt.file.size, tt.limits)
			assert.Equal(t, tt.warnings, warnings)
			if tt.err == "" {
				require.NoError(t, err)
			} else {
				require.EqualError(t, err, tt.err)
				var le *LimitError
				require.ErrorAs(t, err, &le)
				assert.NotEmpty(t, le.Problems)
			}
			assert.Equal(t, tt.file.size, info.Size)
		})
	}
}

// TestCheckReportsMaskSize shows what a caller compares a mask image with:
// the image's size from Check and the video's from the same call on the video.
func TestCheckReportsMaskSize(t *testing.T) {
	mask := pngBytes(t, 640, 360)
	img, _, err := Check(bytes.NewReader(mask), int64(len(mask)), ImageLimits)
	require.NoError(t, err)
	video := twoSeconds.file()
	vid, _, err := Check(bytes.NewReader(video), int64(len(video)), VideoLimits)
	require.NoError(t, err)
	assert.Equal(t, [2]int{vid.Width, vid.Height}, [2]int{img.Width, img.Height})
}

// TestCheckPassesReadErrorsThrough keeps corrupt files distinct from files
// that break a limit.
func TestCheckPassesReadErrorsThrough(t *testing.T) {
	data := fixture(t, "moov_front_2s_30fps.mp4")[:1000]
	info, _, err := Check(bytes.NewReader(data), int64(len(data)), VideoLimits)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `file is not a valid MP4 video: its "moov" box runs past the end of the file`)
	var le *LimitError
	assert.NotErrorAs(t, err, &le)
	assert.Equal(t, "mp4", info.Format)

	_, _, err = Check(bytes.NewReader(nil), 0, ImageLimits)
	assert.EqualError(t, err, "file is empty (0 bytes)")

	_, _, err = Check(bytes.NewReader(data), int64(len(data)), Limits{MaxBytes: 10})
	assert.EqualError(t, err, "media limits do not say whether the field takes an image or a video")
}

func TestLimitsOnlyOneSide(t *testing.T) {
	png := pngBytes(t, 100, 3000)
	_, _, err := Check(bytes.NewReader(png), int64(len(png)), Limits{Kind: Image, MinSide: 200})
	assert.EqualError(t, err, "image is 100x3000 px; each side must be at least 200 px")
	_, _, err = Check(bytes.NewReader(png), int64(len(png)), Limits{Kind: Image, MaxSide: 2000})
	assert.EqualError(t, err, "image is 100x3000 px; each side must be at most 2000 px")
	_, _, err = Check(bytes.NewReader(png), int64(len(png)), Limits{Kind: Image})
	assert.NoError(t, err)
}

func TestDefaultLimits(t *testing.T) {
	assert.Equal(t, Limits{Kind: Image, MaxBytes: 10_000_000, MinSide: 360, MaxSide: 2000}, ImageLimits)
	assert.Equal(t, Limits{Kind: Video, MaxBytes: 50_000_000, MinFPS: 16, CutDuration: 5 * time.Second}, VideoLimits)
	clip := VideoLimits
	clip.MaxDuration = 3 * time.Second
	assert.Equal(t, clip, ClipLimits)
}

func TestNumberWording(t *testing.T) {
	assert.Equal(t, "999 bytes", bytesText(999))
	assert.Equal(t, "1.5 KB (1599 bytes)", bytesText(1599))
	assert.Equal(t, "9.9 MB (9999999 bytes)", bytesText(9_999_999))
	assert.Equal(t, "3 s", secondsText(3*time.Second))
	assert.Equal(t, "3.001 s", secondsText(3*time.Second+time.Nanosecond))
	assert.Equal(t, "7.2 s", secondsText(7200*time.Millisecond))
	assert.Equal(t, "29.97 fps", fpsText(30000.0/1001))
	assert.Equal(t, "15.99 fps", fpsText(15.999))
	assert.Equal(t, "16 fps", fpsText(16))
}
