package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"
)

// Intent is a submission about to be sent.
type Intent struct {
	// Key is the request's canonical digest, the duplicate guard's key.
	Key           string
	Tool          string
	Model         string
	PromptExcerpt string
	// Inputs names the local files by content, for people reading the journal.
	Inputs      string
	EstimateUSD float64
	// Forced is allow_duplicate: submit even if an identical job exists.
	Forced bool
	// Token names this Claim attempt: a random id its caller makes for each
	// attempt and never uses again (not for a retry either: a Claim that
	// failed is given up with [Store.AbandonClaim], and a retry with its
	// token could own the intent being abandoned). Empty: the attempt
	// cannot be given up.
	Token string
}

// Rules are what Claim decides by.
type Rules struct {
	// Window is how long an accepted job answers for an identical request.
	Window time.Duration
	// UncertainFor is how long a job of unknown outcome blocks an identical one.
	UncertainFor time.Duration
	// InFlight is how long an intent counts as being sent; older ones are
	// treated as of unknown outcome until reconciled.
	InFlight time.Duration
	// DailyBudget caps today's charges in USD; 0 means no cap.
	DailyBudget float64
	// Stale is an earlier job the caller found ended without a video: a
	// resubmission may replace it.
	Stale int64
}

// OverBudgetError refuses a submission whose estimate would take today's
// charges past the daily budget.
type OverBudgetError struct {
	Estimate, Today, Budget float64
}

func (e *OverBudgetError) Error() string {
	return fmt.Sprintf("this job's estimated cost USD %.2f would take today's total from USD %.2f past the daily budget of USD %.2f",
		e.Estimate, e.Today, e.Budget)
}

// Claim is the duplicate guard and the budget in one transaction: it returns
// an earlier job that answers for the same request (owner false), or records
// the intent and returns it (owner true). Every process sharing the journal
// sees the same decision.
func (j *Journal) Claim(ctx context.Context, in Intent, r Rules) (job *Job, owner bool, err error) {
	if !in.Forced {
		// An identical request mostly finds the earlier job, which needs no
		// write lock: taking it for each of them queued every process's
		// writes behind them, and 8 processes racing 50 submissions each
		// had some refused as locked. Recording an intent needs the lock,
		// and looks again under it.
		earlier, err := j.answering(ctx, j.db, in.Key, r, j.now())
		if err != nil {
			return nil, false, j.unavailable(err)
		}
		if earlier != nil {
			return earlier, false, nil
		}
	}
	err = j.tx(ctx, func(tx *sql.Tx) error {
		now := j.now()
		if !in.Forced {
			earlier, err := j.answering(ctx, tx, in.Key, r, now)
			if err != nil {
				return err
			}
			if earlier != nil {
				job = earlier
				return nil
			}
		}
		if r.DailyBudget > 0 {
			today, err := j.chargedSince(ctx, tx, StartOfDay(now))
			if err != nil {
				return err
			}
			if today+in.EstimateUSD > r.DailyBudget+1e-9 {
				return &OverBudgetError{Estimate: in.EstimateUSD, Today: today, Budget: r.DailyBudget}
			}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO jobs (key, tool, model, prompt_excerpt, inputs, estimate_usd, forced, owner, state, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			in.Key, in.Tool, in.Model, in.PromptExcerpt, in.Inputs, in.EstimateUSD, in.Forced, j.owner, StateIntent, now.UnixMilli(), now.UnixMilli())
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		job, err = scanJob(tx.QueryRowContext(ctx, "SELECT "+jobColumns+" FROM jobs WHERE id = ?", id))
		owner = true
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return job, owner, nil
}

// AbandonClaim does nothing: the embedded journal needs no claim tokens.
// Its Claim is one transaction, so a Claim that failed recorded nothing:
// every error before the COMMIT rolls the transaction back, and a COMMIT
// that fails has not committed. database/sql's Tx.Commit returns the
// context's error without committing when the context is done before it
// (database/sql then rolls back), and otherwise the driver's COMMIT; the
// driver (modernc.org/sqlite's tx.Commit) reports a COMMIT that ran as a
// success even if the context ended meanwhile, and after a COMMIT that
// failed rolls back whatever SQLite left open. SQLite's own atomic commit
// means a COMMIT that returns an error did not commit. And nothing can
// fail after it: once committed, Claim returns the job.
func (j *Journal) AbandonClaim(ctx context.Context, token string) (int64, error) {
	return 0, nil
}

// answering finds the newest earlier job that answers for key: one being
// sent, one of unknown outcome, or one accepted within the window whose task
// has not ended without a video.
func (j *Journal) answering(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, key string, r Rules, now time.Time) (*Job, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+jobColumns+` FROM jobs WHERE key = ? AND created_at >= ? AND id != ?
		AND state IN (?, ?, ?) ORDER BY created_at DESC, id DESC`,
		key, now.Add(-max(r.UncertainFor, r.Window, r.InFlight)).UnixMilli(), r.Stale, StateIntent, StateAccepted, StateUncertain)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		job, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		age := now.Sub(job.CreatedAt)
		switch job.State {
		case StateIntent, StateUncertain:
			if age <= r.UncertainFor {
				return job, nil
			}
		case StateAccepted:
			if age <= r.Window && job.Status != "FAILED" && job.Status != "CANCELED" {
				return job, nil
			}
		}
	}
	return nil, rows.Err()
}

// chargedSince sums what jobs created since t count against the budget:
// [Job.Charge] written in SQL, so the sum is made where the rows are. Read
// into Go one job at a time it cost about 5 µs a job, which a busy day made
// milliseconds added to every submission.
func (j *Journal) chargedSince(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, t time.Time) (float64, error) {
	var total float64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE
			WHEN state IN (?, ?, ?) THEN 0
			WHEN cost_usd IS NOT NULL THEN cost_usd
			WHEN status IN ('FAILED', 'CANCELED') THEN 0
			ELSE estimate_usd END), 0)
		FROM jobs WHERE created_at >= ?`, StateRefused, StateNeverCreated, StateAbandoned, t.UnixMilli()).Scan(&total)
	return total, err
}

// ChargedToday is today's total (the local day of the journal's clock: the
// machine's time zone) across every process sharing the journal: settled costs, and estimates of jobs not yet
// settled.
func (j *Journal) ChargedToday(ctx context.Context) (float64, error) {
	total, err := j.chargedSince(ctx, j.db, StartOfDay(j.now()))
	return total, j.unavailable(err)
}

// StartOfDay is the start of t's local day.
func StartOfDay(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, t.Location())
}

// Accepted records the task DashScope made for an intent.
func (j *Journal) Accepted(ctx context.Context, id int64, taskID, status string) error {
	return j.set(ctx, id, "state = ?, task_id = ?, status = ?", StateAccepted, taskID, status)
}

// Uncertain records that an intent was sent but its answer was lost.
func (j *Journal) Uncertain(ctx context.Context, id int64, reason string) error {
	return j.set(ctx, id, "state = ?, error = ?", StateUncertain, reason)
}

// Refused records that an intent made no task.
func (j *Journal) Refused(ctx context.Context, id int64, reason string) error {
	return j.set(ctx, id, "state = ?, error = ?", StateRefused, reason)
}

// Abandoned records that the sender gave up before it could have made a
// task (cancelled, throttled): an identical request may be sent again at once.
func (j *Journal) Abandoned(ctx context.Context, id int64, reason string) error {
	return j.set(ctx, id, "state = ?, error = ?", StateAbandoned, reason)
}

// NeverCreated records that reconciliation found no task for a lost intent.
func (j *Journal) NeverCreated(ctx context.Context, id int64) error {
	return j.settleOpen(ctx, id, "state = ?, error = ?", StateNeverCreated, "no task found for it in DashScope's list")
}

// Matched records the task reconciliation found for a lost submission.
func (j *Journal) Matched(ctx context.Context, id int64, taskID, status string) error {
	return j.settleOpen(ctx, id, "state = ?, task_id = ?, status = ?", StateAccepted, taskID, status)
}

// Ambiguous records that reconciliation could not tell which task, if any, a
// lost submission made: it stays of unknown outcome, for a person to decide.
func (j *Journal) Ambiguous(ctx context.Context, id int64, reason string) error {
	return j.settleOpen(ctx, id, "state = ?, error = ?", StateUncertain, reason)
}

// settleOpen changes a job that is still open (an intent, or of unknown
// outcome) and leaves one its sender has meanwhile settled as it is: the
// sender knows better than reconciliation.
func (j *Journal) settleOpen(ctx context.Context, id int64, assignments string, args ...any) error {
	return j.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE jobs SET "+assignments+", updated_at = ? WHERE id = ? AND state IN ('intent', 'uncertain')",
			append(args, j.now().UnixMilli(), id)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		_, err = j.stateOf(ctx, tx, id)
		return err
	})
}

// stateOf is a job's state, or a [*GoneError].
func (j *Journal) stateOf(ctx context.Context, tx *sql.Tx, id int64) (State, error) {
	var state State
	err := tx.QueryRowContext(ctx, "SELECT state FROM jobs WHERE id = ?", id).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", &GoneError{Path: j.path, ID: id, Hint: goneHint}
	}
	return state, err
}

// goneHint is what to do about a job whose record is gone from the file.
const goneHint = "the journal file was replaced, restored from an older copy or edited while vace-mcp ran; keep the task ids you were given " +
	"(list_tasks finds the account's tasks of the last 24 hours)"

// OpenSince returns the intents and jobs of unknown outcome of a model
// created in [from, to]: the submissions a task of that window could belong to.
func (j *Journal) OpenSince(ctx context.Context, model string, from, to time.Time) ([]Job, error) {
	return j.listArgs(ctx, "model = ? AND state IN ('intent', 'uncertain') AND created_at BETWEEN ? AND ? ORDER BY created_at",
		model, from.UnixMilli(), to.UnixMilli())
}

// Touch marks an intent as still being sent (before a long upload ends, and
// just before the POST), failing with a [*NotIntentError] if it is no
// longer an intent or a [*GoneError] if it is gone.
func (j *Journal) Touch(ctx context.Context, id int64) error {
	return j.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE jobs SET updated_at = ? WHERE id = ? AND state = ?", j.now().UnixMilli(), id, StateIntent)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		state, err := j.stateOf(ctx, tx, id)
		if err != nil {
			return err
		}
		return &NotIntentError{ID: id, State: state}
	})
}

// set changes a job whatever its state, failing with a [*GoneError] if it is gone.
func (j *Journal) set(ctx context.Context, id int64, assignments string, args ...any) error {
	return j.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE jobs SET "+assignments+", updated_at = ? WHERE id = ?", append(args, j.now().UnixMilli(), id)...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		return &GoneError{Path: j.path, ID: id, Hint: goneHint}
	})
}

// Observation is what a look at a task learned.
type Observation struct {
	TaskID        string
	Status        string
	VideoURL      string
	ExpiresAt     time.Time
	BilledSeconds float64
	// CostUSD settles the job's cost; nil leaves it open.
	CostUSD *float64
}

// Observe records a task's state, settling its cost once it has ended. A
// task the journal does not know is ignored.
func (j *Journal) Observe(ctx context.Context, o Observation) error {
	return j.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE jobs SET status = ?, video_url = CASE WHEN ? != '' THEN ? ELSE video_url END,
			expires_at = CASE WHEN ? > 0 THEN ? ELSE expires_at END, billed_seconds = CASE WHEN ? > 0 THEN ? ELSE billed_seconds END,
			cost_usd = COALESCE(?, cost_usd), updated_at = ? WHERE task_id = ?`,
			o.Status, o.VideoURL, o.VideoURL, o.ExpiresAt.UnixMilli(), o.ExpiresAt.UnixMilli(), o.BilledSeconds, o.BilledSeconds,
			nullable(o.CostUSD), j.now().UnixMilli(), o.TaskID)
		return err
	})
}

func nullable(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// Saved records where a task's video was saved.
func (j *Journal) Saved(ctx context.Context, taskID, path string) error {
	return j.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE jobs SET local_path = ?, save_lease = 0, updated_at = ? WHERE task_id = ?", path, j.now().UnixMilli(), taskID)
		return err
	})
}

// LeaseSave gives the caller the right to save a task's video until the
// lease ends, if no other process holds it and the video is not saved yet.
func (j *Journal) LeaseSave(ctx context.Context, taskID string, lease time.Duration) (bool, error) {
	var got bool
	err := j.tx(ctx, func(tx *sql.Tx) error {
		now := j.now()
		res, err := tx.ExecContext(ctx, "UPDATE jobs SET save_lease = ?, updated_at = ? WHERE task_id = ? AND local_path = '' AND save_lease < ?",
			now.Add(lease).UnixMilli(), now.UnixMilli(), taskID, now.UnixMilli())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		got = n == 1
		return err
	})
	return got, err
}

// ErrNotFound is returned for a job the journal does not have.
var ErrNotFound = errors.New("journal: no such job")

// Get returns a job by its journal id.
func (j *Journal) Get(ctx context.Context, id int64) (*Job, error) {
	return j.one(ctx, "id = ?", id)
}

// ByTask returns the job that made a task.
func (j *Journal) ByTask(ctx context.Context, taskID string) (*Job, error) {
	return j.one(ctx, "task_id = ?", taskID)
}

func (j *Journal) one(ctx context.Context, where string, arg any) (*Job, error) {
	job, err := scanJob(j.db.QueryRowContext(ctx, "SELECT "+jobColumns+" FROM jobs WHERE "+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return job, j.unavailable(err)
}

// List returns jobs created since t, newest first, at most limit (0: all).
func (j *Journal) List(ctx context.Context, since time.Time, limit int) ([]Job, error) {
	return j.list(ctx, "created_at >= ? ORDER BY created_at DESC, id DESC", since.UnixMilli(), limit)
}

// Unfinished returns accepted jobs whose task has not been seen to end,
// created since t: the ones to follow and save.
func (j *Journal) Unfinished(ctx context.Context, since time.Time) ([]Job, error) {
	return j.list(ctx, "created_at >= ? AND state = 'accepted' AND status NOT IN ('SUCCEEDED','FAILED','CANCELED','UNKNOWN') ORDER BY created_at", since.UnixMilli(), 0)
}

// Unsaved returns succeeded jobs whose video is not saved yet and has not expired.
func (j *Journal) Unsaved(ctx context.Context) ([]Job, error) {
	return j.list(ctx, "status = 'SUCCEEDED' AND local_path = '' AND video_url != '' AND expires_at > ? ORDER BY created_at", j.now().UnixMilli(), 0)
}

// LostIntents returns intents whose process is gone (it died while
// sending) or that are older than d (it is taking far too long).
func (j *Journal) LostIntents(ctx context.Context, d time.Duration) ([]Job, error) {
	intents, err := j.list(ctx, "state IN ('intent', 'uncertain') AND task_id IS NULL ORDER BY created_at", nil, 0)
	if err != nil {
		return nil, err
	}
	var lost []Job
	for _, job := range intents {
		var pid int
		_, scanErr := fmt.Sscanf(job.Owner, "pid %d", &pid)
		dead := scanErr == nil && job.Owner != j.owner && !processAlive(pid)
		if job.State == StateUncertain || j.now().Sub(job.UpdatedAt) > d || dead {
			lost = append(lost, job)
		}
	}
	return lost, nil
}

func (j *Journal) listArgs(ctx context.Context, where string, args ...any) ([]Job, error) {
	rows, err := j.db.QueryContext(ctx, "SELECT "+jobColumns+" FROM jobs WHERE "+where, args...)
	if err != nil {
		return nil, j.unavailable(err)
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		job, err := scanJob(rows)
		if err != nil {
			return nil, j.unavailable(err)
		}
		out = append(out, *job)
	}
	return out, j.unavailable(rows.Err())
}

func (j *Journal) list(ctx context.Context, where string, arg any, limit int) ([]Job, error) {
	if limit > 0 {
		where += fmt.Sprintf(" LIMIT %d", limit)
	}
	if arg == nil {
		return j.listArgs(ctx, where)
	}
	return j.listArgs(ctx, where, arg)
}

// Prune deletes jobs created before t (the history kept is --history-days).
func (j *Journal) Prune(ctx context.Context, before time.Time) (int64, error) {
	// Nothing to prune takes no write lock: a process starting while another
	// holds it does not wait.
	var n int64
	if err := j.db.QueryRowContext(ctx, "SELECT count(*) FROM jobs WHERE created_at < ? AND state != 'intent'", before.UnixMilli()).Scan(&n); err != nil || n == 0 {
		return 0, j.unavailable(err)
	}
	err := j.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM jobs WHERE created_at < ? AND state != 'intent'", before.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// Health describes the journal for doctor.
type Health struct {
	Path          string
	Bytes         int64
	SchemaVersion int
	Jobs          int
	Check         string // "ok", or what SQLite's quick_check found
}

// Health checks the journal's file and schema.
func (j *Journal) Health(ctx context.Context) (Health, error) {
	h := Health{Path: j.path}
	if st, err := os.Stat(j.path); err == nil {
		h.Bytes = st.Size()
	}
	if err := j.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&h.SchemaVersion); err != nil {
		return h, j.unavailable(err)
	}
	if err := j.db.QueryRowContext(ctx, "SELECT count(*) FROM jobs").Scan(&h.Jobs); err != nil {
		return h, j.unavailable(err)
	}
	if err := j.db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&h.Check); err != nil {
		return h, j.unavailable(err)
	}
	return h, nil
}
