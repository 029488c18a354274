package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// TestLoad runs 50 streamable HTTP clients at once, each making 20 tool
// calls, against the binary and the fake; all on loopback, bounded in count
// and time. It reports latency percentiles and the server's peak RSS.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: skipped with -short")
	}
	const clients, callsEach = 50, 20
	fake := newFake(t, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: time.Hour}))
	// The account's 20 queries/s would make this a test of the rate limiter.
	h := startHTTP(t, "http", fakeEnv(fake), "--query-rate", "5000")
	setup := connectHTTP(t, h, "http", true, nil)
	id := structured(t, call(t, setup.Client, "video_outpainting", map[string]any{"prompt": "load", "video_url": "https://x/v.mp4"}))["task_id"]

	start := time.Now()
	latencies, failures := load(t, h, clients, callsEach, func(_, j int) (string, map[string]any) {
		if j%4 == 3 {
			return "list_tasks", map[string]any{}
		}
		return "get_task", map[string]any{"task_id": id}
	}, nil)
	elapsed := time.Since(start)
	require.Empty(t, failures, "zero errors under load")
	require.Len(t, latencies, clients*callsEach)
	p50, p99 := percentile(latencies, 50), percentile(latencies, 99)
	rss := peakRSS(t, h.Proc.cmd.Process.Pid)
	t.Logf("load: %d clients x %d calls in %s (%.0f calls/s): p50 %s, p99 %s, server peak RSS %s",
		clients, callsEach, elapsed.Round(time.Millisecond), float64(clients*callsEach)/elapsed.Seconds(),
		p50.Round(100*time.Microsecond), p99.Round(100*time.Microsecond), rss)
	assert.Less(t, p99, 10*time.Second, "no call starves")
}

// load runs clients streamable HTTP clients at once against h, each making
// callsEach tool calls that call(client, call) names; check, when set, says
// what is wrong with a result. It returns every call's latency and what
// failed.
func load(t *testing.T, h *httpServer, clients, callsEach int, call func(client, call int) (string, map[string]any),
	check func(*mcp.CallToolResult) error) (latencies []time.Duration, failures []string) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			s := connectHTTP(t, h, "http", true, nil)
			for j := range callsEach {
				req := mcp.CallToolRequest{}
				req.Params.Name, req.Params.Arguments = call(i, j)
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				t0 := time.Now()
				res, err := s.Client.CallTool(ctx, req)
				d := time.Since(t0)
				cancel()
				mu.Lock()
				latencies = append(latencies, d)
				switch {
				case err != nil:
					failures = append(failures, fmt.Sprintf("client %d call %d: %v", i, j, err))
				case res.IsError:
					failures = append(failures, fmt.Sprintf("client %d call %d: %s", i, j, text(res)))
				case check != nil:
					if err := check(res); err != nil {
						failures = append(failures, fmt.Sprintf("client %d call %d: %v", i, j, err))
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return latencies, failures
}

// percentile is the p-th percentile of ds (sorted in place).
func percentile(ds []time.Duration, p int) time.Duration {
	slices.Sort(ds)
	return ds[min(len(ds)*p/100, len(ds)-1)]
}

// peakRSS reads the process's high-water resident set size (Linux).
func peakRSS(t *testing.T, pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// BenchmarkGetTaskRoundTrip compares one get_task through the binary's
// streamable HTTP transport with one query made directly to the fake, in the
// same run. The server answers all but one get_task a second from what it
// read within that second, so the first figure is the server's overhead.
func BenchmarkGetTaskRoundTrip(b *testing.B) {
	fake := dashscopetest.NewServer(b, dashscopetest.WithLifecycle(dashscopetest.Lifecycle{Run: time.Hour}))
	direct, err := fake.Client(dashscope.WithRateLimits(dashscope.RateLimits{Query: 1e6}))
	require.NoError(b, err)
	task, err := direct.Submit(b.Context(), dashscope.VideoOutpainting{Prompt: "p", VideoURL: "https://x/v.mp4"})
	require.NoError(b, err)

	b.Run("bare-fake", func(b *testing.B) {
		for b.Loop() {
			if _, err := direct.QueryTask(b.Context(), task.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("mcp-streamable-http", func(b *testing.B) {
		h := startHTTP(b, "http", fakeEnv(fake), "--query-rate", "1000000")
		s := connectHTTP(b, h, "http", true, nil).Client
		req := mcp.CallToolRequest{}
		req.Params.Name = "get_task"
		req.Params.Arguments = map[string]any{"task_id": task.ID}
		for b.Loop() {
			res, err := s.CallTool(b.Context(), req)
			if err != nil || res.IsError {
				b.Fatal(err, res)
			}
		}
	})
}
