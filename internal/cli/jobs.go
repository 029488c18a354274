package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vace-mcp/vace-mcp/internal/journal"
)

// JobsOptions are the flags of `vace-mcp jobs`.
type JobsOptions struct {
	JSON  bool
	Since time.Duration
}

// JobsUsage is the help of `vace-mcp jobs`.
const JobsUsage = `usage: vace-mcp jobs [--json] [--since DURATION] [server flags such as --state-dir or --store]

Lists the job journal that every vace-mcp process of this user (or every
instance sharing a --store) shares: each
submission's time, tool, status, billed seconds, cost and saved file, with
totals. --since limits it to recent jobs (default 24h; 0 for all kept);
--json prints the same as JSON for scripts.`

// ParseJobs takes the jobs command's own flags out of args and returns the rest.
func ParseJobs(args []string) (JobsOptions, []string, error) {
	o := JobsOptions{Since: 24 * time.Hour}
	var rest []string
	for i := 0; i < len(args); i++ {
		name, value, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		switch {
		case !strings.HasPrefix(args[i], "-"):
			rest = append(rest, args[i])
		case name == "help" || name == "h":
			return o, nil, ErrHelp
		case name == "json":
			o.JSON = !hasValue || value == "true"
		case name == "since":
			if !hasValue {
				if i+1 >= len(args) {
					return o, nil, errors.New("--since needs a duration such as 24h or 7d")
				}
				i++
				value = args[i]
			}
			d, err := parseSince(value)
			if err != nil {
				return o, nil, err
			}
			o.Since = d
		default:
			rest = append(rest, args[i])
		}
	}
	return o, rest, nil
}

func parseSince(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(days, "%d", &n); err == nil && n >= 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("--since %q: use a duration such as 90m, 24h or 7d (0 for everything kept)", v)
	}
	return d, nil
}

// jobRow is one job as `jobs --json` prints it.
type jobRow struct {
	CreatedAt     string   `json:"created_at"`
	Tool          string   `json:"tool"`
	Model         string   `json:"model"`
	State         string   `json:"state"`
	TaskID        string   `json:"task_id,omitempty"`
	Status        string   `json:"status,omitempty"`
	Prompt        string   `json:"prompt_excerpt,omitempty"`
	BilledSeconds float64  `json:"billed_seconds,omitempty"`
	EstimateUSD   float64  `json:"estimated_cost_usd"`
	CostUSD       *float64 `json:"cost_usd,omitempty"`
	LocalPath     string   `json:"local_path,omitempty"`
	Error         string   `json:"error,omitempty"`
}

// Jobs prints the journal. It returns the exit code.
func Jobs(ctx context.Context, j journal.Store, o JobsOptions, now time.Time, stdout, stderr io.Writer) int {
	since := time.Time{}
	if o.Since > 0 {
		since = now.Add(-o.Since)
	}
	jobs, err := j.List(ctx, since, 0)
	if err != nil {
		fmt.Fprintf(stderr, "vace-mcp jobs: %v\n", err)
		return 1
	}
	today, err := j.ChargedToday(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "vace-mcp jobs: %v\n", err)
		return 1
	}
	rows := make([]jobRow, 0, len(jobs))
	var seconds, cost float64
	for _, job := range jobs {
		rows = append(rows, jobRow{CreatedAt: job.CreatedAt.UTC().Format(time.RFC3339), Tool: job.Tool, Model: job.Model, State: string(job.State),
			TaskID: job.TaskID, Status: job.Status, Prompt: job.PromptExcerpt, BilledSeconds: job.BilledSeconds, EstimateUSD: job.EstimateUSD,
			CostUSD: job.CostUSD, LocalPath: job.LocalPath, Error: job.Error})
		seconds += job.BilledSeconds
		cost += job.Charge()
	}
	if o.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(struct {
			Journal       string   `json:"journal"`
			Jobs          []jobRow `json:"jobs"`
			BilledSeconds float64  `json:"billed_seconds"`
			CostUSD       float64  `json:"cost_usd"`
			TodayUSD      float64  `json:"today_usd"`
		}{j.Describe(), rows, seconds, round(cost), round(today)})
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CREATED (UTC)\tTOOL\tSTATUS\tBILLED S\tCOST USD\tSAVED\tPROMPT") // stdout-ok: the jobs command's table, not the stdio transport
	for _, r := range rows {
		status := r.Status
		if status == "" || r.State != string(journal.StateAccepted) {
			status = strings.TrimSpace(r.State + " " + r.Status)
		}
		c := fmt.Sprintf("~%.2f", r.EstimateUSD)
		if r.CostUSD != nil {
			c = fmt.Sprintf("%.2f", *r.CostUSD)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%g\t%s\t%s\t%s\n", r.CreatedAt, r.Tool, status, r.BilledSeconds, c, r.LocalPath, r.Prompt)
	}
	_ = tw.Flush()
	fmt.Fprintf(stdout, "%d job(s), %g s billed, USD %.2f (estimates marked ~); today USD %.2f. Journal: %s\n", len(rows), seconds, cost, today, j.Describe()) // stdout-ok: the jobs command's summary
	return 0
}

func round(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }
