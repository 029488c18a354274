package tools

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/vace-mcp/vace-mcp/dashscope"
)

// SubmitOptions are the arguments every submit tool takes besides the API's.
type SubmitOptions struct {
	AllowDuplicate bool `json:"allow_duplicate,omitempty" jsonschema:"default=false" jsonschema_description:"Pay for a new job even if an identical request was made in the last 15 minutes."`
}

// submitArgs is an editing tool's argument type.
type submitArgs interface {
	request() dashscope.Request
	options() SubmitOptions
}

// submitSuffix ends every editing tool's description.
const submitSuffix = " Starts a paid job (about USD 0.10 per second of video, up to 5 s) and returns a task_id at once; " +
	"the video takes 5-10 minutes: follow with wait_task. An identical request within 15 minutes returns the earlier task."

// submitTool builds an editing tool from its argument type A.
func submitTool[A submitArgs](s *Service, fn dashscope.Function, title, description string) Tool {
	var zero A
	def := mcp.NewToolWithRawSchema(string(fn), description+submitSuffix, schemaOf(&zero))
	def.RawOutputSchema = taskResultSchema
	annotate(&def, title, false, false, false)
	return Tool{Definition: def, Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args A
		if err := bindArgs(req, &args); err != nil {
			return s.toolError(string(fn), err), nil
		}
		return s.submit(ctx, fn, args.request(), args.options()), nil
	}}
}

var taskResultSchema = outputSchemaOf(&TaskResult{})

// submit validates a request, opens and checks its local files, and submits
// it (uploading the files first), unless an identical one was submitted
// within the duplicate window.
func (s *Service) submit(ctx context.Context, fn dashscope.Function, req dashscope.Request, opts SubmitOptions) *mcp.CallToolResult {
	in, err := s.openInputs(ctx, req)
	if err != nil {
		return s.toolError(string(fn), err)
	}
	defer in.close()
	key, err := in.key()
	if err != nil {
		return s.toolError(string(fn), err)
	}
	for !opts.AllowDuplicate {
		earlier, wait := s.guard.lookup(key)
		if wait != nil {
			select { // an identical submission is in flight: learn its outcome first
			case <-wait:
				continue
			case <-ctx.Done():
				return s.toolError(string(fn), ctx.Err())
			}
		}
		if earlier == nil {
			break
		}
		if earlier.uncertain != nil {
			return mcp.NewToolResultError(fmt.Sprintf("An identical %s request sent at %s has an unknown outcome (%v): a task may exist and be billed. "+
				"Find it with list_tasks before submitting again, or set allow_duplicate: true to submit anyway.",
				fn, rfc3339(earlier.at), earlier.uncertain))
		}
		if res := s.duplicateResult(ctx, fn, earlier); res != nil {
			return res
		}
		s.guard.forget(key, earlier) // the earlier task failed or is gone: submitting again is what the caller wants
	}

	release := s.guard.begin(key)
	final, err := in.upload(ctx, s.client)
	if err != nil {
		release(nil, err)
		return s.toolError(string(fn), err)
	}
	task, err := s.client.Submit(ctx, final)
	release(task, err)
	if err != nil {
		s.log.Warn("submit failed", slog.String("function", string(fn)), slog.String("error", err.Error()))
		return s.toolError(string(fn), err)
	}
	s.remember(task.ID, fn)
	s.log.Info("submitted", slog.String("function", string(fn)), slog.String("task_id", task.ID), slog.Int("uploads", len(in.locals)))
	r := s.taskResult(task, string(fn), s.client.Clock().Now())
	r.Warnings = in.warnings
	r.Next = fmt.Sprintf("Call wait_task with this task_id now; it waits up to %s per call and can be called again until done is true.", s.opts.WaitDefault)
	return s.result(r, "Submitted.")
}

// duplicateResult answers with the earlier task of an identical request, or
// returns nil when that task ended without a video (so a resubmission is fair).
func (s *Service) duplicateResult(ctx context.Context, fn dashscope.Function, earlier *priorSubmission) *mcp.CallToolResult {
	task, err := s.client.GetTask(ctx, earlier.taskID)
	if err != nil {
		obs, ok := s.client.LastObservation(earlier.taskID)
		if !ok {
			return s.toolError(string(fn), err)
		}
		task = obs.Task
	}
	switch task.Status {
	case dashscope.StatusFailed, dashscope.StatusCanceled, dashscope.StatusUnknown:
		return nil
	}
	r := s.taskResult(task, string(fn), s.client.Clock().Now())
	r.Duplicate = true
	ago := s.client.Clock().Now().Sub(earlier.at).Round(time.Second)
	return s.result(r, fmt.Sprintf("Not submitted again: an identical %s request was submitted %s ago as task %s, so nothing was billed twice. "+
		"To make another video from the same arguments, call again with allow_duplicate: true.", fn, ago, task.ID))
}

// duplicateGuard remembers recent submissions by content, so a repeated call
// (an agent retrying after a timeout, a double click) does not pay twice.
type duplicateGuard struct {
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex
	entries map[string]*priorSubmission
}

// priorSubmission is a recent submission: in flight (done open), accepted
// (taskID set) or of unknown outcome (uncertain set).
type priorSubmission struct {
	done      chan struct{}
	at        time.Time
	taskID    string
	uncertain error
}

func newDuplicateGuard(window time.Duration, now func() time.Time) *duplicateGuard {
	return &duplicateGuard{window: window, now: now, entries: map[string]*priorSubmission{}}
}

// lookup returns a finished earlier submission within the window, or a
// channel to wait on while an identical one is in flight.
func (g *duplicateGuard) lookup(key string) (*priorSubmission, <-chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	for k, e := range g.entries { // few entries: a sweep per call keeps the map small
		if !inFlight(e) && now.Sub(e.at) > g.window {
			delete(g.entries, k)
		}
	}
	e, ok := g.entries[key]
	switch {
	case !ok:
		return nil, nil
	case inFlight(e):
		return nil, e.done
	}
	return e, nil
}

// begin records a submission in flight; release records its outcome.
func (g *duplicateGuard) begin(key string) (release func(*dashscope.Task, error)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e := &priorSubmission{done: make(chan struct{}), at: g.now()}
	g.entries[key] = e
	return func(task *dashscope.Task, err error) {
		g.mu.Lock()
		defer g.mu.Unlock()
		switch {
		case err == nil:
			e.taskID = task.ID
		case errors.Is(err, dashscope.ErrSubmitUncertain):
			e.uncertain = err
		default:
			if g.entries[key] == e {
				delete(g.entries, key) // refused outright: nothing to protect
			}
		}
		close(e.done)
	}
}

// forget drops an earlier submission whose task ended without a video.
func (g *duplicateGuard) forget(key string, e *priorSubmission) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.entries[key] == e {
		delete(g.entries, key)
	}
}

func inFlight(e *priorSubmission) bool {
	select {
	case <-e.done:
		return false
	default:
		return true
	}
}
