// Package stdio serves the MCP server over stdin and stdout, the way desktop
// hosts launch it.
package stdio

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"

	"github.com/mark3labs/mcp-go/server"

	"github.com/vace-mcp/vace-mcp/internal/cancellation"
)

// Workers is how many tool calls run at once. Waits are long, and mcp-go's
// default of 5 would queue the sixth call (and lose its cancellation).
const Workers = 64

// Serve runs srv on in and out until ctx ends or in is closed.
//
// It also keeps a rule mcp-go v1.2.1 breaks: a request the client has
// cancelled (notifications/cancelled) gets no response. mcp-go still writes
// a "context canceled" error for it, which this layer drops.
func Serve(ctx context.Context, srv *server.MCPServer, in io.Reader, out io.Writer, logger *slog.Logger) error {
	f := &cancelFilter{out: out}
	pr, pw := io.Pipe()
	go f.watch(in, pw)
	s := server.NewStdioServer(srv)
	server.WithWorkerPoolSize(Workers)(s)
	s.SetErrorLogger(slog.NewLogLogger(logger.Handler(), slog.LevelError))
	return s.Listen(ctx, pr, f)
}

// cancelFilter notes the requests a client cancels and drops the responses
// to them. Requests are matched by their JSON-RPC id.
type cancelFilter struct {
	out       io.Writer
	cancelled cancellation.Set

	mu      sync.Mutex
	partial []byte // a line written in pieces, not yet complete
}

// watch copies the client's messages to the server, noting cancellations.
func (f *cancelFilter) watch(in io.Reader, to *io.PipeWriter) {
	r := bufio.NewReaderSize(in, 64<<10)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			f.cancelled.Note(line)
			if _, werr := to.Write(line); werr != nil {
				return
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

// Write passes the server's messages on, except responses to cancelled requests.
func (f *cancelFilter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.partial = append(f.partial, p...)
	for {
		i := bytes.IndexByte(f.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := f.partial[:i+1]
		if !f.cancelled.TakeResponse(line) {
			if _, err := f.out.Write(line); err != nil {
				f.partial = f.partial[:0]
				return 0, err
			}
		}
		f.partial = f.partial[i+1:]
	}
}
