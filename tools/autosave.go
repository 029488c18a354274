package tools

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/internal/journal"
)

// Auto-save: a job that was submitted and never waited for (the agent moved
// on, the host timed out, the process was restarted) still ends up on disk
// before DashScope deletes its video, 24 hours after submission.

// saveLease is how long a process holds the right to save a task's video:
// longer than a download may take, so that no other process starts a
// second one, and short enough that a video whose saver failed or died is
// taken up again within minutes.
const saveLease = downloadTimeout + time.Minute

// maxAutoSaves bounds the downloads auto-save runs at once, so that a
// backlog (a day of jobs found at start) does not crowd out the tools' own
// calls on the network and the disk.
const maxAutoSaves = 2

// minLookGap spaces auto-save's queries, however many jobs it follows, to at
// most two a second: the account's 20 queries a second are for the tools.
const minLookGap = 500 * time.Millisecond

// Follow saves every succeeded job's video into the output directory until
// ctx ends, then returns once its downloads have stopped. Each round (every
// FollowEvery) it looks at the journal's unfinished jobs of the last 24
// hours (any process's, so at start it catches up with jobs that ended
// while no server ran), records what it sees, and saves the videos the
// journal has as succeeded and unsaved, taking the journal's lease on each
// so that exactly one process downloads it. It does nothing unless AutoSave
// is on and there is a journal and an output directory.
func (s *Service) Follow(ctx context.Context) {
	if !s.opts.AutoSave || s.journal == nil || s.opts.Outputs == nil {
		return
	}
	a := &autoSaver{s: s, slots: make(chan struct{}, maxAutoSaves)}
	defer a.saving.Wait()
	for {
		next := time.Now().Add(s.opts.FollowEvery)
		a.lookAtUnfinished(ctx)
		a.saveSucceeded(ctx)
		if (dashscope.RealClock{}).Sleep(ctx, time.Until(next)) != nil {
			return
		}
	}
}

// autoSaver is one process's Follow: its download slots and the downloads
// in flight.
type autoSaver struct {
	s      *Service
	slots  chan struct{}
	saving sync.WaitGroup
}

// lookAtUnfinished records the state of each unfinished job that no process
// has recorded within half a round, spreading the queries over the round.
func (a *autoSaver) lookAtUnfinished(ctx context.Context) {
	s, every := a.s, a.s.opts.FollowEvery
	jobs, err := s.journal.Unfinished(ctx, s.clock().Add(-dashscope.ResultTTL))
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("auto-save could not read the journal; it tries again next round", slog.String("error", err.Error()))
		}
		return
	}
	var due []journal.Job
	for _, job := range jobs {
		// A job is stamped whenever any process records its state: one
		// stamped within half a round was just looked at, by this process
		// or another, and a query now would tell nothing new.
		if s.clock().Sub(job.UpdatedAt) >= every/2 {
			due = append(due, job)
		}
	}
	gap := lookGap(every, len(due))
	for i, job := range due {
		if i > 0 && (dashscope.RealClock{}).Sleep(ctx, gap) != nil {
			return
		}
		a.look(ctx, job.TaskID)
	}
}

// lookGap is the pause between two of a round's n queries: the round
// spread evenly, but never more than two queries a second (nor, when rounds
// are shorter than that, more than one a round).
func lookGap(every time.Duration, n int) time.Duration {
	return max(every/time.Duration(max(n, 1)), min(every, minLookGap))
}

// look records a task's state: what a wait in this process saw within half
// a round, which costs nothing, or else what one query says.
func (a *autoSaver) look(ctx context.Context, taskID string) {
	s := a.s
	if o, ok := s.client.LastObservation(taskID); ok && o.Err == nil && s.client.Clock().Now().Sub(o.At) < s.opts.FollowEvery/2 {
		s.record(ctx, o.Task)
		return
	}
	task, err := s.client.GetTask(ctx, taskID)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Debug("auto-save could not query a task; it looks again next round", slog.String("task_id", taskID), slog.String("error", err.Error()))
		}
		return
	}
	s.record(ctx, task)
}

// saveSucceeded starts saving the videos of succeeded jobs that are not
// saved and have not expired, as many as there are free slots; the rest wait
// for a later round. A job whose lease another process holds is skipped: it
// is being saved there.
func (a *autoSaver) saveSucceeded(ctx context.Context) {
	s := a.s
	jobs, err := s.journal.Unsaved(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("auto-save could not read the journal; it tries again next round", slog.String("error", err.Error()))
		}
		return
	}
	for _, job := range jobs {
		select {
		case a.slots <- struct{}{}:
		default:
			return
		}
		leased, err := s.journal.LeaseSave(ctx, job.TaskID, saveLease)
		if err != nil || !leased {
			<-a.slots
			continue
		}
		a.saving.Add(1)
		go func() {
			defer func() { <-a.slots; a.saving.Done() }()
			// A failed save keeps its lease until it ends, which paces the
			// retries of a video that cannot be fetched; saveVideo logs why.
			if path, err := s.saveVideo(ctx, job.TaskID, job.VideoURL); err == nil {
				s.log.Info("auto-saved a finished job's video", slog.String("task_id", job.TaskID), slog.String("tool", job.Tool), slog.String("path", path))
			}
		}()
	}
}
