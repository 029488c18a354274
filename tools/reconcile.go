package tools

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/internal/journal"
)

// Reconcile settles intents whose process stopped between recording them and
// recording DashScope's answer: each is matched against DashScope's task list
// (same model, the intent's time window) and journaled as the task found, or
// as never created. An intent that cannot be settled now (the list failed)
// is left for the next process, and keeps blocking identical requests.
func (s *Service) Reconcile(ctx context.Context) error {
	if s.journal == nil {
		return s.journalErr
	}
	lost, err := s.journal.LostIntents(ctx, intentInFlight)
	if err != nil {
		return err
	}
	for _, job := range lost {
		page, err := s.client.ListTasks(ctx, dashscope.ListFilter{Model: job.Model, PageSize: 100,
			Start: job.CreatedAt.Add(-time.Minute), End: job.UpdatedAt.Add(intentInFlight)})
		if err != nil {
			s.log.Warn("could not reconcile a lost submission now; it stays blocked until a later try", slog.Int64("journal_id", job.ID), slog.String("error", err.Error()))
			continue
		}
		var found *dashscope.TaskSummary
		for i, t := range page.Tasks {
			if _, err := s.journal.ByTask(ctx, t.ID); !errors.Is(err, journal.ErrNotFound) {
				continue // already someone's
			}
			if found == nil || t.Created.Time.Before(found.Created.Time) {
				found = &page.Tasks[i]
			}
		}
		if found == nil {
			err = s.journal.NeverCreated(ctx, job.ID)
			s.log.Info("reconciled a lost submission: no task was created", slog.Int64("journal_id", job.ID), slog.String("tool", job.Tool))
		} else {
			err = s.journal.Accepted(ctx, job.ID, found.ID, string(found.Status))
			s.log.Warn("reconciled a lost submission: its task exists", slog.Int64("journal_id", job.ID), slog.String("task_id", found.ID))
		}
		if err != nil {
			return err
		}
	}
	return nil
}
