package media

import (
	"errors"
	"fmt"
	"math"
)

// maxDimension bounds what a header may claim. Every format here stores sides
// in at most 32 bits; anything beyond int32 is corrupt rather than large.
const maxDimension = math.MaxInt32

// sized fills in the pixel size, refusing zero or absurd values: an image
// header that says 0 px is corrupt, and a caller comparing a mask's size with
// a video's must never be handed a meaningless number.
func sized(info Info, w, h int64) (Info, error) {
	if w <= 0 || h <= 0 || w > maxDimension || h > maxDimension {
		return Info{}, fmt.Errorf("file is not a valid %s: its header says it is %dx%d px", formats[info.Format].noun, w, h)
	}
	info.Width, info.Height = int(w), int(h)
	return info, nil
}

// cutOff is the error for an image whose header ends early.
func cutOff(s *source, format string, err error) error {
	return s.explain(err, "the "+formats[format].noun)
}

// maxJPEGSegments bounds the marker walk; real files have a dozen or two
// segments before the frame header.
const maxJPEGSegments = 1024

// inspectJPEG walks the JPEG markers up to the first start-of-frame (SOF)
// marker, which holds the size. Segments before it (EXIF, ICC profiles,
// thumbnails) are skipped by their length fields without being read, so even
// a large EXIF block costs a few bytes. image/jpeg.DecodeConfig would read
// them, and refuses some valid SOF types (arithmetic coding, lossless).
func inspectJPEG(s *source) (Info, error) {
	info := newInfo("jpeg", s.size)
	off := int64(2) // after the SOI marker
	for range maxJPEGSegments {
		b, err := s.bytes(off, 2)
		if err != nil {
			return Info{}, cutOff(s, "jpeg", err)
		}
		if b[0] != 0xFF {
			return Info{}, fmt.Errorf("file is not a valid JPG image: expected a marker at byte %d", off)
		}
		marker := b[1]
		switch {
		case marker == 0xFF:
			// A fill byte: markers may be padded with any number of 0xFF.
			off++
			continue
		case marker == 0x01 || marker >= 0xD0 && marker <= 0xD8:
			// TEM, RSTn and SOI stand alone, with no length field.
			off += 2
			continue
		case marker == 0xD9 || marker == 0xDA:
			return Info{}, errors.New("file is not a valid JPG image: its image data starts before any frame header gives its size")
		}
		b, err = s.bytes(off+2, 2)
		if err != nil {
			return Info{}, cutOff(s, "jpeg", err)
		}
		length := int64(be16(b)) // counts itself but not the marker
		if length < 2 {
			return Info{}, fmt.Errorf("file is not a valid JPG image: a segment at byte %d has an impossible length", off)
		}
		if isSOF(marker) {
			if length < 8 {
				return Info{}, errors.New("file is not a valid JPG image: its frame header is too short")
			}
			b, err = s.bytes(off+4, 5) // precision, height, width
			if err != nil {
				return Info{}, cutOff(s, "jpeg", err)
			}
			h, w := int64(be16(b[1:])), int64(be16(b[3:]))
			if h == 0 {
				// A height of 0 defers it to a DNL marker after the first scan,
				// which would mean reading image data; such files are rare.
				return Info{}, errors.New("file is a JPG image that does not give its height in its header (it uses a DNL marker); re-save it as a standard JPG or PNG")
			}
			return sized(info, w, h)
		}
		off += 2 + length
	}
	return Info{}, fmt.Errorf("file is not a valid JPG image: no frame header in its first %d segments", maxJPEGSegments)
}

// isSOF reports whether a marker starts a frame: C0-CF except DHT (C4),
// JPG (C8) and DAC (CC).
func isSOF(m byte) bool {
	return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC
}

// inspectPNG reads the IHDR chunk, which the PNG specification requires to
// come first.
func inspectPNG(s *source) (Info, error) {
	b, err := s.bytes(8, 16)
	if err != nil {
		return Info{}, cutOff(s, "png", err)
	}
	if string(b[4:8]) != "IHDR" || be32(b) != 13 {
		return Info{}, errors.New("file is not a valid PNG image: it does not start with an IHDR header")
	}
	return sized(newInfo("png", s.size), int64(be32(b[8:])), int64(be32(b[12:])))
}

// inspectBMP reads the DIB header after the 14-byte file header. The 12-byte
// OS/2 core header stores 16-bit sides; every later header (40-byte
// BITMAPINFOHEADER and its extensions, 16-64 byte OS/2 2.x headers) stores
// signed 32-bit sides, where a negative height means rows run top-down.
func inspectBMP(s *source) (Info, error) {
	b, err := s.bytes(14, 12)
	if err != nil {
		return Info{}, cutOff(s, "bmp", err)
	}
	info := newInfo("bmp", s.size)
	switch dib := le32(b); {
	case dib == 12:
		return sized(info, int64(le16(b[4:])), int64(le16(b[6:])))
	case dib >= 16 && dib <= 1024:
		w, h := int64(int32(le32(b[4:]))), int64(int32(le32(b[8:])))
		if h < 0 {
			h = -h
		}
		return sized(info, w, h)
	default:
		return Info{}, fmt.Errorf("file is not a valid BMP image: its header has an unknown size (%d bytes)", dib)
	}
}

// maxTIFFEntries is how many IFD entries are looked at. Entries are sorted by
// tag, and width (256) and height (257) are among the first baseline tags.
const maxTIFFEntries = 128

// inspectTIFF reads ImageWidth (256) and ImageLength (257) from the first IFD,
// each a SHORT or a LONG (or, in BigTIFF, a LONG8).
func inspectTIFF(s *source, bigEndian, big bool) (Info, error) {
	u16, u32 := le16, le32
	u64 := func(b []byte) uint64 { return uint64(le32(b)) | uint64(le32(b[4:]))<<32 }
	if bigEndian {
		u16, u32, u64 = be16, be32, be64
	}
	info := newInfo("tiff", s.size)
	bad := func(why string) (Info, error) {
		return Info{}, errors.New("file is not a valid TIFF image: " + why)
	}

	// Classic TIFF: 4-byte IFD offset, 2-byte entry count, 12-byte entries
	// with a 4-byte value field. BigTIFF doubles the offsets and counts.
	countLen, entryLen, valueAt := 2, 12, 8
	if big {
		countLen, entryLen, valueAt = 8, 20, 12
	}
	var ifd uint64
	if big {
		b, err := s.bytes(8, 8) // after the byte size of offsets and 2 reserved bytes
		if err != nil {
			return Info{}, cutOff(s, "tiff", err)
		}
		ifd = u64(b)
	} else {
		b, err := s.bytes(4, 4)
		if err != nil {
			return Info{}, cutOff(s, "tiff", err)
		}
		ifd = uint64(u32(b))
	}
	if ifd < 8 || ifd >= uint64(s.size) {
		return bad("its first directory is outside the file")
	}
	b, err := s.bytes(int64(ifd), countLen)
	if err != nil {
		return Info{}, cutOff(s, "tiff", err)
	}
	var n uint64
	if big {
		n = u64(b)
	} else {
		n = uint64(u16(b))
	}
	if n == 0 {
		return bad("its first directory is empty")
	}
	n = min(n, maxTIFFEntries)
	entries, err := s.bytes(int64(ifd)+int64(countLen), int(n)*entryLen)
	if err != nil {
		return Info{}, cutOff(s, "tiff", err)
	}
	var w, h int64
	for i := range int(n) {
		e := entries[i*entryLen : (i+1)*entryLen]
		tag, typ := u16(e), u16(e[2:])
		if tag != 256 && tag != 257 {
			continue
		}
		var v int64
		switch typ {
		case 3: // SHORT
			v = int64(u16(e[valueAt:]))
		case 4: // LONG
			v = int64(u32(e[valueAt:]))
		case 16: // LONG8, BigTIFF only
			if !big {
				return bad("its width or height has an unexpected type")
			}
			x := u64(e[valueAt:])
			if x > maxDimension {
				return bad("its width or height is implausibly large")
			}
			v = int64(x)
		default:
			return bad("its width or height has an unexpected type")
		}
		if tag == 256 {
			w = v
		} else {
			h = v
		}
	}
	if w == 0 || h == 0 {
		return bad("its first directory does not give its width and height")
	}
	return sized(info, w, h)
}

// inspectWEBP reads the first chunk after "RIFF....WEBP": a lossy VP8 frame
// header, a lossless VP8L header, or the extended VP8X header with the canvas
// size.
func inspectWEBP(s *source) (Info, error) {
	b, err := s.bytes(12, 18) // chunk tag, chunk size, 10 bytes of chunk data
	if err != nil {
		return Info{}, cutOff(s, "webp", err)
	}
	info := newInfo("webp", s.size)
	d := b[8:]
	switch string(b[:4]) {
	case "VP8 ":
		// 3-byte frame tag, then the key frame start code and two 14-bit sides.
		if d[3] != 0x9D || d[4] != 0x01 || d[5] != 0x2A {
			return Info{}, errors.New("file is not a valid WEBP image: its VP8 frame header has no start code")
		}
		return sized(info, int64(le16(d[6:])&0x3FFF), int64(le16(d[8:])&0x3FFF))
	case "VP8L":
		// Signature byte, then width-1 and height-1 in 14 bits each.
		if d[0] != 0x2F {
			return Info{}, errors.New("file is not a valid WEBP image: its lossless header has no signature")
		}
		bits := le32(d[1:])
		return sized(info, int64(bits&0x3FFF)+1, int64(bits>>14&0x3FFF)+1)
	case "VP8X":
		// Flags (4 bytes), then canvas width-1 and height-1 in 24 bits each.
		return sized(info, int64(le24(d[4:]))+1, int64(le24(d[7:]))+1)
	default:
		return Info{}, fmt.Errorf("file is not a valid WEBP image: its first chunk is %q, not VP8, VP8L or VP8X", printable(b[:4]))
	}
}

// printable makes a four-character code safe to quote in a message.
func printable(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c > 0x7E {
			c = '?'
		}
		out[i] = c
	}
	return string(out)
}
