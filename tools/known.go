package tools

import (
	"context"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/internal/localfiles"
)

// knownResult is the answer, without a DashScope query, about a task the
// journal knows has ended (get_task; download_video when the video is saved):
// an ended task never changes, and the journal has it from whichever process
// saw it end, before a restart too, and after DashScope has forgotten it. It
// returns false when DashScope must answer.
//
// The journal keeps billed seconds and the cost but not the usage object,
// the task's times or actual_prompt, so the answer has billed_seconds and
// cost_usd, no usage, and says from_journal. The video URL is given while it
// works, and the saved file while it passes the check. A FAILED task is left
// to DashScope while DashScope keeps it (24 hours): its error code and
// message say what to fix, and the journal does not have them.
func (s *Service) knownResult(ctx context.Context, taskID string) (TaskResult, bool) {
	if s.journal == nil {
		return TaskResult{}, false
	}
	job, err := s.journal.ByTask(ctx, taskID)
	if err != nil { // not a journaled task, or the journal is unavailable
		return TaskResult{}, false
	}
	now := s.clock() // the journal's times are the wall clock's
	status := dashscope.TaskStatus(job.Status)
	r := TaskResult{
		TaskID: taskID, Status: job.Status, Done: true, Function: job.Tool, BilledSeconds: job.BilledSeconds, CostUSD: job.CostUSD,
		Simulated: s.opts.Sandbox, FromJournal: true, Next: nextStep(status),
	}
	switch {
	case status == dashscope.StatusSucceeded && job.VideoURL != "" && !job.ExpiresAt.IsZero():
		if now.Before(job.ExpiresAt) {
			r.VideoURL, r.ExpiresAt = job.VideoURL, rfc3339(job.ExpiresAt)
		} else {
			r.Next = "Its video link expired at " + rfc3339(job.ExpiresAt) + " and the video was not saved: DashScope deletes videos after 24 hours."
		}
	case status == dashscope.StatusCanceled: // its status and cost (none) are the whole answer
	case status == dashscope.StatusFailed && now.Sub(job.CreatedAt) > dashscope.ResultTTL:
		r.Next = "Nothing was billed. DashScope no longer has its error message (it keeps tasks 24 hours): check the inputs and submit again."
	default:
		return TaskResult{}, false
	}
	if job.LocalPath != "" && localfiles.Intact(job.LocalPath, isMP4) {
		r.LocalPath = job.LocalPath
		r.Next = "The video is saved at local_path; show or open it from there."
	}
	return r, true
}
