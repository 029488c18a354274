package mcptasks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"
)

// A task id carries everything needed to answer for the task, under a MAC:
// no table of tasks is kept, so an id stays good across restarts (and on
// every process sharing the state directory) for as long as the key does,
// and a forged or altered id is refused. Layout, before base64url:
//
//	version (1) | shape (1) | created, Unix ms (8) | DashScope task id (n) | MAC (16)
//
// The MAC (HMAC-SHA-256, truncated to 128 bits) also covers the binding: a
// hash of the HTTP bearer token the task was created under, so that an id
// is good only with that token.
const (
	idVersion = 1
	macBytes  = 16
	headBytes = 1 + 1 + 8
	// maxJobIDBytes bounds the DashScope id in a task id (theirs are UUIDs).
	maxJobIDBytes = 128
)

// shape is the task protocol a task was created in, which fixes how it is
// reported.
type shape byte

const (
	// shapeCore is the 2025-11-25 tasks utility (params.task on tools/call).
	shapeCore shape = 1
	// shapeExtension is the io.modelcontextprotocol/tasks extension (2026-07-28).
	shapeExtension shape = 2
)

// taskRef is what a task id says.
type taskRef struct {
	shape   shape
	created time.Time
	jobID   string // the DashScope task id
}

var errBadID = errors.New("task not found")

// mint returns the task id of ref for binding.
func mint(key []byte, binding string, ref taskRef) string {
	buf := make([]byte, 0, headBytes+len(ref.jobID)+macBytes)
	buf = append(buf, idVersion, byte(ref.shape))
	buf = binary.BigEndian.AppendUint64(buf, uint64(ref.created.UnixMilli()))
	buf = append(buf, ref.jobID...)
	buf = append(buf, mac(key, binding, buf)...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// parse checks a task id against key and binding and returns what it says.
func parse(key []byte, binding, id string) (taskRef, error) {
	if len(id) > base64.RawURLEncoding.EncodedLen(headBytes+maxJobIDBytes+macBytes) {
		return taskRef{}, errBadID
	}
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(raw) <= headBytes+macBytes {
		return taskRef{}, errBadID
	}
	body, sum := raw[:len(raw)-macBytes], raw[len(raw)-macBytes:]
	if !hmac.Equal(sum, mac(key, binding, body)) || body[0] != idVersion {
		return taskRef{}, errBadID
	}
	ref := taskRef{
		shape:   shape(body[1]),
		created: time.UnixMilli(int64(binary.BigEndian.Uint64(body[2:headBytes]))).UTC(),
		jobID:   string(body[headBytes:]),
	}
	if ref.shape != shapeCore && ref.shape != shapeExtension {
		return taskRef{}, errBadID
	}
	return ref, nil
}

func mac(key []byte, binding string, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	b := sha256.Sum256([]byte(binding))
	h.Write(b[:])
	h.Write(body)
	return h.Sum(nil)[:macBytes]
}
