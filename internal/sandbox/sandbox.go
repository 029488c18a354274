// Package sandbox runs vace-mcp against a simulated DashScope in the same
// process: the project's fake (dashscopetest) on a loopback port, with
// realistic timings compressed in time and a small real MP4 as every result.
// It needs no API key and no network, and bills nothing.
package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// Speed is how much faster than real time the sandbox runs: a typical
// five-minute job finishes in ten seconds.
const Speed = 30

// FailMarker in a prompt makes the simulated task fail, to try error handling.
const FailMarker = "[sandbox:fail]"

// QueueMarker in a prompt keeps the simulated task PENDING (queued) for ten
// simulated minutes (20 s of real time), long enough to cancel it for sure.
const QueueMarker = "[sandbox:queue]"

// Sandbox is a running simulated DashScope.
type Sandbox struct {
	fake *dashscopetest.Server
	// Client talks to the simulated DashScope.
	Client *dashscope.Client
}

// Start starts the simulated DashScope and a client for it. Close it when done.
func Start(opts ...dashscope.Option) (*Sandbox, error) {
	clock := dashscope.NewScaledClock(Speed)
	fake := dashscopetest.New(
		dashscopetest.WithAPIKey(randomKey()),
		dashscopetest.WithClock(clock),
		dashscopetest.WithScript(script),
		dashscopetest.WithRequestLimit(256), // a sandbox server may run for days
	)
	base := []dashscope.Option{
		dashscope.WithAPIKey(fake.APIKey()), dashscope.WithBaseURL(fake.BaseURL()), dashscope.WithClock(clock),
	}
	client, err := dashscope.NewClient(append(base, opts...)...)
	if err != nil {
		fake.Close()
		return nil, err
	}
	return &Sandbox{fake: fake, Client: client}, nil
}

// BaseURL is the simulated DashScope's API root (…/api/v1), and APIKey the
// key it accepts: what `vace-mcp simulate` prints for other processes.
func (s *Sandbox) BaseURL() string { return s.fake.BaseURL() }

// APIKey is the key the simulated DashScope accepts.
func (s *Sandbox) APIKey() string { return s.fake.APIKey() }

// URL is the simulated DashScope's address.
func (s *Sandbox) URL() string { return s.fake.URL }

// Close stops the simulated DashScope.
func (s *Sandbox) Close() { s.fake.Close() }

// script gives each simulated job a typical life: a few seconds queued, then
// four to six minutes running (by VACE function; two and a half for
// wan2.7-videoedit), or a quick failure on request.
func script(sub dashscopetest.Submission) dashscopetest.Lifecycle {
	if strings.Contains(sub.Prompt, QueueMarker) {
		return dashscopetest.Lifecycle{Queue: 10 * time.Minute, Run: 150 * time.Second, VideoDuration: 5}
	}
	if strings.Contains(sub.Prompt, FailMarker) {
		return dashscopetest.Lifecycle{Queue: 2 * time.Second, Run: 20 * time.Second,
			FailCode: "InvalidParameter", FailMessage: "simulated failure: the prompt contains " + FailMarker}
	}
	if sub.Model == dashscope.EditModel { // wan2.7-videoedit: 1-5 minutes
		return dashscopetest.Lifecycle{Queue: 3 * time.Second, Run: 150 * time.Second}
	}
	run := 5 * time.Minute
	switch sub.Function {
	case string(dashscope.FunctionImageReference), string(dashscope.FunctionVideoExtension):
		run = 4 * time.Minute
	case string(dashscope.FunctionVideoEdit):
		run = 6 * time.Minute
	}
	return dashscopetest.Lifecycle{Queue: 3 * time.Second, Run: run, VideoDuration: 5}
}

func randomKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "sk-sandbox-" + hex.EncodeToString(b)
}
