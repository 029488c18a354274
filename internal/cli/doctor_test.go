package cli

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/internal/localfiles"
)

func TestDoctorSaysWhichKindOfRootIsInUse(t *testing.T) {
	tests := []struct {
		root, model string
		want        []string
		wantNot     []string
	}{
		{root: dashscope.RegionCN.BaseURL, model: "wanx2.1-vace-plus",
			want: []string{"ok    region cn (Beijing), shared domain (legacy): https://dashscope.aliyuncs.com/api/v1, model wanx2.1-vace-plus",
				"info  the vendor recommends its workspace domains", "→ add --workspace ID"}},
		{root: "https://llm-abc.ap-southeast-1.maas.aliyuncs.com/api/v1", model: "wan2.1-vace-plus",
			want:    []string{"ok    region intl (Singapore), workspace domain of llm-abc: https://llm-abc.ap-southeast-1.maas.aliyuncs.com/api/v1"},
			wantNot: []string{"recommends", "not one vace-mcp knows"}},
		{root: "https://gateway.example.com/qwen/api/v1", model: "wanx2.1-vace-plus",
			want:    []string{"warn  custom API root (not a vendor domain, such as a proxy), region unknown: https://gateway.example.com/qwen/api/v1"},
			wantNot: []string{"FAIL  dashscope: model"}},
		{root: "https://llm-abc.ap-southeast-1.maas.aliyuncs.com/api/v1", model: "wanx2.1-vace-plus",
			want: []string{"FAIL  dashscope: model wanx2.1-vace-plus is the Beijing (cn) name for the model"}},
		{root: dashscope.RegionIntl.BaseURL, model: "wan9-future-model",
			want: []string{"warn  model wan9-future-model is not one vace-mcp knows"}},
		{root: "https://proxyuser:pw-secret@gateway.example.com/qwen/api/v1", model: "wanx2.1-vace-plus",
			want:    []string{"region unknown: https://xxxxx@gateway.example.com/qwen/api/v1"},
			wantNot: []string{"proxyuser", "pw-secret", "plain http://"}},
		{root: "http://gateway.example.com/api/v1", model: "wan2.1-vace-plus",
			want: []string{"warn  the API root is plain http:// on another host", "→ use an https:// root"}},
		{root: "http://127.0.0.1:9200/api/v1", model: "wan2.1-vace-plus", wantNot: []string{"plain http://"}},
	}
	for _, tc := range tests {
		t.Run(dashscope.RedactURL(tc.root)+" "+tc.model, func(t *testing.T) { // the test's temporary directory is named after it
			client, err := dashscope.NewClient(dashscope.WithBaseURL(tc.root), dashscope.WithModel(tc.model))
			require.NoError(t, err)
			outputs, err := localfiles.NewOutputDir(t.TempDir())
			require.NoError(t, err)
			var out bytes.Buffer
			Doctor(t.Context(), Setup{Client: client, Outputs: outputs}, &out) // no key: nothing is sent
			for _, w := range tc.want {
				assert.Contains(t, out.String(), w)
			}
			for _, w := range tc.wantNot {
				assert.NotContains(t, out.String(), w)
			}
		})
	}
}
