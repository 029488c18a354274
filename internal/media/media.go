// Package media identifies local image and video files by their content and
// checks them against DashScope's documented input limits before they are
// uploaded.
//
// Everything here reads only headers: a 50 MB video is identified from a few
// kilobytes, so a check costs nothing next to the upload it may save. Every
// error is written for the AI agent that chose the file: it names the problem,
// the limit and the actual value in plain words.
package media

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vace-mcp/vace-mcp/dashscope"
)

// Info is what was read from a file's header, cheaply: whole frames are never
// decoded and the whole file is never read.
//
// Format is one of the formats some field takes, named as the
// dashscope.MediaFormat values ("jpeg", "png", "bmp", "tiff", "webp", "mp4",
// "mov"), or one of those recognised only to name them in errors: "gif",
// "svg", "heic", "avif", "3gp", "webm", "matroska", "avi", "m4a", "wav",
// "pdf", "text".
type Info struct {
	Kind   dashscope.MediaKind // 0 for neither an image nor a video
	Format string
	MIME   string
	Size   int64 // bytes

	// Width and Height are in pixels, 0 when the header does not say. For
	// videos they come from the video track header, i.e. the display size.
	Width, Height int

	// Duration is the movie's length from its header (mvhd, or for fragmented
	// files mehd or the fragments' sample durations); 0 when unknown.
	Duration time.Duration

	// FPS is the video track's average frame rate (samples per second of
	// media time); 0 when unknown.
	FPS float64

	// Alpha is true for a PNG image with an alpha channel or transparent
	// palette entries. Other formats leave it false (see inspectImage).
	Alpha bool
}

// formatInfo describes a format for messages.
type formatInfo struct {
	kind  dashscope.MediaKind
	mime  string
	label string // "a JPG image": completes "file is ..."
	noun  string // "JPG image": completes "not a valid ..."
}

var formats = map[string]formatInfo{
	"jpeg":     {dashscope.MediaImage, "image/jpeg", "a JPG image", "JPG image"},
	"png":      {dashscope.MediaImage, "image/png", "a PNG image", "PNG image"},
	"bmp":      {dashscope.MediaImage, "image/bmp", "a BMP image", "BMP image"},
	"tiff":     {dashscope.MediaImage, "image/tiff", "a TIFF image", "TIFF image"},
	"webp":     {dashscope.MediaImage, "image/webp", "a WEBP image", "WEBP image"},
	"mp4":      {dashscope.MediaVideo, "video/mp4", "an MP4 video", "MP4 video"},
	"mov":      {dashscope.MediaVideo, "video/quicktime", "a QuickTime .mov video", "QuickTime .mov video"},
	"gif":      {dashscope.MediaImage, "image/gif", "a GIF image", "GIF image"},
	"svg":      {dashscope.MediaImage, "image/svg+xml", "an SVG image", "SVG image"},
	"heic":     {dashscope.MediaImage, "image/heic", "a HEIC/HEIF image", "HEIC/HEIF image"},
	"avif":     {dashscope.MediaImage, "image/avif", "an AVIF image", "AVIF image"},
	"3gp":      {dashscope.MediaVideo, "video/3gpp", "a 3GP video", "3GP video"},
	"webm":     {dashscope.MediaVideo, "video/webm", "a WebM video", "WebM video"},
	"matroska": {dashscope.MediaVideo, "video/x-matroska", "a Matroska .mkv video", "Matroska .mkv video"},
	"avi":      {dashscope.MediaVideo, "video/x-msvideo", "an AVI video", "AVI video"},
	"m4a":      {0, "audio/mp4", "an M4A audio file", "M4A audio file"},
	"wav":      {0, "audio/wav", "a WAV audio file", "WAV audio file"},
	"pdf":      {0, "application/pdf", "a PDF document", "PDF document"},
	"text":     {0, "text/plain", "plain text", "plain text"},
}

// newInfo starts an Info for a recognised format.
func newInfo(format string, size int64) Info {
	f := formats[format]
	return Info{Kind: f.kind, Format: format, MIME: f.mime, Size: size}
}

// unrecognizedError reports a file whose content matches no format we know.
// Check turns it into a message that also says what the field takes.
type unrecognizedError struct {
	hint string // "it starts with the bytes ..." or "it looks like ..."
}

func (e *unrecognizedError) Error() string {
	return "file is not a recognised image or video (" + e.hint + ")"
}

// sniffLen is how much of the file's start is read to identify it; 512 bytes
// is also what http.DetectContentType looks at.
const sniffLen = 512

// Inspect reads the header of the file at r (size bytes long) and identifies
// it by its content (magic bytes), never by its name. It reads only headers:
// a few kilobytes even for a 50 MB video whose index is at the end.
//
// Formats recognised only to name them in errors (GIF, WebM, PDF, ...) are
// returned without error; Check refuses them. An error means the file is
// empty, cut off, corrupt, unreadable or of no recognised type; the Info
// still names a format that was recognised before the file proved broken.
func Inspect(r io.ReaderAt, size int64) (Info, error) {
	if size < 0 {
		return Info{}, fmt.Errorf("file size %d is negative", size)
	}
	if size == 0 {
		return Info{}, errors.New("file is empty (0 bytes)")
	}
	s := &source{r: r, size: size}
	head, err := s.bytes(0, int(min(size, sniffLen)))
	if err != nil {
		return Info{Size: size}, s.explain(err, "file")
	}
	info, err := identify(s, head)
	info.Size = size
	return info, err
}

// identify dispatches on the magic bytes at the start of the file.
func identify(s *source, head []byte) (Info, error) {
	has := func(off int, magic string) bool {
		return len(head) >= off+len(magic) && string(head[off:off+len(magic)]) == magic
	}
	size := s.size
	switch {
	case has(0, "\xFF\xD8\xFF"):
		return inspectImage(s, "jpeg")
	case has(0, "\x89PNG\r\n\x1A\n"):
		return inspectImage(s, "png")
	case has(0, "BM") && !isText(head):
		// "BM" is a short magic that text can start with; a real BMP header
		// holds zero bytes, which text does not.
		return inspectImage(s, "bmp")
	case has(0, "II*\x00"), has(0, "MM\x00*"):
		return inspectImage(s, "tiff")
	case has(0, "II+\x00"), has(0, "MM\x00+"):
		// x/image/tiff reads classic TIFF only; BigTIFF exists for files far
		// beyond any limit here.
		return newInfo("tiff", size), unreadableVariant(formats["tiff"].noun, "BigTIFF")
	case has(0, "RIFF") && has(8, "WEBP"):
		return inspectImage(s, "webp")
	case has(0, "RIFF") && has(8, "AVI "):
		return newInfo("avi", size), nil
	case has(0, "RIFF") && has(8, "WAVE"):
		return newInfo("wav", size), nil
	case has(0, "GIF87a"), has(0, "GIF89a"):
		info := newInfo("gif", size)
		if len(head) >= 10 {
			info.Width, info.Height = int(le16(head[6:])), int(le16(head[8:]))
		}
		return info, nil
	case has(4, "ftyp"):
		return inspectISO(s)
	case looksLikeQuickTime(head, size):
		// QuickTime files from before the ISO standard have no ftyp box.
		info := newInfo("mov", size)
		return info, (&mp4Parser{s: s, noun: formats["mov"].noun}).inspectMovie(&info)
	case has(0, "\x1A\x45\xDF\xA3"):
		// Matroska and WebM share the EBML magic; the DocType element near the
		// start says which one it is.
		if bytes.Contains(head[:min(len(head), 64)], []byte("webm")) {
			return newInfo("webm", size), nil
		}
		return newInfo("matroska", size), nil
	case has(0, "%PDF-"):
		return newInfo("pdf", size), nil
	}
	if isText(head) {
		if bytes.Contains(bytes.ToLower(head), []byte("<svg")) {
			return newInfo("svg", size), nil
		}
		return newInfo("text", size), nil
	}
	if ct := http.DetectContentType(head); ct != "application/octet-stream" {
		ct, _, _ = strings.Cut(ct, ";")
		return Info{}, &unrecognizedError{hint: "it looks like " + ct}
	}
	n := min(len(head), 8)
	return Info{}, &unrecognizedError{hint: fmt.Sprintf("it starts with the bytes % x", head[:n])}
}

// looksLikeQuickTime reports whether the file starts with a box that old
// QuickTime movies begin with, with a plausible box size, so that text that
// happens to contain "moov" at byte 4 is not mistaken for a movie.
func looksLikeQuickTime(head []byte, size int64) bool {
	if len(head) < 8 {
		return false
	}
	switch string(head[4:8]) {
	case "moov", "mdat", "wide", "free", "skip", "pnot":
	default:
		return false
	}
	n := int64(be32(head))
	return n == 0 || n == 1 || (n >= 8 && n <= size)
}

// isText reports whether the sniffed bytes are UTF-8 text without control
// characters, so that an agent that wrote a prompt or a URL into a file is
// told so rather than shown byte values.
func isText(head []byte) bool {
	// The sniffed prefix may end in the middle of a multi-byte character.
	for cut := 0; cut < utf8.UTFMax && len(head) > 0; cut++ {
		if utf8.Valid(head) {
			break
		}
		head = head[:len(head)-1]
	}
	if len(head) == 0 || !utf8.Valid(head) {
		return false
	}
	for _, c := range head {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' || c == 0x7F {
			return false
		}
	}
	return true
}
