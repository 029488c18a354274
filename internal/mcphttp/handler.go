// Package mcphttp holds the HTTP transports of the MCP server, safe to expose:
// streamable HTTP at /mcp and the legacy HTTP+SSE transport at /sse and
// /message, behind one guard (Host and Origin checks, bearer token, body
// limit).
//
// Streamable HTTP runs mcp-go in stateless mode behind this package's own
// session layer. In its session modes mcp-go shares one notification channel
// per session, so concurrent calls on a session receive each other's
// progress; in stateless mode each POST gets its own channel but there are no
// sessions at all. The layer issues the session ids, answers 400/404/405 as
// the specification asks, ends sessions (DELETE, idle expiry, Close) and
// cancels their in-flight requests when they end.
package mcphttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/vace-mcp/vace-mcp/internal/cancellation"
	"github.com/vace-mcp/vace-mcp/internal/clientid"
)

// Defaults for the zero values of Options.
const (
	DefaultMaxBodyBytes       = 1 << 20
	DefaultMaxSessions        = 256
	DefaultSessionIdleTimeout = 30 * time.Minute
	DefaultReadBodyTimeout    = 30 * time.Second
)

// The paths the handler serves; everything else is 404.
const (
	PathStreamable = "/mcp"
	PathSSE        = "/sse"
	PathMessage    = "/message"
)

// defaultSSEKeepAlive is how often an SSE stream gets a keep-alive comment,
// so proxies and clients do not drop a stream that is quiet during a long
// call.
const defaultSSEKeepAlive = 30 * time.Second

// JSON-RPC error codes used in transport-level rejections. -32000 is what the
// official TypeScript SDK uses for the same conditions.
const (
	codeTransport      = -32000
	codeInvalidRequest = mcp.INVALID_REQUEST
)

// Options configures the HTTP transports.
type Options struct {
	// AuthToken, when set, is required as "Authorization: Bearer <token>" on
	// every request; otherwise the answer is 401 with
	// `WWW-Authenticate: Bearer realm="vace-mcp"` and a JSON body saying what
	// to send.
	AuthToken string
	// AllowedOrigins are extra exact origins ("https://app.example.com")
	// accepted besides loopback origins (http(s)://localhost[:port],
	// http(s)://127.0.0.1[:port], http(s)://[::1][:port]). A request whose
	// Origin header is present and neither gets 403 (spec 2025-11-25).
	// Requests without Origin are allowed.
	AllowedOrigins []string
	// MaxBodyBytes bounds a request body (default 1 MiB); a larger one gets
	// 413 with a JSON-RPC error body.
	MaxBodyBytes int64
	// ReadBodyTimeout bounds how long a client may take to send a request
	// body once its headers are in (default 30 s); a later one gets 408 and
	// the connection is closed.
	ReadBodyTimeout time.Duration
	// MaxSessions caps live streamable-HTTP sessions, and separately open SSE
	// streams (default 256). An initialize beyond it ends the session idle
	// the longest; only when every session has a request in flight does it
	// get 503 with a JSON-RPC error naming the limit.
	MaxSessions int
	// SessionIdleTimeout ends streamable-HTTP sessions that have had no
	// request for this long (default 30 min); their ids then get 404.
	SessionIdleTimeout time.Duration
	// TaskHook, when set, answers MCP task traffic in front of mcp-go on
	// every connection (see package mcptasks).
	TaskHook cancellation.Hook
	// InstanceID, when set, starts every session id this handler issues
	// (streamable HTTP's Mcp-Session-Id and SSE's sessionId), followed by a
	// '-': "<instance>-<26 random characters>". Sessions live in one
	// instance's memory, so a proxy in front of several instances routes a
	// request by that prefix to the instance that issued its session.
	InstanceID string
	// Logger receives session events and rejections; nil means slog.Default().
	Logger *slog.Logger

	sseKeepAlive time.Duration // tests shorten it; zero means defaultSSEKeepAlive
}

// withDefaults fills the zero (or nonsensical negative) fields.
func (o Options) withDefaults() Options {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.ReadBodyTimeout <= 0 {
		o.ReadBodyTimeout = DefaultReadBodyTimeout
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = DefaultMaxSessions
	}
	if o.SessionIdleTimeout <= 0 {
		o.SessionIdleTimeout = DefaultSessionIdleTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.sseKeepAlive <= 0 {
		o.sseKeepAlive = defaultSSEKeepAlive
	}
	return o
}

// Handler serves an MCP server over streamable HTTP at /mcp and over SSE at
// /sse (stream) and /message (posts), with the guard in front of all three
// paths. Create it with NewHandler and stop it with Close.
type Handler struct {
	opts  Options
	log   *slog.Logger
	guard guard

	mcp        *server.MCPServer
	streamable http.Handler // mcp-go in stateless mode, behind the session layer
	sseStream  http.Handler
	sseMessage http.Handler

	// life is cancelled by Close; every session and every request passed
	// to mcp-go is cancelled with it.
	life     context.Context
	stopLife context.CancelCauseFunc

	mu           sync.Mutex
	sessions     map[string]*session
	initializing int // initialize requests in flight, counted against MaxSessions
	streams      map[string]*sseStream
	sseOpen      int  // SSE streams open or opening, counted against MaxSessions
	sseDraining  bool // set when the HTTP server shuts down
	closed       bool

	sweeperDone chan struct{}
	closeOnce   sync.Once
}

// errHandlerClosed is the cancellation cause seen by requests that were in
// flight when Close ran.
var errHandlerClosed = errors.New("mcp http handler closed: the server is shutting down")

// NewHandler returns a Handler serving srv. It starts a goroutine that expires
// idle sessions; call Close to stop it.
func NewHandler(srv *server.MCPServer, opts Options) *Handler {
	opts = opts.withDefaults()
	h := &Handler{
		opts:        opts,
		log:         opts.Logger,
		mcp:         srv,
		sessions:    make(map[string]*session),
		streams:     make(map[string]*sseStream),
		sweeperDone: make(chan struct{}),
	}
	h.guard = newGuard(opts, h.log, h.reject)
	h.life, h.stopLife = context.WithCancelCause(context.Background())

	// Stateless: every POST gets its own ephemeral mcp-go session, so
	// progress stays on the POST that caused it. No streaming: a GET would
	// register a session that captures other requests' notifications (the
	// session layer answers GET itself; this is the second fence).
	h.streamable = server.NewStreamableHTTPServer(srv,
		server.WithStateLess(true),
		server.WithDisableStreaming(true),
	)

	// No mcp-go keep-alive: see sseStreamWriter.keepAlive.
	sse := server.NewSSEServer(srv, server.WithSessionIDGenerator(h.newSSESessionID))
	h.sseStream = sse.SSEHandler()
	h.sseMessage = sse.MessageHandler()

	go h.sweep(sweepInterval(opts.SessionIdleTimeout))
	return h
}

// ServeHTTP routes /mcp, /sse and /message through the guard; other paths
// get 404.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case PathStreamable, PathSSE, PathMessage:
	default:
		skipBody(w, r)
		writeRPCError(w, http.StatusNotFound, codeTransport,
			fmt.Sprintf("no MCP endpoint at %q: use %s (streamable HTTP) or %s (SSE)", r.URL.Path, PathStreamable, PathSSE))
		return
	}
	if !h.guard.admit(w, r) {
		return
	}
	r = r.WithContext(clientid.With(r.Context(), clientOf(r)))
	switch r.URL.Path {
	case PathStreamable:
		h.serveStreamable(w, r)
	case PathSSE:
		h.serveSSEStream(w, r)
	case PathMessage:
		h.serveSSEMessage(w, r)
	}
}

// Close stops the sweeper, ends all sessions and SSE streams, and cancels
// the requests still in flight; each is answered with a JSON-RPC error
// saying the server is shutting down. Later requests with old session ids
// get 404 and new sessions are refused with 503. Close is idempotent.
func (h *Handler) Close() { h.stop(errHandlerClosed) }

// stop is Close with the cause the cancelled requests see and report.
func (h *Handler) stop(cause error) {
	h.closeOnce.Do(func() {
		h.mu.Lock()
		h.closed = true
		ended := h.sessions
		h.sessions = make(map[string]*session)
		streams := make([]*sseStream, 0, len(h.streams))
		for _, st := range h.streams {
			streams = append(streams, st)
		}
		h.mu.Unlock()

		for _, st := range streams {
			st.answerPending(cause)
			h.endSSEStream(st, "server shutting down")
		}
		// Cancels every session's requests, streams still opening and
		// session-less requests; then the sweeper stops.
		h.stopLife(cause)
		<-h.sweeperDone
		for _, s := range ended {
			h.endSession(s, endClosed)
		}
	})
}

// Sessions reports the number of live streamable-HTTP sessions.
func (h *Handler) Sessions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

// rpcError is a JSON-RPC error response. Transport rejections have no
// request id (null), the shape clients expect even then.
type rpcError struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Error   rpcErrorDetails `json:"error"`
}

type rpcErrorDetails struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// writeRPCError answers with status and a JSON-RPC error body.
func writeRPCError(w http.ResponseWriter, status, code int, message string) {
	writeJSON(w, status, rpcErrorJSON(nil, code, message))
}

// writeJSON answers with status and a JSON body.
func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	// The status line is already out: a failed write means the client left.
	_, _ = w.Write(body)
}

// writeSSEEvent writes one JSON-RPC message as an event on an SSE stream
// already open on w, the way mcp-go writes its own.
func writeSSEEvent(w http.ResponseWriter, message []byte) {
	// A failed write means the client left.
	_, _ = fmt.Fprintf(w, "event: message\ndata: %s\n\n", bytes.TrimSpace(message))
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// rpcErrorJSON encodes, with a trailing newline, the JSON-RPC error answering
// the request with id (a raw id keeps it exactly as the client sent it; nil
// is null).
func rpcErrorJSON(id json.RawMessage, code int, message string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep "<token>" readable for people using curl
	if err := enc.Encode(rpcError{
		JSONRPC: mcp.JSONRPC_VERSION,
		ID:      id,
		Error:   rpcErrorDetails{Code: code, Message: message},
	}); err != nil {
		// Only an id that is not valid JSON fails; answer as to an unknown one.
		return rpcErrorJSON(nil, code, message)
	}
	return b.Bytes()
}

// reject logs why a request was refused and answers it. Headers are never
// logged: they may carry the bearer token.
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, status, code int, reason, message string) {
	level := slog.LevelWarn
	if status == http.StatusMethodNotAllowed {
		// The TypeScript SDK probes GET /mcp after every initialize; that
		// is normal traffic, not a warning.
		level = slog.LevelDebug
	}
	h.log.Log(r.Context(), level, "mcp http request rejected",
		slog.String("reason", reason),
		slog.Int("status", status),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("remote", r.RemoteAddr),
	)
	writeRPCError(w, status, code, message)
}

// withScope returns r with a context that is also cancelled, with scope's
// cause, when scope ends; call release when the request is done.
func withScope(r *http.Request, scope context.Context) (*http.Request, func()) {
	ctx, cancel := context.WithCancelCause(r.Context())
	stop := context.AfterFunc(scope, func() { cancel(context.Cause(scope)) })
	return r.WithContext(ctx), func() {
		stop()
		cancel(nil)
	}
}
