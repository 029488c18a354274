package e2e

import (
	"context"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// httpServer is the binary serving HTTP on a free loopback port.
type httpServer struct {
	URL    string // e.g. http://127.0.0.1:41234
	Stderr *lockedBuffer
	Proc   *proc
}

// startHTTP runs the binary with --transport (sse or http) on 127.0.0.1:0.
func startHTTP(t testing.TB, transportName string, env []string, args ...string) *httpServer {
	t.Helper()
	all := append([]string{"--transport", transportName, "--addr", "127.0.0.1:0"}, fastFlags...)
	cmd := exec.Command(binary, append(all, args...)...)
	cmd.Env = append(baseEnv(t), env...)
	h := &httpServer{Stderr: &lockedBuffer{}}
	cmd.Stderr = h.Stderr
	h.Proc = startProc(t, cmd)
	require.Eventually(t, func() bool {
		m := logLine.FindStringSubmatch(h.Stderr.String())
		if m != nil {
			h.URL = m[1]
		}
		return m != nil
	}, 20*time.Second, 10*time.Millisecond, "the server logs its URL")
	t.Cleanup(func() {
		h.Proc.stop()
		if t.Failed() {
			t.Logf("server stderr:\n%s", h.Stderr.String())
		}
	})
	return h
}

// connectHTTP connects an mcp-go client over the binary's transport.
func connectHTTP(t testing.TB, h *httpServer, transportName string, legacy bool, headers map[string]string) *session {
	t.Helper()
	s := &session{Stderr: h.Stderr}
	var tr transport.Interface
	var err error
	if transportName == "sse" {
		tr, err = transport.NewSSE(h.URL+"/sse", transport.WithHeaders(headers))
	} else {
		tr, err = transport.NewStreamableHTTP(h.URL+"/mcp", transport.WithHTTPHeaders(headers))
	}
	require.NoError(t, err)
	s.Client = connect(t, tr, legacy, s)
	t.Cleanup(func() { _ = s.Client.Close() })
	return s
}

func TestTheSameToolsWorkOverSSEAndStreamableHTTP(t *testing.T) {
	for _, name := range []string{"http", "sse"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			protocols(t, func(t *testing.T, legacy bool) {
				fake := newFake(t)
				h := startHTTP(t, name, fakeEnv(fake))
				s := connectHTTP(t, h, name, legacy, nil)

				tools, err := s.Client.ListTools(context.Background(), mcp.ListToolsRequest{})
				require.NoError(t, err)
				assert.Len(t, tools.Tools, 11)

				bad := call(t, s.Client, "video_outpainting", map[string]any{"prompt": "p", "video_url": "https://x/v.mp4", "top_scale": 9})
				assert.True(t, bad.IsError)
				assert.Contains(t, text(bad), "top_scale:")

				sub := structured(t, call(t, s.Client, "video_outpainting", map[string]any{"prompt": "wider", "video_url": "https://x/v.mp4"}))
				res, err := callErr(t, s.Client, "wait_task", map[string]any{"task_id": sub["task_id"], "timeout_seconds": 30}, "w-"+name)
				require.NoError(t, err)
				out := structured(t, res)
				assert.Equal(t, "SUCCEEDED", out["status"], text(res))
				prog := s.progress("w-" + name)
				assert.NotEmpty(t, prog, "progress arrives over %s", name)
				for i := 1; i < len(prog); i++ {
					assert.Greater(t, prog[i]["progress"].(float64), prog[i-1]["progress"].(float64))
				}
				assert.Equal(t, 1, fake.Count(dashscopetest.EndpointSubmit))
			})
		})
	}
}

func TestConcurrentWaitsOnOneHTTPSessionGetOnlyTheirOwnProgress(t *testing.T) {
	fake := newFake(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Queue: 100 * time.Millisecond, Run: 1500 * time.Millisecond, VideoDuration: 5}))
	h := startHTTP(t, "http", fakeEnv(fake))
	s := connectHTTP(t, h, "http", true, nil)

	var ids []string
	for _, p := range []string{"one", "two", "three"} {
		ids = append(ids, structured(t, call(t, s.Client, "video_outpainting", map[string]any{"prompt": p, "video_url": "https://x/v.mp4"}))["task_id"].(string))
	}
	var wg sync.WaitGroup
	results := make([]map[string]any, len(ids))
	for i, id := range ids {
		wg.Go(func() {
			res, err := callErr(t, s.Client, "wait_task", map[string]any{"task_id": id, "timeout_seconds": 30}, "tok-"+id)
			if assert.NoError(t, err) {
				results[i] = structured(t, res)
			}
		})
	}
	wg.Wait()
	// Which stream carried which notification is checked on raw streams in
	// internal/mcphttp (the mcp-go client merges them); here every wait must
	// end with its own task and none may lose its progress.
	for i, id := range ids {
		require.NotNil(t, results[i])
		assert.Equal(t, id, results[i]["task_id"])
		assert.NotEmpty(t, s.progress("tok-"+id), "wait %d saw its progress", i)
	}
}
