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
	woke := make(chan time.Time, 1)
	go func() {
		_ = c.Sleep(context.Background(), time.Minute)
		woke <- c.Now()
	}()
	// Advance in steps until the sleeper wakes; however late it started, it
	// must not wake before a full minute has passed on the clock.
	var at time.Time
	for i := 0; at.IsZero(); i++ {
		require.Less(t, i, 10000, "the sleeper never woke")
		select {
		case at = <-woke:
		default:
			c.Advance(10 * time.Second)
			time.Sleep(time.Millisecond)
		}
	}
	assert.GreaterOrEqual(t, at.Sub(start), time.Minute)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, c.Sleep(ctx, time.Hour), context.Canceled)
}
