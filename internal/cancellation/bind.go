package cancellation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
)

// A cancel can reach mcp-go before mcp-go has registered the request it
// names (a call queued behind busy workers, or a cancel overtaking its
// request on another connection); mcp-go then drops it and the call runs.
// So a Conn also tells the tool handler itself: every tools/call passed on
// carries its internal id in _meta under CallMetaKey, and the handler binds
// its context to that id (Bind), which the Conn cancels, whichever comes
// first.

// CallMetaKey is the _meta key of a forwarded tools/call's internal id. A
// client's own value under this key is replaced.
const CallMetaKey = "vace-mcp/call"

// ErrCancelledByClient is the cause of a context Bind cancels.
var ErrCancelledByClient = errors.New("the client cancelled this request (notifications/cancelled)")

var binds = struct {
	sync.Mutex
	stops     map[int64]context.CancelCauseFunc
	cancelled map[int64]bool // cancelled before any handler bound them
}{stops: map[int64]context.CancelCauseFunc{}, cancelled: map[int64]bool{}}

// Bind returns ctx, cancelled also when the client cancels the call with
// internal id call (from CallID), even if that happened before this call;
// release it when the handler returns.
func Bind(ctx context.Context, call int64) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	binds.Lock()
	if binds.cancelled[call] {
		delete(binds.cancelled, call)
		binds.Unlock()
		cancel(ErrCancelledByClient)
		return ctx, func() {}
	}
	binds.stops[call] = cancel
	binds.Unlock()
	return ctx, func() {
		binds.Lock()
		delete(binds.stops, call)
		binds.Unlock()
		cancel(nil)
	}
}

// CallID is the internal id a Conn gave a tools/call, if it came through one.
func CallID(req mcp.CallToolRequest) (int64, bool) {
	if req.Params.Meta == nil {
		return 0, false
	}
	switch v := req.Params.Meta.AdditionalFields[CallMetaKey].(type) {
	case float64:
		return int64(v), v > 0
	case json.Number:
		n, err := v.Int64()
		return n, err == nil && n > 0
	}
	return 0, false
}

// cancelBound cancels the handler bound to call, or remembers the cancel
// for a handler that binds later (until the call is forgotten).
func cancelBound(call int64) {
	binds.Lock()
	defer binds.Unlock()
	if stop, ok := binds.stops[call]; ok {
		stop(ErrCancelledByClient)
		return
	}
	binds.cancelled[call] = true
}

// forgetBound drops what is remembered of call once it is answered.
func forgetBound(call int64) {
	binds.Lock()
	defer binds.Unlock()
	delete(binds.cancelled, call)
}

// withCallID returns a tools/call request with its internal id in
// params._meta; any other request, or one it cannot read, is returned as is.
func withCallID(msg []byte, method string, call int64) []byte {
	if method != string(mcp.MethodToolsCall) {
		return msg
	}
	out, err := EditParams(msg, func(params map[string]json.RawMessage) error {
		meta := map[string]json.RawMessage{}
		for k, v := range params {
			if strings.EqualFold(k, "_meta") {
				if err := json.Unmarshal(v, &meta); err != nil {
					return err
				}
				delete(params, k)
			}
		}
		meta[CallMetaKey] = strconv.AppendInt(nil, call, 10)
		m, err := Marshal(meta)
		params["_meta"] = m
		return err
	})
	if err != nil {
		return msg
	}
	if bytes.HasSuffix(msg, []byte("\n")) {
		out = append(out, '\n')
	}
	return out
}

// EditParams returns the JSON-RPC message msg with edit applied to its
// params object, under every spelling encoding/json (and so mcp-go) reads
// as "params"; every other value keeps its bytes (see Marshal).
func EditParams(msg []byte, edit func(params map[string]json.RawMessage) error) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(msg, &top); err != nil {
		return nil, err
	}
	for name, raw := range top {
		if !strings.EqualFold(name, "params") {
			continue
		}
		var params map[string]json.RawMessage
		if err := json.Unmarshal(raw, &params); err != nil {
			return nil, err
		}
		if err := edit(params); err != nil {
			return nil, err
		}
		p, err := Marshal(params)
		if err != nil {
			return nil, err
		}
		top[name] = p
	}
	return Marshal(top)
}

// Marshal is json.Marshal without HTML escaping, so that ids and values go
// out with the bytes they came with ("a<b" stays that, not "a\u003cb").
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
