package cli

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
	"github.com/vace-mcp/vace-mcp/tools"
)

func TestCallRefusesToolsTheServerDoesNotOfferAndSubmitsNothing(t *testing.T) {
	fake := dashscopetest.NewServer(t)
	c, err := fake.Client()
	require.NoError(t, err)
	outpaint := map[string][]string{"prompt": {"p"}, "video_url": {"https://x/v.mp4"}}
	tests := []struct {
		name   string
		choose []string
		call   CallOptions
		says   string
	}{
		{"a tool left out", []string{"tasks"}, CallOptions{Tool: "video_outpainting", Args: outpaint},
			`vace-mcp call: no tool "video_outpainting"; the tools offered are: cancel_task, get_task, list_tasks, wait_task (--tools and --read-only choose them)`},
		{"--wait without wait_task", []string{"edit"}, CallOptions{Tool: "video_outpainting", Args: outpaint, Wait: true},
			`no tool "wait_task" (--wait and --download use it)`},
		{"--download without download_video", []string{"edit", "tasks"}, CallOptions{Tool: "video_outpainting", Args: outpaint, Wait: true, Download: true},
			`no tool "download_video" (--download uses it)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := tools.NewServer(tools.Options{Client: c, Logger: slog.New(slog.DiscardHandler), Tools: tc.choose})
			require.NoError(t, err)
			tc.call.Timeout = time.Minute
			var stdout, stderr bytes.Buffer
			assert.Equal(t, 2, Call(context.Background(), srv, tc.call, &stdout, &stderr))
			assert.Contains(t, stderr.String(), tc.says)
		})
	}
	assert.Empty(t, fake.Requests(), "nothing is sent")
}
