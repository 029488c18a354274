package stdio

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var quietLog = slog.New(slog.DiscardHandler)

// forwarded runs watch over the client lines in and returns what reached
// the server, line by line.
func forwarded(t *testing.T, f *filter, in string) []string {
	t.Helper()
	pr, pw := io.Pipe()
	go f.watch(strings.NewReader(in), pw)
	got, err := io.ReadAll(pr)
	require.NoError(t, err)
	return strings.SplitAfter(strings.TrimSuffix(string(got), "\n"), "\n")
}

func idOf(t *testing.T, msg string) string {
	t.Helper()
	var m struct{ ID json.RawMessage }
	require.NoError(t, json.Unmarshal([]byte(msg), &m), msg)
	return string(m.ID)
}

func TestResponsesToCancelledRequestsAreDroppedAndIdsRestored(t *testing.T) {
	var out bytes.Buffer
	f := &filter{out: &out, log: quietLog}
	lines := forwarded(t, f, `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{}}`+"\n"+
		`{"jsonrpc":"2.0","id":9007199254740993,"method":"tools/call","params":{}}`+"\n"+
		`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7,"reason":"user"}}`+"\n")
	require.Len(t, lines, 3)
	seven, big := idOf(t, lines[0]), idOf(t, lines[1])
	assert.Contains(t, lines[2], `"requestId":`+seven+`,`, "the cancel names the id the server knows")

	for _, msg := range []string{
		`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1}}`,
		`{"jsonrpc":"2.0","id":` + big + `,"result":{}}`,
		`{"jsonrpc":"2.0","id":` + seven + `,"error":{"code":-32603,"message":"context canceled"}}`,
	} {
		_, err := f.Write([]byte(msg + "\n"))
		require.NoError(t, err)
	}
	assert.Equal(t, `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1}}`+"\n"+
		`{"jsonrpc":"2.0","id":9007199254740993,"result":{}}`+"\n", out.String(),
		"the cancelled request's response is dropped; the other keeps its id exactly")
}

func TestWritesInPiecesAreReassembled(t *testing.T) {
	var out bytes.Buffer
	f := &filter{out: &out, log: quietLog}
	id := idOf(t, forwarded(t, f, `{"jsonrpc":"2.0","id":"b","method":"ping"}`+"\n")[0])
	for _, piece := range []string{`{"jsonrpc":"2.0","id":`, id + `,"res`, `ult":{}}` + "\n"} {
		n, err := f.Write([]byte(piece))
		require.NoError(t, err)
		assert.Equal(t, len(piece), n)
	}
	assert.Equal(t, `{"jsonrpc":"2.0","id":"b","result":{}}`+"\n", out.String())
}

func TestReadLineSkipsLinesOverTheLimit(t *testing.T) {
	r := bufio.NewReaderSize(strings.NewReader("abcd\nabcde\n"+strings.Repeat("x", 100)+"\nab"), 16)
	line, tooLong, err := readLine(r, 4)
	assert.Equal(t, "abcd\n", string(line), "exactly the limit is fine")
	assert.False(t, tooLong)
	require.NoError(t, err)
	line, tooLong, err = readLine(r, 4)
	assert.Nil(t, line)
	assert.True(t, tooLong)
	require.NoError(t, err)
	_, tooLong, err = readLine(r, 4)
	assert.True(t, tooLong, "longer than the buffer too")
	require.NoError(t, err)
	line, tooLong, err = readLine(r, 4)
	assert.Equal(t, "ab", string(line), "reading goes on after a long line")
	assert.False(t, tooLong)
	assert.ErrorIs(t, err, io.EOF)
}

// xs yields n bytes of 'x' without holding them.
type xs struct{ n int }

func (x *xs) Read(p []byte) (int, error) {
	if x.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), x.n)
	for i := range k {
		p[i] = 'x'
	}
	x.n -= k
	return k, nil
}

func TestAHugeLineIsRefusedWithBoundedMemoryAndTheServerGoesOn(t *testing.T) {
	const size = 100 << 20
	in := io.MultiReader(
		strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"`),
		&xs{n: size},
		strings.NewReader(`"}}`+"\n"+`{"jsonrpc":"2.0","id":2,"method":"ping"}`+"\n"),
	)
	var out bytes.Buffer
	srv := server.NewMCPServer("t", "1")

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	require.NoError(t, Serve(context.Background(), srv, in, &out, quietLog, nil))
	runtime.ReadMemStats(&after)
	t.Logf("allocated %d KiB while serving a %d MiB line", (after.TotalAlloc-before.TotalAlloc)>>10, size>>20)

	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(32<<20),
		"a %d MB line is not buffered whole", size>>20)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2, out.String())
	var refused struct {
		ID    json.RawMessage
		Error struct {
			Code    int
			Message string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &refused))
	assert.Equal(t, "null", string(refused.ID))
	assert.Equal(t, mcp.INVALID_REQUEST, refused.Error.Code)
	assert.Contains(t, refused.Error.Message, "larger than 4194304 bytes")
	assert.JSONEq(t, `{"jsonrpc":"2.0","id":2,"result":{}}`, lines[1], "the next message is served")
}
