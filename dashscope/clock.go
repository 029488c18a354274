package dashscope

import (
	"context"
	"time"
)

// Clock is the client's source of time: task ages, poll intervals and retry
// pauses are all measured with it, so a scaled clock speeds a whole job up.
type Clock interface {
	Now() time.Time
	// Sleep pauses for d or until ctx ends, returning ctx.Err() in that case.
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// Sleep waits for d of wall time or until ctx ends.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ScaledClock runs Factor times faster than the wall clock from the moment it
// is made: a simulated five-minute job takes five minutes / Factor.
type ScaledClock struct {
	factor float64
	origin time.Time
}

// NewScaledClock returns a clock running factor times faster than real time.
func NewScaledClock(factor float64) *ScaledClock {
	if factor <= 0 {
		factor = 1
	}
	return &ScaledClock{factor: factor, origin: time.Now()}
}

// Factor is how many simulated seconds pass in one real second.
func (c *ScaledClock) Factor() float64 { return c.factor }

// Now returns the simulated time.
func (c *ScaledClock) Now() time.Time {
	return c.origin.Add(time.Duration(float64(time.Since(c.origin)) * c.factor))
}

// Sleep waits for d of simulated time.
func (c *ScaledClock) Sleep(ctx context.Context, d time.Duration) error {
	return RealClock{}.Sleep(ctx, c.Real(d))
}

// Real converts a simulated duration to wall time.
func (c *ScaledClock) Real(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.factor)
}
