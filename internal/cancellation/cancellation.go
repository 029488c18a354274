// Package cancellation remembers the requests a client has cancelled, so a
// transport can keep the spec's rule that a cancelled request gets no
// response. mcp-go v1.2.1 still writes one (whatever the cancelled handler
// returned, or "-32603 context canceled"); the stdio and HTTP transports
// note each notifications/cancelled on the way in and drop the answer to
// it on the way out.
package cancellation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
)

const method = "notifications/cancelled"

// maxRemembered bounds the ids kept for responses that never come.
const maxRemembered = 1024

// Set holds the ids of cancelled requests whose responses have not been
// dropped yet. The zero value is ready to use; it is safe for concurrent use.
type Set struct {
	mu  sync.Mutex
	ids map[string]bool
}

// Note records the request a message names if the message is a
// notifications/cancelled; other messages are ignored.
func (s *Set) Note(msg []byte) {
	if !bytes.Contains(msg, []byte(method)) {
		return
	}
	var m struct {
		Method string `json:"method"`
		Params struct {
			RequestID json.RawMessage `json:"requestId"`
		} `json:"params"`
	}
	if json.Unmarshal(msg, &m) != nil || m.Method != method {
		return
	}
	key, ok := IDKey(m.Params.RequestID)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil || len(s.ids) >= maxRemembered {
		s.ids = map[string]bool{}
	}
	s.ids[key] = true
}

// TakeResponse reports whether msg is the response to a cancelled request,
// and forgets that request: only the first response to it is dropped. With
// nothing cancelled it returns at once, without parsing msg.
func (s *Set) TakeResponse(msg []byte) bool {
	s.mu.Lock()
	empty := len(s.ids) == 0
	s.mu.Unlock()
	if empty {
		return false
	}
	key, ok := responseKey(msg)
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ids[key] {
		return false
	}
	delete(s.ids, key)
	return true
}

// IDKey turns a raw JSON-RPC id into a map key that matches however the id
// is re-encoded (1 and 1.0 are the same id; "1" is not). Only strings and
// numbers are ids.
func IDKey(raw json.RawMessage) (string, bool) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil || v == nil {
		return "", false
	}
	switch v.(type) {
	case string, float64:
		return fmt.Sprintf("%T:%v", v, v), true
	default:
		return "", false
	}
}

// responseKey returns the id key of a response (a message with an id and
// no method).
func responseKey(msg []byte) (string, bool) {
	id, m, ok := idAndMethod(msg)
	if !ok || m != "" {
		return "", false
	}
	return IDKey(id)
}

// RequestKey returns the id key of a request (a message with a method and
// an id).
func RequestKey(msg []byte) (string, bool) {
	id, m, ok := idAndMethod(msg)
	if !ok || m == "" {
		return "", false
	}
	return IDKey(id)
}

func idAndMethod(msg []byte) (json.RawMessage, string, bool) {
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	if json.Unmarshal(msg, &m) != nil {
		return nil, "", false
	}
	return m.ID, m.Method, true
}
