package stdio

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResponsesToCancelledRequestsAreDropped(t *testing.T) {
	var out bytes.Buffer
	f := &cancelFilter{out: &out}
	pr, pw := io.Pipe()
	in := strings.NewReader(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{}}` + "\n" +
		`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7,"reason":"user"}}` + "\n")
	go f.watch(in, pw)
	got, err := io.ReadAll(pr)
	require.NoError(t, err)
	assert.Equal(t, 2, strings.Count(string(got), "\n"), "the client's messages pass through unchanged")

	for _, msg := range []string{
		`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1}}`,
		`{"jsonrpc":"2.0","id":8,"result":{}}`,
		`{"jsonrpc":"2.0","id":7,"error":{"code":-32603,"message":"context canceled"}}`,
		`{"jsonrpc":"2.0","id":7,"result":{}}`,
	} {
		_, err := f.Write([]byte(msg + "\n"))
		require.NoError(t, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 3, "only the cancelled request's first response is dropped")
	assert.Contains(t, lines[1], `"id":8`)
	assert.Contains(t, lines[2], `"id":7,"result"`, "a later id 7 (a new request) is answered")
}

func TestWritesInPiecesAreReassembled(t *testing.T) {
	var out bytes.Buffer
	f := &cancelFilter{out: &out}
	f.cancelled.Note([]byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"a"}}`))
	for _, piece := range []string{`{"jsonrpc":"2.0","id":"a","er`, `ror":{}}` + "\n" + `{"jsonrpc":"2.0","id":"b",`, `"result":{}}` + "\n"} {
		n, err := f.Write([]byte(piece))
		require.NoError(t, err)
		assert.Equal(t, len(piece), n)
	}
	assert.Equal(t, `{"jsonrpc":"2.0","id":"b","result":{}}`+"\n", out.String())
}
