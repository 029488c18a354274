package dashscopetest

import (
	"context"
	"sync"
	"time"
)

// ManualClock is a clock that moves only when the test moves it, for tests
// that must not depend on how fast the machine is.
type ManualClock struct {
	mu       sync.Mutex
	now      time.Time
	changed  chan struct{}       // closed and replaced on every Advance
	sleepers map[*time.Time]bool // wake times of goroutines in Sleep not yet due
	slept    chan struct{}       // closed and replaced when a goroutine starts sleeping
}

// NewManualClock returns a clock standing at start.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start, changed: make(chan struct{}), sleepers: map[*time.Time]bool{}, slept: make(chan struct{})}
}

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d, waking sleepers whose time has come.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advanceLocked(d)
}

func (c *ManualClock) advanceLocked(d time.Duration) {
	c.now = c.now.Add(d)
	for until := range c.sleepers {
		if !c.now.Before(*until) {
			delete(c.sleepers, until) // due: no longer counts as asleep
		}
	}
	close(c.changed)
	c.changed = make(chan struct{})
}

// AdvanceToNextSleeper waits until some goroutine sleeps on the clock, then
// moves the clock to the earliest time a sleeper is due, waking it. It lets a
// test run code on the clock's time alone: the clock moves only when the code
// waits for it. It returns ctx.Err() if ctx ends first.
func (c *ManualClock) AdvanceToNextSleeper(ctx context.Context) error {
	for {
		c.mu.Lock()
		if len(c.sleepers) > 0 {
			var next time.Time
			for until := range c.sleepers {
				if next.IsZero() || until.Before(next) {
					next = *until
				}
			}
			c.advanceLocked(next.Sub(c.now))
			c.mu.Unlock()
			return nil
		}
		slept := c.slept
		c.mu.Unlock()
		select {
		case <-slept:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Sleep returns once the clock has been advanced by d, or when ctx ends.
func (c *ManualClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	c.mu.Lock()
	until := c.now.Add(d)
	c.sleepers[&until] = true
	close(c.slept)
	c.slept = make(chan struct{})
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.sleepers, &until)
		c.mu.Unlock()
	}()
	for {
		c.mu.Lock()
		now, changed := c.now, c.changed
		c.mu.Unlock()
		if !now.Before(until) {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
