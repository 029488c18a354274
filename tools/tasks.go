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
	"github.com/mark3labs/mcp-go/server"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/internal/media"
)

// TaskIDArgs are the arguments of get_task, cancel_task and download_video.
type TaskIDArgs struct {
	TaskID string `json:"task_id"`
}

var (
	taskIDProp   = prop{desc: "The task_id an editing tool returned."}
	taskIDSchema = inputSchema(&TaskIDArgs{}, props{"task_id": taskIDProp})
)

// WaitTaskArgs are the arguments of wait_task.
type WaitTaskArgs struct {
	TaskID         string `json:"task_id"`
	TimeoutSeconds *int   `json:"timeout_seconds,omitempty"`
}

// ListTasksArgs are the arguments of list_tasks.
type ListTasksArgs struct {
	Status    dashscope.TaskStatus `json:"status,omitempty"`
	StartTime string               `json:"start_time,omitempty"`
	EndTime   string               `json:"end_time,omitempty"`
	PageNo    *int                 `json:"page_no,omitempty"`
	PageSize  *int                 `json:"page_size,omitempty"`
}

// TaskList is the structured result of list_tasks.
type TaskList struct {
	Tasks     []TaskRow `json:"tasks"`
	Total     int       `json:"total"`
	PageNo    int       `json:"page_no"`
	PageSize  int       `json:"page_size"`
	TotalPage int       `json:"total_page"`
	Simulated bool      `json:"simulated,omitempty"`
	// FromJournal marks a window older than DashScope's 24 hours, listed from the journal alone.
	FromJournal bool `json:"from_journal,omitempty"`
	// TodayUSD is today's total across every process sharing the journal.
	TodayUSD float64 `json:"today_usd"`
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
	// From the journal, for tasks submitted through vace-mcp.
	Prompt           string   `json:"prompt_excerpt,omitempty"`
	BilledSeconds    float64  `json:"billed_seconds,omitempty"`
	EstimatedCostUSD float64  `json:"estimated_cost_usd,omitempty"`
	CostUSD          *float64 `json:"cost_usd,omitempty"`
	LocalPath        string   `json:"local_path,omitempty"`
}

func (s *Service) getTask() server.ServerTool {
	def := mcp.NewToolWithRawSchema("get_task",
		"A task's status now and, once it has succeeded, its video_url. To wait for the end, use wait_task.",
		taskIDSchema)
	def.RawOutputSchema = taskResultSchema
	annotate(&def, "Get task status", true, false, true)
	return server.ServerTool{Tool: def, Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args TaskIDArgs
		if err := bindArgs(rawArguments(req), &args); err != nil {
			return s.toolError("get_task", err), nil
		}
		if r, ok := s.knownResult(ctx, args.TaskID); ok {
			return s.result(r, ""), nil
		}
		task, err := s.client.GetTask(ctx, args.TaskID)
		if err != nil {
			return s.toolError("get_task", err), nil
		}
		return s.result(s.taskResult(task, s.client.Clock().Now()), ""), nil
	}}
}

func (s *Service) waitTask() server.ServerTool {
	def := mcp.NewToolWithRawSchema("wait_task",
		"Wait up to timeout_seconds for a task to end, with progress; if done is false, call again. Jobs take 1-10 minutes.",
		inputSchema(&WaitTaskArgs{}, props{
			"task_id":         taskIDProp,
			"timeout_seconds": {desc: "Longest wait for this call.", min: num(1), max: num(MaxWaitSeconds), def: DefaultWaitSeconds},
		}))
	def.RawOutputSchema = taskResultSchema
	annotate(&def, "Wait for a task", true, false, true)
	return server.ServerTool{Tool: def, Handler: s.handleWait}
}

func (s *Service) handleWait(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	var args WaitTaskArgs
	if err := bindArgs(rawArguments(req), &args); err != nil {
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
		r := s.taskResult(task, now)
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
	r := s.taskResult(task, now)
	r.WaitedSeconds = roundSeconds(waited)
	r.Next = fmt.Sprintf("Not finished after waiting %s (jobs take %s). Call wait_task again with the same task_id to keep waiting.",
		timeout, typicalJob)
	return s.result(r, "")
}

// downloadTimeout bounds saving one video (a few MB to a few tens of MB).
const downloadTimeout = 3 * time.Minute

func (s *Service) downloadVideo() server.ServerTool {
	def := mcp.NewToolWithRawSchema("download_video",
		"Save a succeeded task's video on the server's disk (video URLs expire after 24 hours) and return its local_path.",
		taskIDSchema)
	def.RawOutputSchema = taskResultSchema
	annotate(&def, "Save a video locally", false, false, true)
	return server.ServerTool{Tool: def, Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args TaskIDArgs
		if err := bindArgs(rawArguments(req), &args); err != nil {
			return s.toolError("download_video", err), nil
		}
		// A video saved already (by an earlier call, or by any process's
		// auto-save) that still passes the check is the answer, at once.
		if r, ok := s.knownResult(ctx, args.TaskID); ok && r.LocalPath != "" {
			return s.result(r, "Already saved."), nil
		}
		task, err := s.client.GetTask(ctx, args.TaskID)
		if err != nil {
			return s.toolError("download_video", err), nil
		}
		r := s.taskResult(task, s.client.Clock().Now())
		if task.Status != dashscope.StatusSucceeded {
			return mcp.NewToolResultError(fmt.Sprintf("Task %s is %s: there is no video to save. %s", task.ID, task.Status, r.Next)), nil
		}
		if s.journal != nil {
			// Auto-savers stand aside while this call saves; it saves either
			// way, as it was asked to.
			_, _ = s.journal.LeaseSave(ctx, task.ID, saveLease)
		}
		if r.LocalPath, err = s.saveVideo(ctx, task.ID, task.VideoURL); err != nil {
			return mcp.NewToolResultError(fmt.Sprintf("Saving the video of task %s failed: %v. Nothing was saved; call download_video again.", task.ID, err)), nil
		}
		return s.result(r, "Saved."), nil
	}}
}

// saveVideo saves a succeeded task's video in the output directory (once: a
// saved video that passes the check is reused) and records where in the
// journal. download_video and auto-save both save through it, so a video
// is kept by the same checked, atomic write whoever saves it.
func (s *Service) saveVideo(ctx context.Context, taskID, videoURL string) (string, error) {
	if s.opts.Outputs == nil {
		return "", errors.New("downloads are off on this server")
	}
	name := "vace-" + taskID + ".mp4"
	path, ok := s.opts.Outputs.Existing(name, isMP4)
	if !ok {
		dctx, cancel := context.WithTimeout(ctx, downloadTimeout)
		defer cancel()
		var err error
		path, err = s.opts.Outputs.Save(name, func(w io.Writer) error {
			_, err := s.client.Download(dctx, videoURL, w, s.opts.MaxDownloadBytes)
			return err
		}, isMP4)
		if err != nil {
			s.log.Warn("download failed", slog.String("task_id", taskID), slog.String("error", err.Error()))
			return "", err
		}
		s.log.Info("downloaded", slog.String("task_id", taskID), slog.String("path", path))
	}
	if s.journal != nil {
		// The file is in place: record it even if the caller has gone, so
		// that no process takes the video for unsaved.
		if err := s.journal.Saved(context.WithoutCancel(ctx), taskID, path); err != nil {
			s.log.Error("could not record a saved video in the journal", slog.String("task_id", taskID), slog.String("error", err.Error()))
		}
	}
	return path, nil
}

// isMP4 is the check a result passes before it is saved or reused: the
// service makes MP4 videos, so anything else (an error page served with 200,
// a cut-off file) is refused rather than kept as vace-<id>.mp4.
func isMP4(r io.ReaderAt, size int64) error {
	info, err := media.Inspect(r, size)
	switch {
	case err != nil:
		return fmt.Errorf("the download is not a complete MP4 video (%v)", err)
	case info.Format != "mp4":
		return fmt.Errorf("the download is %s, not an MP4 video", info.MIME)
	}
	return nil
}

func (s *Service) cancelTask() server.ServerTool {
	def := mcp.NewToolWithRawSchema("cancel_task",
		"Cancel a task that is still PENDING (queued, not billed); a RUNNING task cannot be stopped.",
		taskIDSchema)
	def.RawOutputSchema = taskResultSchema
	annotate(&def, "Cancel a queued task", false, true, true)
	return server.ServerTool{Tool: def, Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args TaskIDArgs
		if err := bindArgs(rawArguments(req), &args); err != nil {
			return s.toolError("cancel_task", err), nil
		}
		cancelErr := s.client.CancelTask(ctx, args.TaskID)
		if cancelErr != nil && !dashscope.IsUnsupportedOperation(cancelErr) {
			return s.toolError("cancel_task", cancelErr), nil
		}
		task, err := s.client.QueryTask(ctx, args.TaskID) // asked anew: the cancel has just changed it
		if err != nil {
			return s.toolError("cancel_task", err), nil
		}
		r := s.taskResult(task, s.client.Clock().Now())
		if task.Status == dashscope.StatusCanceled {
			return s.result(r, "Canceled."), nil
		}
		return mcp.NewToolResultError(fmt.Sprintf("Task %s was not canceled: it is %s, and DashScope cancels only PENDING tasks. %s",
			task.ID, task.Status, r.Next)), nil
	}}
}

// maxPageSize is the most tasks list_tasks returns a page.
const maxPageSize = 100

// listStatuses are the statuses list_tasks filters by.
var listStatuses = []dashscope.TaskStatus{dashscope.StatusPending, dashscope.StatusRunning, dashscope.StatusSucceeded, dashscope.StatusFailed, dashscope.StatusCanceled}

var taskListSchema = outputSchema(&TaskList{}, "tasks", "total")

func (s *Service) listTasks() server.ServerTool {
	def := mcp.NewToolWithRawSchema("list_tasks",
		"List this account's tasks, newest first: find a lost task_id or an unknown outcome. Older than 24 h: from the journal.",
		inputSchema(&ListTasksArgs{}, props{
			"status":     {desc: "Only tasks in this state.", enum: strs(listStatuses)},
			"start_time": {desc: "RFC 3339; default end_time - 24 h."},
			"end_time":   {desc: "RFC 3339; default now."},
			"page_no":    {desc: "Page to return.", min: num(1), def: 1},
			"page_size":  {desc: "Tasks per page.", min: num(1), max: num(maxPageSize), def: 10},
		}))
	def.RawOutputSchema = taskListSchema
	annotate(&def, "List tasks", true, false, true)
	return server.ServerTool{Tool: def, Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args ListTasksArgs
		if err := bindArgs(rawArguments(req), &args); err != nil {
			return s.toolError("list_tasks", err), nil
		}
		filter, err := args.filter(s.client.Clock().Now())
		if err != nil {
			return s.toolError("list_tasks", err), nil
		}
		var out TaskList
		if journalOnly(filter, s.clock()) {
			if s.journal == nil {
				return s.toolError("list_tasks", &dashscope.FieldError{Field: "start_time",
					Problem: "DashScope lists at most 24 hours, and older jobs come from the job journal, which is unavailable: " + s.journalErr.Error()}), nil
			}
			if out, err = s.history(ctx, filter); err != nil {
				return s.toolError("list_tasks", err), nil
			}
		} else {
			page, err := s.client.ListTasks(ctx, filter)
			if err != nil {
				return s.toolError("list_tasks", err), nil
			}
			out = TaskList{Tasks: []TaskRow{}, Total: page.Total, PageNo: page.PageNo, PageSize: page.PageSize, TotalPage: page.TotalPage}
			for _, t := range page.Tasks {
				out.Tasks = append(out.Tasks, TaskRow{TaskID: t.ID, Status: string(t.Status), Model: t.Model, Function: s.functionOf(t.ID),
					CreatedAt: rfc3339(t.Created.Time), StartedAt: rfc3339(t.Started.Time), EndedAt: rfc3339(t.Ended.Time)})
			}
			s.enrich(ctx, out.Tasks)
		}
		out.Simulated = s.opts.Sandbox
		text := fmt.Sprintf("%d task(s) in the window; page %d of %d.", out.Total, out.PageNo, max(out.TotalPage, 1))
		if out.FromJournal {
			text = "From the job journal (DashScope keeps tasks for 24 hours): " + text
		}
		for _, t := range out.Tasks {
			text += fmt.Sprintf("\n- %s %s created %s", t.TaskID, t.Status, t.CreatedAt)
			if t.Prompt != "" {
				text += fmt.Sprintf(" (%s: %q)", t.Function, t.Prompt)
			}
			if t.LocalPath != "" {
				text += ", saved to " + t.LocalPath
			}
		}
		if s.journal != nil {
			if today, err := s.journal.ChargedToday(ctx); err == nil {
				out.TodayUSD = roundCents(today)
				text += fmt.Sprintf("\nToday's total: USD %.2f.", out.TodayUSD)
			}
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
	f := dashscope.ListFilter{Status: a.Status, AllModels: true} // both models' tasks; each row names its model
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
		if !end.After(start) {
			fe = append(fe, &dashscope.FieldError{Field: "end_time", Problem: "must be after start_time"})
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
		if *a.PageSize < 1 || *a.PageSize > maxPageSize {
			fe = append(fe, &dashscope.FieldError{Field: "page_size", Problem: fmt.Sprintf("must be between 1 and %d (got %d)", maxPageSize, *a.PageSize)})
		}
		f.PageSize = *a.PageSize
	}
	return f, errors.Join(fe...)
}
