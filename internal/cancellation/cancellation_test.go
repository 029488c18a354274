package cancellation

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIDKey(t *testing.T) {
	key := func(raw string) string {
		k, ok := IDKey(json.RawMessage(raw))
		require.True(t, ok, raw)
		return k
	}
	assert.NotEqual(t, key("9007199254740993"), key("9007199254740992"), "no float64 on the way")
	assert.NotEqual(t, key("44"), key(`"44"`), "a string is not a number")
	assert.Equal(t, key(`"44"`), key(`"\u0034\u0034"`), "strings compare by value")
	assert.Equal(t, key("-1.5e3"), key("-1.5e3"))
	for _, bad := range []string{"null", "", "{}", "[1]", "true", "false", "-"} {
		_, ok := IDKey(json.RawMessage(bad))
		assert.False(t, ok, bad)
	}
}

// internalID returns the id mcp-go would see in a forwarded message.
func internalID(t *testing.T, forwarded []byte) string {
	t.Helper()
	var m struct {
		ID     json.RawMessage `json:"id"`
		Params struct {
			RequestID json.RawMessage `json:"requestId"`
		} `json:"params"`
	}
	require.NoError(t, json.Unmarshal(forwarded, &m), string(forwarded))
	if m.ID != nil {
		return string(m.ID)
	}
	return string(m.Params.RequestID)
}

func request(id string) []byte {
	return []byte(`{"jsonrpc":"2.0","id":` + id + `,"method":"tools/call","params":{"name":"x"}}` + "\n")
}

func cancelOf(id string) []byte {
	return []byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":` + id + `,"reason":"user"}}`)
}

func answer(internal string) []byte {
	return []byte(`{"jsonrpc":"2.0","id":` + internal + `,"result":{"content":[]}}` + "\n")
}

func TestIdsComeBackExactlyAsSent(t *testing.T) {
	var c Conn
	for _, id := range []string{"9007199254740993", "-9223372036854775809", "1.0", "1e2", `"44"`, `"\u00e9"`, "0"} {
		in := c.In(request(id))
		require.Nil(t, in.Reply, id)
		inner := internalID(t, in.Forward)
		assert.Equal(t, strconv.FormatInt(in.Call, 10), inner, "mcp-go sees a small internal id")
		assert.Equal(t, `{"id":`+inner+`,"jsonrpc":"2.0","method":"tools/call","params":{"_meta":{"vace-mcp/call":`+inner+`},"name":"x"}}`+"\n", string(in.Forward),
			"nothing but the id changes, and a tools/call tells its handler its internal id")
		ping := c.In([]byte(`{"jsonrpc":"2.0","id":` + id + `,"method":"ping"}`))
		assert.Equal(t, `{"jsonrpc":"2.0","id":`+strconv.FormatInt(ping.Call, 10)+`,"method":"ping"}`, string(ping.Forward), "other requests keep every byte but the id")
		c.Forget(ping.Call)
		out, send := c.Out(answer(inner))
		require.True(t, send)
		assert.Equal(t, string(answer(id)), string(out), "the answer carries the id exactly as sent")
	}
	out, send := c.Out(answer("1"))
	assert.True(t, send)
	assert.Equal(t, string(answer("1")), string(out), "an id not handed out passes unchanged")
}

func TestCancelsMatchByTypeAndValue(t *testing.T) {
	var c Conn
	num := c.In(request("44"))
	str := c.In(request(`"45"`))

	assert.Equal(t, Inbound{}, c.In(cancelOf(`"44"`)), "a string 44 names no request in progress: nothing reaches mcp-go")
	in := c.In(cancelOf("44"))
	require.NotNil(t, in.Forward)
	assert.Equal(t, internalID(t, num.Forward), internalID(t, in.Forward), "the cancel reaches mcp-go with the internal id")
	assert.Contains(t, string(in.Forward), `"reason":"user"`)

	_, send := c.Out(answer(internalID(t, num.Forward)))
	assert.False(t, send, "a cancelled request gets no response")
	out, send := c.Out(answer(internalID(t, str.Forward)))
	assert.True(t, send)
	assert.Contains(t, string(out), `"id":"45"`)

	in = c.In(request(`"44"`))
	require.NotNil(t, in.Reply, "the string 44 cancelled moments ago is answered without running")
	assert.Nil(t, in.Forward)
}

func TestARequestCancelledBeforeItArrivesIsAnsweredAndNotPassedOn(t *testing.T) {
	now := time.Unix(1000, 0)
	c := Conn{clock: func() time.Time { return now }}

	assert.Equal(t, Inbound{}, c.In(cancelOf("7")))
	in := c.In(request("7"))
	assert.Nil(t, in.Forward, "the request never reaches mcp-go")
	var reply struct {
		ID    json.RawMessage `json:"id"`
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(in.Reply, &reply))
	assert.Equal(t, "7", string(reply.ID))
	assert.Equal(t, mcp.REQUEST_INTERRUPTED, reply.Error.Code)
	assert.Contains(t, reply.Error.Message, "cancelled before it started")
	assert.Contains(t, reply.Error.Message, "nothing was sent")

	assert.NotNil(t, c.In(request("8")).Forward, "another id runs")
	assert.NotNil(t, c.In(request("7")).Forward, "the cancel is used once")

	c.In(cancelOf("9"))
	now = now.Add(earlyCancelTTL + time.Second)
	assert.NotNil(t, c.In(request("9")).Forward, "a cancel is remembered for a while, not for good")
}

func TestEarlyCancelsAreBounded(t *testing.T) {
	var c Conn
	for i := range maxEarlyCancels + 10 {
		c.In(cancelOf(strconv.Itoa(i)))
	}
	assert.Len(t, c.early, maxEarlyCancels)
	assert.LessOrEqual(t, len(c.order), maxEarlyCancels)
	assert.NotNil(t, c.In(request("0")).Forward, "the oldest was forgotten")
	assert.Nil(t, c.In(request(strconv.Itoa(maxEarlyCancels+9))).Forward, "the newest is remembered")
}

func TestIdsThatAreNotStringsOrNumbersAreInvalidRequests(t *testing.T) {
	var c Conn
	for _, id := range []string{"{}", `{"a":1}`, "[1]", "true", "false", "null"} {
		in := c.In(request(id))
		assert.Nil(t, in.Forward, id)
		var reply struct {
			ID    json.RawMessage    `json:"id"`
			Error struct{ Code int } `json:"error"`
		}
		require.NoError(t, json.Unmarshal(in.Reply, &reply), id)
		assert.Equal(t, "null", string(reply.ID), id)
		assert.Equal(t, mcp.INVALID_REQUEST, reply.Error.Code, id)
	}
}

func TestOtherMessagesPassUnchanged(t *testing.T) {
	var c Conn
	for _, msg := range []string{
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":3,"result":{"roots":[]}}`,    // answers the server's roots/list
		`{"jsonrpc":"2.0","id":3,"method":"x","result":{}}`, // mcp-go takes it for a response
		`[{"jsonrpc":"2.0","id":1,"method":"ping"}]`,
		`not json`,
		`{"jsonrpc":"2.0","id":1,"method":"ping"} {}`,
		`{"jsonrpc":"2.0","id":1,"method":5}`, // mcp-go answers a parse error, id null
	} {
		assert.Equal(t, Inbound{Forward: []byte(msg)}, c.In([]byte(msg)), msg)
	}
	note := `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}`
	c.In(request("1"))
	out, send := c.Out([]byte(note))
	assert.True(t, send)
	assert.Equal(t, note, string(out))
}

func TestNamesMatchAsMCPGoMatchesThem(t *testing.T) {
	var c Conn
	for _, msg := range []string{
		`{"jsonrpc":"2.0","ID":9007199254740993,"Method":"ping"}`,
		`{"jsonrpc":"2.0","id":1,"ID":9007199254740993,"method":"ping"}`, // the last one wins
	} {
		in := c.In([]byte(msg))
		require.NotNil(t, in.Forward, msg)
		assert.Equal(t, strconv.FormatInt(in.Call, 10), internalID(t, in.Forward), "the id mcp-go reads is mapped: %s", msg)
		out, _ := c.Out(answer(strconv.FormatInt(in.Call, 10)))
		assert.Contains(t, string(out), `"id":9007199254740993,`)
	}
}

func TestForgetDropsARequestThatWasNeverAnswered(t *testing.T) {
	var c Conn
	in := c.In(request("5"))
	c.Forget(in.Call)
	assert.Empty(t, c.calls)
	assert.Empty(t, c.byKey)
	assert.Equal(t, Inbound{}, c.In(cancelOf("5")), "a cancel after the end is only remembered")
}

func TestRequestsInProgressAreBounded(t *testing.T) {
	var c Conn
	for i := range maxCalls {
		require.NotNil(t, c.In(request(strconv.Itoa(i))).Forward)
	}
	in := c.In(request(fmt.Sprint(maxCalls)))
	assert.Nil(t, in.Forward)
	assert.Contains(t, string(in.Reply), "too many requests in progress")
}
