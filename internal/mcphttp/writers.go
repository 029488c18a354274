package mcphttp

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"slices"
	"strings"
)

// heldResponse holds mcp-go's answer to an initialize until the session
// layer knows whether it succeeded, because the Mcp-Session-Id header must
// be decided before the status line goes out. Initialize answers are small.
type heldResponse struct {
	w      http.ResponseWriter
	header http.Header
	status int
	body   bytes.Buffer
}

func newHeldResponse(w http.ResponseWriter) *heldResponse {
	return &heldResponse{w: w, header: http.Header{}}
}

func (h *heldResponse) Header() http.Header { return h.header }

func (h *heldResponse) WriteHeader(status int) {
	if h.status == 0 {
		h.status = status
	}
}

func (h *heldResponse) Write(p []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return h.body.Write(p)
}

// Flush is a no-op while the response is held. mcp-go checks for
// http.Flusher to decide whether it may answer with an SSE stream.
func (h *heldResponse) Flush() {}

// Unwrap lets http.ResponseController reach the connection (write
// deadlines); flushes still stop here.
func (h *heldResponse) Unwrap() http.ResponseWriter { return h.w }

// send writes the held response to the client.
func (h *heldResponse) send() {
	dst := h.w.Header()
	for k, v := range h.header {
		dst[k] = v
	}
	status := h.status
	if status == 0 {
		status = http.StatusOK
	}
	h.w.WriteHeader(status)
	// The status line is already out: a failed write means the client left.
	_, _ = h.w.Write(h.body.Bytes())
}

// initSucceeded reports whether a held initialize answer carries a result
// rather than a JSON-RPC error: a session is issued only for a result.
func initSucceeded(contentType string, body []byte) bool {
	mediaType, _, _ := mime.ParseMediaType(contentType)
	var messages [][]byte
	switch mediaType {
	case "application/json":
		messages = [][]byte{body}
	case "text/event-stream":
		messages = sseData(body)
	}
	for _, m := range messages {
		var resp struct {
			Method string          `json:"method"`
			Result json.RawMessage `json:"result"`
			Error  json.RawMessage `json:"error"`
		}
		if json.Unmarshal(m, &resp) == nil && resp.Method == "" && len(resp.Result) > 0 {
			return len(resp.Error) == 0 || string(resp.Error) == "null"
		}
	}
	return false
}

// isResponse reports whether a JSON-RPC message is a response: an id and a
// result or an error, no method.
func isResponse(msg []byte) bool {
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Result json.RawMessage `json:"result"`
		Error  json.RawMessage `json:"error"`
	}
	return json.Unmarshal(msg, &m) == nil && m.Method == "" && len(m.ID) > 0 && (len(m.Result) > 0 || len(m.Error) > 0)
}

// sseData returns the data of each event in an SSE stream fragment, joining
// multi-line data as the SSE format prescribes.
func sseData(stream []byte) [][]byte {
	var events [][]byte
	var cur []byte
	inData := false
	flush := func() {
		if inData {
			events = append(events, cur)
		}
		cur, inData = nil, false
	}
	for raw := range strings.SplitSeq(string(stream), "\n") {
		line := strings.TrimSuffix(raw, "\r")
		if line == "" {
			flush()
			continue
		}
		value, ok := strings.CutPrefix(line, "data:")
		if !ok {
			continue
		}
		value = strings.TrimPrefix(value, " ")
		if inData {
			cur = append(cur, '\n')
		}
		cur = append(cur, value...)
		inData = true
	}
	flush()
	return events
}

// trackedWriter records what mcp-go wrote for one request: anything at all,
// and whether that included the request's answer (a JSON body is nothing
// else; on an SSE stream, the answer is the event with a response).
type trackedWriter struct {
	http.ResponseWriter
	wrote    bool
	answered bool
}

func (t *trackedWriter) WriteHeader(status int) {
	t.wrote = true
	t.ResponseWriter.WriteHeader(status)
}

func (t *trackedWriter) Write(p []byte) (int, error) {
	t.wrote = true
	if !t.answered {
		// mcp-go writes each SSE event in a single write.
		t.answered = !t.streaming() || slices.ContainsFunc(sseData(p), isResponse)
	}
	return t.ResponseWriter.Write(p)
}

// streaming reports whether the response is an SSE stream.
func (t *trackedWriter) streaming() bool {
	return strings.HasPrefix(t.Header().Get("Content-Type"), "text/event-stream")
}

// Flush keeps SSE working: mcp-go streams only to an http.Flusher.
func (t *trackedWriter) Flush() {
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		t.wrote = true
		f.Flush()
	}
}

func (t *trackedWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// discardResponse swallows a response nobody will read.
type discardResponse struct{ header http.Header }

func (d discardResponse) Header() http.Header         { return d.header }
func (d discardResponse) Write(p []byte) (int, error) { return len(p), nil }
func (d discardResponse) WriteHeader(int)             {}
