package media

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
)

// TestInspectIdentifiesByContent covers every format, from real files
// (testdata, made by ffmpeg, or made here by the standard library) and from
// hand-made headers.
func TestInspectIdentifiesByContent(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want Info // Size is filled in from data
	}{
		{"png", pngBytes(t, 400, 380), Info{Kind: dashscope.MediaImage, Format: "png", MIME: "image/png", Width: 400, Height: 380}},
		{"jpeg", jpegBytes(t, 1999, 361), Info{Kind: dashscope.MediaImage, Format: "jpeg", MIME: "image/jpeg", Width: 1999, Height: 361}},
		{"bmp by ffmpeg", fixture(t, "image_41x23.bmp"), Info{Kind: dashscope.MediaImage, Format: "bmp", MIME: "image/bmp", Width: 41, Height: 23}},
		{"tiff by ffmpeg", fixture(t, "image_41x23.tiff"), Info{Kind: dashscope.MediaImage, Format: "tiff", MIME: "image/tiff", Width: 41, Height: 23}},
		{"webp lossy by ffmpeg", fixture(t, "image_41x23_lossy.webp"), Info{Kind: dashscope.MediaImage, Format: "webp", MIME: "image/webp", Width: 41, Height: 23}},
		{"webp lossless by ffmpeg", fixture(t, "image_41x23_lossless.webp"), Info{Kind: dashscope.MediaImage, Format: "webp", MIME: "image/webp", Width: 41, Height: 23}},
		{"webp extended by ffmpeg", fixture(t, "image_41x23_alpha.webp"), Info{Kind: dashscope.MediaImage, Format: "webp", MIME: "image/webp", Width: 41, Height: 23}},
		{"gif by ffmpeg", fixture(t, "image_41x23.gif"), Info{Kind: dashscope.MediaImage, Format: "gif", MIME: "image/gif", Width: 41, Height: 23}},
		{"gif by image/gif", gifBytes(t, 500, 400), Info{Kind: dashscope.MediaImage, Format: "gif", MIME: "image/gif", Width: 500, Height: 400}},
		{"mp4", fixture(t, "moov_front_2s_30fps.mp4"), Info{Kind: dashscope.MediaVideo, Format: "mp4", MIME: "video/mp4", Width: 64, Height: 64, Duration: 2 * time.Second, FPS: 30}},
		{"mov by ffmpeg", fixture(t, "quicktime_2s_30fps.mov"), Info{Kind: dashscope.MediaVideo, Format: "mov", MIME: "video/quicktime", Width: 64, Height: 64, Duration: 2 * time.Second, FPS: 30}},
		{"mov without ftyp", cat(mkbox("wide"), twoSeconds.moov()), Info{Kind: dashscope.MediaVideo, Format: "mov", MIME: "video/quicktime", Width: 640, Height: 360, Duration: 2 * time.Second, FPS: 30}},
		{"webm by ffmpeg", fixture(t, "webm_2s_30fps.webm"), Info{Kind: dashscope.MediaVideo, Format: "webm", MIME: "video/webm"}},
		{"matroska", cat([]byte{0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x88}, []byte("matroska")), Info{Kind: dashscope.MediaVideo, Format: "matroska", MIME: "video/x-matroska"}},
		{"avi", cat([]byte("RIFF"), le32b(100), []byte("AVI LIST")), Info{Kind: dashscope.MediaVideo, Format: "avi", MIME: "video/x-msvideo"}},
		{"wav", cat([]byte("RIFF"), le32b(100), []byte("WAVEfmt ")), Info{Format: "wav", MIME: "audio/wav"}},
		{"heic", ftyp("heic", "mif1", "heic"), Info{Kind: dashscope.MediaImage, Format: "heic", MIME: "image/heic"}},
		{"heif with mif1 major brand", ftyp("mif1", "heic"), Info{Kind: dashscope.MediaImage, Format: "heic", MIME: "image/heic"}},
		{"avif", ftyp("avif", "mif1", "miaf"), Info{Kind: dashscope.MediaImage, Format: "avif", MIME: "image/avif"}},
		{"3gp", cat(ftyp("3gp4", "isom", "3gp4"), twoSeconds.moov()), Info{Kind: dashscope.MediaVideo, Format: "3gp", MIME: "video/3gpp", Width: 640, Height: 360, Duration: 2 * time.Second, FPS: 30}},
		{"m4a", ftyp("M4A ", "M4A ", "mp42", "isom"), Info{Format: "m4a", MIME: "audio/mp4"}},
		{"pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"), Info{Format: "pdf", MIME: "application/pdf"}},
		{"plain text", []byte("a cat walking on the beach, cinematic lighting\n"), Info{Format: "text", MIME: "text/plain"}},
		{"text cut in a character", []byte("héllo wörld " + string([]byte{0xC3})), Info{Format: "text", MIME: "text/plain"}},
		{"text starting like a BMP", []byte("BM25 ranking notes\n"), Info{Format: "text", MIME: "text/plain"}},
		{"html is text", []byte("<!doctype html><html><body>404 Not Found</body></html>"), Info{Format: "text", MIME: "text/plain"}},
		{"svg", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10"/>`), Info{Kind: dashscope.MediaImage, Format: "svg", MIME: "image/svg+xml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := inspect(tt.data)
			require.NoError(t, err)
			tt.want.Size = int64(len(tt.data))
			assert.Equal(t, tt.want, info)
		})
	}
}

// TestInspectIgnoresTheName writes files whose names lie about their content.
func TestInspectIgnoresTheName(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name   string
		data   []byte
		format string
	}{
		{"photo.mp4", pngBytes(t, 400, 400), "png"},
		{"clip.png", fixture(t, "moov_end_2s_30fps.mp4"), "mp4"},
		{"movie.mp4", fixture(t, "quicktime_2s_30fps.mov"), "mov"},
		{"picture.jpg", fixture(t, "image_41x23_lossy.webp"), "webp"},
		{"no-extension", jpegBytes(t, 400, 400), "jpeg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			require.NoError(t, os.WriteFile(path, tt.data, 0o600))
			f, err := os.Open(path)
			require.NoError(t, err)
			defer f.Close()
			st, err := f.Stat()
			require.NoError(t, err)

			info, err := Inspect(f, st.Size())
			require.NoError(t, err)
			assert.Equal(t, tt.format, info.Format)
		})
	}
}

// TestInspectUnrecognised checks that unknown content is an error that says
// what the file looks like, in words where possible.
func TestInspectUnrecognised(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"zip", cat([]byte("PK\x03\x04"), make([]byte, 26)), "file is not a recognised image or video (it looks like application/zip)"},
		{"elf binary", cat([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 8)), "file is not a recognised image or video (it starts with the bytes 7f 45 4c 46 02 01 01 00)"},
		{"short binary", []byte{0x00, 0x01}, "file is not a recognised image or video (it starts with the bytes 00 01)"},
		{"iso file of another kind", ftyp("crx ", "crx "), `file is not a recognised image or video (it is an ISO media file of type "crx ")`},
		{"moov name in text-like bytes", []byte("abcdmoov\x00\x01"), "file is not a recognised image or video (it starts with the bytes 61 62 63 64 6d 6f 6f 76)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := inspect(tt.data)
			require.Error(t, err)
			assert.Equal(t, tt.want, err.Error())
			var u *unrecognizedError
			assert.ErrorAs(t, err, &u)
		})
	}
}

// TestInspectBadArguments covers empty files, negative sizes and readers
// that fail or hold fewer bytes than claimed.
func TestInspectBadArguments(t *testing.T) {
	_, err := Inspect(padded(nil, 0), 0)
	assert.EqualError(t, err, "file is empty (0 bytes)")

	_, err = Inspect(padded(nil, 0), -1)
	assert.EqualError(t, err, "file size -1 is negative")

	png := pngBytes(t, 400, 400)
	_, err = Inspect(bytes.NewReader(png[:10]), 1000) // the reader holds fewer bytes than claimed
	assert.ErrorContains(t, err, "cut off")

	_, err = Inspect(failingReader{}, 100)
	assert.EqualError(t, err, "could not read the file: disk on fire")
}

type failingReader struct{}

func (failingReader) ReadAt([]byte, int64) (int, error) { return 0, errDiskOnFire }

var errDiskOnFire = errorString("disk on fire")

type errorString string

func (e errorString) Error() string { return string(e) }
