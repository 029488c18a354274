package mcphttp

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/vace-mcp/vace-mcp/internal/cancellation"
)

// serveMessage passes one POSTed message through conn to next (mcp-go),
// because mcp-go alters big ids and matches cancels loosely (see
// cancellation.Conn). A message conn answers itself (a bad id, a request
// cancelled before it arrived) never reaches next; one with nothing left for
// mcp-go gets 202 Accepted. A request's answer gets the client's id back,
// and is dropped if the client cancelled the request.
//
// A request the conn's Hook answers itself runs here, on the POST's own
// context and until scope ends, and is answered with plain JSON.
func serveMessage(conn *cancellation.Conn, w http.ResponseWriter, r *http.Request, scope context.Context, next func(http.ResponseWriter, *http.Request)) {
	msg := conn.In(bufferedBody(r))
	switch {
	case msg.Local != nil:
		defer conn.Forget(msg.Call)
		req, release := withScope(r, scope)
		defer release()
		answer, send := conn.Out(msg.Local(req.Context()))
		if !send || r.Context().Err() != nil {
			w.WriteHeader(http.StatusAccepted) // cancelled: no answer (and none is read)
			return
		}
		writeJSON(w, http.StatusOK, answer)
		return
	case msg.Reply != nil:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(replyStatus(msg.Reply))
		// The status line is out: a failed write means the client left.
		_, _ = w.Write(msg.Reply)
		return
	case msg.Forward == nil:
		w.WriteHeader(http.StatusAccepted)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(msg.Forward))
	r.ContentLength = int64(len(msg.Forward))
	if msg.Call == 0 { // a notification or a response: mcp-go answers 202
		next(w, r)
		return
	}
	defer conn.Forget(msg.Call) // mcp-go writes nothing when the client left
	aw := &answerWriter{ResponseWriter: w, conn: conn}
	next(aw, r)
	if aw.status != 0 {
		aw.sendHead(aw.status) // a head without a body still goes out
	}
}

// replyStatus is the HTTP status of this layer's own answer: 400 for a
// message that is not a valid request, as mcp-go answers malformed ones, and
// 200 for an error that answers a request.
func replyStatus(reply []byte) int {
	var m struct {
		Error struct{ Code int } `json:"error"`
	}
	if json.Unmarshal(reply, &m) == nil && m.Error.Code == mcp.INVALID_REQUEST {
		return http.StatusBadRequest
	}
	return http.StatusOK
}

// answerWriter is the writer of one POSTed request (whose response, plain
// JSON or an SSE stream, carries no other request's answer). The answer gets
// the client's id back. If the client cancelled the request, the answer is
// not sent (mcp-go would send one; the spec says there should be none):
// dropped from an SSE stream, or, for a plain JSON answer, replaced by 202
// Accepted with no body (there is nothing the client will read).
type answerWriter struct {
	http.ResponseWriter
	conn *cancellation.Conn

	status int  // held until the body shows what kind of answer this is
	sent   bool // the head has gone out
}

func (a *answerWriter) WriteHeader(status int) {
	if a.sent || a.status != 0 {
		return
	}
	a.status = status
}

func (a *answerWriter) sendHead(status int) {
	if a.sent {
		return
	}
	a.sent = true
	if status == 0 {
		status = http.StatusOK
	}
	a.ResponseWriter.WriteHeader(status)
}

// Write gets one whole JSON answer, or whole SSE events: mcp-go encodes each
// message in a single write.
func (a *answerWriter) Write(p []byte) (int, error) {
	var out []byte
	if strings.HasPrefix(a.Header().Get("Content-Type"), "text/event-stream") {
		out = mapEvents(p, a.conn.Out)
	} else if m, send := a.conn.Out(p); send {
		out = m
	}
	if len(out) == 0 {
		if !a.sent {
			a.Header().Del("Content-Type")
			a.Header().Del("Content-Length")
			a.sendHead(http.StatusAccepted)
		}
		return len(p), nil
	}
	a.sendHead(a.status)
	if _, err := a.ResponseWriter.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush keeps SSE working: mcp-go streams only to an http.Flusher.
func (a *answerWriter) Flush() {
	if a.status != 0 || a.sent {
		a.sendHead(a.status)
	}
	if f, ok := a.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (a *answerWriter) Unwrap() http.ResponseWriter { return a.ResponseWriter }

// mapEvents passes the data of each SSE event in p through f, dropping the
// events f refuses. mcp-go writes each JSON-RPC message as one "data: "
// line; other lines pass unchanged.
func mapEvents(p []byte, f func([]byte) ([]byte, bool)) []byte {
	var out []byte
	for event := range bytes.SplitAfterSeq(p, []byte("\n\n")) {
		var kept []byte
		send := true
		for line := range bytes.SplitAfterSeq(event, []byte("\n")) {
			data, ok := bytes.CutPrefix(line, []byte("data: "))
			if !ok {
				kept = append(kept, line...)
				continue
			}
			data, nl := bytes.CutSuffix(data, []byte("\n"))
			msg, ok := f(data)
			if !ok {
				send = false
				break
			}
			kept = append(append(kept, "data: "...), msg...)
			if nl {
				kept = append(kept, '\n')
			}
		}
		if send {
			out = append(out, kept...)
		}
	}
	return out
}
