package dashscope

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Observation is one look at a task: its state when polled, and when.
type Observation struct {
	Task *Task
	// At is when the state was read, by the client's clock.
	At time.Time
	// Age is the task's age then (time since submission).
	Age time.Duration
	// Err is the error of the poll, if it failed; Task then holds the last good state.
	Err error
	// Function is the editing function that made the task, when this client submitted it.
	Function Function
}

// WaitOptions tunes one [Client.Wait].
type WaitOptions struct {
	// OnUpdate receives each observation the waiter sees, oldest first. A slow
	// callback only skips states that were already superseded; it never
	// delays the poller or other waiters.
	OnUpdate func(Observation)
}

// Wait polls a task until it is terminal (SUCCEEDED, FAILED, CANCELED or
// UNKNOWN) and returns it, or returns when ctx ends with the last observed
// state (nil if none yet) and ctx.Err(). It also returns early, with the
// error, when the service refuses the query itself (say, a revoked key).
//
// All waiters on one task share one poller, so a thousand waiters cost what
// one does, and the poller stops when the last of them leaves. With
// [WithSharedPolls], the pollers of several clients share one stream of
// queries: one holds the task's lease and queries, the others read what it
// published (see [SharedPolls]). Polling
// follows the client's [PollSchedule] keyed on the task's age, so a wait that
// resumes where an earlier one gave up carries on where it was.
func (c *Client) Wait(ctx context.Context, taskID string, opts WaitOptions) (*Task, error) {
	if err := checkTaskID(taskID); err != nil {
		return nil, err
	}
	w := c.tracker.join(c, taskID)
	defer c.tracker.leave(w)

	var seen uint64
	var last *Task
	for {
		obs, version, changed, done := w.snapshot()
		if version > seen {
			seen = version
			if obs.Task != nil {
				last = obs.Task
			}
			if opts.OnUpdate != nil {
				opts.OnUpdate(obs)
			}
		}
		if done {
			if obs.Task != nil && obs.Task.Status.Terminal() {
				return obs.Task, nil
			}
			return last, obs.Err
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return last, ctx.Err()
		}
	}
}

// LastObservation returns the newest state the client has seen of a task,
// from a poll, a query or its submission, without calling the service.
func (c *Client) LastObservation(taskID string) (Observation, bool) {
	return c.tracker.last(taskID)
}

// tracker keeps what the client knows of each task and runs one poller per
// task that has waiters.
type tracker struct {
	mu       sync.Mutex
	pollers  map[string]*poller
	history  map[string]*record
	inserted int
}

// record is what is known of a task between waits.
type record struct {
	submittedAt time.Time // by the client's clock; zero when unknown
	function    Function  // set when this client submitted the task
	last        Observation
	// queried is whether last is a query's answer, not the submission's,
	// which lacks the task's times.
	queried bool
}

func newTracker() *tracker {
	return &tracker{pollers: map[string]*poller{}, history: map[string]*record{}}
}

// historyTTL is how long a task is remembered: the service forgets it after 24 h.
const historyTTL = ResultTTL + time.Hour

func (t *tracker) submitted(task *Task, fn Function, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.recordLocked(task.ID, now)
	r.submittedAt, r.function = now, fn
	r.last = Observation{Task: task, At: now, Function: fn}
	r.queried = false
}

func (t *tracker) observed(task *Task, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.recordLocked(task.ID, now)
	r.last = Observation{Task: task, At: now, Age: r.age(task, now), Function: r.function}
	r.queried = true
}

// observedAt records a state another client read at at (see [SharedPolls])
// and reports whether it did: not when this client knows a newer state, nor
// a running state once the task is known to have ended.
func (t *tracker) observedAt(task *Task, at time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	r := t.recordLocked(task.ID, at)
	if last := r.last.Task; last != nil {
		if !at.After(r.last.At) || r.queried && ended(last.Status) && !task.Status.Terminal() {
			return false
		}
	}
	r.last = Observation{Task: task, At: at, Age: r.age(task, at), Function: r.function}
	r.queried = true
	return true
}

// ended reports whether a status is final: UNKNOWN is not, as the service
// may answer it for a task it has only just made.
func ended(s TaskStatus) bool { return s.Terminal() && s != StatusUnknown }

// freshFor is how long a query's answer about a running task stands for the
// task's state: a second, as stale as a person or an agent could notice, and
// enough to turn any number of callers asking about one task into one query
// a second.
const freshFor = time.Second

// known returns the task's last queried state when it cannot be stale: an
// ended task whose result is still valid, or a running one read within
// freshFor. UNKNOWN is asked again, as the service may answer it for a task
// it has only just made.
func (t *tracker) known(id string, now time.Time) (*Task, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.history[id]
	if !ok || !r.queried || r.last.Task == nil {
		return nil, false
	}
	task := r.last.Task
	switch task.Status {
	case StatusUnknown:
		return nil, false
	case StatusSucceeded, StatusFailed, StatusCanceled:
		exp := task.Expires()
		return task, !exp.IsZero() && now.Before(exp)
	}
	return task, now.Sub(r.last.At) < freshFor
}

func (t *tracker) last(taskID string) (Observation, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.history[taskID]
	if !ok || r.last.Task == nil {
		return Observation{}, false
	}
	return r.last, true
}

// recordLocked returns the task's record, creating it and now and then
// forgetting tasks the service has forgotten too.
func (t *tracker) recordLocked(id string, now time.Time) *record {
	if r, ok := t.history[id]; ok {
		return r
	}
	t.inserted++
	if t.inserted%1024 == 0 {
		for k, r := range t.history {
			if now.Sub(r.last.At) > historyTTL {
				delete(t.history, k)
			}
		}
	}
	r := &record{}
	t.history[id] = r
	return r
}

// age is the task's age at now: from the client's own submission time when it
// made the task, else from the service's submit time.
func (r *record) age(task *Task, now time.Time) time.Duration {
	switch {
	case !r.submittedAt.IsZero():
		return now.Sub(r.submittedAt)
	case task != nil && !task.SubmitTime.IsZero():
		return now.Sub(task.SubmitTime.Time)
	}
	return 0
}

// join adds a waiter to the task's poller, starting one if needed.
func (t *tracker) join(c *Client, id string) *poller {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.pollers[id]; ok {
		p.waiters++
		return p
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &poller{id: id, waiters: 1, cancel: cancel, changed: make(chan struct{}), stopped: make(chan struct{})}
	if r, ok := t.history[id]; ok && r.last.Task != nil {
		p.obs, p.version = r.last, 1
		if r.last.Task.Status.Terminal() {
			p.done = true // the task has ended: nothing to poll
			close(p.stopped)
			return p
		}
	}
	t.pollers[id] = p
	go p.run(ctx, c)
	return p
}

// leave removes a waiter; the last one out stops the poller.
func (t *tracker) leave(p *poller) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p.waiters--
	if p.waiters == 0 {
		p.cancel()
		if t.pollers[p.id] == p {
			delete(t.pollers, p.id)
		}
	}
}

// finish unregisters a poller whose task has ended or whose queries fail.
func (t *tracker) finish(p *poller) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pollers[p.id] == p {
		delete(t.pollers, p.id)
	}
}

// poller queries one task on the schedule and publishes what it sees.
type poller struct {
	id      string
	cancel  context.CancelFunc
	waiters int // guarded by tracker.mu

	mu      sync.Mutex
	obs     Observation
	version uint64
	done    bool
	changed chan struct{} // closed and replaced on every publish
	stopped chan struct{} // closed when run returns
}

func (p *poller) snapshot() (Observation, uint64, <-chan struct{}, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.obs, p.version, p.changed, p.done
}

func (p *poller) publish(obs Observation, done bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if obs.Task == nil {
		obs.Task = p.obs.Task
	}
	p.obs, p.done = obs, done
	p.version++
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *poller) run(ctx context.Context, c *Client) {
	defer close(p.stopped)
	defer c.tracker.finish(p)
	var polls, failures int
	var lastTry time.Time
	var leased bool
	defer func() {
		if leased {
			_ = c.shared.Release(context.WithoutCancel(ctx), p.id)
		}
	}()
	pause := time.Duration(-1) // set by following: the schedule's otherwise
	for {
		if pause < 0 {
			pause = p.untilNextPoll(c, polls, failures, lastTry)
		}
		if err := c.clock.Sleep(ctx, pause); err != nil {
			return
		}
		pause = -1
		if c.shared != nil {
			var query, done bool
			var next time.Duration
			leased, query, done, next = p.follow(ctx, c, polls)
			if ctx.Err() != nil || done {
				return
			}
			if !query {
				if next < 0 { // a new state was seen
					polls, failures = polls+1, 0
					next = p.untilNextFollow(c, polls)
				}
				pause = next
				continue
			}
		}
		task, err := c.QueryTask(ctx, p.id) // the poller is what keeps the tracker fresh: it always asks
		if ctx.Err() != nil {
			return
		}
		polls++
		now := c.clock.Now()
		lastTry = now
		if err != nil {
			// A refused query (bad key, bad id) will not get better; anything
			// else already had its retries and is tried again after a back-off.
			fatal := IsAuth(err) || errors.Is(err, ErrNoAPIKey) || IsInvalidRequest(err) || errors.As(err, new(*FieldError))
			p.publish(Observation{At: now, Err: err}, fatal)
			if fatal {
				return
			}
			failures++
			continue
		}
		failures = 0
		obs, _ := c.tracker.last(p.id)
		p.publish(obs, task.Status.Terminal())
		if task.Status.Terminal() {
			return
		}
	}
}

// follow is a step of a poller of a client with [SharedPolls]: it takes or
// extends the task's lease, and when another client holds it reads what that
// client published instead of querying. query is true when this client must
// query itself: it holds the lease (leased), or the store failed. Otherwise
// done is true when the state read has ended the wait, and pause is when to
// look again: -1 when a new state was seen, which is then timed by
// untilNextFollow.
func (p *poller) follow(ctx context.Context, c *Client, polls int) (leased, query, done bool, pause time.Duration) {
	interval := p.interval(c, polls)
	held, err := c.shared.Lease(ctx, p.id, 2*interval+leaseMargin)
	if err != nil || held {
		return held && err == nil, true, false, 0
	}
	task, at, err := c.sharedLatest(ctx, p.id)
	if err != nil {
		return false, true, false, 0
	}
	if task != nil {
		c.tracker.observedAt(task, at)
	}
	// What the client knows may also be newer than what the waiters saw from
	// a query of its own (GetTask's) that the store's answer does not beat.
	if obs, ok := c.tracker.last(p.id); ok {
		if seen, _, _, _ := p.snapshot(); obs.At.After(seen.At) {
			done = obs.Task.Status.Terminal()
			p.publish(obs, done)
			return false, false, done, -1
		}
	}
	// Nothing new: the holder's next answer is due an interval after its
	// last; look a little after that, and soon when it is late.
	return false, false, false, p.untilNextFollow(c, polls)
}

// untilNextFollow is the pause before a following poller looks again: until
// an eighth of an interval after the holder's next answer is due (an
// interval after the last state known), and at least an eighth of one.
func (p *poller) untilNextFollow(c *Client, polls int) time.Duration {
	interval := p.interval(c, polls)
	now := c.clock.Now()
	next := now
	if obs, ok := c.tracker.last(p.id); ok {
		next = obs.At.Add(interval + interval/8)
	}
	return max(next.Sub(now), interval/8, minFollowPause)
}

// minFollowPause bounds how often a following poller reads the store.
const minFollowPause = 10 * time.Millisecond

// interval is the schedule's interval at the task's age now.
func (p *poller) interval(c *Client, polls int) time.Duration {
	now := c.clock.Now()
	c.tracker.mu.Lock()
	var age time.Duration
	if r, ok := c.tracker.history[p.id]; ok {
		age = r.age(r.last.Task, now)
	}
	c.tracker.mu.Unlock()
	return c.schedule.Interval(age, polls)
}

// maxPollBackoff caps the pause between polls while queries keep failing.
const maxPollBackoff = time.Minute

// untilNextPoll is the pause before the next query: none when nothing is
// known and nothing tried yet, else what remains of the schedule's interval
// since the last look or try, backed off after failures so that an outage is
// not met with more queries.
func (p *poller) untilNextPoll(c *Client, polls, failures int, lastTry time.Time) time.Duration {
	c.tracker.mu.Lock()
	r, ok := c.tracker.history[p.id]
	from := lastTry
	var age time.Duration
	if ok {
		if r.last.Task != nil && r.last.At.After(from) {
			from = r.last.At
		}
		age = r.age(r.last.Task, from)
	}
	c.tracker.mu.Unlock()
	if from.IsZero() {
		return 0
	}
	d := c.schedule.Interval(age, polls)
	if failures > 0 {
		d = pollBackoff(d, failures)
	}
	return max(from.Add(d).Sub(c.clock.Now()), 0)
}

// pollBackoff is the pause after failures consecutive failed polls: the
// schedule's interval doubled per failure up to maxPollBackoff, with equal
// jitter so that pollers failing together spread out, and never shorter than
// the interval itself.
func pollBackoff(interval time.Duration, failures int) time.Duration {
	d := interval
	for i := 0; i < failures && d < maxPollBackoff; i++ {
		d *= 2
	}
	d = min(d, maxPollBackoff)
	return max(d/2+jitter(d/2), interval)
}
