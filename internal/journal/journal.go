// Package journal is vace-mcp's record of every paid submission, shared by
// all server processes of a user: an embedded SQLite database (WAL, busy
// timeouts, short transactions) in the state directory. A submission's intent
// is written before it is sent and its outcome after, so a process killed in
// between leaves a trace that the next one reconciles; the duplicate guard
// and the daily budget are decided in one transaction, so two processes
// racing pay once.
package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	_ "modernc.org/sqlite" // cgo-free SQLite, so release builds stay CGO_ENABLED=0
)

// FileName is the journal's file in the state directory.
const FileName = "journal.db"

// SchemaVersion is the newest schema this build writes.
var SchemaVersion = len(migrations)

// migrations bring a database forward one version at a time; never edit one
// that has shipped, only append.
var migrations = []string{
	`CREATE TABLE jobs (
		id             INTEGER PRIMARY KEY,
		key            TEXT    NOT NULL,
		tool           TEXT    NOT NULL,
		model          TEXT    NOT NULL,
		prompt_excerpt TEXT    NOT NULL DEFAULT '',
		inputs         TEXT    NOT NULL DEFAULT '',
		estimate_usd   REAL    NOT NULL DEFAULT 0,
		forced         INTEGER NOT NULL DEFAULT 0,
		owner          TEXT    NOT NULL DEFAULT '',
		state          TEXT    NOT NULL,
		error          TEXT    NOT NULL DEFAULT '',
		task_id        TEXT,
		status         TEXT    NOT NULL DEFAULT '',
		billed_seconds REAL    NOT NULL DEFAULT 0,
		cost_usd       REAL,
		video_url      TEXT    NOT NULL DEFAULT '',
		expires_at     INTEGER NOT NULL DEFAULT 0,
		local_path     TEXT    NOT NULL DEFAULT '',
		save_lease     INTEGER NOT NULL DEFAULT 0,
		created_at     INTEGER NOT NULL,
		updated_at     INTEGER NOT NULL
	);
	CREATE INDEX jobs_by_key ON jobs (key, created_at);
	CREATE UNIQUE INDEX jobs_by_task ON jobs (task_id) WHERE task_id IS NOT NULL;
	CREATE INDEX jobs_by_time ON jobs (created_at);`,
}

// State is where a submission stands in the journal.
type State string

// Submission states.
const (
	// StateIntent: recorded, being sent (or its process died while sending).
	StateIntent State = "intent"
	// StateAccepted: DashScope returned a task id.
	StateAccepted State = "accepted"
	// StateUncertain: sent, but the answer was lost: a task may exist.
	StateUncertain State = "uncertain"
	// StateRefused: DashScope (or an upload) refused it; nothing was made.
	StateRefused State = "refused"
	// StateAbandoned: the sender gave up before it could have made a task.
	StateAbandoned State = "abandoned"
	// StateNeverCreated: reconciliation found no task for a lost intent.
	StateNeverCreated State = "never_created"
)

// Job is one submission as the journal knows it.
type Job struct {
	ID            int64
	Key           string
	Tool          string
	Model         string
	PromptExcerpt string
	Inputs        string
	EstimateUSD   float64
	Forced        bool
	Owner         string
	State         State
	Error         string
	TaskID        string
	Status        string
	BilledSeconds float64
	// CostUSD is the settled cost once the task has ended; nil before.
	CostUSD   *float64
	VideoURL  string
	ExpiresAt time.Time
	LocalPath string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Charge is what the job counts against the budget: its settled cost once
// known, else its estimate; nothing for a submission that made no task.
func (j *Job) Charge() float64 {
	switch {
	case j.State == StateRefused || j.State == StateNeverCreated || j.State == StateAbandoned:
		return 0
	case j.CostUSD != nil:
		return *j.CostUSD
	case j.Status == "FAILED" || j.Status == "CANCELED":
		return 0
	}
	return j.EstimateUSD
}

// Journal is an open journal. It is safe for concurrent use, and other
// processes may have the same file open.
type Journal struct {
	db    *sql.DB
	path  string
	now   func() time.Time
	owner string
}

// Options configures Open.
type Options struct {
	// Dir is the state directory; the journal is Dir/journal.db.
	Dir string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// BusyTimeout is how long a statement waits for another process's lock (default 5 s).
	BusyTimeout time.Duration
}

// ErrUnavailable is matched by every error that means the journal cannot be
// used: locked too long, unreadable, corrupt, or of a newer schema.
var ErrUnavailable = errors.New("the job journal is unavailable")

// UnavailableError says which journal failed and what to do.
type UnavailableError struct {
	// Path names the journal: its file, or a shared store's address.
	Path string
	Err  error
	// Hint is what to do about it; empty gives the advice for a journal file.
	Hint string
}

func (e *UnavailableError) Error() string {
	hint := e.Hint
	if hint == "" {
		hint = "check the file's permissions and free space, stop other vace-mcp processes if it stays locked, or move it aside (vace-mcp doctor shows its state)"
	}
	return fmt.Sprintf("the job journal %s is unavailable (%v): paid submissions are refused until it works again, so nothing is sent untracked; %s",
		e.Path, e.Err, hint)
}

func (e *UnavailableError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// DefaultDir is the user's state directory for vace-mcp: $XDG_STATE_HOME or
// ~/.local/state on Unix, Application Support on macOS, LocalAppData on Windows.
func DefaultDir() (string, error) {
	switch runtime.GOOS {
	case "windows":
		if d := os.Getenv("LocalAppData"); d != "" {
			return filepath.Join(d, "vace-mcp"), nil
		}
	case "darwin":
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(home, "Library", "Application Support", "vace-mcp"), nil
	}
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "vace-mcp"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "state", "vace-mcp"), nil
}

// Open opens (creating it if needed) the journal in opts.Dir and migrates
// its schema forward.
func Open(ctx context.Context, opts Options) (*Journal, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	path := filepath.Join(opts.Dir, FileName)
	fail := func(err error) (*Journal, error) {
		if errors.Is(err, ErrUnavailable) {
			return nil, err // already says which file and what to do
		}
		return nil, &UnavailableError{Path: path, Err: err}
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return fail(err)
	}
	dsn := fmt.Sprintf("file:%s?_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate",
		path, opts.BusyTimeout.Milliseconds())
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fail(err)
	}
	j := &Journal{db: db, path: path, now: opts.Now, owner: fmt.Sprintf("pid %d", os.Getpid())}
	if err := j.migrate(ctx); err != nil {
		_ = db.Close()
		return fail(err)
	}
	return j, nil
}

func (j *Journal) migrate(ctx context.Context) error {
	// A journal already at this schema is opened without the write lock, so
	// a process starts at once while another holds it (WAL readers never wait).
	var current int
	if err := j.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return j.unavailable(err)
	}
	if current == SchemaVersion {
		return nil
	}
	return j.tx(ctx, func(tx *sql.Tx) error {
		var version int
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
			return err
		}
		if version > SchemaVersion {
			return fmt.Errorf("schema version %d is newer than this vace-mcp knows (%d): upgrade vace-mcp", version, SchemaVersion)
		}
		for ; version < SchemaVersion; version++ {
			if _, err := tx.ExecContext(ctx, migrations[version]); err != nil {
				return fmt.Errorf("migrating to schema %d: %w", version+1, err)
			}
		}
		_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", SchemaVersion))
		return err
	})
}

// Close closes the journal.
func (j *Journal) Close() error { return j.db.Close() }

// Path is the journal's file.
func (j *Journal) Path() string { return j.path }

// Describe names the journal for people: its file.
func (j *Journal) Describe() string { return j.path }

// tx runs f in one immediate (write-locking) transaction.
func (j *Journal) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return j.unavailable(err)
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return j.unavailable(err)
	}
	return j.unavailable(tx.Commit())
}

// unavailable wraps database failures (not the callers' own errors) so
// callers can tell a broken journal from a decision.
func (j *Journal) unavailable(err error) error {
	var decision *OverBudgetError
	var settled *NotIntentError
	switch {
	case err == nil, errors.As(err, &decision), errors.As(err, &settled), errors.Is(err, ErrUnavailable), errors.Is(err, context.Canceled):
		return err
	}
	return &UnavailableError{Path: j.path, Err: err}
}

const jobColumns = `id, key, tool, model, prompt_excerpt, inputs, estimate_usd, forced, owner, state, error,
	COALESCE(task_id, ''), status, billed_seconds, cost_usd, video_url, expires_at, local_path, created_at, updated_at`

type scanner interface{ Scan(...any) error }

func scanJob(s scanner) (*Job, error) {
	var j Job
	var forced int
	var cost sql.NullFloat64
	var expires, created, updated int64
	err := s.Scan(&j.ID, &j.Key, &j.Tool, &j.Model, &j.PromptExcerpt, &j.Inputs, &j.EstimateUSD, &forced, &j.Owner, &j.State, &j.Error,
		&j.TaskID, &j.Status, &j.BilledSeconds, &cost, &j.VideoURL, &expires, &j.LocalPath, &created, &updated)
	if err != nil {
		return nil, err
	}
	j.Forced = forced != 0
	if cost.Valid {
		j.CostUSD = &cost.Float64
	}
	if expires > 0 {
		j.ExpiresAt = time.UnixMilli(expires)
	}
	j.CreatedAt, j.UpdatedAt = time.UnixMilli(created), time.UnixMilli(updated)
	return &j, nil
}

// Excerpt shortens a prompt for the journal: its first 80 characters, on one
// line. The journal keeps no full prompts.
func Excerpt(prompt string) string {
	prompt = strings.Join(strings.Fields(prompt), " ")
	if r := []rune(prompt); len(r) > 80 {
		return string(r[:79]) + "…"
	}
	return prompt
}
