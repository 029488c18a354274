// Package cancellation keeps one client's request ids and cancellations
// straight in front of mcp-go. The stdio and HTTP transports pass every
// message through a Conn, because mcp-go v1.2.1 gets three things wrong:
//
//   - It decodes ids through float64, so 9007199254740993 is answered as
//     …992, and it matches notifications/cancelled by fmt's %v, so a cancel
//     naming "44" (a string) cancels request 44 (a number). A Conn gives each
//     request a small internal id of its own and restores the client's exact
//     id bytes on the answer; cancels are matched here, by JSON type and value.
//   - A request cancelled before it arrives (on streamable HTTP the cancel
//     travels on another POST and can be processed first) would still run and
//     start a paid job. A Conn remembers such cancels for a while and answers
//     the request itself, without passing it on.
//   - A cancelled request still gets a response ("-32603 context canceled"
//     or whatever the handler returned); the spec says it gets none. A Conn
//     drops it.
package cancellation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
)

const cancelMethod = "notifications/cancelled"

// codeBusy answers a request refused for too many in progress: -32000 is
// the first of JSON-RPC's implementation-defined server errors.
const codeBusy = -32000

// Bounds on what a Conn remembers, so a client cannot grow it without end.
const (
	// earlyCancelTTL is how long a cancel naming a request not (yet) seen
	// is remembered: long enough for a request racing its cancel on
	// another connection, short enough that the memory stays small.
	earlyCancelTTL = time.Minute
	// maxEarlyCancels bounds the cancels remembered for requests not seen.
	maxEarlyCancels = 1024
	// maxCalls bounds the requests awaiting their answer; far above what
	// the transports run at once (stdio: 64 workers and a queue of 100).
	maxCalls = 4096
)

// lastCall numbers the requests passed to mcp-go, process-wide: mcp-go keys
// its in-flight requests by session id and request id, and requests of the
// stateless HTTP revision all share the empty session id.
var lastCall atomic.Int64

// Conn is one client connection's view of its requests: a stdio connection,
// a streamable-HTTP session, an SSE stream, or a single session-less POST.
// The zero value is ready to use; it is safe for concurrent use.
type Conn struct {
	clock func() time.Time // for forgetting early cancels; nil means time.Now

	// Hook, when set, takes over some requests before mcp-go sees them (MCP
	// tasks, see package mcptasks). Set it before the first message.
	Hook Hook

	mu    sync.Mutex
	calls map[int64]*call // by internal id: requests passed on, not answered yet
	byKey map[string]int64
	early map[string]time.Time // cancels naming requests not seen, by id key
	order []earlyCancel        // early cancels, oldest first, to forget them
}

type call struct {
	id        json.RawMessage // exactly as the client sent it
	key       string
	cancelled bool
	// finish rewrites the answer to a request the Hook forwarded (nil: none).
	finish func(answer []byte) []byte
	// local is set for a request the Hook answers itself; stop cancels it.
	local bool
	stop  context.CancelFunc
}

// A Hook takes over requests in front of mcp-go: it answers some itself
// and rewrites others and their answers.
type Hook interface {
	// Route is shown each request (its method and the whole message, with
	// the client's id) and says what becomes of it; the zero Route passes
	// it on unchanged.
	Route(method string, msg []byte) Route
}

// Route is what becomes of one request.
type Route struct {
	// Answer, when set, answers the request here: it runs on a goroutine
	// of the transport's (it may block; ctx ends when the client cancels
	// the request or the connection ends) and returns the response's
	// result, or an error.
	Answer func(ctx context.Context) (result any, err *Error)
	// Forward, when set, is the message passed to mcp-go instead.
	Forward []byte
	// Finish, when set, rewrites mcp-go's answer (a whole JSON-RPC
	// response carrying the client's id) before it goes out.
	Finish func(answer []byte) []byte
}

// Error is a JSON-RPC error a Hook answers with.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

type earlyCancel struct {
	key string
	at  time.Time
}

// Inbound is what becomes of a message from the client.
type Inbound struct {
	// Forward is the message to pass to mcp-go (a request with its id
	// replaced by the internal one), or nil when nothing is passed on.
	Forward []byte
	// Reply is this layer's own answer to the client, or nil.
	Reply []byte
	// Call is the internal id of a request passed on, 0 for other messages.
	// A transport that knows a request ended unanswered gives it to Forget.
	Call int64
	// Local, when set, answers the request in this layer (see Hook): the
	// transport runs it on a goroutine of its own, with a context that ends
	// with the connection, and passes the answer it returns through Out
	// like one of mcp-go's. It never panics.
	Local func(ctx context.Context) []byte
}

// In sorts a message from the client. Messages that are not requests with
// an id or cancellations (notifications, responses to the server's own
// requests, text that is not a JSON object) pass on unchanged, for mcp-go to
// handle or refuse.
func (c *Conn) In(msg []byte) Inbound {
	// The envelope is decoded as mcp-go decodes it, so that both read the
	// same message: mcp-go answers one that does not decode with a parse
	// error and id null, and takes one with a result for a response to a
	// request of its own; neither has an id to map.
	var envelope struct {
		JSONRPC string `json:"jsonrpc"`
		Method  string `json:"method"`
		ID      any    `json:"id"`
		Result  any    `json:"result"`
	}
	top, ok := members(msg)
	if !ok || json.Unmarshal(msg, &envelope) != nil || envelope.Result != nil {
		return Inbound{Forward: msg}
	}
	if _, hasMethod := top.foldSpan("method"); !hasMethod {
		return Inbound{Forward: msg}
	}
	idSpan, hasID := top.foldSpan("id")
	switch {
	case hasID:
		return c.request(msg, idSpan, envelope.Method)
	case envelope.Method == cancelMethod:
		return c.cancel(msg, top)
	default:
		return Inbound{Forward: msg}
	}
}

// request maps a request's id to an internal one, unless the id is not one
// a request may carry or names a request already cancelled.
func (c *Conn) request(msg []byte, idSpan span, method string) Inbound {
	id := json.RawMessage(msg[idSpan.start:idSpan.end])
	key, ok := IDKey(id)
	if !ok {
		return Inbound{Reply: ErrorResponse(nil, mcp.INVALID_REQUEST,
			fmt.Sprintf("Invalid Request: a request id must be a string or a number, not %s", kind(id)))}
	}
	// The Hook only reads the message; it is asked before the lock is
	// taken, so that the checks and the registration below are one step.
	var route Route
	if c.Hook != nil {
		route = c.Hook.Route(method, msg)
		if route.Forward != nil {
			top, ok := members(route.Forward)
			if span, hasID := top.foldSpan("id"); ok && hasID {
				if bytes.HasSuffix(msg, []byte("\n")) && !bytes.HasSuffix(route.Forward, []byte("\n")) {
					route.Forward = append(route.Forward, '\n') // stdio frames messages by lines
				}
				msg, idSpan = route.Forward, span
			} else {
				route = Route{} // a rewrite that lost the id is a bug; pass the original on
			}
		}
	}
	c.mu.Lock()
	if c.takeEarly(key) {
		c.mu.Unlock()
		// REQUEST_INTERRUPTED: "the request was cancelled or timed out".
		return Inbound{Reply: ErrorResponse(id, mcp.REQUEST_INTERRUPTED,
			"Request cancelled before it started: the client cancelled this id (notifications/cancelled) before the request arrived, so it was not run; nothing was sent to DashScope and nothing was billed")}
	}
	if len(c.calls) >= maxCalls {
		c.mu.Unlock()
		return Inbound{Reply: ErrorResponse(id, codeBusy,
			fmt.Sprintf("too many requests in progress on this connection (%d): wait for some to be answered, then retry", maxCalls))}
	}
	n := lastCall.Add(1)
	cl := &call{id: bytes.Clone(id), key: key, finish: route.Finish, local: route.Answer != nil}
	if c.calls == nil {
		c.calls, c.byKey = map[int64]*call{}, map[string]int64{}
	}
	// A client that reuses the id of a request in progress (the spec forbids
	// it) can cancel only the latest one.
	c.calls[n] = cl
	c.byKey[key] = n
	c.mu.Unlock()
	if route.Answer != nil {
		return Inbound{Call: n, Local: c.local(n, cl, route.Answer)}
	}
	return Inbound{Forward: withCallID(splice(msg, idSpan, strconv.AppendInt(nil, n, 10)), method, n), Call: n}
}

// local wraps a Hook's answer: it runs with a context the client's cancel
// ends, never panics, and is written with the internal id n (Out restores
// the client's).
func (c *Conn) local(n int64, cl *call, answer func(context.Context) (any, *Error)) func(context.Context) []byte {
	return func(ctx context.Context) (out []byte) {
		ctx, stop := context.WithCancel(ctx)
		defer stop()
		c.mu.Lock()
		cl.stop = stop
		if cl.cancelled {
			stop()
		}
		c.mu.Unlock()
		internal := json.RawMessage(strconv.AppendInt(nil, n, 10))
		defer func() {
			if p := recover(); p != nil {
				out = ErrorResponse(internal, mcp.INTERNAL_ERROR, fmt.Sprintf("Internal error: %v. The server is still running; please report this.", p))
			}
		}()
		result, rpcErr := answer(ctx)
		if rpcErr != nil {
			return errorResponseData(internal, *rpcErr)
		}
		b, err := json.Marshal(struct {
			JSONRPC string          `json:"jsonrpc"`
			ID      json.RawMessage `json:"id"`
			Result  any             `json:"result"`
		}{mcp.JSONRPC_VERSION, internal, result})
		if err != nil {
			return ErrorResponse(internal, mcp.INTERNAL_ERROR, "Internal error: the answer could not be encoded: "+err.Error())
		}
		return b
	}
}

// cancel passes on a cancellation of a request in progress, with its
// internal id, and remembers one naming a request not seen (yet). Nothing
// else is passed on: mcp-go knows only internal ids, and a client's id
// could equal one of them.
func (c *Conn) cancel(msg []byte, top objectMembers) Inbound {
	paramsSpan, ok := top.foldSpan("params")
	if !ok {
		return Inbound{}
	}
	params := msg[paramsSpan.start:paramsSpan.end]
	pm, ok := members(params)
	if !ok {
		return Inbound{}
	}
	// mcp-go reads the cancelled id from a map: the name must match exactly.
	reqSpan, ok := pm.span("requestId")
	if !ok {
		return Inbound{}
	}
	key, ok := IDKey(params[reqSpan.start:reqSpan.end])
	if !ok {
		return Inbound{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.byKey[key]; ok {
		cl := c.calls[n]
		cl.cancelled = true
		if cl.local {
			if cl.stop != nil {
				cl.stop()
			}
			return Inbound{} // mcp-go never saw it
		}
		cancelBound(n) // the handler stops even if mcp-go has not seen the request yet
		internal := splice(params, reqSpan, strconv.AppendInt(nil, n, 10))
		return Inbound{Forward: splice(msg, paramsSpan, internal)}
	}
	c.rememberEarly(key)
	return Inbound{}
}

// Out turns a message from mcp-go into the one for the client: the answer
// to a request gets the client's own id back, and the answer to a cancelled
// request is dropped (send is false). Other messages pass unchanged.
func (c *Conn) Out(msg []byte) (out []byte, send bool) {
	c.mu.Lock()
	none := len(c.calls) == 0
	c.mu.Unlock()
	if none {
		return msg, true
	}
	top, ok := members(msg)
	if !ok {
		return msg, true
	}
	if _, isRequest := top.span("method"); isRequest {
		return msg, true
	}
	idSpan, ok := top.span("id")
	if !ok {
		return msg, true
	}
	n, err := strconv.ParseInt(string(msg[idSpan.start:idSpan.end]), 10, 64)
	if err != nil {
		return msg, true
	}
	c.mu.Lock()
	cl := c.calls[n]
	c.forget(n)
	c.mu.Unlock()
	switch {
	case cl == nil:
		return msg, true
	case cl.cancelled:
		return nil, false
	case cl.finish != nil:
		out := cl.finish(splice(msg, idSpan, cl.id))
		if bytes.HasSuffix(msg, []byte("\n")) && !bytes.HasSuffix(out, []byte("\n")) {
			out = append(out, '\n') // stdio frames messages by lines
		}
		return out, true
	default:
		return splice(msg, idSpan, cl.id), true
	}
}

// Forget drops a request that ended without an answer passing through Out
// (an HTTP request whose client left, say).
func (c *Conn) Forget(call int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forget(call)
}

func (c *Conn) forget(n int64) {
	cl, ok := c.calls[n]
	if !ok {
		return
	}
	forgetBound(n)
	delete(c.calls, n)
	if c.byKey[cl.key] == n {
		delete(c.byKey, cl.key)
	}
}

// maxEarlyKeyBytes bounds the id of a remembered early cancel, so the memory
// they hold is bounded in bytes as well as in count.
const maxEarlyKeyBytes = 256

// rememberEarly notes a cancel for a request not seen, forgetting the
// oldest ones past their time or beyond the bound. The caller holds c.mu.
func (c *Conn) rememberEarly(key string) {
	if len(key) > maxEarlyKeyBytes {
		return // no client uses such ids; keeping them would let one hold memory
	}
	now := c.now()
	c.prune(now)
	if len(c.order) >= maxEarlyCancels {
		c.drop(c.order[0])
		c.order = c.order[1:]
	}
	if c.early == nil {
		c.early = map[string]time.Time{}
	}
	c.early[key] = now
	c.order = append(c.order, earlyCancel{key, now})
}

// takeEarly reports whether key was cancelled moments ago, and forgets it.
// The caller holds c.mu.
func (c *Conn) takeEarly(key string) bool {
	c.prune(c.now())
	if _, ok := c.early[key]; !ok {
		return false
	}
	delete(c.early, key)
	return true
}

func (c *Conn) prune(now time.Time) {
	for len(c.order) > 0 && now.Sub(c.order[0].at) > earlyCancelTTL {
		c.drop(c.order[0])
		c.order = c.order[1:]
	}
	if len(c.order) == 0 {
		c.order = nil // let the backing array go
	}
}

// drop forgets an early cancel unless it was noted again since.
func (c *Conn) drop(e earlyCancel) {
	if at, ok := c.early[e.key]; ok && at.Equal(e.at) {
		delete(c.early, e.key)
	}
}

func (c *Conn) now() time.Time {
	if c.clock != nil {
		return c.clock()
	}
	return time.Now()
}

// IDKey turns a raw JSON-RPC id into a key that is equal for equal ids: the
// same JSON type and value. A string is compared by its decoded value ("\u0034"
// is "4"), a number by its exact text, never through float64 (which would make
// 2^53 and 2^53+1 one id). Only strings and numbers are ids.
func IDKey(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 {
		return "", false
	}
	switch b := raw[0]; {
	case b == '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return "s" + s, true
	case b == '-' || ('0' <= b && b <= '9'):
		if !json.Valid(raw) {
			return "", false
		}
		return "n" + string(raw), true
	default:
		return "", false
	}
}

// kind names the JSON type of an id that is not one, for the error message.
func kind(raw json.RawMessage) string {
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 'n':
		return "null"
	default:
		return "a boolean"
	}
}

// ErrorResponse is a JSON-RPC error response; a nil id is written as null,
// the id of an answer to a message whose id could not be read.
func ErrorResponse(id json.RawMessage, code int, message string) []byte {
	if id == nil {
		id = json.RawMessage("null")
	}
	b, err := json.Marshal(errorResponse{JSONRPC: mcp.JSONRPC_VERSION, ID: id, Error: errorDetails{code, message}})
	if err != nil {
		panic(err) // unreachable: id is a valid JSON value from a parsed message
	}
	return b
}

// errorResponseData is ErrorResponse with a Hook's error, data included.
func errorResponseData(id json.RawMessage, e Error) []byte {
	b, err := json.Marshal(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   Error           `json:"error"`
	}{mcp.JSONRPC_VERSION, id, e})
	if err != nil {
		return ErrorResponse(id, e.Code, e.Message)
	}
	return b
}

type errorResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Error   errorDetails    `json:"error"`
}

type errorDetails struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// span is where a value lies in a message.
type span struct{ start, end int }

type member struct {
	name string
	at   span
}

// objectMembers are the members of a JSON object, in order.
type objectMembers []member

// span returns the last member named exactly name: encoding/json keeps the
// last of repeated names.
func (m objectMembers) span(name string) (span, bool) {
	for i := len(m) - 1; i >= 0; i-- {
		if m[i].name == name {
			return m[i].at, true
		}
	}
	return span{}, false
}

// foldSpan is span with names matched as encoding/json matches them to
// struct fields (mcp-go decodes the envelope into structs): equal under
// Unicode case folding, the last such member winning.
func (m objectMembers) foldSpan(name string) (span, bool) {
	for i := len(m) - 1; i >= 0; i-- {
		if strings.EqualFold(m[i].name, name) {
			return m[i].at, true
		}
	}
	return span{}, false
}

// members returns where each member of the JSON object msg lies, or false
// if msg is not one JSON object.
func members(msg []byte) (objectMembers, bool) {
	dec := json.NewDecoder(bytes.NewReader(msg))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var out objectMembers
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, false
		}
		end := int(dec.InputOffset())
		out = append(out, member{name, span{end - len(raw), end}})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false // more than one value
	}
	return out, true
}

// splice returns msg with the bytes at s replaced by value, leaving every
// other byte as it was.
func splice(msg []byte, s span, value []byte) []byte {
	out := make([]byte, 0, len(msg)-(s.end-s.start)+len(value))
	out = append(out, msg[:s.start]...)
	out = append(out, value...)
	return append(out, msg[s.end:]...)
}
