package mcphttp

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
)

// The spec says a request the client has cancelled (notifications/cancelled)
// gets no response. mcp-go v1.2.1 still writes one: whatever the cancelled
// handler returned, or "-32603 context canceled". The layer remembers each
// session's cancelled request ids and drops those responses on the way out.

// cancelledIDs are the ids of requests a client has cancelled and whose
// responses have not been dropped yet.
type cancelledIDs struct {
	mu  sync.Mutex
	ids map[string]bool
}

// maxCancelled bounds the ids remembered for responses that never come.
const maxCancelled = 1024

// noteFrom records the request a notifications/cancelled message names.
func (c *cancelledIDs) noteFrom(body []byte) {
	if !bytes.Contains(body, []byte(mcp.MethodNotificationCancelled)) {
		return
	}
	var msg struct {
		Method string `json:"method"`
		Params struct {
			RequestID json.RawMessage `json:"requestId"`
		} `json:"params"`
	}
	if json.Unmarshal(body, &msg) != nil || msg.Method != string(mcp.MethodNotificationCancelled) {
		return
	}
	key, ok := jsonRPCIDKey(msg.Params.RequestID)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil || len(c.ids) >= maxCancelled {
		c.ids = map[string]bool{}
	}
	c.ids[key] = true
}

// take reports whether the request was cancelled, forgetting it.
func (c *cancelledIDs) take(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ids[key] {
		return false
	}
	delete(c.ids, key)
	return true
}

// responseIDs returns the id keys of the responses in SSE event data or a
// JSON body (messages with an id and no method).
func responseIDs(data [][]byte) []string {
	var keys []string
	for _, d := range data {
		var msg struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if json.Unmarshal(d, &msg) != nil || msg.Method != "" {
			continue
		}
		if key, ok := jsonRPCIDKey(msg.ID); ok {
			keys = append(keys, key)
		}
	}
	return keys
}

// requestIDKey returns the id key of a request body (a message with a
// method and an id).
func requestIDKey(body []byte) (string, bool) {
	var msg struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if json.Unmarshal(body, &msg) != nil || msg.Method == "" {
		return "", false
	}
	return jsonRPCIDKey(msg.ID)
}

// cancellableResponse is the writer of one POSTed request on a streamable
// HTTP session. If the client cancels the request, its response is not
// sent: dropped from an SSE stream, or, for a plain JSON answer, replaced by
// 202 Accepted with no body (there is nothing the client will read).
type cancellableResponse struct {
	http.ResponseWriter
	ids *cancelledIDs
	key string

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
	for _, k := range responseIDs(data) {
		if k == c.key && c.ids.take(k) {
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
