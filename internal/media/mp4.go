package media

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strings"
	"time"
)

// ISO base media files (MP4, MOV, 3GP, HEIC, AVIF) are a tree of boxes, each
// starting with a 32-bit size and a 4-character type. The parser below walks
// that tree with ReadAt, reading box headers and the few small boxes it needs
// (mvhd, tkhd, mdhd, hdlr, stsz, mehd, trex, tfhd, trun) and skipping
// everything else, above all the media data (mdat), by its size. So a movie
// whose index (moov) sits after 50 MB of media data costs a few hundred bytes
// of header reads to find.

const (
	// maxBoxes bounds the box headers one Inspect visits, so that a file of
	// millions of 8-byte boxes cannot keep us busy. A real 5-minute fragmented
	// movie with one fragment per frame needs about 9000 x 7 = 63000; such a
	// file is then reported with an unknown frame rate, not refused.
	maxBoxes = 20000
	// maxFragments bounds the movie fragments (moof) that are summed up.
	maxFragments = 4096
	// maxBrands bounds the compatible brands read from ftyp.
	maxBrands = 64
)

var (
	errTooManyBoxes = errors.New("too many boxes")
	// errStop ends a walk early without an error.
	errStop = errors.New("stop")
)

// box is one box's position in the file.
type box struct {
	typ   string
	start int64 // first byte of the header
	data  int64 // first byte of the payload
	end   int64 // one past the last byte
}

// mp4Parser walks the boxes of one file. The tree depth is bounded by
// construction: it only descends into the containers it knows (at most
// moov/trak/mdia/minf/stbl, five levels), never recursively.
type mp4Parser struct {
	s     *source
	noun  string // "MP4 video", for messages
	boxes int
}

// corrupt makes the error for a structural problem.
func (p *mp4Parser) corrupt(format string, args ...any) error {
	return fmt.Errorf("file is not a valid %s: %s", p.noun, fmt.Sprintf(format, args...))
}

// header reads the header of the box at off, which must end by limit (the end
// of its parent, or of the file). parent names the container for messages.
func (p *mp4Parser) header(off, limit int64, parent string) (box, error) {
	p.boxes++
	if p.boxes > maxBoxes {
		return box{}, errTooManyBoxes
	}
	b, err := p.s.bytes(off, 8)
	if err != nil {
		return box{}, err
	}
	size, typ := int64(be32(b)), printable(b[4:8])
	hdr := int64(8)
	switch size {
	case 0:
		// Size 0: the box runs to the end of its parent (at the top level, to
		// the end of the file; a recorder that never finished writes this).
		size = limit - off
	case 1:
		// A 64-bit "largesize" follows the type, for boxes of 4 GB or more.
		if limit-off < 16 {
			return box{}, p.corrupt("its %q box header is cut off", typ)
		}
		b, err := p.s.bytes(off+8, 8)
		if err != nil {
			return box{}, err
		}
		large := be64(b)
		if large > math.MaxInt64 {
			return box{}, p.pastEnd(typ, parent)
		}
		size, hdr = int64(large), 16
	}
	if size < hdr {
		return box{}, p.corrupt("its %q box has an impossible size (%d bytes)", typ, size)
	}
	if size > limit-off {
		return box{}, p.pastEnd(typ, parent)
	}
	return box{typ: typ, start: off, data: off + hdr, end: off + size}, nil
}

// pastEnd is the error for a box that does not fit in its parent.
func (p *mp4Parser) pastEnd(typ, parent string) error {
	if parent == "" {
		return p.corrupt("its %q box runs past the end of the file (%d bytes); the file is probably cut off, e.g. an unfinished download or recording", typ, p.s.size)
	}
	return p.corrupt("its %q box runs past the end of the %q box that contains it", typ, parent)
}

// walk calls fn for each child box in [start, end). Fewer than 8 bytes left
// over at the end are ignored: QuickTime ends some lists with a 4-byte zero.
func (p *mp4Parser) walk(start, end int64, parent string, fn func(box) error) error {
	for off := start; end-off >= 8; {
		b, err := p.header(off, end, parent)
		if err != nil {
			return err
		}
		if err := fn(b); err != nil {
			return err
		}
		off = b.end // > off, since every box is at least 8 bytes
	}
	return nil
}

// children walks the boxes inside b.
func (p *mp4Parser) children(b box, fn func(box) error) error {
	return p.walk(b.data, b.end, b.typ, fn)
}

// payload reads the first n bytes of b's payload, which must have them.
func (p *mp4Parser) payload(b box, n int) ([]byte, error) {
	if int64(n) > b.end-b.data {
		return nil, p.corrupt("its %q box is too short (%d bytes)", b.typ, b.end-b.start)
	}
	return p.s.bytes(b.data, n)
}

// fullPayload reads a "full box" (version byte, 24 bits of flags, then the
// fields) whose fields need n0 bytes in version 0 and n1 in version 1.
func (p *mp4Parser) fullPayload(b box, n0, n1 int) ([]byte, byte, error) {
	v, err := p.payload(b, 4)
	if err != nil {
		return nil, 0, err
	}
	n := n0
	switch v[0] {
	case 0:
	case 1:
		n = n1
	default:
		return nil, 0, p.corrupt("its %q box has an unknown version (%d)", b.typ, v[0])
	}
	d, err := p.payload(b, n)
	return d, v[0], err
}

// describe turns a walk error into a message.
func (p *mp4Parser) describe(err error) error {
	switch {
	case errors.Is(err, errTooManyBoxes):
		return p.corrupt("it has more than %d boxes before its movie header is complete; it is probably corrupt", maxBoxes)
	case errors.Is(err, errBudget):
		return p.corrupt("its headers are implausibly large (more than %d KB); it is probably corrupt", readBudget>>10)
	case errors.Is(err, errShort):
		return p.corrupt("it is cut off (%d bytes)", p.s.size)
	}
	return err
}

// inspectISO identifies an ISO base media file by the brands in its ftyp box
// and, for movies, reads the movie header.
func inspectISO(s *source) (Info, error) {
	p := &mp4Parser{s: s, noun: "MP4 video"}
	ftyp, err := p.header(0, s.size, "")
	if err != nil {
		return Info{}, p.describe(err)
	}
	n := min(ftyp.end-ftyp.data, 8+4*maxBrands)
	if n < 8 {
		return Info{}, p.corrupt("its file type box is too short")
	}
	b, err := s.bytes(ftyp.data, int(n))
	if err != nil {
		return Info{}, p.describe(err)
	}
	major := string(b[:4])
	format := brandFormat(major)
	// The minor version (b[4:8]) is skipped; compatible brands follow.
	for i := 8; format == "" && i+4 <= len(b); i += 4 {
		format = brandFormat(string(b[i : i+4]))
	}
	switch format {
	case "":
		return Info{}, &unrecognizedError{hint: fmt.Sprintf("it is an ISO media file of type %q", printable(b[:4]))}
	case "mp4", "mov":
		info := newInfo(format, s.size)
		p.noun = formats[format].noun
		return info, p.inspectMovie(&info)
	case "3gp":
		// Refused anyway; the movie is read, best effort, only so that the
		// caller can show its size and length.
		info := newInfo(format, s.size)
		p.noun = formats[format].noun
		_ = p.inspectMovie(&info)
		return info, nil
	default:
		return newInfo(format, s.size), nil
	}
}

// brandFormat maps an ftyp brand to a format, or "" if the brand says nothing
// we know.
func brandFormat(brand string) string {
	switch brand {
	case "isom", "iso2", "iso3", "iso4", "iso5", "iso6", "iso7", "iso8", "iso9",
		"mp41", "mp42", "mp71", "avc1", "dash", "msdh", "msix", "cmfc", "cmf2",
		"M4V ", "M4VH", "M4VP", "mmp4", "f4v ", "F4V ", "XAVC", "MSNV", "NDAS":
		return "mp4"
	case "qt  ":
		return "mov"
	case "heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs", "mif1", "mif2", "msf1":
		return "heic"
	case "avif", "avis":
		return "avif"
	case "M4A ", "M4B ", "M4P ", "F4A ", "F4B ":
		return "m4a"
	}
	if strings.HasPrefix(brand, "3g") {
		return "3gp"
	}
	return ""
}

// movie is what is read from moov (and the fragments).
type movie struct {
	hasHeader   bool
	timescale   uint64 // movie time units per second (mvhd)
	duration    uint64 // in movie units; 0 when unknown
	fragmented  bool   // has mvex: samples follow in moof boxes
	mehd        uint64 // fragmented duration in movie units (mehd), 0 if absent
	trexDefault map[uint32]uint32
	video       *track
}

// track is the first video track.
type track struct {
	id            uint32
	handler       string
	width, height int
	timescale     uint64 // media time units per second (mdhd)
	duration      uint64 // in media units (mdhd)
	samples       uint64 // samples (frames) in the moov's sample tables
	stsd          box    // sample descriptions, for the coded size as a fallback
}

// known returns d, or 0 if d has all bits set, which is how a header says
// "duration unknown".
func known(d, allOnes uint64) uint64 {
	if d == allOnes {
		return 0
	}
	return d
}

// inspectMovie walks the top-level boxes, reads the moov wherever it is, and
// for a fragmented movie sums up the fragments. It fills in info.
func (p *mp4Parser) inspectMovie(info *Info) error {
	var (
		m        movie
		moovErr  error
		found    bool
		moofs    []box
		complete = true // all fragments were read
	)
	err := p.walk(0, p.s.size, "", func(b box) error {
		switch b.typ {
		case "moov":
			if found {
				return nil // only the first one counts
			}
			found = true
			if moovErr = p.parseMoov(b, &m); moovErr != nil {
				return errStop
			}
		case "moof":
			if len(moofs) == maxFragments {
				complete = false
				return nil
			}
			moofs = append(moofs, b)
		}
		return nil
	})
	switch {
	case moovErr != nil:
		return p.describe(moovErr)
	case err == nil:
	case found && (errors.Is(err, errTooManyBoxes) || errors.Is(err, errBudget)):
		// The movie header was read; only fragments after it are missing.
		complete = false
	default:
		return p.describe(err)
	}
	if !found {
		return p.corrupt("it has no movie header (moov box); the file is probably cut off or still being written")
	}
	if !m.hasHeader {
		return p.corrupt("its moov box has no movie header (mvhd box)")
	}
	v := m.video
	if v == nil {
		return p.corrupt("it has no video track (it may be an audio-only file)")
	}
	info.Width, info.Height = v.width, v.height
	if info.Width == 0 || info.Height == 0 {
		info.Width, info.Height = p.codedSize(v.stsd)
	}

	movieDur := ticksToDuration(m.duration, m.timescale)
	ticks, samples := v.duration, v.samples
	if !m.fragmented {
		info.Duration = movieDur
		if info.Duration == 0 {
			info.Duration = ticksToDuration(ticks, v.timescale)
		}
		if ticks == 0 && movieDur > 0 && samples > 0 {
			info.FPS = float64(samples) / movieDur.Seconds()
		}
	} else {
		// In a fragmented movie, mvhd and mdhd cover only the samples in the
		// moov itself (often none); the rest is in the fragments.
		if complete {
			ft, fs, ok, err := p.sumFragments(moofs, v.id, m.trexDefault[v.id])
			if err != nil {
				return p.describe(err)
			}
			complete = ok
			ticks, samples = addSat(ticks, ft), addSat(samples, fs)
		}
		switch {
		case m.mehd > 0:
			info.Duration = max(movieDur, ticksToDuration(m.mehd, m.timescale))
		case complete:
			info.Duration = max(movieDur, ticksToDuration(ticks, v.timescale))
		default:
			info.Duration = 0 // unknown: mvhd would understate it
		}
		if !complete {
			return nil // frame rate unknown
		}
	}
	if ticks > 0 && v.timescale > 0 && samples > 0 {
		info.FPS = float64(samples) * float64(v.timescale) / float64(ticks)
	}
	return nil
}

// parseMoov reads the movie header, the first video track and, for a
// fragmented movie, the fragment defaults.
func (p *mp4Parser) parseMoov(moov box, m *movie) error {
	return p.children(moov, func(b box) error {
		switch b.typ {
		case "mvhd":
			ts, dur, err := p.times(b)
			if err != nil {
				return err
			}
			m.hasHeader, m.timescale, m.duration = true, ts, dur
		case "trak":
			t, err := p.parseTrak(b)
			if err != nil {
				return err
			}
			if t.handler == "vide" && m.video == nil {
				m.video = &t
			}
		case "mvex":
			m.fragmented = true
			return p.children(b, func(c box) error { return p.parseMvex(c, m) })
		}
		return nil
	})
}

// parseMvex reads mehd (the whole fragmented duration) and trex (per-track
// default sample durations, used when a fragment does not give its own).
func (p *mp4Parser) parseMvex(b box, m *movie) error {
	switch b.typ {
	case "mehd":
		d, v, err := p.fullPayload(b, 8, 12)
		if err != nil {
			return err
		}
		if v == 1 {
			m.mehd = known(be64(d[4:]), math.MaxUint64)
		} else {
			m.mehd = known(uint64(be32(d[4:])), math.MaxUint32)
		}
	case "trex":
		d, err := p.payload(b, 16)
		if err != nil {
			return err
		}
		if m.trexDefault == nil {
			m.trexDefault = map[uint32]uint32{}
		}
		m.trexDefault[be32(d[4:])] = be32(d[12:])
	}
	return nil
}

// times reads the timescale and duration of an mvhd or mdhd box, which share
// their layout: version, flags, creation and modification times (32 or 64
// bits), timescale, duration (32 or 64 bits).
func (p *mp4Parser) times(b box) (timescale, duration uint64, err error) {
	d, v, err := p.fullPayload(b, 20, 32)
	if err != nil {
		return 0, 0, err
	}
	if v == 1 {
		return uint64(be32(d[20:])), known(be64(d[24:]), math.MaxUint64), nil
	}
	return uint64(be32(d[12:])), known(uint64(be32(d[16:])), math.MaxUint32), nil
}

// parseTrak reads one track: its header, media header, handler and sample
// count.
func (p *mp4Parser) parseTrak(trak box) (track, error) {
	var t track
	err := p.children(trak, func(b box) error {
		switch b.typ {
		case "tkhd":
			// Track ID after the times; width and height (16.16 fixed point)
			// at the end, after layer, volume and the 3x3 matrix.
			d, v, err := p.fullPayload(b, 84, 96)
			if err != nil {
				return err
			}
			idAt, sizeAt := 12, 76
			if v == 1 {
				idAt, sizeAt = 20, 88
			}
			t.id = be32(d[idAt:])
			t.width, t.height = int(be32(d[sizeAt:])>>16), int(be32(d[sizeAt+4:])>>16)
		case "mdia":
			return p.children(b, func(c box) error { return p.parseMdia(c, &t) })
		}
		return nil
	})
	return t, err
}

// parseMdia reads one child of a track's mdia box. Only the hdlr here names
// the track's kind: QuickTime files have a second hdlr inside minf that
// names the data reference kind ("alis", "url ") instead.
func (p *mp4Parser) parseMdia(b box, t *track) error {
	switch b.typ {
	case "mdhd":
		ts, dur, err := p.times(b)
		if err != nil {
			return err
		}
		t.timescale, t.duration = ts, dur
	case "hdlr":
		d, err := p.payload(b, 12) // version+flags, pre_defined, handler type
		if err != nil {
			return err
		}
		t.handler = string(d[8:12])
	case "minf":
		return p.children(b, func(c box) error {
			if c.typ != "stbl" {
				return nil
			}
			return p.children(c, func(e box) error { return p.parseStbl(e, t) })
		})
	}
	return nil
}

// parseStbl reads one child of a track's sample table.
func (p *mp4Parser) parseStbl(b box, t *track) error {
	switch b.typ {
	case "stsz", "stz2":
		// The sample size table's header holds the sample count in a fixed
		// place, so counting frames costs 12 bytes. Summing the time-to-sample
		// table (stts) gives the same count but grows with the file.
		d, err := p.payload(b, 12)
		if err != nil {
			return err
		}
		t.samples = uint64(be32(d[8:]))
	case "stsd":
		t.stsd = b
	}
	return nil
}

// codedSize reads the width and height of the first visual sample entry, for
// tracks whose header leaves the display size at zero.
func (p *mp4Parser) codedSize(stsd box) (int, int) {
	// Entry count (after version and flags), then the entry: size, format,
	// 6 reserved bytes, data reference index, 16 bytes of pre-defined and
	// reserved fields, width, height.
	const need = 8 + 36
	if stsd.end-stsd.data < need {
		return 0, 0
	}
	d, err := p.s.bytes(stsd.data, need)
	if err != nil {
		return 0, 0
	}
	return int(be16(d[8+32:])), int(be16(d[8+34:]))
}

// sumFragments adds up the samples and their durations (in the track's media
// units) over the fragments of one track. ok is false when a fragment does
// not say how long its samples are, or a limit was reached: the totals are
// then incomplete.
func (p *mp4Parser) sumFragments(moofs []box, trackID, trexDefault uint32) (ticks, samples uint64, ok bool, err error) {
	for _, moof := range moofs {
		err := p.children(moof, func(traf box) error {
			if traf.typ != "traf" {
				return nil
			}
			t, s, known, err := p.parseTraf(traf, trackID, trexDefault)
			if err != nil {
				return err
			}
			if !known {
				return errStop
			}
			ticks, samples = addSat(ticks, t), addSat(samples, s)
			return nil
		})
		switch {
		case err == nil:
		case errors.Is(err, errStop), errors.Is(err, errTooManyBoxes), errors.Is(err, errBudget):
			return 0, 0, false, nil
		default:
			return 0, 0, false, err
		}
	}
	return ticks, samples, true, nil
}

// Flags of the track fragment header (tfhd) and track run (trun) boxes.
const (
	tfhdBaseDataOffset  = 0x01
	tfhdSampleDescIndex = 0x02
	tfhdDefaultDuration = 0x08
	trunDataOffset      = 0x01
	trunFirstFlags      = 0x04
	trunSampleDuration  = 0x100
)

// parseTraf sums one track fragment if it belongs to trackID.
func (p *mp4Parser) parseTraf(traf box, trackID, trexDefault uint32) (ticks, samples uint64, known bool, err error) {
	var (
		id         uint32
		haveHeader bool
		defaultDur = trexDefault
		runs       []box
	)
	err = p.children(traf, func(b box) error {
		switch b.typ {
		case "tfhd":
			n := min(b.end-b.data, 4+4+8+4+4)
			d, err := p.payload(b, int(n))
			if err != nil {
				return err
			}
			if len(d) < 8 {
				return p.corrupt("its tfhd box is too short")
			}
			flags := be32(d) & 0xFFFFFF
			id, haveHeader = be32(d[4:]), true
			at := 8
			if flags&tfhdBaseDataOffset != 0 {
				at += 8
			}
			if flags&tfhdSampleDescIndex != 0 {
				at += 4
			}
			if flags&tfhdDefaultDuration != 0 {
				if at+4 > len(d) {
					return p.corrupt("its tfhd box is too short")
				}
				defaultDur = be32(d[at:])
			}
		case "trun":
			runs = append(runs, b)
		}
		return nil
	})
	if err != nil || !haveHeader || id != trackID {
		return 0, 0, true, err
	}
	for _, run := range runs {
		t, s, ok, err := p.parseTrun(run, defaultDur)
		if err != nil || !ok {
			return 0, 0, ok, err
		}
		ticks, samples = addSat(ticks, t), addSat(samples, s)
	}
	return ticks, samples, true, nil
}

// parseTrun sums one track run: sample count times the default duration, or
// the per-sample durations when the run lists them.
func (p *mp4Parser) parseTrun(run box, defaultDur uint32) (ticks, samples uint64, known bool, err error) {
	d, err := p.payload(run, 8)
	if err != nil {
		return 0, 0, false, err
	}
	flags, count := be32(d)&0xFFFFFF, uint64(be32(d[4:]))
	if flags&trunSampleDuration == 0 {
		if defaultDur == 0 && count > 0 {
			return 0, 0, false, nil
		}
		return mulSat(count, uint64(defaultDur)), count, true, nil
	}
	at := run.data + 8
	if flags&trunDataOffset != 0 {
		at += 4
	}
	if flags&trunFirstFlags != 0 {
		at += 4
	}
	// Each entry has up to four 32-bit fields (duration, size, flags,
	// composition offset), in that order, as the flags say.
	entry := int64(4 * bits.OnesCount32(flags>>8&0xF))
	if at > run.end || uint64(run.end-at)/uint64(entry) < count {
		return 0, 0, false, p.corrupt("its trun box lists more samples than it holds")
	}
	// Read in chunks so that the allocation stays small however many samples
	// the run has; the read budget bounds the total.
	perChunk := int64(4096) / entry
	for left := int64(count); left > 0; {
		n := min(left, perChunk)
		b, err := p.s.bytes(at, int(n*entry))
		if err != nil {
			return 0, 0, false, err
		}
		for i := int64(0); i < n; i++ {
			ticks = addSat(ticks, uint64(be32(b[i*entry:])))
		}
		at += n * entry
		left -= n
	}
	return ticks, count, true, nil
}

// ticksToDuration converts t units of a 1/timescale-second clock, exactly and
// without overflow (saturating at the largest Duration).
func ticksToDuration(t, timescale uint64) time.Duration {
	if t == 0 || timescale == 0 {
		return 0
	}
	hi, lo := bits.Mul64(t, uint64(time.Second))
	if hi >= timescale {
		return math.MaxInt64
	}
	q, _ := bits.Div64(hi, lo, timescale)
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(q)
}

func addSat(a, b uint64) uint64 {
	s, carry := bits.Add64(a, b, 0)
	if carry != 0 {
		return math.MaxUint64
	}
	return s
}

func mulSat(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi != 0 {
		return math.MaxUint64
	}
	return lo
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
