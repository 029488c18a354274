package media

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// sandboxMP4 is a real sample shared with the dashscope tests: 320x180, 30 fps, 2 s.
const sandboxMP4 = "../../dashscope/dashscopetest/media/sandbox.mp4"

// fixture reads a file from testdata (or, for sandboxMP4, the shared sample).
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	path := name
	if name != sandboxMP4 {
		path = filepath.Join("testdata", name)
	}
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return data
}

// inspect runs Inspect over data.
func inspect(data []byte) (Info, error) {
	return Inspect(bytes.NewReader(data), int64(len(data)))
}

// countingReader counts the bytes read through it, and the reads.
type countingReader struct {
	r     io.ReaderAt
	bytes int64
	reads int
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.bytes += int64(n)
	c.reads++
	return n, err
}

// sparseFile is a ReaderAt over a large file image made of a few byte slices
// at given offsets with zeros everywhere else, so that a test can present a
// 50 MB (or 5 GB) file without writing or allocating one.
type sparseFile struct {
	size  int64
	parts []sparsePart
}

type sparsePart struct {
	off  int64
	data []byte
}

func (f *sparseFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if off >= f.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), f.size-off))
	clear(p[:n])
	for _, part := range f.parts {
		lo, hi := max(off, part.off), min(off+int64(n), part.off+int64(len(part.data)))
		if lo < hi {
			copy(p[lo-off:hi-off], part.data[lo-part.off:hi-part.off])
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// padded returns data followed by zeros up to size bytes.
func padded(data []byte, size int64) *sparseFile {
	return &sparseFile{size: size, parts: []sparsePart{{0, data}}}
}

// topBoxes lists the top-level boxes of a fixture (32-bit sizes only), as a
// check independent of the parser under test.
func topBoxes(t testing.TB, data []byte) map[string][2]int64 {
	t.Helper()
	out := map[string][2]int64{}
	for off := int64(0); off+8 <= int64(len(data)); {
		size := int64(binary.BigEndian.Uint32(data[off:]))
		require.GreaterOrEqual(t, size, int64(8), "fixture box at %d", off)
		out[string(data[off+4:off+8])] = [2]int64{off, size}
		off += size
	}
	return out
}

// growMdat presents an MP4 whose moov follows its mdat as if the mdat were
// padded to make the file total bytes long. The mdat's header is rewritten,
// with a 64-bit largesize when the box reaches 4 GB.
func growMdat(t testing.TB, data []byte, total int64) *sparseFile {
	t.Helper()
	boxes := topBoxes(t, data)
	mdat, moov := boxes["mdat"], boxes["moov"]
	require.Less(t, mdat[0], moov[0], "fixture must have its moov after its mdat")
	tail := data[moov[0]:]
	mdatSize := total - int64(len(tail)) - mdat[0]
	var hdr []byte
	if mdatSize < 1<<32 {
		hdr = box32("mdat", uint32(mdatSize))
	} else {
		hdr = append(box32("mdat", 1), be64b(uint64(mdatSize))...)
	}
	return &sparseFile{size: total, parts: []sparsePart{
		{0, data[:mdat[0]]},
		{mdat[0], hdr},
		{total - int64(len(tail)), tail},
	}}
}

// Byte builders for hand-made headers.

func be16b(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func be32b(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func be64b(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
func le16b(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32b(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// box32 is a bare box header with the given size field.
func box32(typ string, size uint32) []byte { return cat(be32b(size), []byte(typ)) }

// mkbox makes a box around its payload.
func mkbox(typ string, payload ...[]byte) []byte {
	p := cat(payload...)
	return cat(box32(typ, uint32(8+len(p))), p)
}

// fullbox makes a box whose payload starts with a version and flags.
func fullbox(typ string, version byte, flags uint32, payload ...[]byte) []byte {
	return mkbox(typ, append(be32b(uint32(version)<<24|flags&0xFFFFFF), cat(payload...)...))
}

// ftyp makes a file type box.
func ftyp(major string, compatible ...string) []byte {
	p := cat([]byte(major), be32b(0x200))
	for _, c := range compatible {
		p = append(p, c...)
	}
	return mkbox("ftyp", p)
}

// movieSpec describes a synthetic movie header: only what the parser reads.
type movieSpec struct {
	version        byte   // of mvhd, tkhd and mdhd
	timescale      uint32 // mvhd
	duration       uint64 // mvhd
	trackTimescale uint32 // mdhd
	trackDuration  uint64 // mdhd
	samples        uint32 // stsz
	width, height  uint32 // tkhd, in pixels
	handler        string // hdlr; "vide" if empty
	trackID        uint32 // 1 if 0
	mvex           []byte // children of an mvex box; none if nil
	sampleEntry    []byte // the one entry of stsd; none if nil
}

// headerTimes is the creation/modification/timescale/duration block shared
// by mvhd and mdhd.
func headerTimes(version byte, timescale uint32, duration uint64) []byte {
	if version == 1 {
		return cat(be64b(0), be64b(0), be32b(timescale), be64b(duration))
	}
	return cat(be32b(0), be32b(0), be32b(timescale), be32b(uint32(duration)))
}

// trak makes a track box.
func (m movieSpec) trak() []byte {
	handler, id := m.handler, m.trackID
	if handler == "" {
		handler = "vide"
	}
	if id == 0 {
		id = 1
	}
	var tkhdTimes []byte
	if m.version == 1 {
		tkhdTimes = cat(be64b(0), be64b(0), be32b(id), be32b(0), be64b(m.trackDuration))
	} else {
		tkhdTimes = cat(be32b(0), be32b(0), be32b(id), be32b(0), be32b(uint32(m.trackDuration)))
	}
	tkhd := fullbox("tkhd", m.version, 3, tkhdTimes, make([]byte, 52), be32b(m.width<<16), be32b(m.height<<16))
	mdhd := fullbox("mdhd", m.version, 0, headerTimes(m.version, m.trackTimescale, m.trackDuration), be32b(0))
	hdlr := fullbox("hdlr", 0, 0, be32b(0), []byte(handler), make([]byte, 13))
	stsd := fullbox("stsd", 0, 0, be32b(0))
	if m.sampleEntry != nil {
		stsd = fullbox("stsd", 0, 0, be32b(1), m.sampleEntry)
	}
	stbl := mkbox("stbl",
		stsd,
		fullbox("stts", 0, 0, be32b(0)),
		fullbox("stsz", 0, 0, be32b(0), be32b(m.samples)))
	minf := mkbox("minf", fullbox("vmhd", 0, 1, make([]byte, 8)), stbl)
	return mkbox("trak", tkhd, mkbox("mdia", mdhd, hdlr, minf))
}

// moov makes a movie box.
func (m movieSpec) moov(extra ...[]byte) []byte {
	mvhd := fullbox("mvhd", m.version, 0, headerTimes(m.version, m.timescale, m.duration), make([]byte, 80))
	parts := [][]byte{mvhd, m.trak()}
	if m.mvex != nil {
		parts = append(parts, mkbox("mvex", m.mvex))
	}
	return mkbox("moov", append(parts, extra...)...)
}

// file makes a whole MP4: ftyp, moov, then the given boxes.
func (m movieSpec) file(after ...[]byte) []byte {
	return cat(ftyp("isom", "isom", "mp41"), m.moov(), cat(after...))
}

// twoSeconds is a plain 2 s, 30 fps, 640x360 movie.
var twoSeconds = movieSpec{timescale: 1000, duration: 2000, trackTimescale: 15360, trackDuration: 30720, samples: 60, width: 640, height: 360}

// moof makes a movie fragment with one track fragment and one run. A nil
// durations slice means the run gives no per-sample durations.
func moof(trackID uint32, defaultDur uint32, count uint32, durations []uint32) []byte {
	tfhdFlags, tfhd := uint32(0x020000), be32b(trackID) // default-base-is-moof
	if defaultDur != 0 {
		tfhdFlags |= tfhdDefaultDuration
		tfhd = cat(tfhd, be32b(defaultDur))
	}
	trunFlags, entries := uint32(trunDataOffset), []byte(nil)
	if durations != nil {
		trunFlags |= trunSampleDuration | 0x200 // durations and sizes
		for _, d := range durations {
			entries = binary.BigEndian.AppendUint32(entries, d)
			entries = binary.BigEndian.AppendUint32(entries, 100)
		}
	}
	return mkbox("moof",
		fullbox("mfhd", 0, 0, be32b(1)),
		mkbox("traf",
			fullbox("tfhd", 0, tfhdFlags, tfhd),
			fullbox("trun", 0, trunFlags, be32b(count), be32b(0), entries)))
}

// trex makes a track extends box with a default sample duration.
func trex(trackID, defaultDur uint32) []byte {
	return fullbox("trex", 0, 0, be32b(trackID), be32b(1), be32b(defaultDur), be32b(0), be32b(0))
}

// testImage is a small image with some content.
func testImage(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	return img
}

func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, testImage(w, h)))
	return b.Bytes()
}

func jpegBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, jpeg.Encode(&b, testImage(w, h), &jpeg.Options{Quality: 50}))
	return b.Bytes()
}

// alphaPNGBytes is an RGBA PNG (color type 6): testImage, half transparent.
func alphaPNGBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), 128, 128})
		}
	}
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

// palettedPNGBytes is a two-color paletted PNG, whose second color is fully
// transparent (a tRNS chunk) if transparent is set.
func palettedPNGBytes(t testing.TB, w, h int, transparent bool) []byte {
	t.Helper()
	second := color.Color(color.White)
	if transparent {
		second = color.Transparent
	}
	img := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, second})
	for y := range h {
		for x := range w {
			img.SetColorIndex(x, y, uint8((x+y)%2))
		}
	}
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

func gifBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, gif.Encode(&b, testImage(w, h), nil))
	return b.Bytes()
}

// bmpHeader is a BMP file header and a BITMAPINFOHEADER (or, with dib 12,
// the OS/2 core header). Pixels are not needed: only the header is read.
func bmpHeader(dib uint32, w, h int32) []byte {
	file := cat([]byte("BM"), le32b(0), le32b(0), le32b(14+dib))
	if dib == 12 {
		return cat(file, le32b(12), le16b(uint16(w)), le16b(uint16(h)), le16b(1), le16b(24))
	}
	info := cat(le32b(dib), le32b(uint32(w)), le32b(uint32(h)), le16b(1), le16b(24))
	return cat(file, info, make([]byte, int(dib)-len(info)))
}

// tiffEntry is one IFD entry: tag, type and value.
type tiffEntry struct {
	tag, typ uint16
	value    uint32
}

// tiffHeader is a classic TIFF header with one IFD at offset 8.
func tiffHeader(bigEndian bool, entries ...tiffEntry) []byte {
	var o binary.AppendByteOrder = binary.LittleEndian
	b := []byte("II*\x00")
	if bigEndian {
		o, b = binary.BigEndian, []byte("MM\x00*")
	}
	b = o.AppendUint32(b, 8)
	b = o.AppendUint16(b, uint16(len(entries)))
	for _, e := range entries {
		b = o.AppendUint16(b, e.tag)
		b = o.AppendUint16(b, e.typ)
		b = o.AppendUint32(b, 1)
		if e.typ == 3 {
			b = o.AppendUint16(b, uint16(e.value))
			b = o.AppendUint16(b, 0)
		} else {
			b = o.AppendUint32(b, e.value)
		}
	}
	return o.AppendUint32(b, 0) // no next IFD
}

// bigTIFFHeader is a little-endian BigTIFF header with one IFD at offset 16
// giving the sides as LONG8.
func bigTIFFHeader(w, h uint64) []byte {
	o := binary.LittleEndian
	b := []byte("II+\x00")
	b = o.AppendUint16(b, 8)
	b = o.AppendUint16(b, 0)
	b = o.AppendUint64(b, 16)
	b = o.AppendUint64(b, 2)
	for i, v := range []uint64{w, h} {
		b = o.AppendUint16(b, uint16(256+i))
		b = o.AppendUint16(b, 16)
		b = o.AppendUint64(b, 1)
		b = o.AppendUint64(b, v)
	}
	return o.AppendUint64(b, 0)
}

// webpHeader wraps one chunk in "RIFF....WEBP".
func webpHeader(chunk string, data []byte) []byte {
	c := cat([]byte(chunk), le32b(uint32(len(data))), data)
	return cat([]byte("RIFF"), le32b(uint32(4+len(c))), []byte("WEBP"), c)
}

// vp8Data is a lossy key frame header.
func vp8Data(w, h uint16) []byte {
	return cat([]byte{0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A}, le16b(w), le16b(h), make([]byte, 8))
}

// vp8lData is a lossless header.
func vp8lData(w, h uint32) []byte {
	return cat([]byte{0x2F}, le32b((w-1)|(h-1)<<14), make([]byte, 8))
}

// vp8xData is an extended header with the canvas size.
func vp8xData(w, h uint32) []byte {
	w, h = w-1, h-1
	return []byte{0x10, 0, 0, 0, byte(w), byte(w >> 8), byte(w >> 16), byte(h), byte(h >> 8), byte(h >> 16)}
}
