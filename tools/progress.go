package tools

import (
	"context"
	"log/slog"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// progress sends notifications/progress for one call that carries a progress
// token, keeping the spec's rules: progress strictly increases, and nothing
// is sent once the call has its result.
type progress struct {
	ctx   context.Context
	token mcp.ProgressToken
	log   *slog.Logger
	last  float64
	sent  time.Time
}

func newProgress(ctx context.Context, req mcp.CallToolRequest, log *slog.Logger) *progress {
	p := &progress{ctx: ctx, log: log, last: -1}
	if req.Params.Meta != nil {
		p.token = req.Params.Meta.ProgressToken
	}
	return p
}

// report sends one notification; total <= 0 leaves the total out.
func (p *progress) report(value, total float64, message string) {
	if p.token == nil || p.ctx.Err() != nil {
		return
	}
	if value <= p.last {
		value = p.last + 0.001
	}
	params := map[string]any{"progressToken": p.token, "progress": value, "message": message}
	if total > 0 {
		params["total"] = total
	}
	srv := server.ServerFromContext(p.ctx)
	if srv == nil {
		return
	}
	if err := srv.SendNotificationToClient(p.ctx, "notifications/progress", params); err != nil {
		p.log.Debug("progress not sent", slog.String("error", err.Error()))
		return
	}
	p.last, p.sent = value, time.Now()
}

// settleFor is how long after the last notification a result may follow.
// mcp-go v1.2.1 writes notifications from another goroutine than results, so
// a notification sent just before returning can reach the client after the
// result (stdio, SSE) or be dropped (streamable HTTP).
const settleFor = 50 * time.Millisecond

// settle returns once every notification sent has left the session's queue
// and settleFor has passed since the last one. Call it before returning.
func (p *progress) settle() {
	if p.sent.IsZero() {
		return
	}
	if cs := server.ClientSessionFromContext(p.ctx); cs != nil {
		ch := cs.NotificationChannel()
		deadline := time.Now().Add(time.Second)
		for len(ch) > 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	if d := settleFor - time.Since(p.sent); d > 0 {
		time.Sleep(d)
	}
}
