package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/internal/redistest"
)

// deploy/nginx.conf, run by a real nginx in front of two built instances
// sharing a Redis: the upstreams and the port are this test's, the rest is
// the file as shipped. Skipped where nginx is not installed (Debian:
// apt-get install nginx-light).
func TestDeployNginxRoutesEachSessionToItsInstance(t *testing.T) {
	t.Parallel()
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("nginx is not installed; deploy/nginx.conf is not run (Debian: apt-get install nginx-light)")
	}
	redis := redistest.Spawn(t, redistest.SpawnOptions{})
	fake := newFake(t)
	const token = "deploy-token"
	env := append([]string{"VACE_MCP_AUTH_TOKEN=" + token}, taskEnv...)
	vace1 := instance(t, fake, redis.URL, "vace1", env...)
	vace2 := instance(t, fake, redis.URL, "vace2", env...)
	proxy := startNginx(t, nginx, map[string]string{"vace1:8080": hostPort(vace1), "vace2:8080": hostPort(vace2)})

	// Sessions opened through the proxy land on both instances, and each
	// of their requests reaches the instance that holds the session (any
	// other answers 404).
	byInstance := map[string][]*rawHTTPSession{}
	for range 4 {
		s := &rawHTTPSession{url: proxy + "/mcp", token: token}
		s.initialize(t)
		name, _, _ := strings.Cut(s.id, "-")
		byInstance[name] = append(byInstance[name], s)
	}
	require.Len(t, byInstance["vace1"], 2, "round robin: %v", byInstance)
	require.Len(t, byInstance["vace2"], 2, "round robin: %v", byInstance)
	for _, sessions := range byInstance {
		for _, s := range sessions {
			for i := range 5 {
				status, body := s.post(t, fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/list"}`, i+1))
				require.Equal(t, http.StatusOK, status, "session %s: %s", s.id, body)
			}
		}
	}

	// Stateless requests and task ids work through any instance.
	s := byInstance["vace1"][0]
	task := *decode[toolResult](t, httpRPC(t, s).call(taskCallLine("ID", "through the proxy", `,"task":{}`)).Result).Task
	assert.Equal(t, "completed", pollUntilEnded(t, httpRPC(t, byInstance["vace2"][0]), task.TaskID, "").Status)
	for range 4 {
		status, body := postModernHeaders(t, proxy+"/mcp", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_tasks","arguments":{}}}`,
			map[string]string{"Authorization": "Bearer " + token})
		require.Equal(t, http.StatusOK, status, string(body))
		assert.Contains(t, string(body), fake.TaskIDs()[0], "stateless list_tasks, round robin")
	}

	// SSE: the stream opens on either instance, and its posts follow it.
	for range 2 {
		c := connectHTTP(t, &httpServer{URL: proxy}, "sse", true, map[string]string{"Authorization": "Bearer " + token})
		res := call(t, c.Client, "list_tasks", map[string]any{})
		require.False(t, res.IsError, text(res))
	}

	// An instance that stops: its sessions get 404 (start a new one) and new
	// sessions go to the other.
	vace2.Proc.stop()
	gone := byInstance["vace2"][0]
	status, body := gone.post(t, `{"jsonrpc":"2.0","id":9,"method":"tools/list"}`)
	assert.Equal(t, http.StatusNotFound, status, string(body))
	assert.Contains(t, string(body), "send initialize to start a new session")
	fresh := &rawHTTPSession{url: proxy + "/mcp", token: token}
	fresh.initialize(t)
	assert.True(t, strings.HasPrefix(fresh.id, "vace1-"), fresh.id)
	status, body = byInstance["vace1"][1].post(t, `{"jsonrpc":"2.0","id":9,"method":"tools/list"}`)
	assert.Equal(t, http.StatusOK, status, string(body))
}

// hostPort is an instance's listening address.
func hostPort(h *httpServer) string { return strings.TrimPrefix(h.URL, "http://") }

// startNginx runs deploy/nginx.conf with its upstream servers replaced as
// given, on a free loopback port, and returns its URL.
func startNginx(t *testing.T, nginx string, upstreams map[string]string) string {
	t.Helper()
	conf, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nginx.conf"))
	require.NoError(t, err)
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	text := string(conf)
	for from, to := range upstreams {
		require.Contains(t, text, "server "+from+";")
		text = strings.ReplaceAll(text, "server "+from+";", "server "+to+";")
	}
	require.Contains(t, text, "listen 8080;")
	text = strings.Replace(text, "listen 8080;", "listen "+addr+";", 1)
	// Paths of the test's own, so nginx needs no root.
	var temp strings.Builder
	for _, d := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&temp, "    %s_temp_path %s;\n", d, filepath.Join(dir, d))
	}
	fmt.Fprintf(&temp, "    access_log %s;\n", filepath.Join(dir, "access.log"))
	text = strings.Replace(text, "http {\n", "http {\n"+temp.String(), 1)
	path := filepath.Join(dir, "nginx.conf")
	require.NoError(t, os.WriteFile(path, []byte(text), 0o600))
	global := fmt.Sprintf("daemon off; master_process on; pid %s; error_log %s;", filepath.Join(dir, "nginx.pid"), filepath.Join(dir, "error.log"))

	check, err := exec.Command(nginx, "-t", "-p", dir, "-c", path, "-g", global).CombinedOutput()
	require.NoError(t, err, "nginx -t: %s", check)
	cmd := exec.Command(nginx, "-p", dir, "-c", path, "-g", global)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	p := startProc(t, cmd)
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(os.Interrupt) // nginx: fast shutdown
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx output:\n%s\nerror.log:\n%s", out.String(), log)
		}
	})
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "nginx listens")
	return "http://" + addr
}
