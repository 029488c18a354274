package dashscope_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// countingLimiter lets everything through and counts the waits.
type countingLimiter struct{ n atomic.Int64 }

func (l *countingLimiter) Wait(context.Context) error { l.n.Add(1); return nil }

func TestWithLimitersPacesEachKindByItsLimiterAndNilKeepsTheLocalOne(t *testing.T) {
	srv := dashscopetest.NewServer(t)
	submit, query := &countingLimiter{}, &countingLimiter{}
	c := newClient(t, srv, dashscope.WithLimiters(submit, query, nil))

	task, err := c.Submit(t.Context(), outpaint)
	require.NoError(t, err)
	_, err = c.QueryTask(t.Context(), task.ID)
	require.NoError(t, err)
	require.NoError(t, c.CancelTask(t.Context(), task.ID))
	_, err = c.ListTasks(t.Context(), dashscope.ListFilter{})
	require.NoError(t, err)

	assert.Equal(t, int64(1), submit.n.Load())
	assert.Equal(t, int64(3), query.n.Load(), "queries, cancels and lists")
}
