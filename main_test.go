package main

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestVersionPrefersLdflagsThenTheModuleVersionThenDev(t *testing.T) {
	built := func(v string) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Path: "github.com/vace-mcp/vace-mcp", Version: v}}
	}
	tests := []struct {
		name    string
		ldflags string
		bi      *debug.BuildInfo
		want    string
	}{
		{"go install @v1.4.0", "", built("v1.4.0"), "v1.4.0"},
		{"go install @commit, a pseudo-version", "", built("v0.0.0-20261201120000-abcdef123456"), "v0.0.0-20261201120000-abcdef123456"},
		{"ldflags win over build info", "v2.0.0-rc.1", built("v1.4.0"), "v2.0.0-rc.1"},
		{"go build in a working tree", "", built("(devel)"), "dev"},
		{"no module version", "", built(""), "dev"},
		{"no build info", "", nil, "dev"},
		{"ldflags without build info", "v1.5.0", nil, "v1.5.0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, versionOf(tc.ldflags, tc.bi))
		})
	}
}
