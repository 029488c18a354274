package e2e

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// TestEightProcessesRacingSubmitsPayOncePerRequest: 8 server processes
// sharing one journal each get 50 concurrent submissions: half of them one
// request every process is sent, the rest 5 requests of the process's own,
// 5 times each. Every distinct request is POSTed once and every call is
// answered with its task, none with the journal's lock.
func TestEightProcessesRacingSubmitsPayOncePerRequest(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: skipped with -short")
	}
	const processes, callsEach, ownRequests = 8, 50, 5
	fake := newFake(t)
	state, out := t.TempDir(), t.TempDir()
	sessions := make([]*session, processes)
	for p := range sessions {
		// Auto-save off: following every job every 100 ms (the tests' poll
		// interval) in 8 processes is a load of its own, not the submissions'.
		sessions[p] = startStdio(t, startOptions{env: append(fakeEnv(fake), "VACE_MCP_STATE_DIR="+state, "VACE_MCP_AUTO_SAVE=false"),
			args: []string{"--output-dir", out}})
	}

	var mu sync.Mutex
	taskOf := map[string]map[string]bool{} // request → the task ids its calls got
	var failures []string
	var wg sync.WaitGroup
	for p, s := range sessions {
		for i := range callsEach {
			request := "the same for every process"
			if i%2 == 1 {
				request = fmt.Sprintf("process %d's own, number %d", p, i%ownRequests)
			}
			wg.Go(func() {
				res, err := callErr(t, s.Client, "video_outpainting", map[string]any{"prompt": request, "video_url": "https://x/v.mp4"}, "")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					failures = append(failures, fmt.Sprintf("process %d call %d: %v", p, i, err))
				case res.IsError:
					failures = append(failures, fmt.Sprintf("process %d call %d: %s", p, i, text(res)))
				default:
					if taskOf[request] == nil {
						taskOf[request] = map[string]bool{}
					}
					m, _ := res.StructuredContent.(map[string]any) // not structured(): require may not stop a test from here
					taskOf[request][fmt.Sprint(m["task_id"])] = true
				}
			})
		}
	}
	wg.Wait()
	require.Empty(t, failures, "no call fails, none on the journal's lock")
	require.Len(t, taskOf, 1+processes*ownRequests)
	for request, ids := range taskOf {
		assert.Len(t, ids, 1, "every call for %q got the same task", request)
	}
	assert.Equal(t, 1+processes*ownRequests, fake.Count(dashscopetest.EndpointSubmit), "one POST per distinct request")
}
