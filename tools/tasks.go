package tools

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/vace-mcp/vace-mcp/dashscope"
)

// TaskIDArgs are the arguments of get_task, cancel_task and download_video.
type TaskIDArgs struct {
	TaskID string `json:"task_id" jsonschema_description:"The task_id that an editing tool returned."`
}

// WaitTaskArgs are the arguments of wait_task.
type WaitTaskArgs struct {
	TaskID         string `json:"task_id" jsonschema_description:"The task_id that an editing tool returned."`
	TimeoutSeconds *int   `json:"timeout_seconds,omitempty" jsonschema:"minimum=1,maximum=300,default=40" jsonschema_description:"Longest wait for this call (default 40 s). Some hosts cut calls off after about 60 s; calling again resumes the wait."`
}

// ListTasksArgs are the arguments of list_tasks.
type ListTasksArgs struct {
	Status    dashscope.TaskStatus `json:"status,omitempty" jsonschema:"enum=PENDING,enum=RUNNING,enum=SUCCEEDED,enum=FAILED,enum=CANCELED" jsonschema_description:"Only tasks in this state."`
	StartTime string               `json:"start_time,omitempty" jsonschema_description:"Earliest submission time, RFC 3339 (e.g. 2026-11-21T08:00:00Z). Default: 24 hours before end_time. The window may be at most 24 hours."`
	EndTime   string               `json:"end_time,omitempty" jsonschema_description:"Latest submission time, RFC 3339. Default: now."`
	PageNo    *int                 `json:"page_no,omitempty" jsonschema:"minimum=1,default=1" jsonschema_description:"Page to return."`
	PageSize  *int                 `json:"page_size,omitempty" jsonschema:"minimum=1,maximum=100,default=10" jsonschema_description:"Tasks per page."`
}

// TaskList is the structured result of list_tasks.
type TaskList struct {
	Tasks     []TaskRow `json:"tasks"`
	Total     int       `json:"total"`
	PageNo    int       `json:"page_no"`
	PageSize  int       `json:"page_size"`
	TotalPage int       `json:"total_page"`
	Simulated bool      `json:"simulated,omitempty"`
}

// TaskRow is one task in a list.
type TaskRow struct {
	TaskID    string `json:"task_id"`
	Status    string `json:"status"`
	Model     string `json:"model,omitempty"`
	Function  string `json:"function,omitempty"`
	CreatedAt string `json:"created_at,omitempty"`
	StartedAt string `json:"started_at,omitempty"`
	EndedAt   string `json:"ended_at,omitempty"`
}

func (s *Service) getTask() Tool {
	def := mcp.NewToolWithRawSchema("get_task",
		"Get a task's current status and, once it has succeeded, its video_url. One quick query; to wait for the end, use wait_task.",
		schemaOf(&TaskIDArgs{}))
	def.RawOutputSchema = taskResultSchema
	annotate(&def, "Get task status", true, false, true)
	return Tool{Definition: def, Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args TaskIDArgs
		if err := bindArgs(req, &args); err != nil {
			return s.toolError("get_task", err), nil
		}
		task, err := s.client.GetTask(ctx, args.TaskID)
		if err != nil {
			return s.toolError("get_task", err), nil
		}
		return s.result(s.taskResult(task, "", s.client.Clock().Now()), ""), nil
	}}
}

func (s *Service) waitTask() Tool {
	def := mcp.NewToolWithRawSchema("wait_task",
		"Wait for a task to finish, for at most timeout_seconds (default 40), sending progress notifications meanwhile. "+
			"Returns the finished task (with video_url on success), or, if time runs out first, its current status with done: false: "+
			"then call wait_task again with the same task_id. Waiting costs nothing; jobs take 5-10 minutes.",
		schemaOf(&WaitTaskArgs{}))
	def.RawOutputSchema = taskResultSchema
	annotate(&def, "Wait for a task", true, false, true)
	return Tool{Definition: def, Handler: s.handleWait}
}

func (s *Service) handleWait(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	var args WaitTaskArgs
	if err := bindArgs(req, &args); err != nil {
		return s.toolError("wait_task", err), nil
	}
	timeout := s.opts.WaitDefault
	if args.TimeoutSeconds != nil {
		if n := *args.TimeoutSeconds; n < 1 || n > MaxWaitSeconds {
			return s.toolError("wait_task", &dashscope.FieldError{Field: "timeout_seconds",
				Problem: fmt.Sprintf("must be between 1 and %d seconds (got %d)", MaxWaitSeconds, n)}), nil
		}
		timeout = time.Duration(*args.TimeoutSeconds) * time.Second
	}
	release, err := s.waits.acquire(sessionID(ctx))
	if err != nil {
		return mcp.NewToolResultError("wait_task refused: " + err.Error() + "."), nil
	}
	defer release()

	prog := newProgress(ctx, req, s.log)
	started := time.Now()
	waitCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var (
		mu     sync.Mutex
		latest *dashscope.Observation
	)
	changed := make(chan struct{}, 1)
	type outcome struct {
		task *dashscope.Task
		err  error
	}
	done := make(chan outcome, 1)
	go func() {
		task, err := s.client.Wait(waitCtx, args.TaskID, dashscope.WaitOptions{OnUpdate: func(o dashscope.Observation) {
			mu.Lock()
			prev := latest
			latest = &o
			mu.Unlock()
			if prev == nil || prev.Task == nil || o.Task == nil || prev.Task.Status != o.Task.Status {
				select {
				case changed <- struct{}{}:
				default:
				}
			}
		}})
		done <- outcome{task, err}
	}()

	tick := time.NewTicker(s.opts.ProgressEvery)
	defer tick.Stop()
	report := func() {
		mu.Lock()
		o := latest
		mu.Unlock()
		if o != nil && o.Task != nil && !o.Task.Status.Terminal() {
			s.reportWait(prog, o, time.Since(started), timeout)
		}
	}
	for {
		select {
		case <-changed:
			report()
		case <-tick.C:
			report()
		case out := <-done:
			prog.settle() // no notification may follow the result
			if ctx.Err() != nil {
				// The client cancelled: it wants no answer. Returning the
				// context's error lets the transport send none where it can.
				return nil, ctx.Err()
			}
			return s.waitResult(args.TaskID, out.task, out.err, latest, time.Since(started), timeout), nil
		}
	}
}

// reportWait sends a progress notification: the task's age against the
// typical job length, with a human message.
func (s *Service) reportWait(prog *progress, o *dashscope.Observation, waited, timeout time.Duration) {
	age := o.Age + s.client.Clock().Now().Sub(o.At)
	const typical = 600.0 // seconds: the slow end of a typical job
	total := typical
	if age.Seconds() > typical*0.95 {
		total = 0 // past the typical length: progress without a total
	}
	msg := fmt.Sprintf("%s, %s since submission (jobs take %s); waited %s of %s",
		o.Task.Status, human(age.Seconds()), typicalJob, waited.Round(time.Second), timeout)
	if s.opts.Sandbox {
		msg = "[sandbox] " + msg
	}
	prog.report(age.Seconds(), total, msg)
}

// waitResult shapes how a wait ended.
func (s *Service) waitResult(taskID string, task *dashscope.Task, err error, latest *dashscope.Observation,
	waited, timeout time.Duration) *mcp.CallToolResult {
	now := s.client.Clock().Now()
	switch {
	case err == nil:
		r := s.taskResult(task, "", now)
		r.WaitedSeconds = roundSeconds(waited)
		return s.result(r, "")
	case !errors.Is(err, context.DeadlineExceeded):
		return s.toolError("wait_task", err)
	case task == nil:
		msg := fmt.Sprintf("No status for task %s within %s", taskID, timeout)
		if latest != nil && latest.Err != nil {
			msg += fmt.Sprintf(": the last query failed (%s)", s.explain("wait_task", latest.Err))
		}
		return mcp.NewToolResultError(msg + ". Call wait_task again.")
	}
	r := s.taskResult(task, "", now)
	r.WaitedSeconds = roundSeconds(waited)
	r.Next = fmt.Sprintf("Not finished after waiting %s (jobs take %s). Call wait_task again with the same task_id to keep waiting.",
		timeout, typicalJob)
	return s.result(r, "")
}

// downloadTimeout bounds saving one video (a few MB to a few tens of MB).
const downloadTimeout = 3 * time.Minute

func (s *Service) downloadVideo() Tool {
	def := mcp.NewToolWithRawSchema("download_video",
		"Save a succeeded task's video in the server's output directory and return its local_path (video URLs expire after 24 hours). "+
			"Saving the same task again returns the saved file.",
		schemaOf(&TaskIDArgs{}))
	def.RawOutputSchema = taskResultSchema
	annotate(&def, "Save a video locally", false, false, true)
	return Tool{Definition: def, Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args TaskIDArgs
		if err := bindArgs(req, &args); err != nil {
			return s.toolError("download_video", err), nil
		}
		task, err := s.client.GetTask(ctx, args.TaskID)
		if err != nil {
			return s.toolError("download_video", err), nil
		}
		r := s.taskResult(task, "", s.client.Clock().Now())
		if task.Status != dashscope.StatusSucceeded {
			return mcp.NewToolResultError(fmt.Sprintf("Task %s is %s: there is no video to save. %s", task.ID, task.Status, r.Next)), nil
		}
		if err := s.download(ctx, &r); err != nil {
			return mcp.NewToolResultError(fmt.Sprintf("Saving the video of task %s failed: %v. Nothing was saved; call download_video again.", task.ID, err)), nil
		}
		return s.result(r, "Saved."), nil
	}}
}

// download saves a succeeded task's video in the output directory (once:
// a saved video is reused) and records where.
func (s *Service) download(ctx context.Context, r *TaskResult) error {
	if s.opts.Outputs == nil {
		return errors.New("downloads are off on this server")
	}
	name := "vace-" + r.TaskID + ".mp4"
	if p, ok := s.opts.Outputs.Existing(name); ok {
		r.LocalPath = p
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, downloadTimeout)
	defer cancel()
	path, err := s.opts.Outputs.Save(name, func(w io.Writer) error {
		_, err := s.client.Download(ctx, r.VideoURL, w, s.opts.MaxDownloadBytes)
		return err
	})
	if err != nil {
		s.log.Warn("download failed", slog.String("task_id", r.TaskID), slog.String("error", err.Error()))
		return err
	}
	s.log.Info("downloaded", slog.String("task_id", r.TaskID), slog.String("path", path))
	r.LocalPath = path
	return nil
}

func (s *Service) cancelTask() Tool {
	def := mcp.NewToolWithRawSchema("cancel_task",
		"Cancel a task that is still PENDING (queued); DashScope cannot stop a task once it is RUNNING. Nothing is billed for a canceled task.",
		schemaOf(&TaskIDArgs{}))
	def.RawOutputSchema = taskResultSchema
	annotate(&def, "Cancel a queued task", false, true, true)
	return Tool{Definition: def, Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args TaskIDArgs
		if err := bindArgs(req, &args); err != nil {
			return s.toolError("cancel_task", err), nil
		}
		cancelErr := s.client.CancelTask(ctx, args.TaskID)
		if cancelErr != nil && !dashscope.IsUnsupportedOperation(cancelErr) {
			return s.toolError("cancel_task", cancelErr), nil
		}
		task, err := s.client.GetTask(ctx, args.TaskID)
		if err != nil {
			return s.toolError("cancel_task", err), nil
		}
		r := s.taskResult(task, "", s.client.Clock().Now())
		if task.Status == dashscope.StatusCanceled {
			return s.result(r, "Canceled."), nil
		}
		return mcp.NewToolResultError(fmt.Sprintf("Task %s was not canceled: it is %s, and DashScope cancels only PENDING tasks. %s",
			task.ID, task.Status, r.Next)), nil
	}}
}

var taskListSchema = outputSchemaOf(&TaskList{})

func (s *Service) listTasks() Tool {
	def := mcp.NewToolWithRawSchema("list_tasks",
		"List this account's video tasks of the last 24 hours (or a window of at most 24 hours), newest first, optionally by status. "+
			"Use it to find a task whose id was lost, or after a submission whose outcome was unknown.",
		schemaOf(&ListTasksArgs{}))
	def.RawOutputSchema = taskListSchema
	annotate(&def, "List tasks", true, false, true)
	return Tool{Definition: def, Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args ListTasksArgs
		if err := bindArgs(req, &args); err != nil {
			return s.toolError("list_tasks", err), nil
		}
		filter, err := args.filter(s.client.Clock().Now())
		if err != nil {
			return s.toolError("list_tasks", err), nil
		}
		page, err := s.client.ListTasks(ctx, filter)
		if err != nil {
			return s.toolError("list_tasks", err), nil
		}
		out := TaskList{Tasks: []TaskRow{}, Total: page.Total, PageNo: page.PageNo, PageSize: page.PageSize, TotalPage: page.TotalPage, Simulated: s.opts.Sandbox}
		for _, t := range page.Tasks {
			out.Tasks = append(out.Tasks, TaskRow{TaskID: t.ID, Status: string(t.Status), Model: t.Model, Function: s.functionOf(t.ID),
				CreatedAt: rfc3339(t.Created.Time), StartedAt: rfc3339(t.Started.Time), EndedAt: rfc3339(t.Ended.Time)})
		}
		text := fmt.Sprintf("%d task(s) in the window; page %d of %d.", out.Total, out.PageNo, max(out.TotalPage, 1))
		for _, t := range out.Tasks {
			text += fmt.Sprintf("\n- %s %s created %s", t.TaskID, t.Status, t.CreatedAt)
		}
		if s.opts.Sandbox {
			text = "[SANDBOX: simulated DashScope] " + text
		}
		return mcp.NewToolResultStructured(out, text), nil
	}}
}

// filter checks the arguments and turns them into a list filter.
func (a ListTasksArgs) filter(now time.Time) (dashscope.ListFilter, error) {
	var fe []error
	f := dashscope.ListFilter{Status: a.Status}
	parse := func(field, v string) time.Time {
		if v == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			fe = append(fe, &dashscope.FieldError{Field: field, Problem: fmt.Sprintf("must be an RFC 3339 time such as 2026-11-21T08:00:00Z (got %q)", v)})
		}
		return t
	}
	f.Start, f.End = parse("start_time", a.StartTime), parse("end_time", a.EndTime)
	switch a.Status {
	case "", dashscope.StatusPending, dashscope.StatusRunning, dashscope.StatusSucceeded, dashscope.StatusFailed, dashscope.StatusCanceled:
	default:
		fe = append(fe, &dashscope.FieldError{Field: "status", Problem: fmt.Sprintf("must be PENDING, RUNNING, SUCCEEDED, FAILED or CANCELED (got %q)", a.Status)})
	}
	if !f.Start.IsZero() || !f.End.IsZero() {
		end := f.End
		if end.IsZero() {
			end = now
		}
		start := f.Start
		if start.IsZero() {
			start = end.Add(-24 * time.Hour)
		}
		switch {
		case !end.After(start):
			fe = append(fe, &dashscope.FieldError{Field: "end_time", Problem: "must be after start_time"})
		case end.Sub(start) > 24*time.Hour:
			fe = append(fe, &dashscope.FieldError{Field: "start_time", Problem: fmt.Sprintf("the window may be at most 24 hours (got %s)", end.Sub(start).Round(time.Minute))})
		}
		f.Start, f.End = start, end
	}
	if a.PageNo != nil {
		if *a.PageNo < 1 {
			fe = append(fe, &dashscope.FieldError{Field: "page_no", Problem: "must be 1 or more"})
		}
		f.PageNo = *a.PageNo
	}
	if a.PageSize != nil {
		if *a.PageSize < 1 || *a.PageSize > 100 {
			fe = append(fe, &dashscope.FieldError{Field: "page_size", Problem: fmt.Sprintf("must be between 1 and 100 (got %d)", *a.PageSize)})
		}
		f.PageSize = *a.PageSize
	}
	return f, errors.Join(fe...)
}
