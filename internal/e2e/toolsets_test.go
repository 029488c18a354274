package e2e

import (
	"context"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// listTools returns the tools a server lists, by name.
func listTools(t *testing.T, c *client.Client) map[string]mcp.Tool {
	t.Helper()
	res, err := c.ListTools(context.Background(), mcp.ListToolsRequest{})
	require.NoError(t, err)
	byName := map[string]mcp.Tool{}
	for _, tool := range res.Tools {
		byName[tool.Name] = tool
	}
	return byName
}

func toolNames(tools map[string]mcp.Tool) []string {
	var out []string
	for name := range tools {
		out = append(out, name)
	}
	return out
}

func TestToolsetTasksListsExactlyTheTaskTools(t *testing.T) {
	s := startStdio(t, startOptions{env: fakeEnv(newFake(t)), args: []string{"--tools", "tasks"}})
	assert.ElementsMatch(t, []string{"get_task", "wait_task", "cancel_task", "list_tasks"}, toolNames(listTools(t, s.Client)))

	s = startStdio(t, startOptions{env: append(fakeEnv(newFake(t)), "VACE_MCP_TOOLS=video_outpainting,files")})
	assert.ElementsMatch(t, []string{"video_outpainting", "download_video"}, toolNames(listTools(t, s.Client)), "the variable works as the flag")
}

func TestReadOnlyListsOnlyReadOnlyToolsAndHiddenOnesCannotBeCalled(t *testing.T) {
	fake := newFake(t)
	for _, o := range []startOptions{
		{env: fakeEnv(fake), args: []string{"--read-only"}},
		{env: append(fakeEnv(fake), "VACE_MCP_READ_ONLY=true", "VACE_MCP_TOOLS=all")},
	} {
		s := startStdio(t, o)
		tools := listTools(t, s.Client)
		assert.ElementsMatch(t, []string{"get_task", "wait_task", "list_tasks"}, toolNames(tools))
		for name, tool := range tools {
			require.NotNil(t, tool.Annotations.ReadOnlyHint, name)
			assert.True(t, *tool.Annotations.ReadOnlyHint, name)
		}
		for _, hidden := range []string{"video_outpainting", "cancel_task", "download_video"} {
			_, err := callErr(t, s.Client, hidden, map[string]any{"prompt": "p", "video_url": "https://x/v.mp4", "task_id": "0385dc79-5ff8-4d82-bcb6-000000000000"}, "")
			assert.Error(t, err, "%s is not offered, so it cannot be called", hidden)
		}
		res := call(t, s.Client, "list_tasks", map[string]any{})
		assert.False(t, res.IsError, text(res))
	}
	assert.Zero(t, fake.Count(dashscopetest.EndpointSubmit), "nothing was submitted")
	assert.Zero(t, fake.Count(dashscopetest.EndpointCancel), "nothing was canceled")
}

func TestBadToolsChoicesAreRefusedAtStartWithExitCode2(t *testing.T) {
	fake := newFake(t)
	tests := []struct {
		name string
		env  []string
		args []string
		says string
	}{
		{"unknown name", nil, []string{"--tools", "tasks,video_magic"},
			`vace-mcp: --tools "video_magic": not a tool or group; use all, edit, tasks, files, or tool names: image_reference, video_repainting`},
		{"unknown name in the variable", []string{"VACE_MCP_TOOLS=edits"}, nil, `--tools "edits": not a tool or group`},
		{"nothing read-only chosen", nil, []string{"--tools", "edit", "--read-only"},
			"vace-mcp: --tools edit with --read-only offers no tool: the read-only tools are get_task, wait_task, list_tasks"},
		{"call a tool left out", nil, []string{"call", "video_edit", "--tools", "tasks"},
			`vace-mcp call: no tool "video_edit"; the tools offered are: cancel_task, get_task, list_tasks, wait_task (--tools and --read-only choose them)`},
		{"call --wait without wait_task", nil, []string{"call", "video_outpainting", "--prompt", "p", "--video_url", "https://x/v.mp4", "--wait", "--tools", "edit"},
			`vace-mcp call: no tool "wait_task" (--wait and --download use it)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, t.TempDir(), append(fakeEnv(fake), tc.env...), tc.args...)
			assert.Equal(t, 2, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			assert.Contains(t, stderr, tc.says)
		})
	}
	assert.Empty(t, fake.Requests(), "nothing is sent")
}
