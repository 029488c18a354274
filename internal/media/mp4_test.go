package media

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
)

// TestMP4Fixtures reads real files made by ffmpeg (see testdata/README.md).
func TestMP4Fixtures(t *testing.T) {
	tests := []struct {
		file     string
		w, h     int
		duration time.Duration
		fps      float64
	}{
		{"moov_front_2s_30fps.mp4", 64, 64, 2 * time.Second, 30},
		{"moov_end_2s_30fps.mp4", 64, 64, 2 * time.Second, 30},
		{"long_7s_24fps.mp4", 64, 48, 7 * time.Second, 24},
		{"slow_2s_10fps.mp4", 64, 64, 2 * time.Second, 10},
		{"audio_first_2s_25fps.mp4", 96, 64, 2 * time.Second, 25},
		{"fragmented_2s_30fps.mp4", 64, 64, 2 * time.Second, 30},
		{"fragmented_moov_samples_4s_30fps.mp4", 64, 64, 4 * time.Second, 30},
		{sandboxMP4, 320, 180, 2 * time.Second, 30},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data := fixture(t, tt.file)
			r := &countingReader{r: bytes.NewReader(data)}
			info, err := Inspect(r, int64(len(data)))
			require.NoError(t, err)
			assert.Equal(t, "mp4", info.Format)
			assert.Equal(t, dashscope.MediaVideo, info.Kind)
			assert.Equal(t, "video/mp4", info.MIME)
			assert.Equal(t, int64(len(data)), info.Size)
			assert.Equal(t, [2]int{tt.w, tt.h}, [2]int{info.Width, info.Height})
			assert.Equal(t, tt.duration, info.Duration)
			assert.InDelta(t, tt.fps, info.FPS, 0.001)
			assert.Less(t, r.bytes, int64(len(data))/2, "the media data must not be read")
		})
	}
}

// TestMP4Synthetic covers header variants ffmpeg does not write.
func TestMP4Synthetic(t *testing.T) {
	v1 := movieSpec{version: 1, timescale: 90000, duration: 315000, trackTimescale: 90000, trackDuration: 315000, samples: 105, width: 1280, height: 720}
	largeMdat := cat(box32("mdat", 1), be64b(16+100), make([]byte, 100))
	unknownDuration := twoSeconds
	unknownDuration.duration = math.MaxUint32
	noDisplaySize := twoSeconds
	noDisplaySize.width, noDisplaySize.height = 0, 0
	noDisplaySize.sampleEntry = mkbox("avc1", make([]byte, 6), be16b(1), make([]byte, 16), be16b(320), be16b(240), make([]byte, 50))
	fragmented := func(mvex ...[]byte) movieSpec {
		m := movieSpec{timescale: 1000, trackTimescale: 1000, width: 640, height: 360, mvex: cat(mvex...)}
		return m
	}
	repeat := func(n int, b []byte) []byte { return bytes.Repeat(b, n) }

	tests := []struct {
		name     string
		data     []byte
		w, h     int
		duration time.Duration
		fps      float64
	}{
		{"version 1 headers", cat(ftyp("mp42", "isom"), v1.moov()), 1280, 720, 3500 * time.Millisecond, 30},
		{"64-bit largesize mdat before moov", cat(ftyp("isom"), largeMdat, twoSeconds.moov()), 640, 360, 2 * time.Second, 30},
		{"size-0 mdat to the end of the file", cat(ftyp("isom"), twoSeconds.moov(), box32("mdat", 0), make([]byte, 1000)), 640, 360, 2 * time.Second, 30},
		{"unknown major brand, isom compatible", cat(ftyp("abcd", "isom"), twoSeconds.moov()), 640, 360, 2 * time.Second, 30},
		{"trailing bytes shorter than a box", cat(twoSeconds.file(), []byte{0, 0, 0, 0}), 640, 360, 2 * time.Second, 30},
		{"second moov ignored", cat(twoSeconds.file(), v1.moov()), 640, 360, 2 * time.Second, 30},
		{"mvhd duration unknown: track duration used", unknownDuration.file(), 640, 360, 2 * time.Second, 30},
		{"display size zero: coded size used", noDisplaySize.file(), 320, 240, 2 * time.Second, 30},
		{"fragmented, mehd v0, no fragments", fragmented(fullbox("mehd", 0, 0, be32b(2500)), trex(1, 40)).file(), 640, 360, 2500 * time.Millisecond, 0},
		{"fragmented, mehd v1", fragmented(fullbox("mehd", 1, 0, be64b(1500)), trex(1, 40)).file(moof(1, 0, 30, nil)), 640, 360, 1500 * time.Millisecond, 25},
		{"fragments with per-sample durations", fragmented(trex(1, 0)).file(repeat(10, moof(1, 0, 3, []uint32{40, 40, 40}))), 640, 360, 1200 * time.Millisecond, 25},
		{"fragments using the trex default", fragmented(trex(1, 40)).file(moof(1, 0, 25, nil), mkbox("mdat"), moof(1, 0, 25, nil)), 640, 360, 2 * time.Second, 25},
		{"fragments using the tfhd default", fragmented(trex(1, 40)).file(moof(1, 20, 50, nil)), 640, 360, time.Second, 50},
		{"fragments that do not say their durations", fragmented(trex(1, 0)).file(moof(1, 0, 10, nil)), 640, 360, 0, 0},
		{"fragments of another track only", fragmented(trex(1, 40)).file(moof(2, 40, 10, nil)), 640, 360, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := inspect(tt.data)
			require.NoError(t, err)
			assert.Equal(t, "mp4", info.Format)
			assert.Equal(t, [2]int{tt.w, tt.h}, [2]int{info.Width, info.Height})
			assert.Equal(t, tt.duration, info.Duration)
			assert.InDelta(t, tt.fps, info.FPS, 0.001)
		})
	}
}

// TestMP4Limits checks that crafted files cannot make Inspect do unbounded
// work: too many boxes, or sample tables beyond the read budget.
func TestMP4Limits(t *testing.T) {
	manyBoxes := bytes.Repeat(mkbox("free"), maxBoxes+10)

	t.Run("too many boxes before the moov", func(t *testing.T) {
		_, err := inspect(cat(ftyp("isom"), manyBoxes, twoSeconds.moov()))
		assert.EqualError(t, err, "file is not a valid MP4 video: it has more than 20000 boxes before its movie header is complete; it is probably corrupt")
	})
	t.Run("too many boxes inside the moov", func(t *testing.T) {
		_, err := inspect(cat(ftyp("isom"), twoSeconds.moov(manyBoxes)))
		assert.ErrorContains(t, err, "more than 20000 boxes")
	})
	t.Run("too many boxes after the moov of a plain movie", func(t *testing.T) {
		info, err := inspect(twoSeconds.file(manyBoxes))
		require.NoError(t, err)
		assert.Equal(t, 2*time.Second, info.Duration)
		assert.InDelta(t, 30, info.FPS, 0.001)
	})
	t.Run("too many fragments: duration and rate unknown", func(t *testing.T) {
		m := movieSpec{timescale: 1000, duration: 1000, trackTimescale: 1000, width: 64, height: 64, mvex: trex(1, 40)}
		info, err := inspect(m.file(bytes.Repeat(moof(1, 0, 1, nil), maxFragments+1)))
		require.NoError(t, err)
		assert.Zero(t, info.Duration, "mvhd covers only the moov's samples")
		assert.Zero(t, info.FPS)
	})
	t.Run("too many fragments with mehd: duration known", func(t *testing.T) {
		m := movieSpec{timescale: 1000, trackTimescale: 1000, width: 64, height: 64, mvex: cat(fullbox("mehd", 0, 0, be32b(9000)), trex(1, 40))}
		info, err := inspect(m.file(bytes.Repeat(moof(1, 0, 1, nil), maxFragments+1)))
		require.NoError(t, err)
		assert.Equal(t, 9*time.Second, info.Duration)
		assert.Zero(t, info.FPS)
	})
	t.Run("sample durations beyond the read budget", func(t *testing.T) {
		m := movieSpec{timescale: 1000, trackTimescale: 1000, width: 64, height: 64, mvex: trex(1, 0)}
		durations := make([]uint32, readBudget/8+1)
		data := m.file(moof(1, 0, uint32(len(durations)), durations))
		r := &countingReader{r: bytes.NewReader(data)}
		info, err := Inspect(r, int64(len(data)))
		require.NoError(t, err)
		assert.Zero(t, info.FPS)
		assert.LessOrEqual(t, r.bytes, int64(readBudget))
	})
}

// TestCorruptMP4 checks that broken movies are refused with a reason.
func TestCorruptMP4(t *testing.T) {
	moov := twoSeconds.moov()
	mvhdAt := bytes.Index(moov, []byte("mvhd")) - 4
	mvhdTooBig := withBytes(moov, mvhdAt, be32b(uint32(len(moov)))...)
	badVersion := twoSeconds.moov()
	badVersion[mvhdAt+8] = 2
	shortMvhd := mkbox("moov", fullbox("mvhd", 0, 0, be32b(0)), twoSeconds.trak())
	audio := twoSeconds
	audio.handler = "soun"
	lyingTrun := mkbox("moof", mkbox("traf",
		fullbox("tfhd", 0, 0, be32b(1)),
		fullbox("trun", 0, trunSampleDuration, be32b(1000), be32b(40))))
	frag := movieSpec{timescale: 1000, trackTimescale: 1000, width: 64, height: 64, mvex: trex(1, 0)}

	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"ftyp only", ftyp("isom", "isom"), "it has no movie header (moov box); the file is probably cut off or still being written"},
		{"ftyp too short", mkbox("ftyp", []byte("iso")), "its file type box is too short"},
		{"ftyp past the end", cat(box32("ftyp", 100), []byte("isom")), `its "ftyp" box runs past the end of the file (12 bytes)`},
		{"mdat past the end", cat(ftyp("isom"), moov, box32("mdat", 1000), make([]byte, 10)), `its "mdat" box runs past the end of the file`},
		{"largesize past the end", cat(ftyp("isom"), box32("mdat", 1), be64b(1<<62)), `its "mdat" box runs past the end of the file`},
		{"largesize beyond int64", cat(ftyp("isom"), box32("mdat", 1), be64b(math.MaxUint64)), `its "mdat" box runs past the end of the file`},
		{"largesize header cut", cat(ftyp("isom"), box32("mdat", 1), []byte{0, 0, 0, 0}), `its "mdat" box header is cut off`},
		{"box smaller than its header", cat(ftyp("isom"), box32("moov", 4), make([]byte, 8)), `its "moov" box has an impossible size (4 bytes)`},
		{"largesize smaller than its header", cat(ftyp("isom"), box32("moov", 1), be64b(12), make([]byte, 8)), `its "moov" box has an impossible size (12 bytes)`},
		{"child past its parent", cat(ftyp("isom"), mvhdTooBig), `its "mvhd" box runs past the end of the "moov" box that contains it`},
		{"mvhd of unknown version", cat(ftyp("isom"), badVersion), `its "mvhd" box has an unknown version (2)`},
		{"mvhd too short", cat(ftyp("isom"), shortMvhd), `its "mvhd" box is too short (16 bytes)`},
		{"no mvhd", cat(ftyp("isom"), mkbox("moov", twoSeconds.trak())), "its moov box has no movie header (mvhd box)"},
		{"audio only", audio.file(), "it has no video track (it may be an audio-only file)"},
		{"trun listing more samples than it holds", frag.file(lyingTrun), "its trun box lists more samples than it holds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := inspect(tt.data)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), "file is not a valid MP4 video: ")
		})
	}
}

// TestTruncatedMP4 cuts each fixture inside a box: every cut is refused.
func TestTruncatedMP4(t *testing.T) {
	for _, name := range []string{"moov_front_2s_30fps.mp4", "moov_end_2s_30fps.mp4", "fragmented_2s_30fps.mp4", "fragmented_moov_samples_4s_30fps.mp4", "audio_first_2s_25fps.mp4"} {
		data := fixture(t, name)
		for _, n := range []int{9, 20, 33, 100, len(data) / 2, len(data) - 40, len(data) - 1} {
			_, err := inspect(data[:n])
			assert.Error(t, err, "%s cut to %d bytes", name, n)
		}
	}
}

func TestTicksToDuration(t *testing.T) {
	assert.Equal(t, time.Duration(0), ticksToDuration(100, 0))
	assert.Equal(t, time.Duration(0), ticksToDuration(0, 100))
	assert.Equal(t, 1001*time.Millisecond/30, ticksToDuration(1001, 30000))
	assert.Equal(t, time.Duration(math.MaxInt64), ticksToDuration(math.MaxUint64, 1))
	assert.Equal(t, time.Duration(math.MaxInt64), ticksToDuration(math.MaxUint64/2, 1e9/2))
	assert.Equal(t, 2562047*time.Hour, ticksToDuration(2562047*3600, 1).Truncate(time.Hour))
}
