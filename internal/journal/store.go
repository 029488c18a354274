package journal

import (
	"context"
	"time"
)

// Store is the journal as the server uses it, whichever engine keeps it: the
// embedded SQLite [Journal] of one machine's processes, or a shared store
// (package redisjournal) of several instances. Every implementation passes
// the contract suite in package journaltest; in particular Claim decides the
// duplicate guard and the daily budget in one atomic step for everyone
// sharing the store, and a store that cannot be reached fails with an error
// matching [ErrUnavailable], so no submission is sent untracked.
//
// Ids are int64 and unique within a store; times are the store's clock's.
type Store interface {
	// Claim returns an earlier job that answers for the same request (owner
	// false), or records the intent and returns it (owner true); it fails
	// with an [*OverBudgetError] when the intent would pass the daily budget.
	Claim(ctx context.Context, in Intent, r Rules) (job *Job, owner bool, err error)
	// Accepted records the task DashScope made for an intent.
	Accepted(ctx context.Context, id int64, taskID, status string) error
	// Uncertain records that an intent was sent but its answer was lost.
	Uncertain(ctx context.Context, id int64, reason string) error
	// Refused records that an intent made no task.
	Refused(ctx context.Context, id int64, reason string) error
	// Abandoned records that the sender gave up before it could have made a task.
	Abandoned(ctx context.Context, id int64, reason string) error
	// NeverCreated records, on a still open job only, that reconciliation
	// found no task for it.
	NeverCreated(ctx context.Context, id int64) error
	// Matched records, on a still open job only, the task reconciliation found.
	Matched(ctx context.Context, id int64, taskID, status string) error
	// Ambiguous records, on a still open job only, that reconciliation could
	// not tell which task it made.
	Ambiguous(ctx context.Context, id int64, reason string) error
	// OpenSince returns the open jobs (intent, uncertain) of a model created
	// in [from, to], oldest first.
	OpenSince(ctx context.Context, model string, from, to time.Time) ([]Job, error)
	// Touch marks an intent as still being sent.
	Touch(ctx context.Context, id int64) error
	// Observe records a task's state; a task the journal does not know is ignored.
	Observe(ctx context.Context, o Observation) error
	// Saved records where a task's video was saved.
	Saved(ctx context.Context, taskID, path string) error
	// LeaseSave gives the caller the right to save a task's video until the
	// lease ends, if nobody holds it and the video is not saved yet.
	LeaseSave(ctx context.Context, taskID string, lease time.Duration) (bool, error)
	// Get returns a job by its id, or [ErrNotFound].
	Get(ctx context.Context, id int64) (*Job, error)
	// ByTask returns the job that made a task, or [ErrNotFound].
	ByTask(ctx context.Context, taskID string) (*Job, error)
	// List returns jobs created since t, newest first, at most limit (0: all).
	List(ctx context.Context, since time.Time, limit int) ([]Job, error)
	// Unfinished returns accepted jobs whose task has not been seen to end,
	// created since t, oldest first.
	Unfinished(ctx context.Context, since time.Time) ([]Job, error)
	// Unsaved returns succeeded jobs whose video is not saved and has not
	// expired, oldest first.
	Unsaved(ctx context.Context) ([]Job, error)
	// LostIntents returns the open jobs without a task that their sender no
	// longer follows, oldest first: every uncertain one, and intents not
	// touched for longer than d (each engine may know more ways to tell).
	LostIntents(ctx context.Context, d time.Duration) ([]Job, error)
	// ChargedToday is today's total (the local day of the store's clock) of
	// [Job.Charge] across everyone sharing the store.
	ChargedToday(ctx context.Context) (float64, error)
	// Prune deletes the jobs created before t except intents, returning how many.
	Prune(ctx context.Context, before time.Time) (int64, error)
	// TaskKey returns the key MCP task ids are signed with, made (at least
	// 32 random bytes) by whichever handle asks first and the same for
	// every handle on the journal ever after, so a task id issued by one
	// process or instance is good on all of them and across restarts.
	TaskKey(ctx context.Context) ([]byte, error)
	// Health describes the store for doctor.
	Health(ctx context.Context) (Health, error)
	// Describe names the store for people (a file, or an address without its
	// password).
	Describe() string
	// Close releases the store.
	Close() error
}

var _ Store = (*Journal)(nil)
