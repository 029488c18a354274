// Package redisshared shares through Redis what several vace-mcp instances
// spending one DashScope account must agree on besides the journal: the
// account's request rates ([Limiter], the GCRA of
// github.com/go-redis/redis_rate, so all instances together stay within the
// account's rates) and one poller per task ([Polls], a lease per task and the
// last answer read, so any number of instances waiting on a task cost the
// queries of one).
//
// Neither guards money: the Redis journal refuses submissions while Redis is
// down. So both fail open, and read-only tools keep working: while Redis
// cannot be reached a [Limiter] paces by its local fallback, at the full rate
// in each instance (so N instances can together send N times the account's
// rate meanwhile, and meet DashScope's 429s, which queries retry), and every
// instance polls its own tasks, as without Redis. A warning is logged when
// Redis is lost and another when it is back; meanwhile one caller a second
// tries Redis again and the others do not wait for it, so a Redis that hangs
// delays no call by more than [Options.Timeout] once a second.
//
// Keys start with the prefix: {prefix}poll:{task} and {prefix}poll:{task}:lease;
// the limiters' keys are redis_rate's, "rate:" then the prefix and "limit:"
// and the limiter's name. All expire by themselves.
package redisshared

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/vace-mcp/vace-mcp/dashscope"
)

// DefaultPrefix starts every key, as the Redis journal's default.
const DefaultPrefix = "vace-mcp:"

// DefaultTimeout bounds each Redis call.
const DefaultTimeout = 500 * time.Millisecond

// probeEvery is how often Redis is tried again while it is down.
const probeEvery = time.Second

// recordTTL is how long a task's last answer is kept: the service forgets
// the task after a day.
const recordTTL = dashscope.ResultTTL + time.Hour

// Options configures [New].
type Options struct {
	// Prefix starts every key (default DefaultPrefix): instances sharing an
	// account use the same one.
	Prefix string
	// Logger receives the warnings when Redis is lost and back (default slog.Default()).
	Logger *slog.Logger
	// Timeout bounds each Redis call (default DefaultTimeout); a call that
	// takes longer counts as Redis being down.
	Timeout time.Duration
}

// Shared is one instance's use of the shared Redis. Make one per process and
// take its limiters and polls from it: they share its view of whether Redis
// is up.
type Shared struct {
	c       redis.UniversalClient
	rl      *redis_rate.Limiter
	prefix  string
	timeout time.Duration
	owner   string
	health  *health
}

// New shares state through c. It does not contact Redis.
func New(c redis.UniversalClient, o Options) *Shared {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &Shared{
		c: c, rl: redis_rate.NewLimiter(c), prefix: o.Prefix, timeout: o.Timeout,
		owner:  fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:])),
		health: &health{log: o.Logger},
	}
}

// NewClient connects to the Redis at url (redis://, rediss:// or unix://; a
// non-empty password overrides the URL's) with the Redis journal's settings:
// no retries, one dial a call, context deadlines honoured, so that a call
// fails at once while Redis is down. It does not contact Redis.
func NewClient(url, password string) (*redis.Client, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisshared: %w", err)
	}
	if password != "" {
		o.Password = password
	}
	o.MaxRetries = -1
	if o.DialerRetries == 0 {
		o.DialerRetries = 1
	}
	o.ContextTimeoutEnabled = true
	o.DisableIdentity = true
	return redis.NewClient(o), nil
}

// call runs f on Redis with the timeout, unless Redis is down and it is not
// this caller's turn to try it again, and keeps track of Redis's health.
// redis.Nil is an answer, not a failure.
func (s *Shared) call(ctx context.Context, f func(ctx context.Context) error) error {
	if err := s.health.try(); err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	err := f(cctx)
	if ctx.Err() == nil { // the caller leaving says nothing of Redis
		s.health.done(err)
	}
	return err
}

// errDown is returned without calling Redis while it is down.
var errDown = errors.New("redisshared: Redis is unreachable (tried again within a second)")

// health tracks whether Redis answers, logging each change once.
type health struct {
	log *slog.Logger

	mu      sync.Mutex
	down    bool
	since   time.Time
	probeAt time.Time
}

// try says whether to call Redis: yes while it is up; while it is down, one
// caller a probeEvery.
func (h *health) try() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.down {
		return nil
	}
	now := time.Now()
	if now.Before(h.probeAt) {
		return errDown
	}
	h.probeAt = now.Add(probeEvery)
	return nil
}

func (h *health) done(err error) {
	failed := err != nil && !errors.Is(err, redis.Nil)
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case failed && !h.down:
		h.down, h.since, h.probeAt = true, time.Now(), time.Now().Add(probeEvery)
		h.log.Warn("shared Redis unreachable: until it is back, rate limits are kept per instance and each instance polls its own tasks",
			slog.String("error", err.Error()))
	case !failed && h.down:
		h.down = false
		h.log.Warn("shared Redis reachable again: rate limits and task polls are shared across instances again",
			slog.Duration("down_for", time.Since(h.since).Round(time.Millisecond)))
	}
}

// Limiter paces one kind of request across every instance sharing Redis,
// by GCRA with no burst: requests at least 1/perSecond apart, so no second
// holds more than perSecond+1 of them. While Redis cannot be reached it
// paces by its local fallback instead (see the package comment): a read-only
// call is never refused for Redis's sake, and paid submissions are refused
// by the journal meanwhile anyway. It implements [dashscope.Limiter].
type Limiter struct {
	s        *Shared
	key      string
	limit    redis_rate.Limit
	fallback dashscope.Limiter
	// period is the interval between requests; a wait Redis asks for of more
	// than maxPeriods of them is a fault (see Wait).
	period time.Duration
	// warnAt is when (Unix ns) such a fault may be logged again.
	warnAt atomic.Int64
	// turn lets one goroutine of the process at a time ask Redis, so that
	// Redis sees about one call per request let through, not one per waiter.
	turn chan struct{}
}

var _ dashscope.Limiter = (*Limiter)(nil)

// Limiter returns the shared limiter called name (e.g. "query") allowing
// perSecond requests a second in all. A nil fallback is a local limiter of
// the same rate.
func (s *Shared) Limiter(name string, perSecond float64, fallback dashscope.Limiter) *Limiter {
	return s.limiter(s.prefix+"limit:"+name, perSecond, fallback)
}

// NewLimiter is a [Limiter] on c at Redis key "rate:"+key, with default
// [Options] and a view of Redis's health of its own.
func NewLimiter(c redis.UniversalClient, key string, perSecond float64, fallback dashscope.Limiter) *Limiter {
	return New(c, Options{}).limiter(key, perSecond, fallback)
}

func (s *Shared) limiter(key string, perSecond float64, fallback dashscope.Limiter) *Limiter {
	if perSecond <= 0 {
		panic("redisshared: a limiter's rate must be positive")
	}
	if fallback == nil {
		fallback = newLocal(perSecond)
	}
	// One request a period of 1/perSecond, so any rate is exact.
	period := time.Duration(float64(time.Second) / perSecond)
	return &Limiter{
		s: s, key: key, fallback: fallback, turn: make(chan struct{}, 1), period: period,
		limit: redis_rate.Limit{Rate: 1, Burst: 1, Period: period},
	}
}

// maxPeriods bounds the wait Redis may ask for, in periods. GCRA with no
// burst never asks for more than one period, or a few when instances were
// configured with different rates for one limiter; much more is a fault
// (the limiter's key set far ahead by hand, a bug, a corrupt value), and
// obeying it would stall every instance's requests of that kind.
const maxPeriods = 10

// Wait returns when a request may be sent, or with ctx's error. A wait of
// more than maxPeriods periods asked by Redis is taken for a fault: that
// request is paced by the local fallback instead, and a warning is logged
// (at most once a minute).

func (l *Limiter) Wait(ctx context.Context) error {
	select {
	case l.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-l.turn }()
	for {
		var res *redis_rate.Result
		err := l.s.call(ctx, func(ctx context.Context) (err error) {
			res, err = l.s.rl.Allow(ctx, l.key, l.limit)
			return err
		})
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			return l.fallback.Wait(ctx)
		case res.Allowed > 0:
			return nil
		case res.RetryAfter > maxPeriods*l.period:
			l.fault(res.RetryAfter)
			return l.fallback.Wait(ctx)
		}
		if err := sleep(ctx, max(res.RetryAfter, time.Millisecond)); err != nil {
			return err
		}
	}
}

// fault logs a wait Redis asked for that is far too long, at most once a minute.
func (l *Limiter) fault(retryAfter time.Duration) {
	now := time.Now()
	if next := l.warnAt.Load(); now.UnixNano() < next || !l.warnAt.CompareAndSwap(next, now.Add(time.Minute).UnixNano()) {
		return
	}
	l.s.health.log.Warn("shared rate limit in Redis asks for a wait far beyond its rate: taken for a fault, requests are paced by this instance meanwhile",
		slog.String("key", "rate:"+l.key), slog.Duration("retry_after", retryAfter), slog.Duration("period", l.period))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Polls shares one poller per task among the instances (see
// [dashscope.SharedPolls]): a lease per task, taken with SET NX PX by one
// instance and extended by it alone, and the last answer read, kept as JSON
// with the time Redis received it.
type Polls struct{ s *Shared }

var _ dashscope.SharedPolls = (*Polls)(nil)

// Polls returns the instance's shared polls, to give [dashscope.WithSharedPolls].
func (s *Shared) Polls() *Polls { return &Polls{s: s} }

func (p *Polls) leaseKey(taskID string) string  { return p.s.prefix + "poll:" + taskID + ":lease" }
func (p *Polls) recordKey(taskID string) string { return p.s.prefix + "poll:" + taskID }

var leaseScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`)

var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// publishScript keeps the answer and Redis's time in milliseconds; an ended
// task (SUCCEEDED, FAILED, CANCELED) is final, and never replaced: not by a
// running state, nor by UNKNOWN (a glitch, or the task expired), nor by
// another end.
var publishScript = redis.NewScript(`
local function ended(s) return s == 'SUCCEEDED' or s == 'FAILED' or s == 'CANCELED' end
local old = redis.call('HGET', KEYS[1], 'status')
if old and ended(old) then return 0 end
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], 'task', ARGV[1], 'status', ARGV[2], 'at', t[1] * 1000 + math.floor(t[2] / 1000))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`)

// latestScript returns the answer and its age in milliseconds by Redis's clock.
var latestScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'task', 'at')
if not v[1] then return false end
local t = redis.call('TIME')
return {v[1], t[1] * 1000 + math.floor(t[2] / 1000) - tonumber(v[2])}
`)

// Lease implements [dashscope.SharedPolls].
func (p *Polls) Lease(ctx context.Context, taskID string, ttl time.Duration) (bool, error) {
	var held bool
	err := p.s.call(ctx, func(ctx context.Context) error {
		n, err := leaseScript.Run(ctx, p.s.c, []string{p.leaseKey(taskID)}, p.s.owner, max(ttl.Milliseconds(), 1)).Int()
		held = n == 1
		return err
	})
	return held && err == nil, err
}

// Release implements [dashscope.SharedPolls].
func (p *Polls) Release(ctx context.Context, taskID string) error {
	return p.s.call(ctx, func(ctx context.Context) error {
		return releaseScript.Run(ctx, p.s.c, []string{p.leaseKey(taskID)}, p.s.owner).Err()
	})
}

// Publish implements [dashscope.SharedPolls].
func (p *Polls) Publish(ctx context.Context, t *dashscope.Task) error {
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return p.s.call(ctx, func(ctx context.Context) error {
		return publishScript.Run(ctx, p.s.c, []string{p.recordKey(t.ID)}, data, string(t.Status), recordTTL.Milliseconds()).Err()
	})
}

// Latest implements [dashscope.SharedPolls].
func (p *Polls) Latest(ctx context.Context, taskID string) (*dashscope.Task, time.Duration, error) {
	var v []any
	err := p.s.call(ctx, func(ctx context.Context) (err error) {
		v, err = latestScript.Run(ctx, p.s.c, []string{p.recordKey(taskID)}).Slice()
		return err
	})
	switch {
	case errors.Is(err, redis.Nil):
		return nil, 0, nil
	case err != nil:
		return nil, 0, err
	}
	if len(v) != 2 {
		return nil, 0, fmt.Errorf("redisshared: unexpected record of task %s: %v", taskID, v)
	}
	data, ok1 := v[0].(string)
	ms, ok2 := v[1].(int64)
	if !ok1 || !ok2 {
		return nil, 0, fmt.Errorf("redisshared: unexpected record of task %s: %v", taskID, v)
	}
	var t dashscope.Task
	if err := json.Unmarshal([]byte(data), &t); err != nil {
		return nil, 0, fmt.Errorf("redisshared: unreadable record of task %s: %w", taskID, err)
	}
	return &t, time.Duration(ms) * time.Millisecond, nil
}

// newLocal is a limiter of this process alone, as the client's own: no burst.
func newLocal(perSecond float64) *rate.Limiter { return rate.NewLimiter(rate.Limit(perSecond), 1) }
