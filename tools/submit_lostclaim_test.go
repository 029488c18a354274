package tools

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
	"github.com/vace-mcp/vace-mcp/internal/journal"
	"github.com/vace-mcp/vace-mcp/internal/journal/redisjournal"
	"github.com/vace-mcp/vace-mcp/internal/localfiles"
	"github.com/vace-mcp/vace-mcp/internal/redistest"
)

// lostReplyStore loses the reply of its first Claim: the claim ran in the
// store, but its caller got an error, as when Redis is busy past the call's
// deadline. Its first failAbandons AbandonClaims fail as a store that does
// not answer.
type lostReplyStore struct {
	journal.Store
	failAbandons int

	mu       sync.Mutex
	claims   []string // the tokens claimed with
	abandons []string // the tokens given up, failed tries too
}

func (l *lostReplyStore) Claim(ctx context.Context, in journal.Intent, r journal.Rules) (*journal.Job, bool, error) {
	l.mu.Lock()
	l.claims = append(l.claims, in.Token)
	first := len(l.claims) == 1
	l.mu.Unlock()
	job, owner, err := l.Store.Claim(ctx, in, r)
	if first {
		return nil, false, storeDown
	}
	return job, owner, err
}

func (l *lostReplyStore) AbandonClaim(ctx context.Context, token string) (int64, error) {
	l.mu.Lock()
	l.abandons = append(l.abandons, token)
	fail := len(l.abandons) <= l.failAbandons
	l.mu.Unlock()
	if fail {
		return 0, storeDown
	}
	return l.Store.AbandonClaim(ctx, token)
}

func (l *lostReplyStore) tokens() (claims, abandons []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.claims...), append([]string(nil), l.abandons...)
}

// syncBuffer is a log that tests read while the service writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A claim whose reply was lost recorded an intent in Redis that the call,
// which refused the submission, never sends. The call gives the claim up
// in the background (trying again while the store does not answer), so an
// identical request is sent at once, instead of being refused as in flight
// for two minutes and then as of unknown outcome until reconciliation.
func TestAClaimWhoseReplyWasLostDoesNotBlockItsRepeat(t *testing.T) {
	srv := redistest.Start(t)
	inner, err := redisjournal.Open(t.Context(), redisjournal.Options{URL: srv.URL, Prefix: srv.Prefix})
	require.NoError(t, err)
	t.Cleanup(func() { _ = inner.Close() })
	fake := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(quickJob))
	c, err := fake.Client()
	require.NoError(t, err)
	store := &lostReplyStore{Store: inner, failAbandons: 2}
	out, err := localfiles.NewOutputDir(t.TempDir())
	require.NoError(t, err)
	var logs syncBuffer
	s := New(Options{Client: c, Journal: store, Outputs: out, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	t.Cleanup(s.Stop)
	req := dashscope.VideoOutpainting{Prompt: "a violinist", VideoURL: "https://x/v.mp4"}

	res := s.submit(t.Context(), req, false)
	require.True(t, res.IsError)
	assert.Contains(t, res.Content[0].(mcp.TextContent).Text, "paid submissions are refused until it works again")
	jobs, err := inner.List(t.Context(), time.Time{}, 0)
	require.NoError(t, err)
	require.Len(t, jobs, 1, "the lost claim recorded its intent")
	orphan := jobs[0].ID

	require.Eventually(t, func() bool {
		job, err := inner.Get(t.Context(), orphan)
		return err == nil && job.State == journal.StateAbandoned
	}, 10*time.Second, 20*time.Millisecond, "the call gives up its claim")
	claims, abandons := store.tokens()
	require.Len(t, claims, 1)
	assert.NotEmpty(t, claims[0])
	assert.Equal(t, []string{claims[0], claims[0], claims[0]}, abandons, "the claim's token, tried again while the store did not answer")
	assert.Contains(t, logs.String(), "abandoned the intent of a claim whose reply was lost")

	start := time.Now()
	res = s.submit(t.Context(), req, false)
	require.False(t, res.IsError, "%v", res.Content)
	assert.Less(t, time.Since(start), 10*time.Second, "not held as in flight")
	assert.Equal(t, 1, fake.Count(dashscopetest.EndpointSubmit), "one POST, for the repeat")
	claims, _ = store.tokens()
	require.Len(t, claims, 2)
	assert.NotEqual(t, claims[0], claims[1], "each claim has a token of its own")
}

// A claim refused for the budget is a decision: nothing was recorded, and
// there is nothing to give up.
func TestAClaimOverBudgetIsNotGivenUp(t *testing.T) {
	fake := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(quickJob))
	c, err := fake.Client()
	require.NoError(t, err)
	store := &lostReplyStore{Store: testJournal(t)}
	store.claims = []string{"a claim before"} // no reply is lost
	out, err := localfiles.NewOutputDir(t.TempDir())
	require.NoError(t, err)
	s := New(Options{Client: c, Journal: store, Outputs: out, DailyBudget: 0.01})
	res := s.submit(t.Context(), dashscope.VideoOutpainting{Prompt: "a violinist", VideoURL: "https://x/v.mp4"}, false)
	require.True(t, res.IsError)
	assert.Contains(t, res.Content[0].(mcp.TextContent).Text, "daily budget")
	s.Stop() // waits for any background work
	_, abandons := store.tokens()
	assert.Empty(t, abandons)
}
