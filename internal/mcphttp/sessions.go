package mcphttp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/vace-mcp/vace-mcp/internal/cancellation"
)

// session is one streamable-HTTP session issued by this layer. mcp-go keeps
// no state for it beyond per-id stores (log level and the like) that are
// dropped when the session ends.
type session struct {
	id      string
	started time.Time
	// ctx is cancelled, with the end reason as cause, when the session ends;
	// every request of the session is cancelled with it.
	ctx    context.Context
	cancel context.CancelCauseFunc

	// conn maps the session's request ids and notes its cancellations.
	conn cancellation.Conn

	// Guarded by Handler.mu.
	lastSeen time.Time
	inflight int // requests being served; a busy session never expires
}

// endReason says why a session ended, for the log and as the cancellation
// cause its in-flight requests see.
type endReason struct {
	name  string
	cause error
}

var (
	endDeleted = endReason{"deleted", errors.New("mcp session ended: the client deleted it")}
	endExpired = endReason{"expired", errors.New("mcp session ended: idle timeout")}
	endEvicted = endReason{"evicted", errors.New("mcp session ended: the session table was full and this session had been idle the longest")}
	endClosed  = endReason{"closed", errHandlerClosed}
)

// serveStreamable is the session layer in front of mcp-go's stateless
// streamable HTTP server.
func (h *Handler) serveStreamable(w http.ResponseWriter, r *http.Request) {
	// Protocol 2026-07-28 and later have no sessions: mcp-go serves them as
	// they are (and answers their GET and DELETE with 405 itself).
	if mcp.IsModernProtocol(r.Header.Get(mcp.HeaderProtocolVersion)) {
		h.passThrough(w, r)
		return
	}
	switch r.Method {
	case http.MethodPost:
		h.servePost(w, r)
	case http.MethodDelete:
		h.serveDelete(w, r)
	default:
		// No standalone GET stream: in mcp-go a GET registers a session
		// under its id that would capture the notifications of that
		// session's POSTs. Clients treat 405 as "no stream offered".
		w.Header().Set("Allow", "POST, DELETE")
		h.reject(w, r, http.StatusMethodNotAllowed, codeTransport, "method_not_allowed",
			fmt.Sprintf("%s is not supported on %s: this server offers no standalone SSE stream; POST JSON-RPC messages, and DELETE to end a session",
				r.Method, PathStreamable))
	}
}

// postedMessage is the part of a POSTed JSON-RPC message the layer
// routes on.
type postedMessage struct {
	Method string `json:"method"`
	Params struct {
		Meta            *mcp.Meta `json:"_meta"`
		ProtocolVersion string    `json:"protocolVersion"`
		ClientInfo      struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"clientInfo"`
	} `json:"params"`
}

func (h *Handler) servePost(w http.ResponseWriter, r *http.Request) {
	var msg postedMessage
	// A malformed body is mcp-go's to report; here it is simply not an
	// initialize and needs a session like any other message.
	_ = json.Unmarshal(bufferedBody(r), &msg)
	switch {
	case mcp.IsModernProtocol(msg.Params.Meta.ProtocolVersion()):
		// mcp-go also reads the era from _meta (and answers 400 when the
		// header disagrees), so the layer must not demand a session here.
		h.passThrough(w, r)
	case msg.Method == string(mcp.MethodInitialize):
		h.initialize(w, r, msg)
	default:
		h.forward(w, r)
	}
}

// passThrough hands a session-less request to mcp-go, cancelled by Close.
//
// Without sessions mcp-go keys in-flight requests by the JSON-RPC id alone,
// so one client's notifications/cancelled would cancel any other client's
// request with the same id. Such a request is cancelled by closing its own
// HTTP request instead (which cancels its handler), so id-addressed
// cancellations are accepted and dropped here.
func (h *Handler) passThrough(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				TaskID *string `json:"taskId"`
			} `json:"params"`
		}
		if json.Unmarshal(bufferedBody(r), &msg) == nil && msg.Method == string(mcp.MethodNotificationCancelled) {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		if err := taskHeaders(r.Header, msg.Method, msg.Params.TaskID); err != nil && h.opts.TaskHook != nil {
			// mcp-go checks the headers of what it answers; task methods
			// are answered in front of it, so they are checked here.
			writeJSON(w, http.StatusBadRequest, rpcErrorJSON(msg.ID, mcp.HEADER_MISMATCH, "Header mismatch: "+err.Error()))
			return
		}
		// Each such request stands alone; its id needs mapping all the same.
		serveMessage(&cancellation.Conn{Hook: h.opts.TaskHook}, w, r, h.life, func(w http.ResponseWriter, r *http.Request) {
			h.serveScoped(w, r, h.life, http.StatusServiceUnavailable)
		})
		return
	}
	h.serveScoped(w, r, h.life, http.StatusServiceUnavailable)
}

// taskHeaders checks the standard headers of a task method in the
// 2026-07-28 revision: Mcp-Method names the method and, for the tasks
// extension's methods, Mcp-Name the task (so that a load balancer routing
// on it sends the request where the body says). Other methods pass.
func taskHeaders(h http.Header, method string, taskID *string) error {
	if !strings.HasPrefix(method, "tasks/") {
		return nil
	}
	switch got := h.Get(mcp.HeaderMethod); {
	case got == "":
		return fmt.Errorf("%s: missing required header", mcp.HeaderMethod)
	case got != method:
		return fmt.Errorf("%s: header value %q does not match body value %q", mcp.HeaderMethod, got, method)
	}
	if taskID == nil {
		return nil // the method answers that taskId is missing
	}
	name := h.Get(mcp.HeaderName)
	decoded, ok := mcp.DecodeHeaderValue(name)
	switch {
	case name == "":
		return fmt.Errorf("%s: missing required header for method %q (the task id)", mcp.HeaderName, method)
	case !ok || decoded != *taskID:
		return fmt.Errorf("%s: header value %q does not match the body's taskId", mcp.HeaderName, name)
	}
	return nil
}

// serveScoped passes r to mcp-go with a context that scope's end also
// cancels. mcp-go writes nothing for a request whose context was cancelled
// (it assumes the client left), which would reach a client that is still
// there as an empty 200, or as a progress stream that ends without an
// answer; in that case the request is answered with a JSON-RPC error that
// says why, with status (503 when the whole server is stopping) or as the
// stream's last event.
func (h *Handler) serveScoped(w http.ResponseWriter, r *http.Request, scope context.Context, status int) {
	body := bufferedBody(r) // for the id: mcp-go consumes the body
	req, release := withScope(r, scope)
	defer release()
	tw := &trackedWriter{ResponseWriter: w}
	h.streamable.ServeHTTP(tw, req)
	cause := context.Cause(scope)
	if cause == nil || tw.answered || r.Context().Err() != nil {
		return
	}
	answer := rpcErrorJSON(requestID(body), codeTransport, cause.Error()+shutdownAdvice)
	switch {
	case !tw.wrote:
		if h.life.Err() != nil {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, answer)
	case tw.streaming():
		writeSSEEvent(w, answer)
	}
}

// initialize lets mcp-go answer an initialize request and, if it succeeded,
// issues a session id with the response.
func (h *Handler) initialize(w http.ResponseWriter, r *http.Request, msg postedMessage) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		h.reject(w, r, http.StatusServiceUnavailable, codeTransport, "shutting_down",
			"the MCP server is shutting down: retry against a running server")
		return
	}
	// A full table makes room by ending the session idle the longest:
	// refusing instead would let idle (or abandoned) sessions lock new
	// clients out until they expire.
	var evicted *session
	if len(h.sessions)+h.initializing >= h.opts.MaxSessions {
		evicted = h.longestIdle()
		if evicted == nil {
			h.mu.Unlock()
			h.reject(w, r, http.StatusServiceUnavailable, codeTransport, "session_limit",
				fmt.Sprintf("too many sessions: this server allows %d live sessions and every one has a request in flight; retry when one finishes",
					h.opts.MaxSessions))
			return
		}
		delete(h.sessions, evicted.id)
	}
	h.initializing++
	h.mu.Unlock()
	if evicted != nil {
		h.endSession(evicted, endEvicted)
	}

	held := newHeldResponse(w)
	req, release := withScope(r, h.life)
	serveMessage(new(cancellation.Conn), held, req, h.life, h.streamable.ServeHTTP)
	release()

	ok := held.status == http.StatusOK && initSucceeded(held.header.Get("Content-Type"), held.body.Bytes())
	id := h.newSessionID()
	now := time.Now()
	h.mu.Lock()
	h.initializing--
	ok = ok && !h.closed
	if ok {
		ctx, cancel := context.WithCancelCause(h.life)
		s := &session{id: id, started: now, ctx: ctx, cancel: cancel, lastSeen: now}
		s.conn.Hook = h.opts.TaskHook
		h.sessions[id] = s
	}
	h.mu.Unlock()

	if ok {
		held.header.Set(server.HeaderKeySessionID, id)
		h.log.Info("mcp session started",
			slog.String("session", shortID(id)),
			slog.String("remote", r.RemoteAddr),
			slog.String("client", msg.Params.ClientInfo.Name),
			slog.String("client_version", msg.Params.ClientInfo.Version),
			slog.String("requested_protocol", msg.Params.ProtocolVersion),
		)
	}
	held.send()
}

// forward passes a message of a live session to mcp-go. The Mcp-Session-Id
// header goes through unchanged: stateless mcp-go does not validate it but
// uses it as the ephemeral session's id, so handlers see it through
// server.ClientSessionFromContext and notifications/cancelled is scoped to
// it.
func (h *Handler) forward(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get(server.HeaderKeySessionID)
	if id == "" {
		h.reject(w, r, http.StatusBadRequest, codeInvalidRequest, "missing_session",
			"Bad Request: Mcp-Session-Id header is required: send initialize first and echo the session id it returns")
		return
	}
	s := h.acquire(id)
	if s == nil {
		h.rejectUnknownSession(w, r)
		return
	}
	defer h.release(s)
	serveMessage(&s.conn, w, r, s.ctx, func(w http.ResponseWriter, r *http.Request) {
		h.serveScoped(w, r, s.ctx, http.StatusNotFound)
	})
}

// serveDelete ends a session at the client's request.
func (h *Handler) serveDelete(w http.ResponseWriter, r *http.Request) {
	if v := r.Header.Get(mcp.HeaderProtocolVersion); v != "" && !mcp.IsValidProtocolVersion(v) {
		h.reject(w, r, http.StatusBadRequest, codeInvalidRequest, "unsupported_protocol_version",
			fmt.Sprintf("unsupported %s %q: use one of %v", mcp.HeaderProtocolVersion, v, mcp.ValidProtocolVersions))
		return
	}
	id := r.Header.Get(server.HeaderKeySessionID)
	if id == "" {
		h.reject(w, r, http.StatusBadRequest, codeInvalidRequest, "missing_session",
			"Bad Request: Mcp-Session-Id header is required to end a session")
		return
	}
	h.mu.Lock()
	s := h.sessions[id]
	delete(h.sessions, id)
	expired := s != nil && h.idle(s, time.Now())
	h.mu.Unlock()
	switch {
	case s == nil:
		h.rejectUnknownSession(w, r)
	case expired:
		h.endSession(s, endExpired)
		h.rejectUnknownSession(w, r)
	default:
		h.endSession(s, endDeleted)
		w.WriteHeader(http.StatusNoContent)
	}
}

func (h *Handler) rejectUnknownSession(w http.ResponseWriter, r *http.Request) {
	h.reject(w, r, http.StatusNotFound, codeTransport, "unknown_session",
		fmt.Sprintf("Session not found: it was ended, expired after %s idle, was evicted to make room for a new one, or never existed; send initialize to start a new session",
			h.opts.SessionIdleTimeout))
}

// acquire returns the live session with id and marks a request in flight
// on it, or returns nil when there is none. A session found idle past the
// timeout is ended here, so expiry does not wait for the sweeper.
func (h *Handler) acquire(id string) *session {
	now := time.Now()
	h.mu.Lock()
	s := h.sessions[id]
	if s != nil && h.idle(s, now) {
		delete(h.sessions, id)
		h.mu.Unlock()
		h.endSession(s, endExpired)
		return nil
	}
	if s != nil {
		s.inflight++
		s.lastSeen = now
	}
	h.mu.Unlock()
	return s
}

// release marks the end of a request acquired on s; the idle time counts
// from here.
func (h *Handler) release(s *session) {
	h.mu.Lock()
	s.inflight--
	s.lastSeen = time.Now()
	h.mu.Unlock()
}

// longestIdle returns the session without a request in flight whose last
// request ended the longest ago, or nil if every session is busy. The
// caller holds h.mu.
func (h *Handler) longestIdle() *session {
	var oldest *session
	for _, s := range h.sessions {
		if s.inflight == 0 && (oldest == nil || s.lastSeen.Before(oldest.lastSeen)) {
			oldest = s
		}
	}
	return oldest
}

// idle reports whether s has been without requests past the timeout. The
// caller holds h.mu.
func (h *Handler) idle(s *session, now time.Time) bool {
	return s.inflight == 0 && now.Sub(s.lastSeen) > h.opts.SessionIdleTimeout
}

// endSession cancels the requests of a session already removed from
// h.sessions and drops mcp-go's per-session state.
func (h *Handler) endSession(s *session, why endReason) {
	s.cancel(why.cause)
	h.forgetInMCPGo(s.id)
	msg, level := "mcp session ended", slog.LevelInfo
	switch why {
	case endExpired:
		msg = "mcp session expired"
	case endEvicted:
		// The table is full: worth seeing, it may be a client leaking
		// sessions, or --max-sessions set too low.
		msg, level = "mcp session evicted", slog.LevelWarn
	}
	h.log.Log(context.Background(), level, msg,
		slog.String("session", shortID(s.id)),
		slog.String("reason", why.name),
		slog.Duration("age", time.Since(s.started).Round(time.Millisecond)),
	)
}

// forgetInMCPGo makes mcp-go drop the stores it keys by session id (log
// level, session tools...). In stateless mode its DELETE does exactly that;
// a synthetic request is used because the client's own DELETE may carry
// headers mcp-go would refuse before cleaning up.
func (h *Handler) forgetInMCPGo(id string) {
	req := &http.Request{
		Method: http.MethodDelete,
		URL:    &url.URL{Path: PathStreamable},
		Header: http.Header{server.HeaderKeySessionID: {id}},
		Host:   "localhost",
	}
	h.streamable.ServeHTTP(discardResponse{header: http.Header{}}, req)
}

// sweep expires idle sessions every interval until Close.
func (h *Handler) sweep(every time.Duration) {
	defer close(h.sweeperDone)
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-h.life.Done():
			return
		case now := <-ticker.C:
			h.expireIdle(now)
		}
	}
}

func (h *Handler) expireIdle(now time.Time) {
	var expired []*session
	h.mu.Lock()
	for id, s := range h.sessions {
		if h.idle(s, now) {
			delete(h.sessions, id)
			expired = append(expired, s)
		}
	}
	h.mu.Unlock()
	for _, s := range expired {
		h.endSession(s, endExpired)
	}
}

// sweepInterval is half the idle timeout, so a session is freed at most
// 1.5 timeouts after its last request, within [10ms, 1min].
func sweepInterval(timeout time.Duration) time.Duration {
	return min(max(timeout/2, 10*time.Millisecond), time.Minute)
}

// newSessionID issues a session id: 26 base32 characters, 130 random bits,
// after the instance's id and a '-' when Options.InstanceID is set.
func (h *Handler) newSessionID() string {
	if h.opts.InstanceID == "" {
		return rand.Text()
	}
	return h.opts.InstanceID + "-" + rand.Text()
}

// shortID is the part of a session id that is logged: the instance's
// prefix, if any, and enough of the random part to correlate log lines, too
// little to replay requests in someone else's session.
func shortID(id string) string {
	const keep = 8
	prefix := ""
	if i := strings.LastIndexByte(id, '-'); i >= 0 {
		prefix, id = id[:i+1], id[i+1:]
	}
	if len(id) <= keep {
		return prefix + id
	}
	return prefix + id[:keep] + "…"
}

// requestID returns the raw id of a JSON-RPC request, or nil if it has none.
func requestID(body []byte) json.RawMessage {
	var msg struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(body, &msg) != nil || len(msg.ID) == 0 {
		return nil
	}
	return msg.ID
}

// bufferedBody returns the request body the guard has read into memory and
// leaves it readable again for the next handler.
func bufferedBody(r *http.Request) []byte {
	// The guard replaced the body with an in-memory reader: this cannot fail.
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body
}
