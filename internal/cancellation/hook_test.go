package cancellation

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hookFunc is a Hook from a function.
type hookFunc func(method string, msg []byte) Route

func (f hookFunc) Route(method string, msg []byte) Route { return f(method, msg) }

func TestHookAnswersWithTheClientsIDAndACancelStopsIt(t *testing.T) {
	started := make(chan struct{})
	c := &Conn{Hook: hookFunc(func(method string, _ []byte) Route {
		switch method {
		case "fast":
			return Route{Answer: func(context.Context) (any, *Error) { return map[string]int{"n": 1}, nil }}
		case "slow":
			return Route{Answer: func(ctx context.Context) (any, *Error) {
				close(started)
				<-ctx.Done()
				return nil, &Error{Code: -1, Message: "stopped"}
			}}
		case "boom":
			return Route{Answer: func(context.Context) (any, *Error) { panic("bad") }}
		}
		return Route{}
	})}

	in := c.In([]byte(`{"jsonrpc":"2.0","id":"9007199254740993","method":"fast"}`))
	require.NotNil(t, in.Local)
	assert.Nil(t, in.Forward, "mcp-go never sees it")
	out, send := c.Out(in.Local(context.Background()))
	require.True(t, send)
	assert.JSONEq(t, `{"jsonrpc":"2.0","id":"9007199254740993","result":{"n":1}}`, string(out))

	slow := c.In([]byte(`{"jsonrpc":"2.0","id":7,"method":"slow"}`))
	done := make(chan []byte)
	go func() { done <- slow.Local(context.Background()) }()
	<-started
	cancel := c.In([]byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7}}`))
	assert.Nil(t, cancel.Forward, "mcp-go does not know the request")
	select {
	case answer := <-done:
		_, send := c.Out(answer)
		assert.False(t, send, "a cancelled request gets no answer")
	case <-time.After(10 * time.Second):
		t.Fatal("the cancel did not stop the answer")
	}

	boom := c.In([]byte(`{"jsonrpc":"2.0","id":8,"method":"boom"}`))
	out, _ = c.Out(boom.Local(context.Background()))
	assert.Contains(t, string(out), `"code":-32603`, "a panic is an internal error, not a dead process")
	assert.Contains(t, string(out), `"id":8`)
}

func TestHookRewritesARequestAndItsAnswer(t *testing.T) {
	c := &Conn{Hook: hookFunc(func(method string, msg []byte) Route {
		return Route{
			Forward: []byte(`{"jsonrpc":"2.0","id":"x","method":"plain"}`),
			Finish:  func(answer []byte) []byte { return append([]byte("rewritten:"), answer...) },
		}
	})}
	in := c.In([]byte(`{"jsonrpc":"2.0","id":"x","method":"fancy","params":{"task":{}}}` + "\n"))
	assert.Contains(t, string(in.Forward), `"method":"plain"`)
	assert.NotContains(t, string(in.Forward), `"x"`, "the rewritten request carries the internal id")
	assert.Equal(t, byte('\n'), in.Forward[len(in.Forward)-1], "a stdio line stays a line")
	out, send := c.Out([]byte(`{"jsonrpc":"2.0","id":` + itoa(in.Call) + `,"result":{}}` + "\n"))
	require.True(t, send)
	assert.Equal(t, "rewritten:{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"result\":{}}\n", string(out))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestBindStopsAHandlerWhoseCancelCameFirstOrLater(t *testing.T) {
	var c Conn
	call := func(id string) (int64, mcp.CallToolRequest) {
		in := c.In([]byte(`{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"x","_meta":{"vace-mcp/call":99999,"progressToken":"t"}}}`))
		var req mcp.CallToolRequest
		require.NoError(t, json.Unmarshal(in.Forward, &req))
		n, ok := CallID(req)
		require.True(t, ok)
		assert.Equal(t, in.Call, n, "the client's own value is replaced")
		assert.Equal(t, "t", req.Params.Meta.ProgressToken, "the rest of _meta is kept")
		return n, req
	}

	// The cancel reaches the layer before the handler starts (mcp-go
	// would drop it: it has not registered the request).
	n, _ := call("1")
	c.In([]byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`))
	ctx, release := Bind(context.Background(), n)
	assert.ErrorIs(t, context.Cause(ctx), ErrCancelledByClient, "a handler starting after its cancel stops at once")
	release()

	// The cancel comes while the handler runs.
	n, _ = call("2")
	ctx, release = Bind(context.Background(), n)
	require.NoError(t, ctx.Err())
	c.In([]byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":2}}`))
	assert.ErrorIs(t, context.Cause(ctx), ErrCancelledByClient)
	release()

	// An uncancelled call is left alone, and nothing is remembered once answered.
	n, _ = call("3")
	ctx, release = Bind(context.Background(), n)
	_, _ = c.Out([]byte(`{"jsonrpc":"2.0","id":` + strconv.FormatInt(n, 10) + `,"result":{}}`))
	assert.NoError(t, ctx.Err())
	release()
	binds.Lock()
	assert.Empty(t, binds.stops)
	assert.Empty(t, binds.cancelled)
	binds.Unlock()
}
