package dashscope

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Usage is what a finished task was billed for. VACE reports the output's
// seconds (video_duration); wan2.7-videoedit reports the input's and the
// output's, and their sum (duration), which is what it bills.
type Usage struct {
	// VACE.
	VideoDuration float64 `json:"video_duration,omitempty"`
	VideoRatio    string  `json:"video_ratio,omitempty"`
	VideoCount    int     `json:"video_count,omitempty"`
	// wan2.7-videoedit.
	Duration            float64 `json:"duration,omitempty"`
	InputVideoDuration  float64 `json:"input_video_duration,omitempty"`
	OutputVideoDuration float64 `json:"output_video_duration,omitempty"`
	// SR is the output tier, such as "720"; the service writes it as a number or a string.
	SR Tier `json:"SR,omitempty"`
}

// UnmarshalJSON reads usage leniently, field by field: the vendor's samples
// disagree on types (numbers as strings), and a usage field written oddly
// must never make a finished, paid task unreadable. A field that cannot be
// read is left zero.
func (u *Usage) UnmarshalJSON(b []byte) error {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		*u = Usage{}
		return nil // not an object: no usage, but the task itself is still good
	}
	num := func(name string) float64 {
		raw := bytes.Trim(bytes.TrimSpace(fields[name]), `"`)
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return 0
		}
		return f
	}
	var ratio string
	_ = json.Unmarshal(fields["video_ratio"], &ratio)
	var sr Tier
	if raw, ok := fields["SR"]; ok && sr.UnmarshalJSON(raw) != nil {
		sr = ""
	}
	*u = Usage{VideoDuration: num("video_duration"), VideoRatio: ratio, VideoCount: int(num("video_count")),
		Duration: num("duration"), InputVideoDuration: num("input_video_duration"), OutputVideoDuration: num("output_video_duration"), SR: sr}
	return nil
}

// BilledSeconds is how many seconds the task is billed for: the input's plus
// the output's where the service reports both, else the output's.
func (u *Usage) BilledSeconds() float64 {
	switch {
	case u == nil:
		return 0
	case u.Duration > 0:
		return u.Duration
	case u.InputVideoDuration > 0 || u.OutputVideoDuration > 0:
		return u.InputVideoDuration + u.OutputVideoDuration
	}
	return u.VideoDuration
}

// Tier is an output tier as the service reports it, kept as text.
type Tier string

// UnmarshalJSON reads a tier written as a number (720) or a string ("720").
func (t *Tier) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*t = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = Tier(s)
	default:
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return fmt.Errorf("dashscope: usage SR %s: %w", b, err)
		}
		*t = Tier(strconv.FormatFloat(f, 'f', -1, 64))
	}
	return nil
}
