package e2e

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`

func rawPost(t *testing.T, url string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(initializeBody))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestAuthTokenIsRequiredOnEveryHTTPRequest(t *testing.T) {
	const token = "tok-3f9a1c77e0"
	h := startHTTP(t, "http", fakeEnv(newFake(t)), "--auth-token", token)

	resp := rawPost(t, h.URL+"/mcp", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer")
	resp = rawPost(t, h.URL+"/mcp", map[string]string{"Authorization": "Bearer wrong"})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	body, _ := io.ReadAll(resp.Body)
	assert.NotContains(t, string(body), token)
	resp = rawPost(t, h.URL+"/sse", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "SSE is guarded too")

	tr, err := transport.NewStreamableHTTP(h.URL + "/mcp")
	require.NoError(t, err)
	c := client.NewClient(tr, client.WithProtocolVersion(mcp.ProtocolVersion20251125))
	require.NoError(t, c.Start(context.Background()))
	_, err = c.Initialize(context.Background(), mcp.InitializeRequest{})
	assert.Error(t, err, "a client without the token cannot connect")

	s := connectHTTP(t, h, "http", true, map[string]string{"Authorization": "Bearer " + token})
	_, err = s.Client.ListTools(context.Background(), mcp.ListToolsRequest{})
	require.NoError(t, err)
	assert.NotContains(t, h.Stderr.String(), token, "the token is never logged")
}

func TestForeignOriginsAreRefusedAndAllowedOnesAccepted(t *testing.T) {
	h := startHTTP(t, "http", fakeEnv(newFake(t)), "--allow-origin", "https://studio.example.com")
	port := h.URL[strings.LastIndex(h.URL, ":")+1:]
	for origin, want := range map[string]int{
		"":                                http.StatusOK,
		"http://localhost:" + port:        http.StatusOK,
		"http://127.0.0.1:" + port:        http.StatusOK,
		"https://studio.example.com":      http.StatusOK,
		"http://evil.example.com":         http.StatusForbidden,
		"https://studio.example.com.evil": http.StatusForbidden,
		"null":                            http.StatusForbidden,
	} {
		hdr := map[string]string{}
		if origin != "" {
			hdr["Origin"] = origin
		}
		assert.Equal(t, want, rawPost(t, h.URL+"/mcp", hdr).StatusCode, "Origin %q", origin)
	}
	req, _ := http.NewRequest(http.MethodPost, h.URL+"/mcp", strings.NewReader(initializeBody))
	req.Host = "evil.example.com"
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "a foreign Host is refused (DNS rebinding)")
}

func TestExposingWithoutATokenIsRefusedAtStart(t *testing.T) {
	out, err := exec.Command(binary, "--transport", "http", "--addr", "0.0.0.0:0", "--sandbox").CombinedOutput()
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "the server must refuse to start: %s", out)
	assert.NotZero(t, exit.ExitCode())
	assert.Contains(t, string(out), "auth token")

	h := startHTTP(t, "http", nil, "--sandbox", "--insecure-no-auth", "--addr", "0.0.0.0:0")
	assert.Contains(t, h.Stderr.String(), "INSECURE")
}

func TestAStalledClientDoesNotBlockOthers(t *testing.T) {
	fake := newFake(t)
	h := startHTTP(t, "http", fakeEnv(fake))
	// One client sends half a request and goes quiet; another opens an SSE
	// stream and never reads it.
	stalled, err := net.Dial("tcp", strings.TrimPrefix(h.URL, "http://"))
	require.NoError(t, err)
	defer stalled.Close()
	_, err = stalled.Write([]byte("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{\"jsonrpc\":"))
	require.NoError(t, err)
	reader, err := http.Get(h.URL + "/sse")
	require.NoError(t, err)
	defer reader.Body.Close()

	s := connectHTTP(t, h, "http", true, nil)
	start := time.Now()
	for range 5 {
		res := call(t, s.Client, "list_tasks", map[string]any{})
		require.False(t, res.IsError, text(res))
	}
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestSIGTERMCancelsInFlightCallsAndExitsZero(t *testing.T) {
	for _, name := range []string{"http", "stdio"} {
		t.Run(name, func(t *testing.T) {
			fake := newFake(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: time.Hour}))
			var p *proc
			var c *client.Client
			var stderr *lockedBuffer
			if name == "http" {
				h := startHTTP(t, "http", fakeEnv(fake), "--shutdown-grace", "1s")
				p, stderr, c = h.Proc, h.Stderr, connectHTTP(t, h, "http", true, nil).Client
			} else {
				s := startStdio(t, startOptions{env: fakeEnv(fake), legacy: true})
				p, stderr, c = s.Proc, s.Stderr, s.Client
			}
			id := structured(t, call(t, c, "video_outpainting", map[string]any{"prompt": "p", "video_url": "https://x/v.mp4"}))["task_id"]
			done := make(chan error, 1)
			go func() {
				_, err := callErr(t, c, "wait_task", map[string]any{"task_id": id, "timeout_seconds": 120}, "")
				done <- err
			}()
			require.Eventually(t, func() bool { return fake.Count(dashscopetest.EndpointGetTask) > 0 }, 10*time.Second, 10*time.Millisecond)

			require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
			assert.Equal(t, 0, p.exitCode(t, 15*time.Second), stderr.String())
			select {
			case <-done: // the in-flight wait ended instead of hanging
			case <-time.After(10 * time.Second):
				t.Fatal("the in-flight call never ended")
			}
		})
	}
}
