package e2e

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkStartToInitialized times what a host waits for when it starts the
// server over stdio: from exec to the initialize answer and the initialized
// notification sent. The journal is opened at start: made anew (the first
// start on a machine), already there (every start after), or unavailable
// (its directory cannot be made), which shows what opening it costs.
func BenchmarkStartToInitialized(b *testing.B) {
	fake := newFake(b)
	for _, journal := range []string{"new", "existing", "unavailable"} {
		b.Run("journal="+journal, func(b *testing.B) {
			root := b.TempDir()
			state := root
			if journal == "unavailable" {
				notDir := filepath.Join(root, "file")
				require.NoError(b, os.WriteFile(notDir, nil, 0o600))
				state = filepath.Join(notDir, "state")
			}
			for b.Loop() {
				if journal == "new" {
					b.StopTimer()
					d, err := os.MkdirTemp(root, "state-")
					require.NoError(b, err)
					state = d
					b.StartTimer()
				}
				startAndInitialize(b, append(fakeEnv(fake), "VACE_MCP_STATE_DIR="+state))
			}
		})
	}
}

// startAndInitialize starts the binary, completes the MCP handshake, and
// then (off the clock) ends it by closing its input.
func startAndInitialize(b *testing.B, env []string) {
	cmd := exec.Command(binary)
	cmd.Env = append(baseEnv(b), env...)
	in, err := cmd.StdinPipe()
	require.NoError(b, err)
	out, err := cmd.StdoutPipe()
	require.NoError(b, err)
	require.NoError(b, cmd.Start())
	_, err = io.WriteString(in, `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`+"\n")
	require.NoError(b, err)
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(b, err)
	require.True(b, strings.Contains(line, `"result"`), line)
	_, err = io.WriteString(in, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n")
	require.NoError(b, err)
	b.StopTimer()
	_ = in.Close() // a stdio server exits when its input ends
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	b.StartTimer()
}
