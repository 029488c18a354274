package dashscope

import (
	"fmt"
	"strconv"
	"strings"
)

// Prices are USD per billed second, by model, or by model and tier as
// "wan2.7-videoedit:1080P". Prices change: these are estimates for a spend
// guard, not an invoice, and configuration may replace them.
type Prices map[string]float64

// DefaultPrices are the figures our sources give: about USD 0.10 per second
// for VACE (the vendor's page) and, for wan2.7-videoedit, 0.10 at 720P and
// 0.15 at 1080P (third parties; the vendor's table was not found).
var DefaultPrices = Prices{
	RegionIntl.Model:     0.10,
	RegionCN.Model:       0.10,
	EditModel + ":720P":  0.10,
	EditModel + ":1080P": 0.15,
	EditModel:            0.15,
	"":                   0.10, // any other model
}

// Rate is the price per second of model at tier ("" when it has none).
func (p Prices) Rate(model, tier string) float64 {
	for _, k := range []string{model + ":" + tier, model, ""} {
		if v, ok := p[k]; ok {
			return v
		}
	}
	return DefaultPrices[""]
}

// ParsePrices reads "model[:tier]=usd,..." on top of DefaultPrices.
func ParsePrices(s string) (Prices, error) {
	out := Prices{}
	for k, v := range DefaultPrices {
		out[k] = v
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if !ok || err != nil || f < 0 || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("price %q: write model=USD per second or model:tier=USD, such as %s:1080P=0.15", part, EditModel)
		}
		out[strings.TrimSpace(k)] = f
	}
	return out, nil
}

// VACEOutputSeconds is how long a VACE video is: the service makes 5 s.
const VACEOutputSeconds = 5

// TierOf is the price tier a request asks for ("" for VACE).
func TierOf(r Request) string {
	if e, ok := r.(InstructEdit); ok {
		return string(orDefaultString(e.Resolution, DefaultResolution))
	}
	return ""
}

// EstimatedSeconds is how many seconds a request will be billed for, at
// most: VACE bills its 5 s output; wan2.7-videoedit bills the input's
// seconds plus the output's, the input cut to duration when given, and
// inputSeconds (a local file's length, 0 when unknown) or else the model's
// longest input.
func EstimatedSeconds(r Request, inputSeconds float64) float64 {
	e, ok := r.(InstructEdit)
	if !ok {
		return VACEOutputSeconds
	}
	in := inputSeconds
	if e.Duration != nil && *e.Duration > 0 && (in == 0 || float64(*e.Duration) < in) {
		in = float64(*e.Duration)
	}
	if in == 0 {
		in = MaxEditDuration
	}
	return 2 * in // the output is as long as the (cut) input
}

// TierOfUsage is the tier a finished task was billed at, from its usage.
func TierOfUsage(u *Usage) string {
	if u == nil || u.SR == "" {
		return ""
	}
	return string(u.SR) + "P"
}
