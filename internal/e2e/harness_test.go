// Package e2e drives the built vace-mcp binary the way hosts do — over stdio,
// SSE and streamable HTTP with the mcp-go client — against the fake DashScope.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// binary is the vace-mcp executable under test, built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	consultSources()
	dir, err := os.MkdirTemp("", "vace-mcp-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "vace-mcp")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race") // the server's own races show up in end-to-end runs too
	}
	build := exec.Command("go", append(args, "github.com/vace-mcp/vace-mcp")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building vace-mcp:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// consultSources stats every file the binary is built from. The binary is
// built in a subprocess, which go test's result cache cannot see; files the
// test itself consults are part of the cache key, so a change to the server
// now reruns these tests instead of replaying a stale pass.
func consultSources() {
	root := filepath.Join("..", "..")
	_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".go") || d.Name() == "go.mod" || d.Name() == "go.sum" || strings.HasSuffix(path, ".mp4")) {
			_, _ = os.Stat(path)
		}
		return nil
	})
}

// testLife is a job of about a second, polled every 100 ms by the binary.
var testLife = dashscopetest.Lifecycle{Queue: 200 * time.Millisecond, Run: 800 * time.Millisecond, VideoDuration: 5}

// fastFlags make waits quick and visible in tests.
var fastFlags = []string{"--poll-interval", "100ms", "--progress-interval", "150ms", "--log-level", "debug"}

// newFake starts a fake DashScope with short jobs unless opts say otherwise.
func newFake(t testing.TB, opts ...dashscopetest.Option) *dashscopetest.Server {
	return dashscopetest.NewServer(t, append([]dashscopetest.Option{dashscopetest.WithLifecycle(testLife)}, opts...)...)
}

// fakeEnv points the binary at the fake.
func fakeEnv(f *dashscopetest.Server) []string {
	return []string{"DASHSCOPE_API_KEY=" + f.APIKey(), "DASHSCOPE_BASE_URL=" + f.BaseURL()}
}

// lockedBuffer collects a process's output safely across goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// wire records every JSON-RPC message the server wrote, in order.
type wire struct {
	mu   sync.Mutex
	msgs []json.RawMessage
}

func (w *wire) add(line []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, append(json.RawMessage(nil), line...))
}

func (w *wire) messages() []json.RawMessage {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]json.RawMessage(nil), w.msgs...)
}

// proc is a running server process.
type proc struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has exited
	err    error         // cmd.Wait's result, set before exited closes
}

func startProc(t testing.TB, cmd *exec.Cmd) *proc {
	t.Helper()
	require.NoError(t, cmd.Start())
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	return p
}

// exitCode waits up to d for the process to exit and returns its code.
func (p *proc) exitCode(t testing.TB, d time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		t.Fatalf("the server did not exit within %s", d)
		return -1
	}
}

// stop asks the server to exit (SIGINT, as Ctrl-C) and kills it if it will not.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// session is a running server with a connected client.
type session struct {
	Client *client.Client
	Stderr *lockedBuffer
	Wire   *wire // stdio only: what the server wrote, message by message
	Proc   *proc // stdio only

	mu            sync.Mutex
	notifications []mcp.JSONRPCNotification
}

func (s *session) progress(token string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, n := range s.notifications {
		if n.Method == "notifications/progress" && fmt.Sprint(n.Params.AdditionalFields["progressToken"]) == token {
			out = append(out, n.Params.AdditionalFields)
		}
	}
	return out
}

type startOptions struct {
	env        []string
	args       []string
	legacy     bool // pin the 2025-11-25 handshake that today's hosts use
	clientOpts []client.ClientOption
}

// protocols runs f once with the 2025-11-25 handshake today's hosts use and
// once with the newest protocol the mcp-go client speaks.
func protocols(t *testing.T, f func(t *testing.T, legacy bool)) {
	t.Run("2025-11-25", func(t *testing.T) { t.Parallel(); f(t, true) })
	t.Run("newest", func(t *testing.T) { t.Parallel(); f(t, false) })
}

// startStdio runs the binary as a host does and connects a client to its stdio.
func startStdio(t testing.TB, o startOptions) *session {
	t.Helper()
	cmd := exec.Command(binary, append(append([]string{}, fastFlags...), o.args...)...)
	cmd.Env = append(baseEnv(t), o.env...)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	s := &session{Stderr: &lockedBuffer{}, Wire: &wire{}}
	cmd.Stderr = s.Stderr
	s.Proc = startProc(t, cmd)

	pr, pw := io.Pipe()
	go func() { // tee the server's stdout: every line must be one JSON-RPC message
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			s.Wire.add(sc.Bytes())
			_, _ = pw.Write(append(sc.Bytes(), '\n'))
		}
		_ = pw.Close()
	}()
	tr := transport.NewIO(pr, stdin, io.NopCloser(strings.NewReader("")))
	s.Client = connect(t, tr, o.legacy, s, o.clientOpts...)
	t.Cleanup(func() {
		_ = s.Client.Close()
		_ = stdin.Close() // a stdio server exits when its input ends
		select {
		case <-s.Proc.exited:
		case <-time.After(10 * time.Second):
			s.Proc.stop()
		}
		if t.Failed() {
			t.Logf("server stderr:\n%s", s.Stderr.String())
		}
	})
	return s
}

// connect starts and initializes a client on tr, recording notifications.
func connect(t testing.TB, tr transport.Interface, legacy bool, s *session, opts ...client.ClientOption) *client.Client {
	t.Helper()
	if legacy {
		opts = append(opts, client.WithProtocolVersion(mcp.ProtocolVersion20251125))
	}
	c := client.NewClient(tr, opts...)
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.notifications = append(s.notifications, n)
	})
	// The SSE transport holds its event stream open with Start's context, so
	// that context lives as long as the test.
	life, end := context.WithCancel(context.Background())
	t.Cleanup(end)
	require.NoError(t, c.Start(life))
	ctx, cancel := context.WithTimeout(life, 30*time.Second)
	defer cancel()
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "vace-e2e", Version: "1"}
	res, err := c.Initialize(ctx, init)
	require.NoError(t, err)
	want := mcp.ProtocolVersion20251125
	if !legacy {
		want = mcp.LATEST_PROTOCOL_VERSION
	}
	require.Equal(t, want, res.ProtocolVersion)
	return c
}

// baseEnv is a clean environment: nothing of the developer's DashScope setup
// leaks in, and the process keeps its job journal and saves its videos in
// directories of the test's own, never in the developer's home (a later
// entry of the same name, from the test, wins). Auto-save is off, so that
// the fake sees only the queries and downloads a test's own calls make (a
// fault injected for a call is not taken by auto-save's look); the tests of
// auto-save turn it back on.
func baseEnv(t testing.TB) []string {
	env := []string{"VACE_MCP_STATE_DIR=" + t.TempDir(), "VACE_MCP_OUTPUT_DIR=" + t.TempDir(), "VACE_MCP_AUTO_SAVE=false"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DASHSCOPE_") && !strings.HasPrefix(kv, "VACE_MCP_") {
			env = append(env, kv)
		}
	}
	return env
}

// call calls a tool and returns its result (failing the test on a protocol error).
func call(t testing.TB, c *client.Client, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	res, err := callErr(t, c, name, args, "")
	require.NoError(t, err, "calling %s", name)
	return res
}

func callErr(t testing.TB, c *client.Client, name string, args map[string]any, progressToken string) (*mcp.CallToolResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	if progressToken != "" {
		req.Params.Meta = &mcp.Meta{ProgressToken: progressToken}
	}
	return c.CallTool(ctx, req)
}

// text joins a result's text content.
func text(r *mcp.CallToolResult) string {
	var parts []string
	for _, c := range r.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// structured decodes a result's structuredContent.
func structured(t testing.TB, r *mcp.CallToolResult) map[string]any {
	t.Helper()
	require.NotNil(t, r.StructuredContent, "no structuredContent in %s", text(r))
	b, err := json.Marshal(r.StructuredContent)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

var logLine = regexp.MustCompile(`msg="serving MCP over HTTP".* url=(http://[^/\s]+)/`)
