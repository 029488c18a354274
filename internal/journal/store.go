package journal

import (
	"context"
	"errors"
	"fmt"
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
	//
	// A Claim whose caller got an error may still have recorded its intent
	// in a store that is reached over a network (its reply was lost: the
	// store was busy past the caller's deadline, or the connection dropped
	// after the store ran it); such a store keeps in.Token with the intent,
	// and a Claim retried with the same token returns that intent (owner
	// true) while it is untouched, or fails with [ErrClaimGivenUp] once
	// AbandonClaim gave up on the token.
	Claim(ctx context.Context, in Intent, r Rules) (job *Job, owner bool, err error)
	// AbandonClaim gives up on the Claim attempt made with token, whose
	// caller got an error and so sends nothing for it: if that Claim
	// recorded an intent that nobody has touched or settled since, it is
	// recorded as abandoned (an identical request may then be sent at once)
	// and its id returned; an intent touched (being sent), settled, or
	// claimed with another token is left as it is, and an unknown token is
	// no error (0). A Claim with the token that reaches the store after this
	// records nothing and fails with [ErrClaimGivenUp], so the order in
	// which the two arrive does not matter. Both are one atomic step. A
	// store whose Claim is all-or-nothing (the embedded journal: a failed
	// Claim recorded nothing) keeps no tokens and does nothing here.
	AbandonClaim(ctx context.Context, token string) (id int64, err error)
	// Accepted records the task DashScope made for an intent. It and every
	// other change of a job by id (Uncertain, Refused, Abandoned,
	// NeverCreated, Matched, Ambiguous, Touch) fail with a [*GoneError]
	// (matching [ErrUnavailable]) when the journal no longer has the job:
	// its record was lost, and what the caller wanted kept would be lost too.
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
	// Touch marks an intent as still being sent, and confirms that it is:
	// it fails with a [*NotIntentError] when the job is no longer an intent
	// (someone else settled it, e.g. reconciliation on another instance
	// that took it for lost), and with a [*GoneError] when it is gone. A
	// sender touches its intent just before it sends, and sends nothing if
	// Touch fails. A touched intent is its sender's: AbandonClaim leaves it
	// alone.
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
	// ChargedToday is today's total of [Job.Charge] across everyone sharing
	// the store. Today is the store's day, the same one Claim's budget
	// counts: for the embedded journal the local day of its clock (the
	// machine's time zone); for a shared store the UTC day, so instances in
	// different time zones count one day.
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

// GoneError is a change of a job the journal no longer has: the caller holds
// its id (it claimed the job, or listed it), so the record was lost (the
// journal was replaced or edited, or a shared store lost data). It matches
// [ErrUnavailable]: what the caller meant to record is not recorded.
type GoneError struct {
	// Path names the journal, as [UnavailableError]'s.
	Path string
	ID   int64
	// Hint is what to do about it.
	Hint string
}

func (e *GoneError) Error() string {
	return fmt.Sprintf("journal job %d's record is gone from the job journal %s: its data was lost, and this change of it is not recorded; %s",
		e.ID, e.Path, e.Hint)
}

func (e *GoneError) Unwrap() error { return ErrUnavailable }

// ErrClaimGivenUp is a Claim's answer for a token [Store.AbandonClaim] gave
// up on (its caller saw an earlier attempt with it fail): nothing was
// recorded. Claim again with a new token.
var ErrClaimGivenUp = errors.New("journal: this claim's token was given up after an earlier attempt with it failed, and nothing was recorded; claim again with a new token")

// NotIntentError is Touch's answer for a job that is no longer an intent
// being sent: it was settled meanwhile, by someone other than its sender.
type NotIntentError struct {
	ID    int64
	State State
}

func (e *NotIntentError) Error() string {
	return fmt.Sprintf("journal job %d is no longer an intent being sent: it was settled meanwhile as %s", e.ID, e.State)
}
