package mcphttp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/vace-mcp/vace-mcp/internal/cancellation"
)

// sseStream is one open GET /sse stream, which is one mcp-go SSE session.
//
// mcp-go runs each POST /message on a context detached from every request
// (sse.go: context.WithoutCancel), so neither a closed stream nor a server
// shutdown reaches a running tool handler. The stream therefore remembers
// the requests it has not answered yet and, when it ends, cancels them the
// way a client would: with notifications/cancelled in the stream's session.
type sseStream struct {
	id     string // set by newSSESessionID, before the stream is registered
	opened time.Time
	end    context.CancelFunc // ends the stream: mcp-go's handler returns when its request context is done
	life   context.Context    // ends with the stream; requests answered in this layer stop with it
	writer *sseStreamWriter

	// conn maps the session's request ids and notes its cancellations.
	conn cancellation.Conn

	mu       sync.Mutex
	pending  map[string]json.RawMessage // id key → raw id of requests not answered yet
	draining bool                       // end the stream once pending is empty
	ended    bool
}

// sseStreamKey carries the *sseStream in the GET request's context, where
// the session id generator finds it.
type sseStreamKey struct{}

// serveSSEStream opens an SSE stream through mcp-go and cleans up after it.
func (h *Handler) serveSSEStream(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		h.reject(w, r, http.StatusMethodNotAllowed, codeTransport, "method_not_allowed",
			fmt.Sprintf("%s opens an SSE stream with GET; POST messages to the endpoint it announces", PathSSE))
		return
	}
	h.mu.Lock()
	if h.closed || h.sseDraining {
		h.mu.Unlock()
		h.reject(w, r, http.StatusServiceUnavailable, codeTransport, "shutting_down",
			"the MCP server is shutting down: retry against a running server")
		return
	}
	if h.sseOpen >= h.opts.MaxSessions {
		h.mu.Unlock()
		h.reject(w, r, http.StatusServiceUnavailable, codeTransport, "sse_limit",
			fmt.Sprintf("too many SSE streams: this server allows %d open at once; close an unused one, then retry",
				h.opts.MaxSessions))
		return
	}
	h.sseOpen++
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.sseOpen--
		h.mu.Unlock()
	}()

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(h.life, cancel)
	defer stop()
	st := &sseStream{
		opened:  time.Now(),
		end:     cancel,
		life:    ctx,
		pending: make(map[string]json.RawMessage),
	}
	ctx = context.WithValue(ctx, sseStreamKey{}, st)
	sw := &sseStreamWriter{ResponseWriter: w, stream: st}
	st.writer = sw
	st.conn.Hook = h.opts.TaskHook
	stopKeepAlive := sw.keepAlive(h.opts.sseKeepAlive)
	h.sseStream.ServeHTTP(sw, r.WithContext(ctx))
	stopKeepAlive()
	sw.shut() // w is not to be written once this handler returns
	h.endSSEStream(st, "stream closed")
}

// newSSESessionID issues the id of the SSE session being opened and
// registers its stream. mcp-go calls it from inside serveSSEStream.
func (h *Handler) newSSESessionID(ctx context.Context, r *http.Request) (string, error) {
	id := h.newSessionID()
	st, ok := ctx.Value(sseStreamKey{}).(*sseStream)
	if !ok {
		return "", fmt.Errorf("sse stream for %s not opened through mcphttp.Handler", r.URL.Path)
	}
	st.id = id
	h.mu.Lock()
	h.streams[id] = st
	h.mu.Unlock()
	h.log.Info("mcp sse session started",
		slog.String("session", shortID(id)),
		slog.String("remote", r.RemoteAddr),
	)
	return id, nil
}

// serveSSEMessage passes a POST /message to mcp-go through the stream's
// cancellation.Conn (see serveMessage), noting requests so they can be
// cancelled if their stream ends before answering them.
func (h *Handler) serveSSEMessage(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		h.mu.Lock()
		st := h.streams[r.URL.Query().Get("sessionId")]
		h.mu.Unlock()
		if st == nil {
			// Never to mcp-go past the stream's Conn (ids, cancels, tasks):
			// its own session may outlive the stream by a moment. The
			// answers are mcp-go's: 400 without an id, 404 for an unknown one.
			skipBody(w, r)
			if r.URL.Query().Get("sessionId") == "" {
				writeRPCError(w, http.StatusBadRequest, codeInvalidRequest,
					"Bad Request: sessionId is required: post to the endpoint the SSE stream (GET "+PathSSE+") announces")
				return
			}
			writeRPCError(w, http.StatusNotFound, codeTransport,
				"unknown or ended SSE session: open a new stream with GET "+PathSSE+" and post to the endpoint it announces")
			return
		}
		{
			msg := st.conn.In(bufferedBody(r))
			switch {
			case msg.Reply != nil && replyStatus(msg.Reply) == http.StatusBadRequest:
				writeJSON(w, http.StatusBadRequest, msg.Reply) // as mcp-go refuses a malformed message
				return
			case msg.Reply != nil:
				st.writer.reply(msg.Reply) // answers travel on the stream
				w.WriteHeader(http.StatusAccepted)
				return
			case msg.Local != nil:
				go func() {
					if answer, send := st.conn.Out(msg.Local(st.life)); send {
						st.writer.reply(answer)
					}
				}()
				w.WriteHeader(http.StatusAccepted)
				return
			case msg.Forward == nil:
				w.WriteHeader(http.StatusAccepted)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(msg.Forward))
			r.ContentLength = int64(len(msg.Forward))
			st.track(msg.Forward)
		}
	}
	h.sseMessage.ServeHTTP(w, r)
}

// track notes a request (a message with a method and an id) as pending.
func (st *sseStream) track(body []byte) {
	var msg struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if json.Unmarshal(body, &msg) != nil || msg.Method == "" {
		return
	}
	key, ok := cancellation.IDKey(msg.ID)
	if !ok {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.ended {
		st.pending[key] = msg.ID
	}
}

// answered removes the requests answered in an outgoing SSE event and
// reports whether a draining stream has nothing left to answer.
func (st *sseStream) answered(event []byte) (drained bool) {
	if !bytes.Contains(event, []byte(`"id"`)) {
		return false
	}
	for _, data := range sseData(event) {
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if json.Unmarshal(data, &msg) != nil || msg.Method != "" {
			continue // a notification, a server-to-client request, or not JSON
		}
		if key, ok := cancellation.IDKey(msg.ID); ok {
			st.mu.Lock()
			delete(st.pending, key)
			drained = st.draining && len(st.pending) == 0
			st.mu.Unlock()
		}
	}
	return drained
}

// endSSEStream ends a stream once, unregisters it and cancels the requests
// it has not answered.
func (h *Handler) endSSEStream(st *sseStream, reason string) {
	st.mu.Lock()
	if st.ended {
		st.mu.Unlock()
		return
	}
	st.ended = true
	pending := st.pending
	st.pending = nil
	st.mu.Unlock()

	st.end()
	if st.id == "" {
		return // mcp-go refused the stream before a session existed
	}
	h.mu.Lock()
	if h.streams[st.id] == st {
		delete(h.streams, st.id)
	}
	h.mu.Unlock()

	ctx := h.mcp.WithContext(context.Background(), sessionRef(st.id))
	for _, id := range pending {
		note, err := json.Marshal(map[string]any{
			"jsonrpc": mcp.JSONRPC_VERSION,
			"method":  string(mcp.MethodNotificationCancelled),
			"params":  map[string]any{"requestId": id, "reason": "mcp sse session ended: " + reason},
		})
		if err != nil {
			continue // unreachable: id is valid JSON that came in a request
		}
		h.mcp.HandleMessage(ctx, note)
	}
	h.log.Info("mcp sse session ended",
		slog.String("session", shortID(st.id)),
		slog.String("reason", reason),
		slog.Int("cancelled_requests", len(pending)),
		slog.Duration("age", time.Since(st.opened).Round(time.Millisecond)),
	)
}

// answerPending answers each request the stream has not answered with a
// JSON-RPC error giving cause, and then lets nothing more through to the
// client: mcp-go's own answers to those requests, cancelled next, would come
// second.
func (st *sseStream) answerPending(cause error) {
	w := st.writer
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.closed = true
	st.mu.Lock()
	ids := slices.Collect(maps.Values(st.pending))
	st.mu.Unlock()
	for _, id := range ids {
		// pending holds the ids mcp-go knows; the client gets its own back.
		if answer, send := st.conn.Out(rpcErrorJSON(id, codeTransport, cause.Error()+shutdownAdvice)); send {
			writeSSEEvent(w.ResponseWriter, answer)
		}
	}
}

// drainSSE runs when the HTTP server starts shutting down: streams with no
// pending request end now, the others right after their last answer, so
// they neither hold up the shutdown nor lose an answer within the grace.
func (h *Handler) drainSSE() {
	h.mu.Lock()
	h.sseDraining = true
	streams := make([]*sseStream, 0, len(h.streams))
	for _, st := range h.streams {
		streams = append(streams, st)
	}
	h.mu.Unlock()
	for _, st := range streams {
		st.mu.Lock()
		st.draining = true
		idle := len(st.pending) == 0
		st.mu.Unlock()
		if idle {
			st.end()
		}
	}
}

// sessionRef stands in for an SSE session whose stream is gone, so that a
// notifications/cancelled lands in that session's scope in mcp-go (its
// cancellation keys are "<session id>:<request id>"). Nothing can be sent
// to it.
type sessionRef string

func (s sessionRef) SessionID() string                                 { return string(s) }
func (sessionRef) Initialize()                                         {}
func (sessionRef) Initialized() bool                                   { return false }
func (sessionRef) NotificationChannel() chan<- mcp.JSONRPCNotification { return nil }

var _ server.ClientSession = sessionRef("")

// sseStreamWriter watches what mcp-go writes on a stream: each write is one
// event, and a response in it settles a pending request. It also writes the
// keep-alive comments and the answers at shutdown, so writes are serialized,
// and a write and the settling of its requests are one step.
type sseStreamWriter struct {
	http.ResponseWriter
	stream *sseStream

	mu        sync.Mutex
	streaming bool // mcp-go has written its first event: the stream is open
	closed    bool // nothing more goes to the client
}

func (w *sseStreamWriter) WriteHeader(status int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	noCORS(w.Header())
	w.ResponseWriter.WriteHeader(status)
}

func (w *sseStreamWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return len(p), nil
	}
	// Each write is one event. Mapped under w.mu, so that answerPending
	// finds every answer either written or still to be mapped.
	out := mapEvents(p, w.stream.conn.Out)
	n, err := len(p), error(nil)
	if len(out) > 0 {
		noCORS(w.Header())
		if _, err = w.ResponseWriter.Write(out); err != nil {
			n = 0
		}
	}
	w.streaming = true
	drained := w.stream.answered(p)
	w.mu.Unlock()
	if drained {
		// mcp-go flushes this event before it notices the stream ended.
		w.stream.end()
	}
	return n, err
}

// Flush is required: mcp-go refuses to stream to a writer without it.
func (w *sseStreamWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	noCORS(w.Header())
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// reply writes an answer of this layer's own on the stream, between
// mcp-go's events.
func (w *sseStreamWriter) reply(msg []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		writeSSEEvent(w.ResponseWriter, msg)
	}
}

// shut lets nothing more through to the client.
func (w *sseStreamWriter) shut() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
}

// noCORS removes the Access-Control-* headers mcp-go's SSE handler sets
// (Access-Control-Allow-Origin: *) before they go out: the guard admits
// only allowed origins, and no endpoint of this server sends CORS headers.
func noCORS(h http.Header) {
	for k := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			delete(h, k)
		}
	}
}

func (w *sseStreamWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// keepAlive writes an SSE comment every interval until the returned stop
// is called; stop returns once nothing more will be written.
//
// mcp-go's own keep-alive sends JSON-RPC ping requests numbered from 1 per
// session, and mcp-go's SSE client takes a ping whose id equals a pending
// call's id for that call's response, failing the call. Comments are
// ignored by every SSE parser and keep proxies from closing a quiet stream
// all the same.
func (w *sseStreamWriter) keepAlive(every time.Duration) (stop func()) {
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		ticker := time.NewTicker(every)
		defer ticker.Stop()
		for {
			select {
			case <-done:
				return
			case <-ticker.C:
				w.ping()
			}
		}
	}()
	return func() {
		close(done)
		<-exited
	}
}

func (w *sseStreamWriter) ping() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.streaming || w.closed {
		return
	}
	// A failed write means the client left; mcp-go sees that through the
	// request context and ends the stream.
	if _, err := io.WriteString(w.ResponseWriter, ": keep-alive\n\n"); err != nil {
		return
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
