package media

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
)

// imageFileSize is how large each header in TestImageHeaders pretends its
// file is: over the largest image the API takes.
const imageFileSize = 25_000_000

// maxImageHeaderRead bounds the bytes read for an image header: the header,
// plus the 4 KB buffer image/jpeg fills.
const maxImageHeaderRead = 8 << 10

// TestImageHeaders covers the header variants of each image format, each
// presented as the start of a 25 MB file: only the header is read.
func TestImageHeaders(t *testing.T) {
	jpg := jpegBytes(t, 640, 480)
	sof := bytes.Index(jpg, []byte{0xFF, 0xC0})
	require.Positive(t, sof)
	progressive := withBytes(jpg, sof+1, 0xC2)
	// Three 64 KB APP1 segments (think EXIF with thumbnails) before the frame.
	bigEXIF := jpegAfterMetadata(jpg, 3)
	// Fill bytes (extra 0xFF) are allowed before any marker.
	filled := cat(jpg[:sof], []byte{0xFF, 0xFF, 0xFF}, jpg[sof:])

	tests := []struct {
		name    string
		data    []byte
		format  string
		w, h    int
		maxRead int64 // maxImageHeaderRead if 0
	}{
		{"jpeg baseline", jpg, "jpeg", 640, 480, 0},
		{"jpeg progressive (SOF2)", progressive, "jpeg", 640, 480, 0},
		{"jpeg with 192 KB of EXIF first", bigEXIF, "jpeg", 640, 480, 3<<16 + maxImageHeaderRead},
		{"jpeg with fill bytes", filled, "jpeg", 640, 480, 0},
		{"png", pngBytes(t, 2000, 1), "png", 2000, 1, 0},
		{"png with alpha", alphaPNGBytes(t, 300, 200), "png", 300, 200, 0},
		{"paletted png", palettedPNGBytes(t, 300, 200, true), "png", 300, 200, 0},
		{"bmp info header", bmpHeader(40, 1920, 1080), "bmp", 1920, 1080, 0},
		{"bmp top-down (negative height)", bmpHeader(40, 800, -600), "bmp", 800, 600, 0},
		{"bmp v5 header", bmpHeader(124, 361, 2000), "bmp", 361, 2000, 0},
		{"tiff little-endian SHORT", tiffHeader(false, tiffEntry{256, 3, 1024}, tiffEntry{257, 3, 768}), "tiff", 1024, 768, 0},
		{"tiff big-endian LONG", tiffHeader(true, tiffEntry{256, 4, 70000}, tiffEntry{257, 4, 5}), "tiff", 70000, 5, 0},
		{"tiff big-endian SHORT", tiffHeader(true, tiffEntry{256, 3, 400}, tiffEntry{257, 3, 401}), "tiff", 400, 401, 0},
		{"tiff mixed types among other tags", tiffHeader(false, tiffEntry{254, 4, 0}, tiffEntry{256, 4, 600}, tiffEntry{257, 3, 500}, tiffEntry{258, 3, 8}), "tiff", 600, 500, 0},
		{"webp lossy", webpHeader("VP8 ", vp8Data(1280, 720)), "webp", 1280, 720, 0},
		{"webp lossless at the format's maximum", webpHeader("VP8L", vp8lData(16384, 16384)), "webp", 16384, 16384, 0},
		{"webp extended", webpHeader("VP8X", vp8xData(3000, 2001)), "webp", 3000, 2001, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &countingReader{r: padded(tt.data, imageFileSize)}
			info, err := Inspect(r, imageFileSize)
			require.NoError(t, err)
			assert.Equal(t, tt.format, info.Format)
			assert.Equal(t, dashscope.MediaImage, info.Kind)
			assert.Equal(t, [2]int{tt.w, tt.h}, [2]int{info.Width, info.Height})
			maxRead := tt.maxRead
			if maxRead == 0 {
				maxRead = maxImageHeaderRead
			}
			assert.LessOrEqual(t, r.bytes, maxRead, "only the header should be read")
		})
	}
}

// TestTIFFDirectoryAtTheEnd reads a TIFF whose directory follows 25 MB of
// pixels, as many writers place it: the decoder jumps there with ReadAt.
func TestTIFFDirectoryAtTheEnd(t *testing.T) {
	const at = imageFileSize - 100
	ifd := tiffHeader(false, tiffEntry{256, 3, 1024}, tiffEntry{257, 3, 768})[8:]
	file := &sparseFile{size: imageFileSize, parts: []sparsePart{
		{0, cat([]byte("II*\x00"), le32b(at))},
		{at, ifd},
	}}
	r := &countingReader{r: file}
	info, err := Inspect(r, imageFileSize)
	require.NoError(t, err)
	assert.Equal(t, [2]int{1024, 768}, [2]int{info.Width, info.Height})
	assert.LessOrEqual(t, r.bytes, int64(maxImageHeaderRead))
}

// TestPNGAlpha checks what counts as transparency in a PNG.
func TestPNGAlpha(t *testing.T) {
	tests := []struct {
		name  string
		data  []byte
		alpha bool
	}{
		{"truecolor", pngBytes(t, 10, 10), false},
		{"truecolor with alpha", alphaPNGBytes(t, 10, 10), true},
		{"opaque palette", palettedPNGBytes(t, 10, 10, false), false},
		{"palette with a transparent entry", palettedPNGBytes(t, 10, 10, true), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := inspect(tt.data)
			require.NoError(t, err)
			assert.Equal(t, tt.alpha, info.Alpha)
		})
	}
	info, err := inspect(fixture(t, "image_41x23_alpha.webp"))
	require.NoError(t, err)
	assert.False(t, info.Alpha, "only PNG headers are trusted to say")
}

// TestCorruptImages checks that broken headers give errors that say which
// format is broken, and never panic.
func TestCorruptImages(t *testing.T) {
	jpg := jpegBytes(t, 640, 480)
	sof := bytes.Index(jpg, []byte{0xFF, 0xC0})
	png := pngBytes(t, 400, 400)
	pngNoIHDR := bytes.Clone(png)
	copy(pngNoIHDR[12:16], "IDAT")

	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"jpeg cut after SOI", jpg[:3], "the JPG image is cut off or corrupt: its header runs past the end of the file (3 bytes)"},
		{"jpeg cut in the frame header", jpg[:sof+6], fmt.Sprintf("the JPG image is cut off or corrupt: its header runs past the end of the file (%d bytes)", sof+6)},
		{"jpeg scan before frame", []byte{0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x08}, "file is not a valid JPG image (invalid JPEG format: missing SOF marker)"},
		{"jpeg segment length 0", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x00, 0, 0}, "file is not a valid JPG image (invalid JPEG format: short segment length)"},
		{"jpeg with zero width", withBytes(jpg, sof+7, 0, 0), "file is not a valid JPG image: its header says it is 0x480 px"},
		{"jpeg with zero height (DNL)", withBytes(jpg, sof+5, 0, 0), "file is not a valid JPG image: its header says it is 640x0 px"},
		{"png cut in IHDR", png[:20], "the PNG image is cut off or corrupt: its header runs past the end of the file (20 bytes)"},
		{"png without IHDR", pngNoIHDR, "file is not a valid PNG image (png: invalid format: chunk out of order)"},
		{"png bad checksum", withBytes(png, 29, ^png[29]), "file is not a valid PNG image (png: invalid format: invalid checksum)"},
		{"png zero width", pngWithSize(png, 0, 400), "file is not a valid PNG image (png: invalid format: non-positive dimension)"},
		{"bmp cut", bmpHeader(40, 10, 10)[:20], "the BMP image is cut off or corrupt: its header runs past the end of the file (20 bytes)"},
		{"bmp zero width", bmpHeader(40, 0, 10), "file is a BMP image in a variant that could not be read (bmp: unsupported BMP image); re-save it as a standard PNG or JPG"},
		{"tiff cut", []byte("II*\x00\x08\x00"), "the TIFF image is cut off or corrupt: its header runs past the end of the file (6 bytes)"},
		{"tiff directory outside the file", cat([]byte("MM\x00*"), be32b(4000), make([]byte, 10)), "the TIFF image is cut off or corrupt: its header runs past the end of the file (18 bytes)"},
		{"tiff directory empty", tiffHeader(false), "file is not a valid TIFF image (tiff: invalid format: zero-size image)"},
		{"tiff without height", tiffHeader(false, tiffEntry{256, 3, 500}), "file is not a valid TIFF image (tiff: invalid format: zero-size image)"},
		{"tiff entries cut", tiffHeader(false, tiffEntry{256, 3, 500}, tiffEntry{257, 3, 500})[:20], "the TIFF image is cut off or corrupt: its header runs past the end of the file (20 bytes)"},
		{"webp cut", webpHeader("VP8 ", vp8Data(10, 10))[:25], "the WEBP image is cut off or corrupt: its header runs past the end of the file (25 bytes)"},
		{"webp lossy without start code", webpHeader("VP8 ", withBytes(vp8Data(10, 10), 3, 0)), "file is not a valid WEBP image (vp8: invalid format)"},
		{"webp lossless without signature", webpHeader("VP8L", withBytes(vp8lData(10, 10), 0, 0)), "file is not a valid WEBP image (vp8l: invalid header)"},
		{"webp unknown chunk", webpHeader("ALPH", make([]byte, 10)), "file is not a valid WEBP image (webp: invalid format)"},
		{"jpeg with over 1 MB of metadata first", jpegAfterMetadata(jpg, 17), "the JPG image has an implausibly large header (more than 1024 KB would have to be read to find its size); it is probably corrupt"},
		{"webp lossy zero size", webpHeader("VP8 ", vp8Data(0, 10)), "file is not a valid WEBP image: its header says it is 0x10 px"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := inspect(tt.data)
			require.Error(t, err, "got %+v", info)
			assert.Equal(t, tt.want, err.Error())
		})
	}
}

// TestUnreadableVariants covers valid images in variants the decoders do not
// read: the agent is told to re-save them.
func TestUnreadableVariants(t *testing.T) {
	jpg := jpegBytes(t, 640, 480)
	sof := bytes.Index(jpg, []byte{0xFF, 0xC0})
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"jpeg arithmetic (SOF9)", withBytes(jpg, sof+1, 0xC9), "file is a JPG image in a variant that could not be read (unsupported JPEG feature: unknown marker); re-save it as a standard PNG or JPG"},
		{"jpeg lossless (SOF3)", withBytes(jpg, sof+1, 0xC3), "file is a JPG image in a variant that could not be read (unsupported JPEG feature: unknown marker); re-save it as a standard PNG or JPG"},
		{"bmp os/2 core header", bmpHeader(12, 500, 400), "file is a BMP image in a variant that could not be read (bmp: unsupported BMP image); re-save it as a standard PNG or JPG"},
		{"bmp of unknown header size", withBytes(bmpHeader(40, 10, 10), 14, 5, 0, 0, 0), "file is a BMP image in a variant that could not be read (bmp: unsupported BMP image); re-save it as a standard PNG or JPG"},
		{"tiff in CMYK", tiffHeader(false, tiffEntry{256, 3, 500}, tiffEntry{257, 3, 500}, tiffEntry{262, 3, 5}), "file is a TIFF image in a variant that could not be read (tiff: unsupported feature: color model); re-save it as a standard PNG or JPG"},
		{"bigtiff", bigTIFFHeader(3000, 2000), "file is a TIFF image in a variant that could not be read (BigTIFF); re-save it as a standard PNG or JPG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := inspect(tt.data)
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
			assert.Equal(t, dashscope.MediaImage, info.Kind, "the format is still named")
		})
	}
}

// withBytes returns a copy of data with bytes replaced from off.
func withBytes(data []byte, off int, b ...byte) []byte {
	out := bytes.Clone(data)
	copy(out[off:], b)
	return out
}

// jpegAfterMetadata inserts n APP1 segments of 64 KB after the JPEG's SOI
// marker.
func jpegAfterMetadata(jpg []byte, n int) []byte {
	app1 := cat([]byte{0xFF, 0xE1}, be16b(0xFFFF), make([]byte, 0xFFFD))
	return cat(jpg[:2], bytes.Repeat(app1, n), jpg[2:])
}

// pngWithSize rewrites a PNG's IHDR size, with a valid checksum, so that the
// decoder judges the size itself.
func pngWithSize(png []byte, w, h uint32) []byte {
	out := withBytes(png, 16, cat(be32b(w), be32b(h))...)
	copy(out[29:33], be32b(crc32.ChecksumIEEE(out[12:29])))
	return out
}
