package dashscope

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClassifyRootKnowsTheVendorsDomainsByHost(t *testing.T) {
	shared := func(r Region) Root { return Root{Kind: RootShared, Region: r} }
	workspace := func(r Region, id string) Root { return Root{Kind: RootWorkspace, Region: r, Workspace: id} }
	custom := Root{Kind: RootCustom}
	tests := []struct {
		root string
		want Root
	}{
		{"https://dashscope-intl.aliyuncs.com/api/v1", shared(RegionIntl)},
		{"https://dashscope.aliyuncs.com/api/v1", shared(RegionCN)},
		{"https://dashscope.aliyuncs.com/api/v1/", shared(RegionCN)},
		{"http://dashscope-intl.aliyuncs.com/api/v1", shared(RegionIntl)},
		{"https://DashScope-Intl.AliyunCS.com/api/v1", shared(RegionIntl)},
		{"https://dashscope.aliyuncs.com:443/api/v1", shared(RegionCN)},
		{"https://llm-abc.ap-southeast-1.maas.aliyuncs.com/api/v1", workspace(RegionIntl, "llm-abc")},
		{"https://llm-abc.cn-beijing.maas.aliyuncs.com/api/v1/", workspace(RegionCN, "llm-abc")},
		{"https://LLM-Abc.CN-Beijing.Maas.Aliyuncs.com/api/v1", workspace(RegionCN, "llm-abc")},
		{"https://gateway.example.com/qwen/api/v1", custom},
		{"http://127.0.0.1:8080/api/v1", custom},
		{"https://dashscope.aliyuncs.com.evil.com/api/v1", custom},
		{"https://evil-dashscope.aliyuncs.com/api/v1", custom},
		{"https://dashscope.aliyuncs.com@evil.com/api/v1", custom},
		{"https://llm-abc.ap-southeast-1.maas.aliyuncs.com.evil.com/api/v1", custom},
		{"https://a.b.ap-southeast-1.maas.aliyuncs.com/api/v1", custom},
		{"https://ap-southeast-1.maas.aliyuncs.com/api/v1", custom},
		{"https://-x.cn-beijing.maas.aliyuncs.com/api/v1", custom},
		{"dashscope.aliyuncs.com/api/v1", custom},
		{"ftp://dashscope.aliyuncs.com/api/v1", custom},
		{"", custom},
	}
	for _, tc := range tests {
		t.Run(tc.root, func(t *testing.T) {
			assert.Equal(t, tc.want, ClassifyRoot(tc.root))
		})
	}
	assert.Equal(t, "custom", ClassifyRoot("https://gateway.example.com/qwen/api/v1").RegionName())
	assert.Equal(t, "cn", ClassifyRoot("https://llm-abc.cn-beijing.maas.aliyuncs.com/api/v1").RegionName())
}

func TestWorkspaceRootNamesTheWorkspacesDomain(t *testing.T) {
	root, err := RegionIntl.WorkspaceRoot("llm-abc")
	require.NoError(t, err)
	assert.Equal(t, "https://llm-abc.ap-southeast-1.maas.aliyuncs.com/api/v1", root)
	root, err = RegionCN.WorkspaceRoot("LLM-Abc9")
	require.NoError(t, err)
	assert.Equal(t, "https://llm-abc9.cn-beijing.maas.aliyuncs.com/api/v1", root)
	assert.Equal(t, Root{Kind: RootWorkspace, Region: RegionCN, Workspace: "llm-abc9"}, ClassifyRoot(root), "a built root is recognised")

	for _, id := range []string{"", "llm.abc", "llm_abc", "-llm", "llm-", "llm/abc", "llm abc", "llm-é", strings.Repeat("a", 64)} {
		_, err := RegionIntl.WorkspaceRoot(id)
		assert.ErrorContains(t, err, "letters, digits and '-'", "%q", id)
	}
}

func TestCheckModelRefusesOnlyAModelOfAnotherRegionOnAVendorRoot(t *testing.T) {
	tests := []struct {
		root, model string
		// wantFix is in the error; "" means the pair is accepted.
		wantFix string
	}{
		{root: RegionIntl.BaseURL, model: "wan2.1-vace-plus"},
		{root: RegionCN.BaseURL + "/", model: "wanx2.1-vace-plus"},
		{root: "https://llm-abc.cn-beijing.maas.aliyuncs.com/api/v1", model: "wanx2.1-vace-plus"},
		{root: "https://gateway.example.com/qwen/api/v1", model: "wanx2.1-vace-plus"},
		{root: "https://gateway.example.com/qwen/api/v1", model: "wan2.1-vace-plus"},
		{root: "https://dashscope.aliyuncs.com.evil.com/api/v1", model: "wan2.1-vace-plus"},
		{root: RegionIntl.BaseURL, model: "some-future-model"},
		{root: RegionIntl.BaseURL, model: "wanx2.1-vace-plus",
			wantFix: "model wanx2.1-vace-plus is the Beijing (cn) name for the model, but the API root https://dashscope-intl.aliyuncs.com/api/v1 is in Singapore (intl): use model wan2.1-vace-plus, or a Beijing root such as https://dashscope.aliyuncs.com/api/v1"},
		{root: "https://llm-abc.ap-southeast-1.maas.aliyuncs.com/api/v1/", model: "wanx2.1-vace-plus",
			wantFix: "the API root https://llm-abc.ap-southeast-1.maas.aliyuncs.com/api/v1 is in Singapore (intl): use model wan2.1-vace-plus"},
		{root: "HTTP://DASHSCOPE.aliyuncs.com/api/v1", model: "wan2.1-vace-plus",
			wantFix: "is in Beijing (cn): use model wanx2.1-vace-plus, or a Singapore root such as https://dashscope-intl.aliyuncs.com/api/v1"},
	}
	for _, tc := range tests {
		t.Run(tc.root+" "+tc.model, func(t *testing.T) {
			err := CheckModel(tc.root, tc.model)
			if tc.wantFix == "" {
				assert.NoError(t, err)
				return
			}
			var mr *ModelRegionError
			require.True(t, errors.As(err, &mr), "%v", err)
			assert.Contains(t, err.Error(), tc.wantFix)
		})
	}
}

func TestAModelNamedAlikeEverywhereIsAcceptedOnEveryVendorRoot(t *testing.T) {
	saved := modelNames
	t.Cleanup(func() { modelNames = saved })
	modelNames = append(modelNames, map[string]string{RegionCN.Name: "cn-only-model"})

	assert.Equal(t, []Region{RegionCN, RegionIntl}, ModelRegions(EditModel))
	for _, root := range []string{RegionIntl.BaseURL, RegionCN.BaseURL, "https://llm-abc.ap-southeast-1.maas.aliyuncs.com/api/v1"} {
		assert.NoError(t, CheckModel(root, EditModel), root)
	}
	err := CheckModel(RegionIntl.BaseURL, "cn-only-model")
	var mr *ModelRegionError
	require.ErrorAs(t, err, &mr)
	assert.Empty(t, mr.RootModel, "Singapore has no name for it")
	assert.Contains(t, err.Error(), "use a Beijing root such as "+RegionCN.BaseURL)
}

func TestModelRegionsKnowsTheVACENames(t *testing.T) {
	assert.Equal(t, []Region{RegionIntl}, ModelRegions("wan2.1-vace-plus"))
	assert.Equal(t, []Region{RegionCN}, ModelRegions("wanx2.1-vace-plus"))
	assert.Empty(t, ModelRegions("wan2.1-vace"))
}
