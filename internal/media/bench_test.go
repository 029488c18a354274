package media

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// maxHeaderBytes is what inspecting a movie may read, whatever its size.
const maxHeaderBytes = 4 << 10

// TestInspectReadsOnlyHeaders presents the moov-at-end fixture as if its
// media data made it 50 MB (the API's limit) or 5 GB (a 64-bit mdat): the
// index is found by skipping the media data, never reading it.
func TestInspectReadsOnlyHeaders(t *testing.T) {
	data := fixture(t, "moov_end_2s_30fps.mp4")
	for _, size := range []int64{50_000_000, 5 << 30} {
		r := &countingReader{r: growMdat(t, data, size)}
		info, err := Inspect(r, size)
		require.NoError(t, err)
		assert.Equal(t, size, info.Size)
		assert.Equal(t, 2*time.Second, info.Duration)
		assert.InDelta(t, 30, info.FPS, 0.001)
		assert.LessOrEqual(t, r.bytes, int64(maxHeaderBytes), "bytes read for a %d-byte file", size)
		t.Logf("%d-byte file: %d bytes read in %d reads", size, r.bytes, r.reads)
	}
}

// BenchmarkInspectMP4 inspects a 50 MB movie whose index is at the end and
// reports the bytes read per inspection (a few hundred, against 50 MB).
func BenchmarkInspectMP4(b *testing.B) {
	const size = 50_000_000
	file := growMdat(b, fixture(b, "moov_end_2s_30fps.mp4"), size)
	var read, reads int64
	b.ReportAllocs()
	for b.Loop() {
		r := &countingReader{r: file}
		if _, err := Inspect(r, size); err != nil {
			b.Fatal(err)
		}
		read += r.bytes
		reads += int64(r.reads)
	}
	b.ReportMetric(float64(read)/float64(b.N), "bytes-read/op")
	b.ReportMetric(float64(reads)/float64(b.N), "reads/op")
}

// BenchmarkInspectImage inspects 20 MB images (the largest the API takes)
// and reports the bytes read per inspection: the header and one buffer.
func BenchmarkInspectImage(b *testing.B) {
	const size = 20_000_000
	for _, bm := range []struct {
		name   string
		header []byte
	}{
		{"jpeg", jpegBytes(b, 1920, 1080)},
		{"png", pngBytes(b, 1920, 1080)},
		{"webp", webpHeader("VP8 ", vp8Data(1920, 1080))},
	} {
		b.Run(bm.name, func(b *testing.B) {
			file := padded(bm.header, size)
			var read int64
			b.ReportAllocs()
			for b.Loop() {
				r := &countingReader{r: file}
				if _, err := Inspect(r, size); err != nil {
					b.Fatal(err)
				}
				read += r.bytes
			}
			b.ReportMetric(float64(read)/float64(b.N), "bytes-read/op")
		})
	}
}
