package cancellation

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIDKey(t *testing.T) {
	key := func(raw string) string {
		k, ok := IDKey(json.RawMessage(raw))
		require.True(t, ok, raw)
		return k
	}
	assert.Equal(t, key("1"), key("1.0"))
	assert.NotEqual(t, key("1"), key(`"1"`))
	assert.Equal(t, key(`"abc"`), key(`"abc"`))
	for _, bad := range []string{"null", "", "{}", "[1]", "true"} {
		_, ok := IDKey(json.RawMessage(bad))
		assert.False(t, ok, bad)
	}
}

func TestSetRemembersCancelledRequestsUntilTheirResponse(t *testing.T) {
	var s Set
	s.Note([]byte(`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":7}}`))
	s.Note([]byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7,"reason":"user"}}`))

	answer := []byte(`{"jsonrpc":"2.0","id":7.0,"error":{"code":-32603,"message":"context canceled"}}`)
	assert.False(t, s.TakeResponse([]byte(`{"jsonrpc":"2.0","id":8,"result":{}}`)))
	assert.False(t, s.TakeResponse([]byte(`{"jsonrpc":"2.0","id":7,"method":"tools/call"}`)), "a request is not a response")
	assert.True(t, s.TakeResponse(answer), "the response to the cancelled request is recognised")
	assert.False(t, s.TakeResponse(answer), "only once: a later request may reuse the id")
}

func TestRequestAndResponseKeysTellMessagesApart(t *testing.T) {
	_, ok := responseKey([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call"}`))
	assert.False(t, ok, "a request is not a response")
	_, ok = RequestKey([]byte(`{"jsonrpc":"2.0","id":1,"result":{}}`))
	assert.False(t, ok, "a response is not a request")
	_, ok = RequestKey([]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}`))
	assert.False(t, ok, "a notification has no id")
	k, ok := RequestKey([]byte(`{"jsonrpc":"2.0","id":"a","method":"tools/call"}`))
	assert.True(t, ok)
	r, _ := responseKey([]byte(`{"jsonrpc":"2.0","id":"a","result":{}}`))
	assert.Equal(t, k, r)
}
