package mcphttp

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServeShutsDownGracefully(t *testing.T) {
	const grace = 300 * time.Millisecond
	tests := []struct {
		name string
		tool string
		args map[string]any
		// finishes reports whether the call ends within the grace (and gets
		// its result) or is cancelled when the grace is over.
		finishes bool
	}{
		{"call finishing within the grace", "slow", map[string]any{"steps": 5, "delay_ms": 20}, true},
		{"call outliving the grace", "block", map[string]any{"label": "outlives"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := runtime.NumGoroutine()

			tools := newToolServer()
			h := NewHandler(tools.mcp, Options{Logger: slog.New(slog.DiscardHandler)})
			ln, err := Listen("127.0.0.1:0")
			require.NoError(t, err)
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			served := make(chan error, 1)
			go func() { served <- Serve(ctx, ln, h, ServeOptions{Grace: grace}) }()

			// A client of its own, so its idle connections can be closed.
			httpClient := &http.Client{Transport: &http.Transport{}}
			tr, err := transport.NewStreamableHTTP("http://"+ln.Addr().String()+PathStreamable,
				transport.WithHTTPBasicClient(httpClient), transport.WithLogger(quietLog))
			require.NoError(t, err)
			c := client.NewClient(tr, client.WithProtocolVersion(mcp.ProtocolVersion20251125))
			startClient(t, c)

			type outcome struct {
				res *mcp.CallToolResult
				err error
			}
			called := make(chan outcome, 1)
			go func() {
				callCtx, cancel := context.WithTimeout(context.Background(), waitLimit)
				defer cancel()
				res, err := callTool(callCtx, c, tt.tool, tt.args)
				called <- outcome{res, err}
			}()
			if tt.finishes {
				receive(t, tools.slowStarted, "the slow call to start")
			} else {
				receive(t, tools.blocked, "the blocking call to start")
			}

			start := time.Now()
			stop()
			select {
			case err := <-served:
				require.NoError(t, err)
			case <-time.After(grace + waitLimit):
				require.FailNow(t, "Serve did not return")
			}
			elapsed := time.Since(start)

			got := <-called
			if tt.finishes {
				require.NoError(t, got.err)
				assert.Equal(t, "done <nil>", resultText(got.res))
			} else {
				assert.GreaterOrEqual(t, elapsed, grace, "in-flight requests get the whole grace")
				assert.Less(t, elapsed, grace+cancelWait, "Serve returns once cancelled handlers return")
				assert.Equal(t, "outlives", receive(t, tools.unblocked, "the blocking call to be cancelled"))
				assert.ErrorContains(t, got.err, "shutting down", "the call is answered, with why")
			}

			_ = c.Close() // its DELETE fails: the server is gone
			httpClient.CloseIdleConnections()
			h.Close()
			require.Eventually(t, func() bool { return runtime.NumGoroutine() <= before+2 }, waitLimit, 20*time.Millisecond,
				"goroutines: %d before, %d after", before, runtime.NumGoroutine())
		})
	}
}

func TestServeReturnsListenerErrors(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, ln.Close())
	err = Serve(context.Background(), ln, http.NotFoundHandler(), ServeOptions{Grace: time.Second})
	assert.Error(t, err)
}

func TestListenReportsTheBoundPort(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	assert.NotEqual(t, "127.0.0.1:0", ln.Addr().String())

	_, err = Listen(ln.Addr().String())
	assert.Error(t, err, "the port is taken")
}

func TestCheckExposure(t *testing.T) {
	tests := []struct {
		addr     string
		token    string
		insecure bool
		wantErr  bool
	}{
		{"localhost:8080", "", false, false},
		{"127.0.0.1:8080", "", false, false},
		{"127.0.0.1:0", "", false, false},
		{"[::1]:8080", "", false, false},
		{"0.0.0.0:8080", "", false, true},
		{":8080", "", false, true},
		{"192.168.1.5:8080", "", false, true},
		{"[::]:8080", "", false, true},
		{"example.com:8080", "", false, true},
		{"0.0.0.0:8080", "token", false, false},
		{":8080", "", true, false},
		{"[::]:8080", "token", true, false},
		{"127.0.0.1", "", false, true}, // no port
		{"", "", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			err := CheckExposure(tt.addr, tt.token, tt.insecure)
			if !tt.wantErr {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			if _, _, splitErr := net.SplitHostPort(tt.addr); splitErr == nil {
				assert.True(t, errors.Is(err, ErrUnauthenticatedExposure), err)
				assert.Contains(t, err.Error(), "auth token")
				assert.Contains(t, err.Error(), tt.addr)
			}
		})
	}
}

func TestAClientSlowToSendItsHeadersIsCutOff(t *testing.T) {
	ln, err := Listen("127.0.0.1:0")
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- Serve(ctx, ln, http.NotFoundHandler(), ServeOptions{Grace: time.Second, ReadHeaderTimeout: 100 * time.Millisecond})
	}()
	defer func() { stop(); <-served }()

	conn, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")) // and then nothing
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(waitLimit)))
	start := time.Now()
	_, err = io.ReadAll(conn) // the server answers (408) and closes, or just closes
	require.NoError(t, err, "the server closed the connection rather than waiting for ever")
	assert.Less(t, time.Since(start), 5*time.Second, "cut off by the configured 100 ms, not the 10 s default")
}
