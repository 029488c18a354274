package tools

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
	"github.com/vace-mcp/vace-mcp/internal/journal"
	"github.com/vace-mcp/vace-mcp/internal/localfiles"
)

// meddledStore runs before, once, when the sender touches its intent: what
// happened to the journal while the files uploaded.
type meddledStore struct {
	journal.Store
	before  func(id int64) error // an error fails Touch
	done    atomic.Bool
	abandon error // fails Abandoned too: the journal stays down
}

func (m *meddledStore) Touch(ctx context.Context, id int64) error {
	if m.before != nil && m.done.CompareAndSwap(false, true) {
		if err := m.before(id); err != nil {
			return err
		}
	}
	return m.Store.Touch(ctx, id)
}

func (m *meddledStore) Abandoned(ctx context.Context, id int64, reason string) error {
	if m.abandon != nil {
		return m.abandon
	}
	return m.Store.Abandoned(ctx, id, reason)
}

var storeDown = &journal.UnavailableError{Path: "redis://127.0.0.1:1/0 (keys vace-mcp:*)", Err: errors.New("i/o timeout"),
	Hint: "check that Redis is running and reachable from here"}

// Just before its POST a submission confirms that its intent is still its
// own to send. If another instance settled it meanwhile, or the journal
// stopped answering, nothing is sent (it would be untracked, or paid twice),
// the call says so, and the intent is abandoned unless someone else's
// outcome stands.
func TestNothingIsSentUnlessTheJournalConfirmsTheIntentJustBeforeThePOST(t *testing.T) {
	req := dashscope.VideoOutpainting{Prompt: "a violinist", VideoURL: "https://x/v.mp4"}
	for _, tc := range []struct {
		name    string
		meddle  func(j journal.Store, id int64) error
		abandon error
		want    journal.State
	}{
		{"another instance found no task for it", func(j journal.Store, id int64) error {
			return j.NeverCreated(context.Background(), id)
		}, nil, journal.StateNeverCreated},
		{"another instance found it ambiguous", func(j journal.Store, id int64) error {
			return j.Ambiguous(context.Background(), id, "two candidates")
		}, nil, journal.StateAbandoned},
		{"another instance matched it to a task", func(j journal.Store, id int64) error {
			return j.Matched(context.Background(), id, "someone-elses-task", "RUNNING")
		}, nil, journal.StateAccepted},
		{"the journal did not answer for a moment", func(journal.Store, int64) error { return storeDown }, nil, journal.StateAbandoned},
		{"the journal stopped answering", func(journal.Store, int64) error { return storeDown }, storeDown, journal.StateIntent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(quickJob))
			c, err := fake.Client()
			require.NoError(t, err)
			inner := testJournal(t)
			store := &meddledStore{Store: inner, abandon: tc.abandon}
			store.before = func(id int64) error { return tc.meddle(inner, id) }
			out, err := localfiles.NewOutputDir(t.TempDir())
			require.NoError(t, err)
			s := New(Options{Client: c, Journal: store, Outputs: out})

			res := s.submit(t.Context(), req, false)
			require.True(t, res.IsError)
			msg := res.Content[0].(mcp.TextContent).Text
			assert.Contains(t, msg, "Not submitted: nothing was sent to DashScope or billed")
			assert.Contains(t, msg, "could not confirm")
			assert.Zero(t, fake.Count(dashscopetest.EndpointSubmit), "no POST")
			jobs, err := inner.List(t.Context(), time.Time{}, 0)
			require.NoError(t, err)
			require.Len(t, jobs, 1)
			assert.Equal(t, tc.want, jobs[0].State)
		})
	}
}

// Once the sender abandoned an intent it never sent, an identical request is
// sent at once.
func TestAnIntentNotSentDoesNotBlockItsRepeat(t *testing.T) {
	fake := dashscopetest.NewServer(t, dashscopetest.WithLifecycle(quickJob))
	c, err := fake.Client()
	require.NoError(t, err)
	store := &meddledStore{Store: testJournal(t), before: func(int64) error { return storeDown }}
	out, err := localfiles.NewOutputDir(t.TempDir())
	require.NoError(t, err)
	s := New(Options{Client: c, Journal: store, Outputs: out})
	req := dashscope.VideoOutpainting{Prompt: "a violinist", VideoURL: "https://x/v.mp4"}
	require.True(t, s.submit(t.Context(), req, false).IsError)
	res := s.submit(t.Context(), req, false)
	require.False(t, res.IsError, "%v", res.Content)
	assert.Equal(t, 1, fake.Count(dashscopetest.EndpointSubmit))
}
