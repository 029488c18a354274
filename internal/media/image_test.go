package media

import (
	"bytes"
	"image/jpeg"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImageHeaders covers the header variants of each image format.
func TestImageHeaders(t *testing.T) {
	jpg := jpegBytes(t, 640, 480)
	sof := bytes.Index(jpg, []byte{0xFF, 0xC0})
	require.Positive(t, sof)
	withSOF := func(marker byte) []byte {
		b := bytes.Clone(jpg)
		b[sof+1] = marker
		return b
	}
	// Three 64 KB APP1 segments (think EXIF with thumbnails) before the frame.
	app1 := cat([]byte{0xFF, 0xE1}, be16b(0xFFFF), make([]byte, 0xFFFD))
	bigEXIF := cat(jpg[:2], app1, app1, app1, jpg[2:])
	// Fill bytes (extra 0xFF) are allowed before any marker.
	filled := cat(jpg[:sof], []byte{0xFF, 0xFF, 0xFF}, jpg[sof:])

	tests := []struct {
		name   string
		data   []byte
		format string
		w, h   int
	}{
		{"jpeg baseline", jpg, "jpeg", 640, 480},
		{"jpeg progressive (SOF2)", withSOF(0xC2), "jpeg", 640, 480},
		{"jpeg arithmetic (SOF9)", withSOF(0xC9), "jpeg", 640, 480},
		{"jpeg lossless (SOF3)", withSOF(0xC3), "jpeg", 640, 480},
		{"jpeg with 192 KB of EXIF first", bigEXIF, "jpeg", 640, 480},
		{"jpeg with fill bytes", filled, "jpeg", 640, 480},
		{"png", pngBytes(t, 2000, 1), "png", 2000, 1},
		{"bmp info header", bmpHeader(40, 1920, 1080), "bmp", 1920, 1080},
		{"bmp top-down (negative height)", bmpHeader(40, 800, -600), "bmp", 800, 600},
		{"bmp v5 header", bmpHeader(124, 361, 2000), "bmp", 361, 2000},
		{"bmp os/2 core header", bmpHeader(12, 500, 400), "bmp", 500, 400},
		{"tiff little-endian SHORT", tiffHeader(false, tiffEntry{256, 3, 1024}, tiffEntry{257, 3, 768}), "tiff", 1024, 768},
		{"tiff big-endian LONG", tiffHeader(true, tiffEntry{256, 4, 70000}, tiffEntry{257, 4, 5}), "tiff", 70000, 5},
		{"tiff big-endian SHORT", tiffHeader(true, tiffEntry{256, 3, 400}, tiffEntry{257, 3, 401}), "tiff", 400, 401},
		{"tiff mixed types among other tags", tiffHeader(false, tiffEntry{254, 4, 0}, tiffEntry{256, 4, 600}, tiffEntry{257, 3, 500}, tiffEntry{258, 3, 8}), "tiff", 600, 500},
		{"bigtiff", bigTIFFHeader(3000, 2000), "tiff", 3000, 2000},
		{"webp lossy", webpHeader("VP8 ", vp8Data(1280, 720)), "webp", 1280, 720},
		{"webp lossless at the format's maximum", webpHeader("VP8L", vp8lData(16384, 16384)), "webp", 16384, 16384},
		{"webp extended", webpHeader("VP8X", vp8xData(3000, 2001)), "webp", 3000, 2001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &countingReader{r: bytes.NewReader(tt.data)}
			info, err := Inspect(r, int64(len(tt.data)))
			require.NoError(t, err)
			assert.Equal(t, tt.format, info.Format)
			assert.Equal(t, Image, info.Kind)
			assert.Equal(t, [2]int{tt.w, tt.h}, [2]int{info.Width, info.Height})
			assert.LessOrEqual(t, r.bytes, int64(1024), "only the header should be read")
		})
	}
}

// TestJPEGAgreesWithImageJPEG uses the standard decoder as an oracle.
func TestJPEGAgreesWithImageJPEG(t *testing.T) {
	for _, size := range [][2]int{{1, 1}, {359, 360}, {2000, 2001}, {4097, 17}} {
		data := jpegBytes(t, size[0], size[1])
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
		require.NoError(t, err)
		info, err := inspect(data)
		require.NoError(t, err)
		assert.Equal(t, [2]int{cfg.Width, cfg.Height}, [2]int{info.Width, info.Height})
	}
}

// TestCorruptImages checks that broken headers give errors that say which
// format is broken, and never panic.
func TestCorruptImages(t *testing.T) {
	jpg := jpegBytes(t, 640, 480)
	sof := bytes.Index(jpg, []byte{0xFF, 0xC0})
	dnl := bytes.Clone(jpg)
	dnl[sof+5], dnl[sof+6] = 0, 0 // height 0: given later by a DNL marker
	tooManySegments := []byte{0xFF, 0xD8}
	for range maxJPEGSegments {
		tooManySegments = append(tooManySegments, 0xFF, 0xE0, 0x00, 0x02)
	}
	png := pngBytes(t, 400, 400)
	pngNoIHDR := bytes.Clone(png)
	copy(pngNoIHDR[12:16], "IDAT")
	pngZeroWidth := bytes.Clone(png)
	copy(pngZeroWidth[16:20], []byte{0, 0, 0, 0})

	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"jpeg cut after SOI", jpg[:3], "the JPG image is cut off or corrupt"},
		{"jpeg cut in the frame header", jpg[:sof+6], "the JPG image is cut off or corrupt"},
		{"jpeg garbage after SOI", cat([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0, 0}, []byte("garbage")), "file is not a valid JPG image: expected a marker at byte 8"},
		{"jpeg scan before frame", []byte{0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x08}, "its image data starts before any frame header"},
		{"jpeg segment length 0", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x00, 0, 0}, "has an impossible length"},
		{"jpeg short frame header", []byte{0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x05, 8, 0, 1, 0, 1}, "its frame header is too short"},
		{"jpeg with DNL height", dnl, "does not give its height in its header"},
		{"jpeg with zero width", withBytes(jpg, sof+7, 0, 0), "file is not a valid JPG image: its header says it is 0x480 px"},
		{"jpeg without a frame in 1024 segments", tooManySegments, "no frame header in its first 1024 segments"},
		{"png cut in IHDR", png[:20], "the PNG image is cut off or corrupt"},
		{"png without IHDR", pngNoIHDR, "it does not start with an IHDR header"},
		{"png zero width", pngZeroWidth, "its header says it is 0x400 px"},
		{"png huge width", withBytes(png, 16, 0xFF, 0xFF, 0xFF, 0xFF), "its header says it is 4294967295x400 px"},
		{"bmp cut", bmpHeader(40, 10, 10)[:20], "the BMP image is cut off or corrupt"},
		{"bmp unknown header size", withBytes(bmpHeader(40, 10, 10), 14, 5, 0, 0, 0), "its header has an unknown size (5 bytes)"},
		{"bmp zero width", bmpHeader(40, 0, 10), "its header says it is 0x10 px"},
		{"bmp negative width", bmpHeader(40, -5, 10), "its header says it is -5x10 px"},
		{"tiff cut", []byte("II*\x00\x08\x00"), "the TIFF image is cut off or corrupt"},
		{"tiff directory outside the file", cat([]byte("MM\x00*"), be32b(4000), make([]byte, 10)), "its first directory is outside the file"},
		{"tiff directory empty", tiffHeader(false), "its first directory is empty"},
		{"tiff without height", tiffHeader(false, tiffEntry{256, 3, 500}), "does not give its width and height"},
		{"tiff rational width", tiffHeader(false, tiffEntry{256, 5, 500}, tiffEntry{257, 3, 500}), "its width or height has an unexpected type"},
		{"tiff LONG8 outside BigTIFF", tiffHeader(false, tiffEntry{256, 16, 500}, tiffEntry{257, 3, 500}), "its width or height has an unexpected type"},
		{"bigtiff absurd width", bigTIFFHeader(1<<40, 10), "its width or height is implausibly large"},
		{"tiff entries cut", tiffHeader(false, tiffEntry{256, 3, 500}, tiffEntry{257, 3, 500})[:20], "the TIFF image is cut off or corrupt"},
		{"webp cut", webpHeader("VP8 ", vp8Data(10, 10))[:25], "the WEBP image is cut off or corrupt"},
		{"webp lossy without start code", webpHeader("VP8 ", withBytes(vp8Data(10, 10), 3, 0)), "its VP8 frame header has no start code"},
		{"webp lossless without signature", webpHeader("VP8L", withBytes(vp8lData(10, 10), 0, 0)), "its lossless header has no signature"},
		{"webp unknown chunk", webpHeader("ALPH", make([]byte, 10)), `its first chunk is "ALPH", not VP8, VP8L or VP8X`},
		{"webp lossy zero size", webpHeader("VP8 ", vp8Data(0, 10)), "its header says it is 0x10 px"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := inspect(tt.data)
			require.Error(t, err, "got %+v", info)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// withBytes returns a copy of data with bytes replaced from off.
func withBytes(data []byte, off int, b ...byte) []byte {
	out := bytes.Clone(data)
	copy(out[off:], b)
	return out
}
