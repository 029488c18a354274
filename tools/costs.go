package tools

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/internal/journal"
)

// clock is the wall clock the journal is kept by (the client's clock may be
// a simulated one).
func (s *Service) clock() time.Time { return time.Now() }

// estimate is a request's expected cost: its billed seconds at the model's
// price, with a local input video's own length where there is one.
func (s *Service) estimate(req dashscope.Request, st *staging) float64 {
	input := 0.0
	for _, l := range st.locals {
		if l.media.Name == "video_url" {
			input = l.info.Duration.Seconds()
		}
	}
	return dashscope.EstimatedSeconds(req, input) * s.opts.Prices.Rate(s.client.ModelFor(req), dashscope.TierOf(req))
}

// record keeps what a look at a task learned in the journal, settling its
// cost when it has ended: billed seconds at the model's price on success,
// nothing on failure. It returns that cost: nil while the task runs, or for
// a succeeded task the journal does not know (its model, so its price, is
// unknown).
func (s *Service) record(ctx context.Context, t *dashscope.Task) *float64 {
	if s.journal == nil || t == nil || t.ID == "" || t.Status == dashscope.StatusUnknown {
		return nil
	}
	o := journal.Observation{TaskID: t.ID, Status: string(t.Status), BilledSeconds: t.Usage.BilledSeconds()}
	job, err := s.journal.ByTask(ctx, t.ID)
	switch t.Status {
	case dashscope.StatusSucceeded:
		o.VideoURL, o.ExpiresAt = t.VideoURL, t.Expires()
		if err == nil && o.BilledSeconds > 0 { // without usage the estimate stands: a success is never free
			cost := roundCents(o.BilledSeconds * s.opts.Prices.Rate(job.Model, dashscope.TierOfUsage(t.Usage)))
			o.CostUSD = &cost
		}
	case dashscope.StatusFailed, dashscope.StatusCanceled:
		zero := 0.0
		o.CostUSD = &zero
	}
	switch {
	case errors.Is(err, journal.ErrNotFound): // not the journal's task: Observe would ignore it
		return o.CostUSD
	case errors.Is(err, journal.ErrUnavailable):
		// The store does not answer (a shared store that is down): the look
		// is answered from DashScope all the same, and a later look, or
		// auto-save's, records the task once the store is back.
		s.journalTrouble("could not record a task's state: the job journal is unavailable; answering from DashScope", t.ID, err)
		return o.CostUSD
	case err == nil && job.Status == o.Status && (job.CostUSD != nil || (!t.Status.Terminal() && s.clock().Sub(job.UpdatedAt) < recordedFresh)):
		// The journal has this already: an ended task settled, or a running
		// one recorded a moment ago. Writing it again would only make every
		// process's concurrent looks queue for the journal's lock.
		return o.CostUSD
	}
	if err := s.journal.Observe(ctx, o); err != nil {
		s.log.Error("could not record a task's state in the journal", slog.String("task_id", t.ID), slog.String("error", err.Error()))
	}
	return o.CostUSD
}

// journalTrouble logs that the journal failed a read-only path, at most
// once every journalTroubleEvery: while a shared store is down every look
// at a task would log it.
func (s *Service) journalTrouble(msg, taskID string, err error) {
	now := time.Now().UnixNano()
	last := s.troubleAt.Load()
	if now-last < int64(journalTroubleEvery) || !s.troubleAt.CompareAndSwap(last, now) {
		return
	}
	s.log.Warn(msg, slog.String("task_id", taskID), slog.String("error", err.Error()))
}

// journalTroubleEvery spaces journalTrouble's warnings.
const journalTroubleEvery = 30 * time.Second

// recordedFresh is how recently a running task's unchanged state must have
// been recorded for a look to leave it be: the second for which the client,
// too, takes a look as the task's state.
const recordedFresh = time.Second

func roundCents(usd float64) float64 { return math.Round(usd*100) / 100 }

// promptOf is a request's prompt, for the journal's excerpt.
func promptOf(r dashscope.Request) string {
	switch r := r.(type) {
	case dashscope.ImageReference:
		return r.Prompt
	case dashscope.VideoRepainting:
		return r.Prompt
	case dashscope.VideoEdit:
		return r.Prompt
	case dashscope.VideoExtension:
		return r.Prompt
	case dashscope.VideoOutpainting:
		return r.Prompt
	case dashscope.InstructEdit:
		return r.Prompt
	}
	return ""
}

// inputsText names the local inputs by field and content, for the journal.
func (st *staging) inputsText() string {
	var parts []string
	for i, m := range st.media {
		if l, ok := st.locals[i]; ok {
			d, _ := l.contentDigest()
			parts = append(parts, m.Field+"="+l.file.Path+" sha256:"+d)
		}
	}
	return strings.Join(parts, "; ")
}
