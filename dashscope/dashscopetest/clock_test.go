package dashscopetest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

func TestManualClockMovesOnlyWhenAdvanced(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	c := dashscopetest.NewManualClock(start)
	woke := make(chan error, 1)
	go func() { woke <- c.Sleep(context.Background(), time.Minute) }()
	c.Advance(30 * time.Second)
	select {
	case <-woke:
		t.Fatal("woke after half the sleep")
	case <-time.After(20 * time.Millisecond):
	}
	c.Advance(30 * time.Second)
	require.NoError(t, <-woke)
	assert.Equal(t, start.Add(time.Minute), c.Now())

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, c.Sleep(ctx, time.Hour), context.Canceled)
}
