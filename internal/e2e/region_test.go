package e2e

import (
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// TestSeedProxyRootWithTheBeijingModelNameStartsAndDoctorCallsItCustom runs
// the first seed page's own setup: a proxy root and the Beijing model name.
func TestSeedProxyRootWithTheBeijingModelNameStartsAndDoctorCallsItCustom(t *testing.T) {
	fake := newFake(t, dashscopetest.WithPathPrefix("/qwen/api/v1"), dashscopetest.WithModels("wanx2.1-vace-plus"))
	seed := []string{"--base-url", fake.BaseURL(), "--model", "wanx2.1-vace-plus"}
	env := []string{"DASHSCOPE_API_KEY=" + fake.APIKey()}

	s := startStdio(t, startOptions{env: env, args: seed})
	tools, err := s.Client.ListTools(t.Context(), mcp.ListToolsRequest{})
	require.NoError(t, err, "the server started")
	assert.NotEmpty(t, tools.Tools)
	assert.Contains(t, s.Stderr.String(), "msg=DashScope region=custom root=custom base_url="+fake.BaseURL()+" model=wanx2.1-vace-plus")

	stdout, stderr, code := runCLI(t, t.TempDir(), env, append([]string{"doctor"}, seed...)...)
	assert.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stdout, "warn  custom API root (not a vendor domain, such as a proxy), region unknown: "+fake.BaseURL()+", model wanx2.1-vace-plus")
	assert.Contains(t, stdout, "accepts the key")
	assert.Contains(t, stdout, "temporary uploads work")
	lists := fake.Requests(dashscopetest.EndpointListTasks)
	require.Len(t, lists, 1)
	assert.Equal(t, "/qwen/api/v1/tasks", lists[0].Path)
	assert.Equal(t, "wanx2.1-vace-plus", lists[0].Query.Get("model_name"))
}

func TestWorkspaceRootsAreRefusedAtStartWithTheFixNamed(t *testing.T) {
	fake := newFake(t)
	tests := []struct {
		name string
		args []string
		says string
	}{
		{"Beijing model on a Singapore workspace", []string{"--workspace", "llm-abc", "--model", "wanx2.1-vace-plus"},
			"vace-mcp: --model wanx2.1-vace-plus is the Beijing (cn) name for the model, but the API root https://llm-abc.ap-southeast-1.maas.aliyuncs.com/api/v1 is in Singapore (intl): use --region cn, or --model wan2.1-vace-plus"},
		{"workspace and base URL", []string{"--workspace", "llm-abc", "--base-url", fake.BaseURL()},
			"both choose the API root: give one or the other"},
		{"bad workspace id", []string{"--workspace", "llm_abc"}, `--workspace: workspace id "llm_abc"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, t.TempDir(), []string{"DASHSCOPE_API_KEY=" + fake.APIKey()}, append([]string{"doctor"}, tc.args...)...)
			assert.Equal(t, 2, code, stdout)
			assert.Contains(t, stderr, tc.says)
		})
	}
	assert.Empty(t, fake.Requests(), "nothing is sent")
}
