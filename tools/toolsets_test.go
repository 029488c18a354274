package tools

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func toolNames(tools []server.ServerTool) []string {
	var names []string
	for _, t := range tools {
		names = append(names, t.Tool.Name)
	}
	return names
}

func TestSelectChoosesByGroupAndNameAndReadOnly(t *testing.T) {
	s, _ := testService(t)
	all := s.Tools()
	editing := []string{"image_reference", "video_repainting", "video_edit", "video_extension", "video_outpainting", "video_instruct_edit"}
	tests := []struct {
		name     string
		names    []string
		readOnly bool
		want     []string
	}{
		{"nothing named is all", nil, false, toolNames(all)},
		{"all", []string{"all"}, false, toolNames(all)},
		{"edit", []string{"edit"}, false, editing},
		{"tasks", []string{"tasks"}, false, []string{"get_task", "wait_task", "cancel_task", "list_tasks"}},
		{"files", []string{"files"}, false, []string{"download_video"}},
		{"names and groups, in the server's order, each once", []string{"files", "video_edit", "tasks", "get_task"}, false,
			[]string{"video_edit", "get_task", "wait_task", "download_video", "cancel_task", "list_tasks"}},
		{"read-only alone", nil, true, []string{"get_task", "wait_task", "list_tasks"}},
		{"read-only narrows a group", []string{"tasks"}, true, []string{"get_task", "wait_task", "list_tasks"}},
		{"read-only narrows names", []string{"cancel_task", "list_tasks", "video_edit"}, true, []string{"list_tasks"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Select(all, tc.names, tc.readOnly)
			require.NoError(t, err)
			assert.Equal(t, tc.want, toolNames(got))
			if tc.readOnly {
				for _, tool := range got {
					assert.True(t, *tool.Tool.Annotations.ReadOnlyHint, tool.Tool.Name)
				}
			}
		})
	}
}

func TestSelectRefusesUnknownNamesAndAnEmptyChoice(t *testing.T) {
	s, _ := testService(t)
	all := s.Tools()

	_, err := Select(all, []string{"tasks", "video_magic"}, false)
	require.Error(t, err)
	assert.Equal(t, `--tools "video_magic": not a tool or group; use all, edit, tasks, files, or tool names: `+
		strings.Join(toolNames(all), ", "), err.Error())

	_, err = Select(all, []string{"Tasks"}, false)
	assert.ErrorContains(t, err, `--tools "Tasks": not a tool or group`, "names are exact")

	_, err = Select(all, []string{"edit", "download_video"}, true)
	require.Error(t, err)
	assert.Equal(t, "--tools edit,download_video with --read-only offers no tool: the read-only tools are get_task, wait_task, list_tasks", err.Error())

	_, err = Select(all[:5], []string{"files"}, false)
	assert.EqualError(t, err, "--tools files offers no tool")
}

func TestNewServerOffersOnlyTheChosenToolsAndInstructionsNameNoOther(t *testing.T) {
	ctx := context.Background()
	_, fake := testService(t)
	c, err := fake.Client()
	require.NoError(t, err)

	_, err = NewServer(Options{Client: c, Tools: []string{"edits"}})
	assert.ErrorContains(t, err, `--tools "edits"`)

	srv, err := NewServer(Options{Client: c, Logger: slog.New(slog.DiscardHandler), Tools: []string{"tasks"}, ReadOnly: true})
	require.NoError(t, err)
	cl, err := client.NewInProcessClient(srv)
	require.NoError(t, err)
	require.NoError(t, cl.Start(ctx))
	init, err := cl.Initialize(ctx, mcp.InitializeRequest{})
	require.NoError(t, err)
	list, err := cl.ListTools(ctx, mcp.ListToolsRequest{})
	require.NoError(t, err)
	var listed []string
	for _, tool := range list.Tools {
		listed = append(listed, tool.Name)
	}
	assert.ElementsMatch(t, []string{"get_task", "wait_task", "list_tasks"}, listed)
	assert.Contains(t, init.Instructions, "call wait_task")
	for _, hidden := range []string{"image_reference", "video_outpainting", "download_video", "cancel_task", "paid job"} {
		assert.NotContains(t, init.Instructions, hidden)
	}

	req := mcp.CallToolRequest{}
	req.Params.Name = "cancel_task"
	req.Params.Arguments = map[string]any{"task_id": "0385dc79-5ff8-4d82-bcb6-000000000000"}
	_, err = cl.CallTool(ctx, req)
	assert.Error(t, err, "a tool not offered cannot be called")
}

func TestInstructionsOfTheFullServerNameEveryKindOfTool(t *testing.T) {
	s, _ := testService(t)
	text := s.Instructions(s.Tools())
	for _, name := range []string{"image_reference", "video_repainting", "video_edit", "video_extension", "video_outpainting", "wait_task", "download_video"} {
		assert.Contains(t, text, name)
	}
}
