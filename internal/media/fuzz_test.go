package media

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/vace-mcp/vace-mcp/dashscope"
)

// FuzzInspect feeds arbitrary bytes, and sizes that disagree with them, to
// Inspect and Check: they must return, without panicking, within the read
// budget, and anything they report must be sane.
func FuzzInspect(f *testing.F) {
	files, err := filepath.Glob("testdata/*.*")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range append(files, sandboxMP4) {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint16(0))
	}
	frag := movieSpec{timescale: 1000, trackTimescale: 1000, width: 64, height: 64, mvex: cat(fullbox("mehd", 1, 0, be64b(2000)), trex(1, 40))}
	for _, seed := range [][]byte{
		pngBytes(f, 40, 30), jpegBytes(f, 40, 30), gifBytes(f, 4, 3),
		bmpHeader(40, 10, -10), bmpHeader(12, 10, 10),
		tiffHeader(true, tiffEntry{256, 3, 10}, tiffEntry{257, 4, 10}), bigTIFFHeader(10, 10),
		webpHeader("VP8 ", vp8Data(10, 10)), webpHeader("VP8L", vp8lData(10, 10)), webpHeader("VP8X", vp8xData(10, 10)),
		alphaPNGBytes(f, 4, 3), palettedPNGBytes(f, 4, 3, true),
		twoSeconds.file(), cat(mkbox("wide"), twoSeconds.moov()), cat(ftyp("qt  "), twoSeconds.moov()),
		frag.file(moof(1, 0, 3, []uint32{40, 40, 40}), moof(1, 20, 5, nil)),
		ftyp("heic", "mif1"), []byte("%PDF-1.7"), []byte("hello"),
	} {
		f.Add(seed, uint16(0))
	}
	f.Add(pngBytes(f, 40, 30)[:30], uint16(100))

	f.Fuzz(func(t *testing.T, data []byte, extra uint16) {
		// extra > 0 claims a file longer than the reader holds.
		size := int64(len(data)) + int64(extra)
		r := &countingReader{r: bytes.NewReader(data)}
		info, err := Inspect(r, size)
		if r.bytes > readBudget {
			t.Fatalf("read %d bytes, over the %d budget", r.bytes, readBudget)
		}
		if err == nil {
			if info.Size != size {
				t.Fatalf("Size %d, want %d", info.Size, size)
			}
			desc, ok := formats[info.Format]
			if !ok || desc.kind != info.Kind || desc.mime != info.MIME {
				t.Fatalf("inconsistent format in %+v", info)
			}
			if info.Width < 0 || info.Height < 0 || info.Duration < 0 ||
				info.FPS < 0 || math.IsNaN(info.FPS) || math.IsInf(info.FPS, 0) {
				t.Fatalf("impossible values in %+v", info)
			}
			if imageDecoders[info.Format] != nil && (info.Width == 0 || info.Height == 0) {
				t.Fatalf("decoded image without a size: %+v", info)
			}
			if info.Alpha && info.Format != "png" {
				t.Fatalf("alpha reported for a %s: %+v", info.Format, info)
			}
		} else if err.Error() == "" {
			t.Fatal("empty error message")
		}
		for _, limits := range []dashscope.MediaLimits{dashscope.VACEImage, dashscope.VACEVideo, dashscope.VACEClip, dashscope.Wan27Video, dashscope.Wan27RefImage} {
			_, _, _ = Check(bytes.NewReader(data), size, limits)
		}
	})
}
