package media

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
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

	// qt is a QuickTime movie (ftyp brand "qt  ") of the given spec.
	qt := func(m movieSpec) file { return whole(cat(ftyp("qt  ", "qt  "), m.moov())) }
	wan := movieSpec{timescale: 1000, duration: 5000, trackTimescale: 1000, trackDuration: 5000, samples: 150, width: 1280, height: 720}
	wanLasting := func(ms uint64) movieSpec { m := wan; m.duration, m.trackDuration = ms, ms; return m }
	wanSized := func(w, h uint32) movieSpec { m := wan; m.width, m.height = w, h; return m }
	wanUnsized := wanSized(0, 0)
	wanNoDuration := movieSpec{timescale: 1000, trackTimescale: 1000, width: 640, height: 360, mvex: trex(1, 0)}

	vaceImage, vaceVideo, vaceClip := dashscope.VACEImage, dashscope.VACEVideo, dashscope.VACEClip
	wanVideo, wanImage := dashscope.Wan27Video, dashscope.Wan27RefImage
	const vaceImages = "; this field takes JPG, PNG, BMP, TIFF or WEBP images"
	const wanImages = "; this field takes JPG, PNG, BMP or WEBP images"

	tests := []struct {
		name     string
		file     file
		limits   dashscope.MediaLimits
		err      string // "" for none
		warnings []string
	}{
		// VACE images.
		{"image within limits", whole(pngBytes(t, 400, 380)), vaceImage, "", nil},
		{"image at the bounds", whole(jpegBytes(t, 360, 2000)), vaceImage, "", nil},
		{"image too small", whole(pngBytes(t, 120, 90)), vaceImage, "image is 120x90 px; each side must be 360-2000 px", nil},
		{"image one side too small", whole(jpegBytes(t, 1000, 359)), vaceImage, "image is 1000x359 px; each side must be 360-2000 px", nil},
		{"image too large", sized(webpHeader("VP8X", vp8xData(2001, 1000)), 50_000), vaceImage, "image is 2001x1000 px; each side must be 360-2000 px", nil},
		{"image of too many bytes", sized(bmpHeader(40, 1920, 1080), 10_000_001), vaceImage, "file is 10 MB (10000001 bytes); this field takes at most 10 MB (10000000 bytes)", nil},
		{"image of exactly the limit", sized(bmpHeader(40, 1920, 1080), 10_000_000), vaceImage, "", nil},
		{"image with two problems", sized(tiffHeader(true, tiffEntry{256, 4, 4000}, tiffEntry{257, 4, 3000}), 12_345_678), vaceImage,
			"2 problems: (1) file is 12.3 MB (12345678 bytes); this field takes at most 10 MB (10000000 bytes). (2) image is 4000x3000 px; each side must be 360-2000 px", nil},
		{"png with alpha: VACE does not mind", whole(alphaPNGBytes(t, 400, 400)), vaceImage, "", nil},
		{"gif", whole(gifBytes(t, 400, 400)), vaceImage, "file is a GIF image" + vaceImages, nil},
		{"heic", whole(ftyp("heic", "mif1", "heic")), vaceImage, "file is a HEIC/HEIF image" + vaceImages, nil},
		{"svg", whole([]byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)), vaceImage, "file is an SVG image" + vaceImages, nil},
		{"video in an image field", fixed("moov_front_2s_30fps.mp4"), vaceImage, "file is an MP4 video" + vaceImages, nil},
		{"broken video in an image field", whole(fixture(t, "moov_front_2s_30fps.mp4")[:1000]), vaceImage, "file is an MP4 video" + vaceImages, nil},
		{"text in an image field", whole([]byte("https://example.com/cat.png")), vaceImage, "file is plain text" + vaceImages, nil},
		{"pdf in an image field", whole([]byte("%PDF-1.4\n")), vaceImage, "file is a PDF document" + vaceImages, nil},
		{"unknown bytes in an image field", whole([]byte{0, 1, 2, 3}), vaceImage, "file is not a recognised image or video (it starts with the bytes 00 01 02 03)" + vaceImages, nil},

		// VACE videos.
		{"video within limits", fixed("moov_front_2s_30fps.mp4"), vaceVideo, "", nil},
		{"real sample", fixed(sandboxMP4), vaceVideo, "", nil},
		{"video over 5 s is cut by the service", fixed("long_7s_24fps.mp4"), vaceVideo, "", []string{"video is 7 s long; the service uses only the first 5 s"}},
		{"video under 16 fps", fixed("slow_2s_10fps.mp4"), vaceVideo, "video is 10 fps; this field needs at least 16 fps", nil},
		{"video of too many bytes", file{growMdat(t, fixture(t, "moov_end_2s_30fps.mp4"), 50_000_001), 50_000_001}, vaceVideo,
			"file is 50 MB (50000001 bytes); this field takes at most 50 MB (50000000 bytes)", nil},
		{"video of exactly 50 MB", file{growMdat(t, fixture(t, "moov_end_2s_30fps.mp4"), 50_000_000), 50_000_000}, vaceVideo, "", nil},
		{"video with unknown duration and rate", whole(noDurations.file(moof(1, 0, 10, nil))), vaceVideo, "",
			[]string{"could not read the video's frame rate from its header, so the 16 fps minimum was not checked"}},
		{"mov", fixed("quicktime_2s_30fps.mov"), vaceVideo, "file is a QuickTime .mov video; this field takes MP4 videos", nil},
		{"broken mov", whole(fixture(t, "quicktime_2s_30fps.mov")[:1000]), vaceVideo, "file is a QuickTime .mov video; this field takes MP4 videos", nil},
		{"webm", fixed("webm_2s_30fps.webm"), vaceVideo, "file is a WebM video; this field takes MP4 videos", nil},
		{"avi", whole(cat([]byte("RIFF"), le32b(100), []byte("AVI LIST"))), vaceVideo, "file is an AVI video; this field takes MP4 videos", nil},
		{"3gp", whole(cat(ftyp("3gp4", "isom"), twoSeconds.moov())), vaceVideo, "file is a 3GP video; this field takes MP4 videos", nil},
		{"m4a", whole(ftyp("M4A ", "isom")), vaceVideo, "file is an M4A audio file; this field takes MP4 videos", nil},
		{"image in a video field", whole(pngBytes(t, 400, 400)), vaceVideo, "file is a PNG image; this field takes MP4 videos", nil},
		{"broken image in a video field", whole(pngBytes(t, 400, 400)[:20]), vaceVideo, "file is a PNG image; this field takes MP4 videos", nil},
		{"text in a video field", whole([]byte("a cat\n")), vaceVideo, "file is plain text; this field takes MP4 videos", nil},
		{"zip in a video field", whole(cat([]byte("PK\x03\x04"), make([]byte, 26))), vaceVideo, "file is not a recognised image or video (it looks like application/zip); this field takes MP4 videos", nil},

		// video_extension clips.
		{"clip within limits", fixed("moov_end_2s_30fps.mp4"), vaceClip, "", nil},
		{"clip over 3 s", fixed("fragmented_moov_samples_4s_30fps.mp4"), vaceClip, "video is 4 s long; this field takes at most 3 s", nil},
		{"clip over 5 s: an error, not a warning", fixed("long_7s_24fps.mp4"), vaceClip, "video is 7 s long; this field takes at most 3 s", nil},
		{"clip just over 3 s", whole(movieSpec{timescale: 10000, duration: 30004, trackTimescale: 10000, trackDuration: 30004, samples: 90, width: 64, height: 64}.file()), vaceClip,
			"video is 3.001 s long; this field takes at most 3 s", nil},
		{"clip too slow and too long", whole(movieSpec{timescale: 1000, duration: 4500, trackTimescale: 30000, trackDuration: 135000, samples: 67, width: 64, height: 64}.file()), vaceClip,
			"2 problems: (1) video is 4.5 s long; this field takes at most 3 s. (2) video is 14.88 fps; this field needs at least 16 fps", nil},
		{"clip with unknown duration", whole(noDurations.file(moof(1, 0, 10, nil))), vaceClip, "", []string{
			"could not read the video's duration from its header, so the 3 s limit was not checked",
			"could not read the video's frame rate from its header, so the 16 fps minimum was not checked",
		}},

		// wan2.7-videoedit videos.
		{"wan2.7 mp4", whole(wan.file()), wanVideo, "", nil},
		{"wan2.7 mov", qt(wan), wanVideo, "", nil},
		{"wan2.7 mov without ftyp", whole(cat(mkbox("wide"), wan.moov())), wanVideo, "", nil},
		{"wan2.7 webm", fixed("webm_2s_30fps.webm"), wanVideo, "file is a WebM video; this field takes MP4 or MOV videos", nil},
		{"wan2.7 at the bounds", qt(wanSized(4096, 512)), wanVideo, "", nil},
		{"wan2.7 of exactly 2 s", qt(wanLasting(2000)), wanVideo, "", nil},
		{"wan2.7 too short", qt(wanLasting(1500)), wanVideo, "video is 1.5 s long; this field takes at least 2 s", nil},
		{"wan2.7 just under 2 s", whole(cat(ftyp("qt  "), movieSpec{timescale: 10000, duration: 19995, trackTimescale: 10000, trackDuration: 19995, samples: 60, width: 640, height: 360}.moov())), wanVideo,
			"video is 1.999 s long; this field takes at least 2 s", nil},
		{"wan2.7 too long", qt(wanLasting(12000)), wanVideo, "video is 12 s long; this field takes at most 10 s", nil},
		{"wan2.7 too small", fixed("quicktime_2s_30fps.mov"), wanVideo, "video is 64x64 px; each side must be 240-4096 px", nil},
		{"wan2.7 too wide and too large", qt(wanSized(4100, 500)), wanVideo,
			"2 problems: (1) video is 4100x500 px; each side must be 240-4096 px. (2) video is 4100x500 px, an aspect ratio of 8.2:1; this field takes 1:8 to 8:1", nil},
		{"wan2.7 too tall", qt(wanSized(240, 2000)), wanVideo, "video is 240x2000 px, an aspect ratio of 1:8.34; this field takes 1:8 to 8:1", nil},
		{"wan2.7 of too many bytes", file{padded(wan.file(), 100_000_001), 100_000_001}, wanVideo,
			"file is 100 MB (100000001 bytes); this field takes at most 100 MB (100000000 bytes)", nil},
		{"wan2.7 with unknown duration", whole(wanNoDuration.file(moof(1, 0, 10, nil))), wanVideo, "",
			[]string{"could not read the video's duration from its header, so the 2 s to 10 s range was not checked"}},
		{"wan2.7 with unknown size", qt(wanUnsized), wanVideo, "",
			[]string{"could not read the video's width and height from its header, so they were not checked"}},

		// wan2.7-videoedit reference images.
		{"wan2.7 reference image", whole(pngBytes(t, 1920, 240)), wanImage, "", nil},
		{"wan2.7 png with alpha", whole(alphaPNGBytes(t, 400, 400)), wanImage,
			"image is a PNG with an alpha channel (transparency); this field takes PNG images without one: flatten it onto a background or save it as JPG", nil},
		{"wan2.7 png with a transparent palette entry", whole(palettedPNGBytes(t, 400, 400, true)), wanImage,
			"image is a PNG with an alpha channel (transparency); this field takes PNG images without one: flatten it onto a background or save it as JPG", nil},
		{"wan2.7 opaque paletted png", whole(palettedPNGBytes(t, 400, 400, false)), wanImage, "", nil},
		{"wan2.7 webp with alpha: only PNG is refused", sized(webpHeader("VP8X", vp8xData(400, 400)), 10_000), wanImage, "", nil},
		{"wan2.7 tiff", sized(tiffHeader(true, tiffEntry{256, 4, 400}, tiffEntry{257, 4, 400}), 10_000), wanImage, "file is a TIFF image" + wanImages, nil},
		{"wan2.7 image of 10:1", whole(pngBytes(t, 2400, 240)), wanImage, "image is 2400x240 px, an aspect ratio of 10:1; this field takes 1:8 to 8:1", nil},
		{"wan2.7 image just over 1:8", whole(jpegBytes(t, 240, 1921)), wanImage, "image is 240x1921 px, an aspect ratio of 1:8.01; this field takes 1:8 to 8:1", nil},
		{"wan2.7 image too large", sized(webpHeader("VP8X", vp8xData(8001, 1001)), 10_000), wanImage, "image is 8001x1001 px; each side must be 240-8000 px", nil},
		{"wan2.7 image of too many bytes", sized(bmpHeader(40, 1920, 1080), 20_000_001), wanImage,
			"file is 20 MB (20000001 bytes); this field takes at most 20 MB (20000000 bytes)", nil},
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
	img, _, err := Check(bytes.NewReader(mask), int64(len(mask)), dashscope.VACEImage)
	require.NoError(t, err)
	video := twoSeconds.file()
	vid, _, err := Check(bytes.NewReader(video), int64(len(video)), dashscope.VACEVideo)
	require.NoError(t, err)
	assert.Equal(t, [2]int{vid.Width, vid.Height}, [2]int{img.Width, img.Height})
}

// TestCheckPassesReadErrorsThrough keeps corrupt files distinct from files
// that break a limit.
func TestCheckPassesReadErrorsThrough(t *testing.T) {
	data := fixture(t, "moov_front_2s_30fps.mp4")[:1000]
	info, _, err := Check(bytes.NewReader(data), int64(len(data)), dashscope.VACEVideo)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `file is not a valid MP4 video: its "moov" box runs past the end of the file`)
	var le *LimitError
	assert.NotErrorAs(t, err, &le)
	assert.Equal(t, "mp4", info.Format)

	mov := cat(ftyp("qt  ", "qt  "), mkbox("free"))
	info, _, err = Check(bytes.NewReader(mov), int64(len(mov)), dashscope.Wan27Video)
	assert.EqualError(t, err, "file is not a valid QuickTime .mov video: it has no movie header (moov box); the file is probably cut off or still being written")
	assert.Equal(t, "mov", info.Format)

	_, _, err = Check(bytes.NewReader(nil), 0, dashscope.VACEImage)
	assert.EqualError(t, err, "file is empty (0 bytes)")

	_, _, err = Check(bytes.NewReader(data), int64(len(data)), dashscope.MediaLimits{MaxBytes: 10})
	assert.EqualError(t, err, "media limits do not say whether the field takes an image or a video")
}

func TestLimitsOnlyOneSide(t *testing.T) {
	png := pngBytes(t, 100, 3000)
	only := func(minSide, maxSide int) dashscope.MediaLimits {
		return dashscope.MediaLimits{Kind: dashscope.MediaImage, Formats: []dashscope.MediaFormat{dashscope.FormatPNG}, MinSide: minSide, MaxSide: maxSide}
	}
	_, _, err := Check(bytes.NewReader(png), int64(len(png)), only(200, 0))
	assert.EqualError(t, err, "image is 100x3000 px; each side must be at least 200 px")
	_, _, err = Check(bytes.NewReader(png), int64(len(png)), only(0, 2000))
	assert.EqualError(t, err, "image is 100x3000 px; each side must be at most 2000 px")
	_, _, err = Check(bytes.NewReader(png), int64(len(png)), only(0, 0))
	assert.NoError(t, err)
}

// TestLimitsUseKnownFormats ties the API's format names to the ones Inspect
// reports: a limit naming a format Inspect never reports would refuse every
// file.
func TestLimitsUseKnownFormats(t *testing.T) {
	for _, l := range []dashscope.MediaLimits{dashscope.VACEImage, dashscope.VACEVideo, dashscope.VACEClip, dashscope.Wan27Video, dashscope.Wan27RefImage} {
		for _, f := range l.Formats {
			desc, ok := formats[string(f)]
			if assert.True(t, ok, "format %q", f) {
				assert.Equal(t, l.Kind, desc.kind, "format %q", f)
			}
			if l.Kind == dashscope.MediaImage {
				assert.Contains(t, imageDecoders, string(f), "image format %q has a decoder", f)
			}
		}
	}
}

func TestNumberWording(t *testing.T) {
	assert.Equal(t, "999 bytes", bytesText(999))
	assert.Equal(t, "1.5 KB (1599 bytes)", bytesText(1599))
	assert.Equal(t, "9.9 MB (9999999 bytes)", bytesText(9_999_999))
	assert.Equal(t, "3 s", secondsText(3*time.Second))
	assert.Equal(t, "3.001 s", secondsText(3*time.Second+time.Nanosecond))
	assert.Equal(t, "7.2 s", secondsText(7200*time.Millisecond))
	assert.Equal(t, "1.999 s", secondsTextDown(2*time.Second-time.Nanosecond))
	assert.Equal(t, "29.97 fps", fpsText(30000.0/1001))
	assert.Equal(t, "15.99 fps", fpsText(15.999))
	assert.Equal(t, "16 fps", fpsText(16))
}
