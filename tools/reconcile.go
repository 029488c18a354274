package tools

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/internal/journal"
)

// reconcileSlack widens the window a lost submission's task is looked for in:
// clocks differ, and a task may appear in DashScope's list a while after it
// was made.
const reconcileSlack = 3 * time.Minute

// Reconcile settles submissions whose outcome the journal lacks: intents left
// by a process that stopped between recording them and recording DashScope's
// answer, and submissions whose answer was lost. Each is looked up in
// DashScope's task list (same model, its time window, every page):
//   - exactly one task there that no journaled job owns, and no other open
//     submission of that model in the window: it is this submission's;
//   - none, once the window has passed by a margin: no task was made;
//   - otherwise it stays of unknown outcome (blocking identical requests) and
//     names the candidates for a person to decide, or waits for a later pass.
func (s *Service) Reconcile(ctx context.Context) error {
	if s.journal == nil {
		return s.journalErr
	}
	lost, err := s.journal.LostIntents(ctx, intentInFlight)
	if err != nil {
		return err
	}
	for _, job := range lost {
		if err := s.reconcileOne(ctx, job); err != nil {
			if ctx.Err() != nil {
				return err
			}
			s.log.Warn("could not reconcile a submission now; it stays blocked until a later try", slog.Int64("journal_id", job.ID), slog.String("error", err.Error()))
		}
	}
	return nil
}

func (s *Service) reconcileOne(ctx context.Context, job journal.Job) error {
	from, to := job.CreatedAt.Add(-reconcileSlack), job.UpdatedAt.Add(submitTimeout+reconcileSlack)
	tasks, err := s.listAll(ctx, dashscope.ListFilter{Model: job.Model, Start: from, End: to})
	if err != nil {
		return err
	}
	var candidates []dashscope.TaskSummary
	for _, t := range tasks {
		if _, err := s.journal.ByTask(ctx, t.ID); errors.Is(err, journal.ErrNotFound) {
			candidates = append(candidates, t)
		} else if err != nil {
			return err
		}
	}
	open, err := s.journal.OpenSince(ctx, job.Model, from, to)
	if err != nil {
		return err
	}
	settled := s.clock().After(to) // the window is over: the list is complete for it
	switch {
	case len(candidates) == 1 && len(open) == 1:
		s.log.Warn("reconciled a lost submission: its task exists", slog.Int64("journal_id", job.ID), slog.String("task_id", candidates[0].ID))
		return s.journal.Matched(ctx, job.ID, candidates[0].ID, string(candidates[0].Status))
	case len(candidates) == 0 && settled:
		s.log.Info("reconciled a lost submission: no task was made", slog.Int64("journal_id", job.ID), slog.String("tool", job.Tool))
		return s.journal.NeverCreated(ctx, job.ID)
	case len(candidates) > 0 && settled:
		ids := make([]string, len(candidates))
		for i, t := range candidates {
			ids[i] = t.ID
		}
		return s.journal.Ambiguous(ctx, job.ID, fmt.Sprintf("sent at %s; its answer was lost, and DashScope lists %d task(s) of that model and time "+
			"that no journaled job owns (%s): one may be this one", rfc3339(job.CreatedAt), len(ids), strings.Join(ids, ", ")))
	}
	return nil // not yet decidable: a later pass looks again
}

// listAll reads every page of a task list.
func (s *Service) listAll(ctx context.Context, f dashscope.ListFilter) ([]dashscope.TaskSummary, error) {
	f.PageSize = maxPageSize
	var all []dashscope.TaskSummary
	for f.PageNo = 1; ; f.PageNo++ {
		page, err := s.client.ListTasks(ctx, f)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Tasks...)
		if len(page.Tasks) < f.PageSize || f.PageNo >= page.TotalPage {
			return all, nil
		}
	}
}
