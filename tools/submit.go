package tools

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/internal/journal"
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
// duplicate window, by this process or another sharing the journal: then it
// answers with that task.
func (s *Service) submit(ctx context.Context, req dashscope.Request, allowDuplicate bool) *mcp.CallToolResult {
	fn := string(req.Function())
	if s.journal == nil {
		return s.toolError(fn, s.journalErr)
	}
	st, err := s.stage(ctx, req)
	if err != nil {
		return s.toolError(fn, err)
	}
	defer st.close()
	model := s.client.ModelFor(req)
	key, err := st.key(model)
	if err != nil {
		return s.toolError(fn, err)
	}
	intent := journal.Intent{Key: key, Tool: fn, Model: model, PromptExcerpt: journal.Excerpt(promptOf(req)), Inputs: st.inputsText(),
		EstimateUSD: s.estimate(req, st), Forced: allowDuplicate}
	rules := journal.Rules{Window: s.opts.DuplicateWindow, UncertainFor: dashscope.ResultTTL, InFlight: intentInFlight, DailyBudget: s.opts.DailyBudget}
	for range maxClaims {
		intent.Token = rand.Text() // each attempt its own, so a failed one can be given up
		job, owner, err := s.journal.Claim(ctx, intent, rules)
		var over *journal.OverBudgetError
		switch {
		case errors.As(err, &over):
			return mcp.NewToolResultError(fmt.Sprintf("Not submitted, nothing was sent or billed: %v (the daily budget counts every vace-mcp process "+
				"sharing this journal, by %s). Raise it with --daily-budget or VACE_MCP_DAILY_BUDGET, or wait until tomorrow.", over, s.budgetDay()))
		case err != nil:
			s.abandonClaim(intent.Token, err)
			return s.toolError(fn, err)
		case owner:
			return s.send(ctx, st, job)
		}
		if job.State == journal.StateIntent && s.clock().Sub(job.UpdatedAt) < intentInFlight {
			if job, err = s.awaitIntent(ctx, job); err != nil {
				return s.toolError(fn, err)
			}
		}
		switch job.State {
		case journal.StateIntent, journal.StateUncertain:
			return mcp.NewToolResultError(fmt.Sprintf("Not sent: an identical %s request was sent at %s and its outcome is unknown (%s), so a task may exist and be billed. "+
				"Find it with list_tasks (start_time %s) before submitting again, or set allow_duplicate: true to submit anyway.",
				fn, rfc3339(job.CreatedAt), orText(job.Error, "its process stopped while sending"), rfc3339(job.CreatedAt.Add(-time.Minute))))
		case journal.StateRefused:
			return mcp.NewToolResultError(fmt.Sprintf("Not sent: an identical %s request was refused moments ago, and this one would be too: %s", fn, job.Error))
		case journal.StateAccepted:
			if res := s.duplicateResult(ctx, fn, job); res != nil {
				return res
			}
			rules.Stale = job.ID // the earlier task failed or was canceled: submitting again is what the caller wants
		}
		// abandoned, or ended without a video: claim again
	}
	return mcp.NewToolResultError(fmt.Sprintf("Not sent: identical %s requests keep ending without a video or being given up; "+
		"check them with list_tasks, or set allow_duplicate: true to submit anyway.", fn))
}

// abandonClaimFor is how long abandonClaim keeps trying while the journal
// is unavailable; after it, reconciliation settles what the claim left.
const abandonClaimFor = 2 * time.Minute

// abandonClaimBackoff is abandonClaim's first pause between tries; it
// doubles up to abandonClaimMaxBackoff.
const abandonClaimBackoff, abandonClaimMaxBackoff = 250 * time.Millisecond, 15 * time.Second

// abandonClaim gives up, in the background, on a Claim that failed: this
// call sends nothing for it, but a store reached over a network may have
// recorded its intent though its reply was lost (Redis busy past the call's
// deadline, a connection dropped after the script ran), and that intent
// would block every identical request as in flight, then as of unknown
// outcome, until reconciliation settled it. The store abandons it only if
// nobody touched it since (see journal.Store.AbandonClaim), so this never
// abandons anything being sent. It runs on the service's life, trying
// again with back-off while the journal is unavailable, for up to
// abandonClaimFor; Stop waits for it (it ends at once then).
func (s *Service) abandonClaim(token string, claimErr error) {
	s.savesMu.Lock()
	defer s.savesMu.Unlock()
	s.background(func() {
		deadline := time.Now().Add(abandonClaimFor)
		pause := abandonClaimBackoff
		for try := 1; ; try++ {
			ctx, cancel := context.WithTimeout(s.life, 10*time.Second)
			id, err := s.journal.AbandonClaim(ctx, token)
			cancel()
			switch {
			case err == nil && id != 0:
				s.log.Info("abandoned the intent of a claim whose reply was lost; identical requests may be sent again",
					slog.Int64("journal_id", id), slog.String("claim_error", claimErr.Error()))
				return
			case err == nil:
				s.log.Debug("a claim that failed left no intent to abandon", slog.String("claim_error", claimErr.Error()))
				return
			case !errors.Is(err, journal.ErrUnavailable) || s.life.Err() != nil || time.Now().Add(pause).After(deadline):
				s.log.Warn("could not give up a claim that failed; if it recorded an intent, identical requests are refused until reconciliation settles it",
					slog.Int("tries", try), slog.String("claim_error", claimErr.Error()), slog.String("error", err.Error()))
				return
			}
			select {
			case <-time.After(pause):
			case <-s.life.Done():
			}
			pause = min(2*pause, abandonClaimMaxBackoff)
		}
	})
}

// budgetDay names the day the budget counts: the embedded journal's is the
// machine's local day, a shared store's the UTC day of every instance.
func (s *Service) budgetDay() string {
	if _, embedded := s.journal.(*journal.Journal); embedded {
		return "the machine's local day"
	}
	return "the UTC day"
}

// maxClaims bounds how often one call claims again after earlier identical
// jobs ended without a video: each round settles one of them in the journal.
const maxClaims = 8

// submitTimeout bounds one submission POST, which is not cut off by the call.
const submitTimeout = 90 * time.Second

// intentInFlight is how long a recorded intent counts as being sent: a
// submission's uploads and POST take well under it. An older intent's
// process died or hung; it blocks identical requests until reconciled.
const intentInFlight = 2 * time.Minute

// awaitIntent waits until an identical submission being sent (here or by
// another process) has an outcome. This process's calls waiting for one job
// share one look at the journal every 50 ms: each looking on its own, fifty
// identical calls in each of eight processes read it thousands of times a
// second, and on a small machine starved the writer they were waiting for.
// The shared look goes on if its callers leave, for at most intentInFlight.
func (s *Service) awaitIntent(ctx context.Context, job *journal.Job) (*journal.Job, error) {
	outcome := s.intents.DoChan(strconv.FormatInt(job.ID, 10), func() (any, error) {
		return s.pollIntent(context.WithoutCancel(ctx), job)
	})
	select {
	case r := <-outcome:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*journal.Job), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// pollIntent looks at an intent in the journal until it has an outcome.
func (s *Service) pollIntent(ctx context.Context, job *journal.Job) (*journal.Job, error) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for job.State == journal.StateIntent && s.clock().Sub(job.UpdatedAt) < intentInFlight {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		var err error
		if job, err = s.journal.Get(ctx, job.ID); err != nil {
			return nil, err
		}
	}
	return job, nil
}

// send uploads the staged files and submits, recording the outcome of the
// intent this call owns in the journal.
func (s *Service) send(ctx context.Context, st *staging, job *journal.Job) *mcp.CallToolResult {
	fn := string(st.req.Function())
	stopTouching := s.keepFresh(job.ID)
	defer stopTouching()
	final, err := st.upload(ctx, s.client)
	if err != nil {
		s.settleIntent(job, nil, err)
		return s.toolError(fn, err)
	}
	if err := ctx.Err(); err != nil { // cancelled while uploading: nothing was sent
		s.settleIntent(job, nil, err)
		return s.toolError(fn, err)
	}
	if err := s.confirmIntent(ctx, job); err != nil {
		return mcp.NewToolResultError(fmt.Sprintf("Not submitted: nothing was sent to DashScope or billed, because just before sending, "+
			"the job journal could not confirm this %s submission as still this call's to send, and nothing is sent untracked: %v. "+
			"Try again; vace-mcp doctor shows the journal's state.", fn, err))
	}
	// Once sent, a submission runs to its answer even if the call is
	// cancelled or the server shuts down: its task id must reach the journal.
	postCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), submitTimeout)
	task, err := s.client.Submit(postCtx, final)
	cancel()
	stopTouching() // an intent settled below is no longer one to touch
	warning := s.settleIntent(job, task, err)
	if err != nil {
		s.log.Warn("submit failed", slog.String("function", fn), slog.String("error", err.Error()))
		return s.toolError(fn, err)
	}
	s.log.Info("submitted", slog.String("function", fn), slog.String("task_id", task.ID), slog.Int("uploads", st.uploads()))
	r := s.taskResult(task, s.client.Clock().Now())
	r.Warnings = append(st.warnings, warning...)
	r.EstimatedCostUSD = roundCents(job.EstimateUSD)
	if today, err := s.journal.ChargedToday(ctx); err == nil {
		r.TodayUSD = roundCents(today)
	}
	r.Next = fmt.Sprintf("Call wait_task with this task_id now; it waits up to %s per call and can be called again until done is true.", s.opts.WaitDefault)
	return s.result(r, "Submitted.")
}

// confirmIntent marks the intent as being sent now, just before its POST,
// which confirms that it is still this call's open intent: while the files
// uploaded, the journal may have stopped answering, lost the job, or another
// process may have settled it (reconciliation taking it for lost, its clock
// ahead or this one's touches failing). Any of these is an error, and
// nothing may be sent: the intent is recorded as abandoned, unless someone
// else settled it with an outcome of its own (no task, or a task), which
// stands. A journal that does not answer leaves the intent to
// reconciliation, which finds no task for it. Touching it now also keeps
// every process's reconciliation off it while the POST runs.
func (s *Service) confirmIntent(ctx context.Context, job *journal.Job) error {
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := s.journal.Touch(tctx, job.ID)
	cancel()
	if err == nil {
		return nil
	}
	s.log.Warn("not sending a submission: the journal could not confirm its intent", slog.Int64("journal_id", job.ID), slog.String("error", err.Error()))
	var settled *journal.NotIntentError
	if errors.As(err, &settled) && settled.State != journal.StateUncertain {
		return err
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if aerr := s.journal.Abandoned(actx, job.ID, "not sent: "+err.Error()); aerr != nil {
		s.log.Warn("could not record a submission that was not sent as abandoned; reconciliation will find no task for it",
			slog.Int64("journal_id", job.ID), slog.String("error", aerr.Error()))
	}
	return err
}

// settleIntent records a submission's outcome. It must not be lost with the
// caller's context, so it has its own; a failure is logged as an error and
// returned as a warning for the result.
func (s *Service) settleIntent(job *journal.Job, task *dashscope.Task, err error) []string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(context.Background()), 10*time.Second)
	defer cancel()
	var jerr error
	switch {
	case err == nil:
		jerr = s.journal.Accepted(ctx, job.ID, task.ID, string(task.Status))
	case errors.Is(err, dashscope.ErrSubmitUncertain):
		jerr = s.journal.Uncertain(ctx, job.ID, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), dashscope.IsThrottled(err):
		jerr = s.journal.Abandoned(ctx, job.ID, err.Error())
	default:
		jerr = s.journal.Refused(ctx, job.ID, s.explain(job.Tool, err))
	}
	if jerr == nil {
		return nil
	}
	s.log.Error("could not record a submission's outcome in the journal", slog.Int64("journal_id", job.ID), slog.String("error", jerr.Error()))
	return []string{"this task could not be recorded in the job journal (" + jerr.Error() + "); keep its task_id"}
}

// duplicateResult answers with the earlier task of an identical request, or
// returns nil when that task ended without a video (so a resubmission is fair).
func (s *Service) duplicateResult(ctx context.Context, fn string, earlier *journal.Job) *mcp.CallToolResult {
	task, err := s.client.GetTask(ctx, earlier.TaskID)
	if err != nil {
		obs, ok := s.client.LastObservation(earlier.TaskID)
		if !ok {
			return s.toolError(fn, err)
		}
		task = obs.Task
	}
	switch task.Status {
	case dashscope.StatusFailed, dashscope.StatusCanceled:
		s.record(ctx, task) // so the journal no longer offers it as the answer
		return nil
	case dashscope.StatusUnknown: // it was accepted minutes ago, so it has not expired: the answer is a glitch
		return mcp.NewToolResultError(fmt.Sprintf("Not submitted again: an identical %s request was accepted at %s as task %s, "+
			"but DashScope does not know that task right now. It may still exist and be billed: check it with get_task or list_tasks, "+
			"or set allow_duplicate: true to submit anyway.", fn, rfc3339(earlier.CreatedAt), earlier.TaskID))
	}
	r := s.taskResult(task, s.client.Clock().Now())
	r.Duplicate = true
	ago := s.clock().Sub(earlier.CreatedAt).Round(time.Second)
	return s.result(r, fmt.Sprintf("Not submitted again: an identical %s request was submitted %s ago as task %s, so nothing was billed twice. "+
		"To make another video from the same arguments, call again with allow_duplicate: true.", fn, ago, task.ID))
}

func orText(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}

// keepFresh marks an intent as still being sent every half minute while its
// uploads and POST run, so no process takes a long upload for a lost intent.
// stop may be called more than once.
func (s *Service) keepFresh(id int64) (stop func()) {
	done := make(chan struct{})
	var once sync.Once
	go func() {
		tick := time.NewTicker(intentInFlight / 4)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if err := s.journal.Touch(context.Background(), id); err != nil {
					s.log.Warn("could not mark a submission as still being sent", slog.Int64("journal_id", id), slog.String("error", err.Error()))
				}
			}
		}
	}()
	return func() { once.Do(func() { close(done) }) }
}
