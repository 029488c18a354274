package tools

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/vace-mcp/vace-mcp/dashscope"
)

// commonArgs are the arguments every submit tool takes besides its own.
type commonArgs struct {
	PromptExtend   *bool `json:"prompt_extend,omitempty"`
	Seed           *int  `json:"seed,omitempty"`
	Watermark      *bool `json:"watermark,omitempty"`
	AllowDuplicate bool  `json:"allow_duplicate,omitempty"`
}

func (c commonArgs) allowDuplicate() bool { return c.AllowDuplicate }

// submitArgs is an editing tool's argument type.
type submitArgs interface {
	request() dashscope.Request
	allowDuplicate() bool
}

// The descriptions shared by the submit tools' arguments.
var (
	commonProps = props{
		"prompt_extend":   {desc: "Service may rewrite the prompt.", def: dashscope.DefaultPromptExtend},
		"seed":            {desc: "Repeatable output.", min: num(0), max: num(dashscope.MaxSeed)},
		"watermark":       {desc: "Mark as AI-generated.", def: dashscope.DefaultWatermark},
		"allow_duplicate": {desc: "Pay again for a repeat of a recent request."},
	}
	sizeProp = prop{desc: "Output width*height.", enum: strs(dashscope.Sizes), def: dashscope.DefaultSize}
)

func promptProp(what string) prop {
	return prop{desc: what + ", in detail.", maxLength: dashscope.MaxPromptRunes}
}

func videoProp(what string) prop {
	return prop{desc: what + ": " + mediaText(dashscope.VACEVideo) + "."}
}

func subjectImageProp() prop {
	return prop{desc: "Subject image to use: " + mediaText(dashscope.VACEImage) + ".", minItems: 1, maxItems: dashscope.MaxSubjectImages}
}

// submitSuffix ends every VACE editing tool's description.
const submitSuffix = " Paid (~USD 0.10/s of video); then use wait_task. URLs may be local paths."

// submitTool builds a VACE editing tool from its argument type A.
func submitTool[A submitArgs](s *Service, fn dashscope.Function, title, description string, p props) server.ServerTool {
	return submitToolWith[A](s, fn, title, description, submitSuffix, p)
}

// submitToolWith builds an editing tool whose description ends with suffix.
func submitToolWith[A submitArgs](s *Service, fn dashscope.Function, title, description, suffix string, p props) server.ServerTool {
	var zero A
	all := props{}
	for k, v := range commonProps {
		all[k] = v
	}
	for k, v := range p {
		all[k] = v
	}
	def := mcp.NewToolWithRawSchema(string(fn), description+suffix, inputSchema(&zero, all))
	def.RawOutputSchema = taskResultSchema
	annotate(&def, title, false, false, false)
	return server.ServerTool{Tool: def, Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args A
		if err := bindArgs(rawArguments(req), &args); err != nil {
			return s.toolError(string(fn), err), nil
		}
		return s.submit(ctx, args.request(), args.allowDuplicate()), nil
	}}
}

var taskResultSchema = outputSchema(&TaskResult{}, "task_id", "status", "done", "video_url", "local_path")

// submit checks a request and its local files, and submits it (uploading
// the files first), unless an identical one was submitted within the
// duplicate window: then it answers with that task.
func (s *Service) submit(ctx context.Context, req dashscope.Request, allowDuplicate bool) *mcp.CallToolResult {
	fn := string(req.Function())
	st, err := s.stage(ctx, req)
	if err != nil {
		return s.toolError(fn, err)
	}
	defer st.close()
	key, err := st.key(s.client.ModelFor(req))
	if err != nil {
		return s.toolError(fn, err)
	}
	var stale *priorSubmission
	for {
		entry, owner := s.guard.claim(key, stale, allowDuplicate)
		if owner {
			return s.send(ctx, st, entry)
		}
		select { // an identical submission is in flight: learn its outcome first
		case <-entry.done:
		case <-ctx.Done():
			return s.toolError(fn, ctx.Err())
		}
		switch {
		case entry.uncertain != nil:
			return mcp.NewToolResultError(fmt.Sprintf("An identical %s request was sent at %s and its outcome is unknown, so this one was not sent. %s "+
				"To submit anyway, set allow_duplicate: true.", fn, rfc3339(entry.at), s.explain(fn, entry.uncertain)))
		case entry.refused != nil:
			return s.toolError(fn, entry.refused) // the same request would be refused the same way
		case entry.taskID == "":
			continue // the owner gave up before sending (cancelled, throttled): claim again
		}
		if res := s.duplicateResult(ctx, fn, entry); res != nil {
			return res
		}
		stale = entry // the earlier task failed or was canceled: submitting again is what the caller wants
	}
}

// send uploads the staged files and submits, recording the outcome in the
// guard's entry, which this call owns.
func (s *Service) send(ctx context.Context, st *staging, entry *priorSubmission) *mcp.CallToolResult {
	fn := string(st.req.Function())
	final, err := st.upload(ctx, s.client)
	if err != nil {
		s.guard.release(entry, nil, err)
		return s.toolError(fn, err)
	}
	task, err := s.client.Submit(ctx, final)
	s.guard.release(entry, task, err)
	if err != nil {
		s.log.Warn("submit failed", slog.String("function", fn), slog.String("error", err.Error()))
		return s.toolError(fn, err)
	}
	s.log.Info("submitted", slog.String("function", fn), slog.String("task_id", task.ID), slog.Int("uploads", st.uploads()))
	r := s.taskResult(task, s.client.Clock().Now())
	r.Warnings = st.warnings
	r.Next = fmt.Sprintf("Call wait_task with this task_id now; it waits up to %s per call and can be called again until done is true.", s.opts.WaitDefault)
	return s.result(r, "Submitted.")
}

// duplicateResult answers with the earlier task of an identical request, or
// returns nil when that task ended without a video (so a resubmission is fair).
func (s *Service) duplicateResult(ctx context.Context, fn string, earlier *priorSubmission) *mcp.CallToolResult {
	task, err := s.client.GetTask(ctx, earlier.taskID)
	if err != nil {
		obs, ok := s.client.LastObservation(earlier.taskID)
		if !ok {
			return s.toolError(fn, err)
		}
		task = obs.Task
	}
	switch task.Status {
	case dashscope.StatusFailed, dashscope.StatusCanceled:
		return nil
	case dashscope.StatusUnknown: // it was accepted minutes ago, so it has not expired: the answer is a glitch
		return mcp.NewToolResultError(fmt.Sprintf("Not submitted again: an identical %s request was accepted at %s as task %s, "+
			"but DashScope does not know that task right now. It may still exist and be billed: check it with get_task or list_tasks, "+
			"or set allow_duplicate: true to submit anyway.", fn, rfc3339(earlier.at), earlier.taskID))
	}
	r := s.taskResult(task, s.client.Clock().Now())
	r.Duplicate = true
	ago := s.client.Clock().Now().Sub(earlier.at).Round(time.Second)
	return s.result(r, fmt.Sprintf("Not submitted again: an identical %s request was submitted %s ago as task %s, so nothing was billed twice. "+
		"To make another video from the same arguments, call again with allow_duplicate: true.", fn, ago, task.ID))
}

// duplicateGuard remembers recent submissions by the canonical form of their
// request, so a repeated call (an agent retrying after a timeout, a model
// spelling out a default) does not pay twice.
type duplicateGuard struct {
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex
	entries map[string]*priorSubmission
}

// priorSubmission is a recent submission: in flight (done open), accepted
// (taskID set), of unknown outcome (uncertain set), or refused (refused set).
type priorSubmission struct {
	key       string
	done      chan struct{}
	at        time.Time
	forced    bool // allow_duplicate: recorded only once it may have made a task
	taskID    string
	uncertain error
	refused   error
}

func newDuplicateGuard(window time.Duration, now func() time.Time) *duplicateGuard {
	return &duplicateGuard{window: window, now: now, entries: map[string]*priorSubmission{}}
}

// uncertainTTL is how long a submission of unknown outcome blocks an
// identical one: a task it made lives, and is billed, for this long.
const uncertainTTL = dashscope.ResultTTL

// claim is the guard's one atomic step: it returns the live entry for key,
// or, when there is none (or it is stale, or force is set), a new in-flight
// entry that the caller owns and must release. A forced entry is not shared
// and replaces nothing until it has been sent.
func (g *duplicateGuard) claim(key string, stale *priorSubmission, force bool) (e *priorSubmission, owner bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	for k, e := range g.entries { // few entries: a sweep per call keeps the map small
		if !inFlight(e) && now.Sub(e.at) > g.ttl(e) {
			delete(g.entries, k)
		}
	}
	e = &priorSubmission{key: key, done: make(chan struct{}), at: now, forced: force}
	if force {
		return e, true
	}
	if old, ok := g.entries[key]; ok && old != stale {
		return old, false
	}
	g.entries[key] = e
	return e, true
}

func (g *duplicateGuard) ttl(e *priorSubmission) time.Duration {
	if e.uncertain != nil {
		return uncertainTTL
	}
	return g.window
}

// release records the outcome of an owned entry and wakes its waiters. A
// refusal that another identical call would meet too is handed to the
// waiters; one that was the owner's own (cancelled, throttled) lets the next
// waiter try.
func (g *duplicateGuard) release(e *priorSubmission, task *dashscope.Task, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case err == nil:
		e.taskID = task.ID
	case errors.Is(err, dashscope.ErrSubmitUncertain):
		e.uncertain = err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), dashscope.IsThrottled(err):
	default:
		e.refused = err
	}
	switch {
	case e.taskID != "" || e.uncertain != nil:
		g.entries[e.key] = e // a forced submission becomes the latest of its kind only now
	case g.entries[e.key] == e:
		delete(g.entries, e.key) // nothing was made: nothing to protect
	}
	close(e.done)
}

func inFlight(e *priorSubmission) bool {
	select {
	case <-e.done:
		return false
	default:
		return true
	}
}
