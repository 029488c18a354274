package dashscope

import (
	"context"
	"time"
)

// Limiter paces requests of one kind: Wait returns when the next request may
// be sent, or with ctx's error. A *rate.Limiter of golang.org/x/time/rate is
// one; a limiter shared by several processes spending one account is another.
type Limiter interface {
	Wait(ctx context.Context) error
}

// WithLimiters sets the limiters that pace submissions, task queries (and
// cancels and lists) and upload-policy requests, in place of the client's own
// local ones; a nil one keeps the local one of [WithRateLimits]' rate. Pass
// nil itself, not a typed nil pointer, to keep a default.
func WithLimiters(submit, query, upload Limiter) Option {
	return func(c *Client) {
		c.sharedLimiters = [3]Limiter{submit, query, upload}
	}
}

// SharedPolls lets several clients (instances of a service spending one
// account) share one poller per task: the client holding a task's lease
// queries the service and publishes what it read, and the others read that
// instead of querying, so any number of instances waiting on one task cost
// the queries of one. Any method's error makes the client query the service
// itself, as it does without SharedPolls: an unreachable store costs queries,
// never answers.
type SharedPolls interface {
	// Lease makes this client the poller of taskID for ttl, or extends its
	// lease; false when another client holds it.
	Lease(ctx context.Context, taskID string, ttl time.Duration) (bool, error)
	// Release gives the lease up, if this client holds it, so that another
	// client's waiters need not wait for it to expire.
	Release(ctx context.Context, taskID string) error
	// Publish shares a query's answer, read just now. A task that has ended
	// is never replaced by an earlier, running state.
	Publish(ctx context.Context, t *Task) error
	// Latest returns the newest answer published about taskID and how long
	// ago it was published (by the store's clock, so the clients' clocks
	// need not agree); a nil task when there is none.
	Latest(ctx context.Context, taskID string) (*Task, time.Duration, error)
}

// WithSharedPolls makes the client share its pollers and query answers with
// other clients through s (see [SharedPolls]).
func WithSharedPolls(s SharedPolls) Option { return func(c *Client) { c.shared = s } }

// leaseMargin is added to twice the poll interval to make a poller's lease:
// room for a query's retries, so that a lease rarely lapses while its holder
// is still at work, at the price of waiting that long for a holder that died
// without releasing it.
const leaseMargin = 5 * time.Second

// sharedLatest returns the newest published state of a task, as an
// observation this client made age ago by its clock; a nil task when there
// is none. An answer about another task is ignored.
func (c *Client) sharedLatest(ctx context.Context, taskID string) (*Task, time.Time, error) {
	t, age, err := c.shared.Latest(ctx, taskID)
	if err != nil || t == nil || t.ID != taskID {
		return nil, time.Time{}, err
	}
	return t, c.clock.Now().Add(-max(age, 0)), nil
}

// publish shares a query's answer; a failure only costs other clients a query.
func (c *Client) publish(ctx context.Context, t *Task) {
	if c.shared != nil {
		_ = c.shared.Publish(context.WithoutCancel(ctx), t)
	}
}
