package tools

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vace-mcp/vace-mcp/dashscope"
)

// mediaText says briefly what a media field takes, for its description:
// "MP4, ≥16 fps, ≤50 MB, first 5 s used". The facts come from package
// dashscope; the short form is for the model, whose context every byte costs.
func mediaText(l dashscope.MediaLimits) string {
	names := make([]string, len(l.Formats))
	for i, f := range l.Formats {
		names[i] = f.String()
	}
	parts := []string{strings.Join(names, "/")}
	if s := l.SideRange(); s != "" {
		parts = append(parts, s)
	}
	if l.MinFPS > 0 {
		parts = append(parts, "≥"+strconv.FormatFloat(l.MinFPS, 'f', -1, 64)+" fps")
	}
	if l.MaxBytes > 0 {
		parts = append(parts, fmt.Sprintf("≤%g MB", float64(l.MaxBytes)/1e6))
	}
	switch {
	case l.MinDuration > 0 && l.MaxDuration > 0:
		parts = append(parts, strings.TrimSuffix(seconds(l.MinDuration), " s")+"-"+seconds(l.MaxDuration))
	case l.MaxDuration > 0:
		parts = append(parts, "≤"+seconds(l.MaxDuration))
	}
	if l.CutDuration > 0 {
		parts = append(parts, "first "+seconds(l.CutDuration)+" used")
	}
	return strings.Join(parts, ", ")
}

// seconds writes a duration for the model: "3 s".
func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
}
