package tools

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/internal/mcptasks"
)

// MCP tasks: a host that speaks them runs an editing tool as a task (see
// package mcptasks, which answers the task traffic). The tool call itself
// only submits, as always; the task is the DashScope job, read here.

// TaskTools are the tools that may run as MCP tasks: the editing tools on
// offer.
func TaskTools(offered []server.ServerTool) []string {
	var names []string
	for _, t := range offered {
		if isSubmitTool(t.Tool.Name) {
			names = append(names, t.Tool.Name)
		}
	}
	return names
}

// TaskJobs is what the MCP task layer reads and cancels jobs through.
func (s *Service) TaskJobs() mcptasks.Jobs { return taskJobs{s} }

type taskJobs struct{ s *Service }

// Look answers from what the client knows when that cannot be stale (an
// ended job, or a query of the last second, perhaps a wait's or a follower's)
// and queries otherwise: a host polls each task every pollInterval, a tenth
// of a query a second per task.
func (j taskJobs) Look(ctx context.Context, jobID string) (mcptasks.View, error) {
	s := j.s
	task, err := s.client.GetTask(ctx, jobID)
	if err != nil {
		return mcptasks.View{}, errors.New(s.explain("tasks/get", err))
	}
	return j.view(ctx, task, false)
}

func (j taskJobs) Result(ctx context.Context, jobID string) (*mcp.CallToolResult, dashscope.TaskStatus, error) {
	task, err := j.s.client.Wait(ctx, jobID, dashscope.WaitOptions{})
	if err != nil {
		return nil, "", err
	}
	v, err := j.view(ctx, task, true)
	if err != nil {
		return nil, "", err
	}
	return v.Result, task.Status, nil
}

func (j taskJobs) Cancel(ctx context.Context, jobID string) (mcptasks.View, error) {
	s := j.s
	if err := s.client.CancelTask(ctx, jobID); err != nil && !dashscope.IsUnsupportedOperation(err) {
		return mcptasks.View{}, errors.New(s.explain("tasks/cancel", err))
	}
	task, err := s.client.QueryTask(ctx, jobID) // asked anew: the cancel has just changed it
	if err != nil {
		return mcptasks.View{}, errors.New(s.explain("tasks/cancel", err))
	}
	return j.view(ctx, task, false)
}

func (j taskJobs) Watch(ctx context.Context, jobID string, f func(mcptasks.View)) {
	_, _ = j.s.client.Wait(ctx, jobID, dashscope.WaitOptions{OnUpdate: func(o dashscope.Observation) {
		if o.Task == nil || o.Err != nil {
			return
		}
		v, _ := j.quickView(o.Task)
		v.Age = o.Age
		f(v)
	}})
}

// quickView is a view of task without its result, and the task as a tool
// reports it.
func (j taskJobs) quickView(task *dashscope.Task) (mcptasks.View, TaskResult) {
	s := j.s
	now := s.client.Clock().Now()
	r := s.taskResult(task, now)
	v := mcptasks.View{Status: task.Status, Updated: updatedAt(task), Message: s.statusMessage(r)}
	if !task.SubmitTime.IsZero() {
		v.Age = now.Sub(task.SubmitTime.Time)
	}
	return v, r
}

// view is quickView with the result of a task that ended, once final: its
// video saved when auto-save is on (waiting for the save when wait is set).
func (j taskJobs) view(ctx context.Context, task *dashscope.Task, wait bool) (mcptasks.View, error) {
	s := j.s
	v, r := j.quickView(task)
	if !task.Status.Terminal() {
		return v, nil
	}
	if task.Status == dashscope.StatusSucceeded && s.autoSaves() && r.VideoURL != "" {
		st := s.saveState(r.TaskID, r.VideoURL)
		if wait {
			select {
			case <-st.done:
			case <-ctx.Done():
				return v, ctx.Err()
			}
		}
		select {
		case <-st.done:
		default:
			return v, nil // being saved: not final yet
		}
		if st.err != nil {
			r.Warnings = append(r.Warnings, "the video could not be saved automatically ("+st.err.Error()+"); use download_video before it expires")
		} else {
			r.LocalPath = st.path
		}
		v.Message = s.statusMessage(r)
	}
	res := s.result(r, "")
	res.IsError = task.Status != dashscope.StatusSucceeded
	v.Result = res
	return v, nil
}

func (s *Service) autoSaves() bool {
	return s.opts.AutoSave && s.opts.Outputs != nil && s.journal != nil
}

// statusMessage is the one line a host shows for a task.
func (s *Service) statusMessage(r TaskResult) string {
	var msg string
	switch dashscope.TaskStatus(r.Status) {
	case dashscope.StatusSucceeded:
		msg = "SUCCEEDED"
		if r.AgeSeconds > 0 {
			msg += " after " + human(r.AgeSeconds)
		}
		if r.LocalPath != "" {
			msg += "; saved to " + r.LocalPath
		}
	case dashscope.StatusFailed:
		msg = fmt.Sprintf("FAILED (%s): %s. Nothing was billed", orText(r.ErrorCode, "no code"), orText(r.ErrorMessage, "DashScope gave no reason"))
	case dashscope.StatusCanceled:
		msg = "CANCELED at DashScope before it ran; nothing was billed"
	case dashscope.StatusUnknown:
		msg = "DashScope does not report this job (yet)"
	default:
		msg = r.Status
		if r.AgeSeconds > 0 {
			msg += fmt.Sprintf(", %s since submission", human(r.AgeSeconds))
		}
		msg += " (jobs take " + typicalJob + ")"
	}
	if s.opts.Sandbox {
		msg = "[sandbox] " + msg
	}
	return msg
}

// updatedAt is when a job last changed, as far as DashScope's times tell.
func updatedAt(t *dashscope.Task) time.Time {
	switch {
	case !t.EndTime.IsZero():
		return t.EndTime.Time
	case t.Status.Terminal():
		return time.Time{} // ended at a time not given
	case !t.ScheduledTime.IsZero():
		return t.ScheduledTime.Time
	}
	return t.SubmitTime.Time
}

// saving is one process's save of a finished job's video for its task.
type saving struct {
	done chan struct{}
	path string
	err  error
}

// saveState returns the save of a task's video, starting it if none has
// started: at most one per task in this process, and (through the
// journal's lease) one download across processes.
func (s *Service) saveState(taskID, videoURL string) *saving {
	s.savesMu.Lock()
	defer s.savesMu.Unlock()
	if st, ok := s.saves[taskID]; ok {
		return st
	}
	if s.saves == nil {
		s.saves = map[string]*saving{}
	}
	st := &saving{done: make(chan struct{})}
	s.saves[taskID] = st
	if !s.background(func() {
		defer close(st.done)
		st.path, st.err = s.saveOnce(taskID, videoURL)
	}) {
		st.err = errors.New("the server is stopping")
		close(st.done)
	}
	return st
}

// saveOnce saves a video unless it is saved (or being saved) already:
// another process holding the lease is waited for, at most for its lease.
func (s *Service) saveOnce(taskID, videoURL string) (string, error) {
	ctx, cancel := context.WithTimeout(s.life, 2*saveLease)
	defer cancel()
	for {
		if job, err := s.journal.ByTask(ctx, taskID); err == nil && job.LocalPath != "" {
			return job.LocalPath, nil
		}
		leased, err := s.journal.LeaseSave(ctx, taskID, saveLease)
		if err != nil {
			return "", err
		}
		if leased {
			return s.saveVideo(ctx, taskID, videoURL)
		}
		if err := (dashscope.RealClock{}).Sleep(ctx, time.Second); err != nil {
			return "", fmt.Errorf("another process was saving the video and did not finish in time")
		}
	}
}
