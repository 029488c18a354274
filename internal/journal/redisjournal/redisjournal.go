// Package redisjournal keeps vace-mcp's journal in Redis, so that several
// server instances, on one machine or many, share one record of every paid
// submission: the duplicate guard, the daily budget, the save lease and the
// history. It implements [journal.Store] and passes the same contract suite
// as the embedded SQLite journal.
//
// Every decision that spends money, and every change of a job, is one Lua
// script, which Redis runs alone: Claim looks for an earlier job, sums the
// day and inserts the intent with no other client's command in between, so
// instances racing on an identical request pay once and together stay within
// the budget. No WATCH/MULTI retry loops are used.
//
// Times are the instances' clocks (Options.Now), as with SQLite: instances
// must keep their clocks in step (NTP) to well within the 2-minute in-flight
// window. The budget's day is the UTC day for every instance, whatever its
// time zone, so that all of them count the same day.
//
// The journal must not be evicted: Claim refuses (and Health reports) a
// Redis with a maxmemory and a maxmemory-policy other than noeviction, read
// from INFO memory (CONFIG GET is often disabled on managed Redis) at most
// every memoryCheckEvery.
//
// When Redis cannot be reached every call fails with an error matching
// [journal.ErrUnavailable], so submissions are refused and nothing is sent
// untracked; the client reconnects by itself once Redis answers again.
package redisjournal

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vace-mcp/vace-mcp/internal/journal"
)

// DefaultPrefix starts every key the store writes.
const DefaultPrefix = "vace-mcp:"

// DefaultHistoryTTL is how long a job is kept, as --history-days' default (90).
const DefaultHistoryTTL = 90 * 24 * time.Hour

// SchemaVersion is the newest layout of the data this build writes.
const SchemaVersion = 1

// Options configures Open.
type Options struct {
	// URL is the Redis: redis://[user:password@]host:port/db, rediss:// for
	// TLS, or unix://; go-redis's query options (dial_timeout, ...) apply.
	URL string
	// Password, if set, overrides the URL's.
	Password string
	// Prefix starts every key (default DefaultPrefix): instances sharing a
	// journal use the same one.
	Prefix string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// HistoryTTL is how long a job is kept after it was created (default
	// DefaultHistoryTTL, at least a day); intents are kept until settled.
	HistoryTTL time.Duration
	// Instance names this instance in the owner recorded with each intent,
	// for people reading the journal (default: a random id).
	Instance string
}

// Store is a journal in Redis. It is safe for concurrent use, and other
// processes and machines may use the same Redis and prefix.
type Store struct {
	c      *redis.Client
	prefix string
	now    func() time.Time
	ttl    time.Duration
	owner  string
	desc   string

	// mem is the last look at Redis's eviction settings.
	memMu      sync.Mutex
	memAt      time.Time
	memProblem string
}

// memoryCheckEvery is how long a look at Redis's eviction settings is
// trusted (by the store's clock): a fixed setting takes effect within it.
const memoryCheckEvery = 30 * time.Second

// evictionHint is what to do about a Redis that may evict the journal.
const evictionHint = "set `maxmemory-policy noeviction` on this Redis (redis.conf, CONFIG SET, or your provider's parameter group), " +
	"or give it no maxmemory; submissions work again by themselves within 30 s of the change (vace-mcp doctor shows it)"

var _ journal.Store = (*Store)(nil)

// New makes a store without contacting Redis: a server may start while Redis
// is down, refuse submissions meanwhile, and work once it is back.
func New(opts Options) (*Store, error) {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HistoryTTL == 0 {
		opts.HistoryTTL = DefaultHistoryTTL
	}
	// Shorter, and a job of today could expire before its day ends and leave
	// the budget's sum.
	opts.HistoryTTL = max(opts.HistoryTTL, 24*time.Hour)
	desc := describe(opts.URL, opts.Prefix)
	ro, err := redis.ParseURL(opts.URL)
	if err != nil {
		return nil, &journal.UnavailableError{Path: desc, Err: err, Hint: "give --store a redis://host:port/db or rediss:// URL"}
	}
	if opts.Password != "" {
		ro.Password = opts.Password
	}
	// No retries by the client: a script whose reply was lost (EOF, timeout)
	// may have run, and running Claim again would record a second intent.
	// A failed call is an error the caller sees (and refuses the submission
	// for); broken pooled connections are found and replaced by the pool.
	ro.MaxRetries = -1
	// One dial a call while Redis is down: a refusal comes at once, not
	// after half a second of retries; after PoolSize failed dials the pool
	// fails fast and probes once a second, so calls work again within about
	// a second of Redis's return.
	if ro.DialerRetries == 0 {
		ro.DialerRetries = 1
	}
	ro.ContextTimeoutEnabled = true
	ro.DisableIdentity = true
	host, _ := os.Hostname()
	instance := opts.Instance
	if instance == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		instance = hex.EncodeToString(b[:])
	}
	return &Store{
		c:      redis.NewClient(ro),
		prefix: opts.Prefix,
		now:    opts.Now,
		ttl:    opts.HistoryTTL,
		owner:  fmt.Sprintf("host %s pid %d instance %s", host, os.Getpid(), instance),
		desc:   desc,
	}, nil
}

// Open makes a store and checks that Redis answers and holds no journal of
// a newer layout.
func Open(ctx context.Context, opts Options) (*Store, error) {
	s, err := New(opts)
	if err != nil {
		return nil, err
	}
	if err := s.check(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) check(ctx context.Context) error {
	v, err := s.c.Get(ctx, s.prefix+"schema").Int()
	switch {
	case errors.Is(err, redis.Nil):
		return nil
	case err != nil:
		return s.fail(err)
	case v > SchemaVersion:
		return s.fail(fmt.Errorf("schema version %d is newer than this vace-mcp knows (%d): upgrade vace-mcp", v, SchemaVersion))
	}
	return nil
}

// describe is the URL without its password, and the prefix.
func describe(raw, prefix string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" && u.Path == "" {
		return "Redis (an unreadable URL)"
	}
	return fmt.Sprintf("%s (keys %s*)", u.Redacted(), prefix)
}

// Describe names the store: its URL without the password, and its prefix.
func (s *Store) Describe() string { return s.desc }

// Close closes the connections.
func (s *Store) Close() error { return s.c.Close() }

const unavailableHint = "check that Redis is running and reachable from here (address, password, TLS); vace-mcp doctor shows its state, " +
	"and submissions work again by themselves once it answers"

// fail wraps Redis failures (not decisions) so callers can tell a store that
// cannot be used from a refusal.
func (s *Store) fail(err error) error {
	switch {
	case err == nil, errors.Is(err, context.Canceled), errors.Is(err, journal.ErrUnavailable):
		return err
	}
	var re redis.Error
	if errors.As(err, &re) {
		if msg, ok := strings.CutPrefix(err.Error(), "VACETASK "); ok {
			return fmt.Errorf("journal: %s", msg)
		}
		if msg, ok := strings.CutPrefix(err.Error(), "VACESCHEMA "); ok {
			err = errors.New(msg)
		}
	}
	return &journal.UnavailableError{Path: s.desc, Err: err, Hint: unavailableHint}
}

// args are a script's arguments: the prefix, the clock, the history TTL,
// then its own.
func (s *Store) args(now time.Time, more ...any) []any {
	return append([]any{s.prefix, now.UnixMilli(), s.ttl.Milliseconds()}, more...)
}

func float(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Claim is the duplicate guard and the budget in one script (claimScript):
// it returns an earlier job that answers for the same request (owner false),
// or records the intent and returns it (owner true). Every instance sharing
// the store sees the same decision.
//
// It is refused while Redis may evict keys (see memoryProblem): an evicted
// guard index, intent, day's charge or id sequence could pay twice or pass
// the budget.
func (s *Store) Claim(ctx context.Context, in journal.Intent, r journal.Rules) (*journal.Job, bool, error) {
	switch problem, err := s.memoryProblem(ctx, false); {
	case err != nil:
		return nil, false, err
	case problem != "":
		return nil, false, &journal.UnavailableError{Path: s.desc, Err: errors.New(problem), Hint: evictionHint}
	}
	now := s.now()
	res, err := claimScript.Run(ctx, s.c, nil, s.args(now, in.Key, flag(in.Forced),
		max(r.UncertainFor, r.Window, r.InFlight).Milliseconds(), r.Window.Milliseconds(), r.UncertainFor.Milliseconds(), r.Stale,
		float(r.DailyBudget), startOfDay(now).UnixMilli(), float(in.EstimateUSD),
		in.Tool, in.Model, in.PromptExcerpt, in.Inputs, s.owner, in.Token, claimTokenTTL.Milliseconds())...).Slice()
	if err != nil {
		return nil, false, s.fail(err)
	}
	if len(res) != 2 {
		return nil, false, s.fail(fmt.Errorf("unexpected reply to a claim: %v", res))
	}
	switch res[0] {
	case "given-up":
		return nil, false, journal.ErrClaimGivenUp
	case "over":
		str, _ := res[1].(string)
		today, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return nil, false, s.fail(fmt.Errorf("unexpected day's total %v", res[1]))
		}
		return nil, false, &journal.OverBudgetError{Estimate: in.EstimateUSD, Today: today, Budget: r.DailyBudget}
	case "earlier", "new":
		job, err := parseJob(res[1])
		if err != nil {
			return nil, false, s.fail(err)
		}
		return job, res[0] == "new", nil
	}
	return nil, false, s.fail(fmt.Errorf("unexpected reply to a claim: %v", res))
}

// claimTokenTTL is how long Redis keeps a claim token's index (P
// claim:<token>): how long after a Claim AbandonClaim can give it up, and a
// Claim retried with the token returns its intent. The server gives up a
// failed claim within about two minutes.
const claimTokenTTL = 15 * time.Minute

// AbandonClaim gives up on the Claim made with token, whose caller got an
// error (its reply was lost: Redis busy past the caller's deadline, or the
// connection dropped after the script ran) and so sends nothing for it. In
// one script (abandonClaimScript): the intent that Claim recorded is
// recorded as abandoned if nobody has touched or settled it since, and its
// id returned; the token is given up either way, so that the Claim, if it
// reaches Redis only now, records nothing. A touched intent is being sent
// by whoever touched it, and is left alone.
func (s *Store) AbandonClaim(ctx context.Context, token string) (int64, error) {
	if token == "" {
		return 0, nil
	}
	id, err := abandonClaimScript.Run(ctx, s.c, nil, s.args(s.now(), token, claimTokenTTL.Milliseconds(),
		"not sent: the claim's reply was lost, and its caller gave it up")...).Int64()
	if err != nil {
		return 0, s.fail(err)
	}
	return id, nil
}

// startOfDay is where the budget's day starts: the UTC day, the same for
// every instance whatever its time zone.
func startOfDay(t time.Time) time.Time { return journal.StartOfDay(t.UTC()) }

// memoryProblem says why Redis may evict the journal's keys ("" if it will
// not): a maxmemory with any maxmemory-policy but noeviction. It reads INFO
// memory, which managed Redis serves where CONFIG GET is disabled, at most
// every memoryCheckEvery unless fresh. A Redis that refuses INFO (an ACL
// without it) cannot be checked and is not refused for it.
func (s *Store) memoryProblem(ctx context.Context, fresh bool) (string, error) {
	now := s.now()
	s.memMu.Lock()
	at, problem := s.memAt, s.memProblem
	s.memMu.Unlock()
	if !fresh && !at.IsZero() && !now.Before(at) && now.Sub(at) < memoryCheckEvery {
		return problem, nil
	}
	info, err := s.c.Info(ctx, "memory").Result()
	var re redis.Error
	switch {
	case errors.As(err, &re):
		info = ""
	case err != nil:
		return "", s.fail(err)
	}
	problem = evictionProblem(info)
	s.memMu.Lock()
	s.memAt, s.memProblem = now, problem
	s.memMu.Unlock()
	return problem, nil
}

// evictionProblem reads INFO memory's maxmemory and maxmemory_policy.
func evictionProblem(info string) string {
	var maxmemory, policy string
	for line := range strings.Lines(info) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		switch k {
		case "maxmemory":
			maxmemory = v
		case "maxmemory_policy":
			policy = v
		}
	}
	if n, err := strconv.ParseInt(maxmemory, 10, 64); err != nil || n <= 0 || policy == "" || policy == "noeviction" {
		return ""
	}
	return fmt.Sprintf("Redis may evict the journal's keys: it has maxmemory %s bytes with maxmemory-policy %s, and an evicted duplicate-guard entry, "+
		"intent or day's total could pay twice for one request or pass the daily budget", maxmemory, policy)
}

// update changes a job's columns in one script; which is updateScript's
// ARGV[5]: "0" any job, "1" open ones only (others are left as they are),
// "2" intents only (others fail with a *journal.NotIntentError). A job that
// does not exist fails with a *journal.GoneError.
func (s *Store) update(ctx context.Context, id int64, which string, pairs ...string) error {
	args := s.args(s.now(), id, which)
	for _, p := range pairs {
		args = append(args, p)
	}
	res, err := updateScript.Run(ctx, s.c, nil, args...).Result()
	if err != nil {
		return s.fail(err)
	}
	switch res := res.(type) {
	case int64:
		switch res {
		case 1, 0:
			return nil
		case -1:
			return &journal.GoneError{Path: s.desc, ID: id, Hint: goneHint}
		}
	case string:
		return &journal.NotIntentError{ID: id, State: journal.State(res)}
	}
	return s.fail(fmt.Errorf("unexpected reply to a change of job %d: %v", id, res))
}

// goneHint is what to do about a job whose record Redis lost.
const goneHint = "Redis lost it (FLUSHDB, eviction, or a restart or failover without persistence): run Redis with " +
	"`--appendonly yes --appendfsync always` and `maxmemory-policy noeviction`, and keep the task ids you were given " +
	"(list_tasks finds the account's tasks of the last 24 hours)"

// Accepted records the task DashScope made for an intent.
func (s *Store) Accepted(ctx context.Context, id int64, taskID, status string) error {
	return s.update(ctx, id, "0", "state", string(journal.StateAccepted), "task_id", taskID, "status", status)
}

// Uncertain records that an intent was sent but its answer was lost.
func (s *Store) Uncertain(ctx context.Context, id int64, reason string) error {
	return s.update(ctx, id, "0", "state", string(journal.StateUncertain), "error", reason)
}

// Refused records that an intent made no task.
func (s *Store) Refused(ctx context.Context, id int64, reason string) error {
	return s.update(ctx, id, "0", "state", string(journal.StateRefused), "error", reason)
}

// Abandoned records that the sender gave up before it could have made a task.
func (s *Store) Abandoned(ctx context.Context, id int64, reason string) error {
	return s.update(ctx, id, "0", "state", string(journal.StateAbandoned), "error", reason)
}

// NeverCreated records that reconciliation found no task for a lost intent,
// if the job is still open.
func (s *Store) NeverCreated(ctx context.Context, id int64) error {
	return s.update(ctx, id, "1", "state", string(journal.StateNeverCreated), "error", "no task found for it in DashScope's list")
}

// Matched records the task reconciliation found for a lost submission, if
// the job is still open.
func (s *Store) Matched(ctx context.Context, id int64, taskID, status string) error {
	return s.update(ctx, id, "1", "state", string(journal.StateAccepted), "task_id", taskID, "status", status)
}

// Ambiguous records that reconciliation could not tell which task a lost
// submission made, if the job is still open.
func (s *Store) Ambiguous(ctx context.Context, id int64, reason string) error {
	return s.update(ctx, id, "1", "state", string(journal.StateUncertain), "error", reason)
}

// Touch marks an intent as still being sent, failing with a
// *journal.NotIntentError if it is no longer an intent.
func (s *Store) Touch(ctx context.Context, id int64) error { return s.update(ctx, id, "2") }

// Observe records a task's state, settling its cost once it has ended. A
// task the journal does not know is ignored.
func (s *Store) Observe(ctx context.Context, o journal.Observation) error {
	cost := ""
	if o.CostUSD != nil {
		cost = float(*o.CostUSD)
	}
	return s.fail(observeScript.Run(ctx, s.c, nil, s.args(s.now(), o.TaskID, o.Status, o.VideoURL, o.ExpiresAt.UnixMilli(),
		float(o.BilledSeconds), cost)...).Err())
}

// Saved records where a task's video was saved.
func (s *Store) Saved(ctx context.Context, taskID, path string) error {
	return s.fail(savedScript.Run(ctx, s.c, nil, s.args(s.now(), taskID, path)...).Err())
}

// LeaseSave gives the caller the right to save a task's video until the
// lease ends, if no other process holds it and the video is not saved yet.
func (s *Store) LeaseSave(ctx context.Context, taskID string, lease time.Duration) (bool, error) {
	n, err := leaseScript.Run(ctx, s.c, nil, s.args(s.now(), taskID, lease.Milliseconds())...).Int()
	return n == 1, s.fail(err)
}

// Get returns a job by its id.
func (s *Store) Get(ctx context.Context, id int64) (*journal.Job, error) {
	m, err := s.c.HGetAll(ctx, s.prefix+"job:"+strconv.FormatInt(id, 10)).Result()
	if err != nil {
		return nil, s.fail(err)
	}
	if len(m) == 0 {
		return nil, journal.ErrNotFound
	}
	return jobOf(m)
}

// ByTask returns the job that made a task.
func (s *Store) ByTask(ctx context.Context, taskID string) (*journal.Job, error) {
	if taskID == "" {
		return nil, journal.ErrNotFound
	}
	res, err := byTaskScript.Run(ctx, s.c, nil, s.args(s.now(), taskID)...).Result()
	if err != nil {
		return nil, s.fail(err)
	}
	job, err := parseJob(res)
	if err != nil && !errors.Is(err, journal.ErrNotFound) {
		return nil, s.fail(err)
	}
	return job, err
}

// jobs returns the jobs of an index with scores in [lo, hi] that match
// keep, in score order (reversed with rev), at most limit (0: all).
func (s *Store) jobs(ctx context.Context, index, lo, hi string, rev bool, limit int, keep func(*journal.Job) bool) ([]journal.Job, error) {
	res, err := rangeScript.Run(ctx, s.c, nil, s.args(s.now(), index, lo, hi, flag(rev), limit)...).Slice()
	if err != nil {
		return nil, s.fail(err)
	}
	var out []journal.Job
	for _, r := range res {
		job, err := parseJob(r)
		if err != nil {
			return nil, s.fail(err)
		}
		if keep(job) {
			out = append(out, *job)
		}
	}
	return out, nil
}

func score(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func open(j *journal.Job) bool {
	return j.State == journal.StateIntent || j.State == journal.StateUncertain
}

// List returns jobs created since t, newest first, at most limit (0: all).
func (s *Store) List(ctx context.Context, since time.Time, limit int) ([]journal.Job, error) {
	return s.jobs(ctx, "jobs", score(since), "+inf", true, max(limit, 0), func(*journal.Job) bool { return true })
}

// OpenSince returns the intents and jobs of unknown outcome of a model
// created in [from, to].
func (s *Store) OpenSince(ctx context.Context, model string, from, to time.Time) ([]journal.Job, error) {
	return s.jobs(ctx, "open", score(from), score(to), false, 0, func(j *journal.Job) bool { return j.Model == model && open(j) })
}

// Unfinished returns accepted jobs whose task has not been seen to end,
// created since t.
func (s *Store) Unfinished(ctx context.Context, since time.Time) ([]journal.Job, error) {
	return s.jobs(ctx, "unfinished", score(since), "+inf", false, 0, func(j *journal.Job) bool {
		return j.State == journal.StateAccepted && !slices.Contains([]string{"SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN"}, j.Status)
	})
}

// Unsaved returns succeeded jobs whose video is not saved yet and has not
// expired, oldest first.
func (s *Store) Unsaved(ctx context.Context) ([]journal.Job, error) {
	now := s.now()
	jobs, err := s.jobs(ctx, "unsaved", "("+score(now), "+inf", false, 0, func(j *journal.Job) bool {
		return j.Status == "SUCCEEDED" && j.LocalPath == "" && j.VideoURL != "" && j.ExpiresAt.After(now)
	})
	slices.SortStableFunc(jobs, func(a, b journal.Job) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return jobs, err
}

// LostIntents returns the open jobs without a task that their sender no
// longer follows: every uncertain one, and the intents nobody has touched
// for longer than d.
//
// The SQLite journal also takes an intent whose owner process has died for
// lost at once, checking the pid on its machine. A shared store cannot: its
// instances run on different machines, and containers of one machine share
// a hostname and boot id but not their pid namespaces, so no owner string
// names a process another instance could check. Here an intent is lost only
// when it has not been touched for d. A sender touches its intents every
// 30 s while it uploads and POSTs (tools' keepFresh) and reconciliation
// asks with d = 2 minutes, so a crashed instance's intents are reconciled
// about two minutes later and a live one's never: what this needs is
// instance clocks that agree to well within d. The owner (host, pid and a
// random instance id) is recorded for people reading the journal.
func (s *Store) LostIntents(ctx context.Context, d time.Duration) ([]journal.Job, error) {
	now := s.now()
	return s.jobs(ctx, "open", "-inf", "+inf", false, 0, func(j *journal.Job) bool {
		return open(j) && j.TaskID == "" && (j.State == journal.StateUncertain || now.Sub(j.UpdatedAt) > d)
	})
}

// ChargedToday is today's total (the UTC day, as Claim's budget counts it)
// across every instance sharing the store.
func (s *Store) ChargedToday(ctx context.Context) (float64, error) {
	now := s.now()
	str, err := chargedScript.Run(ctx, s.c, nil, s.args(now, startOfDay(now).UnixMilli())...).Text()
	if err != nil {
		return 0, s.fail(err)
	}
	total, err := strconv.ParseFloat(str, 64)
	return total, s.fail(err)
}

// Prune deletes jobs created before t, except intents, and drops the index
// entries of jobs whose history has expired. Jobs expire by themselves
// after HistoryTTL; Prune keeps the indexes small and honours a shorter
// --history-days at once.
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	members, err := s.c.ZRangeByScore(ctx, s.prefix+"jobs", &redis.ZRangeBy{Min: "-inf", Max: "(" + score(before)}).Result()
	if err != nil {
		return 0, s.fail(err)
	}
	var n int64
	for batch := range slices.Chunk(members, 256) {
		args := s.args(s.now(), before.UnixMilli())
		for _, m := range batch {
			args = append(args, m)
		}
		k, err := pruneScript.Run(ctx, s.c, nil, args...).Int64()
		if err != nil {
			return n, s.fail(err)
		}
		n += k
	}
	return n, nil
}

// TaskKey returns the key MCP task ids are signed with: made of
// journal.TaskKeyBytes random bytes by the first instance to ask, the same
// for every instance sharing the store ever after, so a task created through
// one instance is answered by any. Deleting it from Redis voids every task id
// issued so far (instances that read it keep it until they restart).
func (s *Store) TaskKey(ctx context.Context) ([]byte, error) {
	fresh := make([]byte, journal.TaskKeyBytes)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	key, err := taskKeyScript.Run(ctx, s.c, nil, s.prefix, fresh).Text()
	if err != nil {
		return nil, s.fail(err)
	}
	if len(key) < journal.TaskKeyBytes {
		return nil, s.fail(fmt.Errorf("the task id key %stask-id-key is too short (%d bytes): delete it, and restart every instance", s.prefix, len(key)))
	}
	return []byte(key), nil
}

// Health checks that Redis answers and reports the journal's layout and size,
// and as Check a newer layout or a Redis that may evict the journal's keys
// (which Claim refuses). Bytes is 0: the journal has no file, and Redis's
// memory is shared.
func (s *Store) Health(ctx context.Context) (journal.Health, error) {
	h := journal.Health{Path: s.desc, SchemaVersion: SchemaVersion}
	if err := s.c.Ping(ctx).Err(); err != nil {
		return h, s.fail(err)
	}
	switch v, err := s.c.Get(ctx, s.prefix+"schema").Int(); {
	case err == nil:
		h.SchemaVersion = v
	case !errors.Is(err, redis.Nil):
		return h, s.fail(err)
	}
	n, err := s.c.ZCard(ctx, s.prefix+"jobs").Result()
	if err != nil {
		return h, s.fail(err)
	}
	h.Jobs = int(n)
	h.Check = "ok"
	problem, err := s.memoryProblem(ctx, true)
	switch {
	case err != nil:
		return h, err
	case h.SchemaVersion > SchemaVersion:
		h.Check = fmt.Sprintf("schema version %d is newer than this vace-mcp knows (%d): upgrade vace-mcp", h.SchemaVersion, SchemaVersion)
	case problem != "":
		h.Check = problem + ", so paid submissions are refused; " + evictionHint
	}
	return h, nil
}

// parseJob reads a job from a script's HGETALL reply: ErrNotFound if empty.
func parseJob(v any) (*journal.Job, error) {
	flat, ok := v.([]any)
	if !ok || len(flat)%2 != 0 {
		return nil, fmt.Errorf("unexpected reply for a job: %v", v)
	}
	if len(flat) == 0 {
		return nil, journal.ErrNotFound
	}
	m := make(map[string]string, len(flat)/2)
	for i := 0; i < len(flat); i += 2 {
		k, ok1 := flat[i].(string)
		val, ok2 := flat[i+1].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("unexpected reply for a job: %v", v)
		}
		m[k] = val
	}
	return jobOf(m)
}

func jobOf(m map[string]string) (*journal.Job, error) {
	var errs []error
	integer := func(k string) int64 {
		n, err := strconv.ParseInt(m[k], 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("job field %s: %w", k, err))
		}
		return n
	}
	decimal := func(k string) float64 {
		f, err := strconv.ParseFloat(m[k], 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("job field %s: %w", k, err))
		}
		return f
	}
	j := &journal.Job{
		ID: integer("id"), Key: m["key"], Tool: m["tool"], Model: m["model"], PromptExcerpt: m["prompt_excerpt"], Inputs: m["inputs"],
		EstimateUSD: decimal("estimate_usd"), Forced: m["forced"] == "1", Owner: m["owner"], State: journal.State(m["state"]), Error: m["error"],
		TaskID: m["task_id"], Status: m["status"], BilledSeconds: decimal("billed_seconds"), VideoURL: m["video_url"], LocalPath: m["local_path"],
		CreatedAt: time.UnixMilli(integer("created_at")), UpdatedAt: time.UnixMilli(integer("updated_at")),
	}
	if _, ok := m["cost_usd"]; ok {
		c := decimal("cost_usd")
		j.CostUSD = &c
	}
	if e := integer("expires_at"); e > 0 {
		j.ExpiresAt = time.UnixMilli(e)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("a job in Redis is unreadable: %w", errors.Join(errs...))
	}
	return j, nil
}
