// Package stdio serves the MCP server over stdin and stdout, the way desktop
// hosts launch it.
package stdio

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/vace-mcp/vace-mcp/internal/cancellation"
)

// Workers is how many tool calls run at once. Waits are long, and mcp-go's
// default of 5 would queue the sixth call (and lose its cancellation).
const Workers = 64

// MaxLineBytes bounds one message on stdin, as --max-body-bytes bounds an
// HTTP body. A longer line is skipped without being kept in memory and
// answered with a JSON-RPC error; the server goes on.
const MaxLineBytes = 4 << 20

// Serve runs srv on in and out until ctx ends or in is closed.
//
// Every message passes through a cancellation.Conn on its way (see there):
// request ids reach mcp-go as small internal ids and go back exactly as the
// client sent them, a request cancelled before it arrived is answered here
// without running, and the answer to a cancelled request is dropped.
//
// hook, when not nil, is asked for the Hook of the connection (MCP tasks
// answered in front of mcp-go, see package mcptasks): notify sends a message
// of the hook's own to the client at any time, and ctx ends with the
// connection.
func Serve(ctx context.Context, srv *server.MCPServer, in io.Reader, out io.Writer, logger *slog.Logger,
	hook func(ctx context.Context, notify func(msg []byte)) cancellation.Hook) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	f := &filter{out: out, log: logger, life: ctx}
	if hook != nil {
		f.conn.Hook = hook(ctx, f.reply)
	}
	pr, pw := io.Pipe()
	go f.watch(in, pw)
	s := server.NewStdioServer(srv)
	server.WithWorkerPoolSize(Workers)(s)
	s.SetErrorLogger(slog.NewLogLogger(logger.Handler(), slog.LevelError))
	return s.Listen(ctx, pr, f)
}

// filter stands between the client and mcp-go's stdio server.
type filter struct {
	out  io.Writer
	log  *slog.Logger
	conn cancellation.Conn
	life context.Context // ends with the connection; requests answered here stop with it

	mu      sync.Mutex // serializes writes to out
	partial []byte     // a line written in pieces, not yet complete
}

// watch reads the client's messages, answers those this layer answers and
// copies the others to the server.
func (f *filter) watch(in io.Reader, to *io.PipeWriter) {
	r := bufio.NewReaderSize(in, 64<<10)
	for {
		line, tooLong, err := readLine(r, MaxLineBytes)
		switch {
		case tooLong:
			f.log.Warn("stdio message refused: too large", slog.Int("limit_bytes", MaxLineBytes))
			f.reply(cancellation.ErrorResponse(nil, mcp.INVALID_REQUEST,
				fmt.Sprintf("Invalid Request: message larger than %d bytes; it was skipped unread. Pass files by path or URL, not inline", MaxLineBytes)))
		case len(line) > 0:
			msg := f.conn.In(line)
			if msg.Reply != nil {
				f.reply(msg.Reply)
			}
			if msg.Local != nil {
				// Its own goroutine: tasks/result blocks until a job ends,
				// and the reader must go on (pings, cancels, stdin's end).
				go func(local func(context.Context) []byte) { f.answer(local(f.life)) }(msg.Local)
			}
			if msg.Forward != nil {
				if _, werr := to.Write(msg.Forward); werr != nil {
					return
				}
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				_ = to.Close()
			} else {
				_ = to.CloseWithError(err)
			}
			return
		}
	}
}

// readLine reads one line, up to and including its newline. A line of more
// than limit bytes (newline excluded) is read to its end but not kept:
// tooLong is set and line is nil.
func readLine(r *bufio.Reader, limit int) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := r.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(bytes.TrimSuffix(chunk, []byte("\n"))) > limit {
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return line, tooLong, err
		}
	}
}

// reply writes a message of this layer's own to the client, between the
// server's lines.
func (f *filter) reply(msg []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// A failed write means the client is gone; mcp-go sees that on its
	// next write and stops.
	_, _ = f.out.Write(append(msg, '\n'))
}

// answer writes the answer to a request this layer answered itself (see
// cancellation.Inbound.Local), unless the client cancelled the request.
func (f *filter) answer(msg []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if line, send := f.conn.Out(msg); send {
		_, _ = f.out.Write(append(line, '\n')) // a failed write means the client is gone
	}
}

// Write passes the server's messages on, with the client's ids restored,
// except responses to cancelled requests.
func (f *filter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.partial = append(f.partial, p...)
	for {
		i := bytes.IndexByte(f.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		if line, send := f.conn.Out(f.partial[:i+1]); send {
			if _, err := f.out.Write(line); err != nil {
				f.partial = f.partial[:0]
				return 0, err
			}
		}
		f.partial = f.partial[i+1:]
	}
}
