package mcphttp

import (
	"net/http"
	"strings"

	"github.com/vace-mcp/vace-mcp/internal/cancellation"
)

// cancellableResponse is the writer of one POSTed request on a streamable
// HTTP session (whose stream carries no other request's response). If the
// client cancels the request, its response is not sent (mcp-go would send
// one; the spec says there should be none): dropped from an SSE stream, or, for a plain JSON answer, replaced by
// 202 Accepted with no body (there is nothing the client will read).
type cancellableResponse struct {
	http.ResponseWriter
	ids *cancellation.Set

	status int  // held until the body shows what kind of answer this is
	sent   bool // the head has gone out
}

func (c *cancellableResponse) WriteHeader(status int) {
	if c.sent || c.status != 0 {
		return
	}
	c.status = status
}

func (c *cancellableResponse) sendHead(status int) {
	if c.sent {
		return
	}
	c.sent = true
	if status == 0 {
		status = http.StatusOK
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *cancellableResponse) Write(p []byte) (int, error) {
	streaming := strings.HasPrefix(c.Header().Get("Content-Type"), "text/event-stream")
	data := [][]byte{p}
	if streaming {
		data = sseData(p)
	}
	for _, d := range data {
		if c.ids.TakeResponse(d) {
			if !c.sent {
				c.Header().Del("Content-Type")
				c.Header().Del("Content-Length")
				c.sendHead(http.StatusAccepted)
			}
			return len(p), nil
		}
	}
	c.sendHead(c.status)
	return c.ResponseWriter.Write(p)
}

// Flush keeps SSE working: mcp-go streams only to an http.Flusher.
func (c *cancellableResponse) Flush() {
	if c.status != 0 || c.sent {
		c.sendHead(c.status)
	}
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (c *cancellableResponse) Unwrap() http.ResponseWriter { return c.ResponseWriter }
