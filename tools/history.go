package tools

import (
	"context"
	"time"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/internal/journal"
)

// journalRow fills a list row with what the journal knows of its task: the
// tool, the prompt's excerpt, the cost and the saved file.
func journalRow(row *TaskRow, job *journal.Job) {
	row.Function = job.Tool
	row.Prompt = job.PromptExcerpt
	row.BilledSeconds = job.BilledSeconds
	row.EstimatedCostUSD = job.EstimateUSD
	row.CostUSD = job.CostUSD
	row.LocalPath = job.LocalPath
}

// enrich adds the journal's knowledge to rows DashScope listed.
func (s *Service) enrich(ctx context.Context, rows []TaskRow) {
	if s.journal == nil {
		return
	}
	for i := range rows {
		if job, err := s.journal.ByTask(ctx, rows[i].TaskID); err == nil {
			journalRow(&rows[i], job)
		}
	}
}

// history lists, from the journal alone, the jobs of a window DashScope has
// forgotten (it keeps tasks for 24 hours).
func (s *Service) history(ctx context.Context, f dashscope.ListFilter) (TaskList, error) {
	jobs, err := s.journal.List(ctx, f.Start, 0)
	if err != nil {
		return TaskList{}, err
	}
	out := TaskList{Tasks: []TaskRow{}, FromJournal: true}
	for _, job := range jobs {
		if job.TaskID == "" || job.CreatedAt.After(f.End) || (f.Status != "" && job.Status != string(f.Status)) {
			continue
		}
		row := TaskRow{TaskID: job.TaskID, Status: job.Status, Model: job.Model, CreatedAt: rfc3339(job.CreatedAt)}
		journalRow(&row, &job)
		out.Tasks = append(out.Tasks, row)
	}
	out.Total = len(out.Tasks)
	size := max(f.PageSize, 10)
	page := max(f.PageNo, 1)
	out.PageNo, out.PageSize, out.TotalPage = page, size, (out.Total+size-1)/size
	lo, hi := min((page-1)*size, out.Total), min(page*size, out.Total)
	out.Tasks = out.Tasks[lo:hi]
	return out, nil
}

// journalOnly reports whether a window is answered from the journal alone:
// DashScope lists windows of at most 24 hours, and forgets tasks after 24.
func journalOnly(f dashscope.ListFilter, now time.Time) bool {
	return !f.Start.IsZero() && (f.End.Sub(f.Start) > dashscope.ResultTTL || f.Start.Before(now.Add(-dashscope.ResultTTL)))
}
