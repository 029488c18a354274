package tools

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/internal/journal"
)

// TaskResult is the structured result of every tool that reports one task.
type TaskResult struct {
	TaskID     string `json:"task_id"`
	Status     string `json:"status"`
	Done       bool   `json:"done"`
	Function   string `json:"function,omitempty"`
	RequestID  string `json:"request_id,omitempty"`
	SubmitTime string `json:"submit_time,omitempty"`
	EndTime    string `json:"end_time,omitempty"`
	// AgeSeconds is the time since submission (or, once done, how long the task took).
	AgeSeconds float64          `json:"age_seconds,omitempty"`
	VideoURL   string           `json:"video_url,omitempty"`
	ExpiresAt  string           `json:"expires_at,omitempty"`
	Usage      *dashscope.Usage `json:"usage,omitempty"`
	// BilledSeconds is what the task is billed for (wan2.7-videoedit: input plus output seconds).
	BilledSeconds float64 `json:"billed_seconds,omitempty"`
	// CostUSD is an ended task's cost: billed seconds at the model's price, or 0 for a failed or canceled one.
	CostUSD *float64 `json:"cost_usd,omitempty"`
	// EstimatedCostUSD is a new submission's expected cost; TodayUSD is today's total across the journal.
	EstimatedCostUSD float64  `json:"estimated_cost_usd,omitempty"`
	TodayUSD         float64  `json:"today_usd,omitempty"`
	ErrorCode        string   `json:"error_code,omitempty"`
	ErrorMessage     string   `json:"error_message,omitempty"`
	ActualPrompt     string   `json:"actual_prompt,omitempty"`
	Duplicate        bool     `json:"duplicate,omitempty"`
	LocalPath        string   `json:"local_path,omitempty"`
	Warnings         []string `json:"warnings,omitempty"`
	WaitedSeconds    float64  `json:"waited_seconds,omitempty"`
	Next             string   `json:"next,omitempty"`
	Simulated        bool     `json:"simulated,omitempty"`
	// FromJournal marks an ended task answered from the job journal without a
	// query: it has no usage object, times or actual_prompt (see knownResult).
	FromJournal bool `json:"from_journal,omitempty"`
}

// typicalJob is how long a VACE job usually takes, for messages.
const typicalJob = "5-10 minutes"

// taskResult shapes a task for the agent; now is the client clock's time.
func (s *Service) taskResult(t *dashscope.Task, now time.Time) TaskResult {
	cost := s.record(context.Background(), t) // every look at a task goes into the journal
	r := TaskResult{
		TaskID: t.ID, Status: string(t.Status), Done: t.Status.Terminal(), Function: s.functionOf(t.ID),
		RequestID: t.RequestID, ErrorCode: t.Code, ErrorMessage: t.Message, ActualPrompt: t.ActualPrompt,
		VideoURL: t.VideoURL, Simulated: s.opts.Sandbox,
	}
	r.SubmitTime = rfc3339(t.SubmitTime.Time)
	r.EndTime = rfc3339(t.EndTime.Time)
	if !t.SubmitTime.IsZero() {
		end := now
		if !t.EndTime.IsZero() {
			end = t.EndTime.Time
		}
		r.AgeSeconds = roundSeconds(end.Sub(t.SubmitTime.Time))
	}
	r.Usage = t.Usage
	r.BilledSeconds = t.Usage.BilledSeconds()
	r.CostUSD = cost
	if exp := t.Expires(); !exp.IsZero() {
		r.ExpiresAt = rfc3339(exp)
	}
	r.Next = nextStep(t.Status)
	return r
}

func nextStep(status dashscope.TaskStatus) string {
	switch status {
	case dashscope.StatusSucceeded:
		return "Download or show video_url before expires_at; it is deleted after 24 hours."
	case dashscope.StatusFailed:
		return "Nothing was billed. Fix what error_message names and submit again (the same arguments are submitted anew)."
	case dashscope.StatusCanceled:
		return "Canceled before it ran; nothing was billed."
	case dashscope.StatusUnknown:
		return "DashScope has no such task: the id is wrong, or the task is older than 24 hours. Check list_tasks."
	}
	return "Call wait_task with this task_id; it waits in bounded steps and can be called again until done is true."
}

// summary is the one-paragraph text an agent reads.
func (s *Service) summary(r TaskResult) string {
	var b strings.Builder
	if r.Simulated {
		b.WriteString("[SANDBOX: simulated DashScope, no real video was made, nothing billed] ")
	}
	what := "Task " + r.TaskID
	if r.Function != "" {
		what += " (" + r.Function + ")"
	}
	switch dashscope.TaskStatus(r.Status) {
	case dashscope.StatusSucceeded:
		b.WriteString(what + " SUCCEEDED")
		if r.AgeSeconds > 0 { // unknown for a video answered from the journal
			b.WriteString(" after " + human(r.AgeSeconds))
		}
		if r.VideoURL != "" { // none once the link has expired
			b.WriteString(": " + r.VideoURL)
		}
		switch {
		case r.BilledSeconds > 0 && r.CostUSD != nil:
			fmt.Fprintf(&b, " (%g s billed, USD %.2f)", r.BilledSeconds, *r.CostUSD)
		case r.BilledSeconds > 0:
			fmt.Fprintf(&b, " (%g s billed)", r.BilledSeconds)
		}
		if r.ExpiresAt != "" {
			fmt.Fprintf(&b, ". The link expires at %s.", r.ExpiresAt)
		}
	case dashscope.StatusFailed:
		fmt.Fprintf(&b, "%s FAILED (%s), DashScope said: %q. %s", what, r.ErrorCode, r.ErrorMessage, r.Next)
	case dashscope.StatusCanceled:
		fmt.Fprintf(&b, "%s was CANCELED. %s", what, r.Next)
	case dashscope.StatusUnknown:
		fmt.Fprintf(&b, "%s is UNKNOWN. %s", what, r.Next)
	default:
		fmt.Fprintf(&b, "%s is %s", what, r.Status)
		if r.AgeSeconds > 0 {
			fmt.Fprintf(&b, ", %s since submission (jobs take %s)", human(r.AgeSeconds), typicalJob)
		}
		b.WriteString(". " + r.Next)
	}
	if r.LocalPath != "" {
		b.WriteString(" Saved to " + r.LocalPath + ".")
	}
	if r.EstimatedCostUSD > 0 {
		fmt.Fprintf(&b, " Estimated cost USD %.2f; today's total USD %.2f.", r.EstimatedCostUSD, r.TodayUSD)
	}
	for _, w := range r.Warnings {
		b.WriteString(" Note: " + w + ".")
	}
	return b.String()
}

// result builds the tool result: the structured task, its summary, and a
// resource link to the video when there is one.
func (s *Service) result(r TaskResult, prefix string) *mcp.CallToolResult {
	text := s.summary(r)
	if prefix != "" {
		text = prefix + " " + text
	}
	res := mcp.NewToolResultStructured(r, text)
	if r.VideoURL != "" {
		desc := "Generated video"
		if r.ExpiresAt != "" {
			desc += ", available until " + r.ExpiresAt
		}
		res.Content = append(res.Content, mcp.NewResourceLink(r.VideoURL, "vace-"+r.TaskID+".mp4", desc, "video/mp4"))
	}
	if r.LocalPath != "" {
		res.Content = append(res.Content, mcp.NewResourceLink((&url.URL{Scheme: "file", Path: filepath.ToSlash(r.LocalPath)}).String(),
			filepath.Base(r.LocalPath), "Generated video, saved locally", "video/mp4"))
	}
	return res
}

// toolError turns a failure into a tool error (isError) written for an agent:
// what happened, whether anything was sent or billed, and what to do.
func (s *Service) toolError(tool string, err error) *mcp.CallToolResult {
	return mcp.NewToolResultError(s.explain(tool, err))
}

func (s *Service) explain(tool string, err error) string {
	var fe *dashscope.FieldError
	var ue *dashscope.SubmitUncertainError
	var apiErr *dashscope.APIError
	var upErr *uploadError
	switch {
	case errors.As(err, &fe):
		var lines []string
		for _, e := range flatten(err) {
			if errors.As(e, &fe) {
				lines = append(lines, "- "+fe.Error())
			} else {
				lines = append(lines, "- "+e.Error())
			}
		}
		return fmt.Sprintf("Invalid arguments for %s (nothing was sent to DashScope):\n%s", tool, strings.Join(lines, "\n"))
	case errors.Is(err, dashscope.ErrNoAPIKey):
		return "No DashScope API key is configured, so nothing was sent. Set DASHSCOPE_API_KEY in this MCP server's environment " +
			"(the \"env\" block of your host's server config), or start the server with --sandbox to try every tool against a simulated backend."
	case errors.As(err, &ue):
		return fmt.Sprintf("The submission's outcome is unknown: %v. A task may have been created and billed, so it was NOT resent. "+
			"Call list_tasks with start_time %s to find it before submitting again.", ue.Err, rfc3339(ue.Since.Add(-time.Minute)))
	case errors.Is(err, journal.ErrUnavailable) && isSubmitTool(tool):
		return fmt.Sprintf("Not submitted: nothing was sent to DashScope or billed, because %v", err)
	case errors.Is(err, context.Canceled) && isSubmitTool(tool):
		return fmt.Sprintf("%s was cancelled before its request was sent: nothing was submitted or billed.", tool)
	case errors.As(err, &upErr):
		return fmt.Sprintf("%s: could not upload the local file %s for %s (%v). Nothing was submitted or billed. "+
			"Give a public http(s) URL for %s instead; or, since DashScope's temporary storage is offered only in some regions "+
			"(documented for Singapore and Beijing), run 'vace-mcp doctor' to see whether it works for this key, or use a key of another region.",
			tool, upErr.path, upErr.field, upErr.err, upErr.field)
	case dashscope.IsAuth(err):
		return fmt.Sprintf("DashScope refused the API key (%v); nothing was billed. Check DASHSCOPE_API_KEY, and that the key, the API root and the model "+
			"belong to the same region (%s uses %s with model %s).", err, s.regionName(), s.client.BaseURL(), s.client.Model())
	case dashscope.IsThrottled(err):
		return fmt.Sprintf("DashScope is throttling this account (%v); the request was not accepted and nothing was billed. "+
			"An account runs at most 2 tasks at a time: wait for a running task (wait_task), then try again.", err)
	case dashscope.IsArrearage(err):
		return fmt.Sprintf("DashScope refused the request because the account is overdue (%v); nothing was billed. Top up the account, then try again.", err)
	case errors.As(err, &apiErr) && apiErr.Code == "DataInspectionFailed":
		return fmt.Sprintf("DashScope's content check refused the prompt or an input (%v); nothing was billed. Change the prompt or inputs and try again.", err)
	case errors.As(err, &apiErr) && isSubmitTool(tool) && apiErr.StatusCode < 500 && apiErr.StatusCode != 408:
		return fmt.Sprintf("DashScope refused the %s request (%v); no task was created and nothing was billed. %s", tool, err, refusalHint(apiErr))
	case errors.As(err, &apiErr):
		return fmt.Sprintf("%s failed: %v.", tool, err)
	}
	return fmt.Sprintf("%s failed: %v", tool, err)
}

// refusalHint says what to change after the service refused a submission.
func refusalHint(e *dashscope.APIError) string {
	switch e.Code {
	case "InvalidURL", "BadRequest.InputDownloadFailed":
		return "DashScope could not fetch an input: give URLs it can download (public http(s), no login), or local file paths."
	case "BadRequest.UnsupportedFileFormat":
		return "An input's format is not accepted: see each URL argument's description for the formats allowed."
	case "BadRequest.TooLarge":
		return "An input is too large: see each URL argument's description for the size limits."
	}
	return "Change what the message names and call again."
}

func (s *Service) regionName() string {
	if r := dashscope.ClassifyRoot(s.client.BaseURL()); r.Kind != dashscope.RootCustom {
		return "region " + r.Region.Name
	}
	return "this server"
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	if u := errors.Unwrap(err); u != nil {
		if _, ok := u.(interface{ Unwrap() []error }); ok {
			return flatten(u)
		}
	}
	return []error{err}
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func roundSeconds(d time.Duration) float64 {
	return float64(d.Round(100*time.Millisecond)) / float64(time.Second)
}

// human writes seconds as "3m12s" or "45s".
func human(seconds float64) string {
	d := time.Duration(seconds * float64(time.Second)).Round(time.Second)
	if d >= time.Minute && d%time.Minute == 0 {
		return strings.TrimSuffix(d.String(), "0s")
	}
	return d.String()
}
