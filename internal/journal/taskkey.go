package journal

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// TaskKeyFile is the file, beside the journal, holding the key MCP task ids
// are signed with.
const TaskKeyFile = "task-id.key"

// TaskKeyBytes is the length of a new task-id key.
const TaskKeyBytes = 32

// TaskKey returns the key MCP task ids are signed with: TaskKeyFile in the
// journal's directory, made (mode 0600) by whichever process asks first, so
// every process sharing the journal uses one key and a task id stays good
// across restarts. Delete the file to void every task id issued so far.
func (j *Journal) TaskKey(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	dir := filepath.Dir(j.path)
	path := filepath.Join(dir, TaskKeyFile)
	if key, err := os.ReadFile(path); err == nil && len(key) >= TaskKeyBytes {
		return key, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("task id key: %w", err)
	}
	key := make([]byte, TaskKeyBytes)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("task id key: %w", err)
	}
	// Written aside, then linked into place: a process racing this one
	// either links first or reads the winner's whole key.
	tmp, err := os.CreateTemp(dir, TaskKeyFile+".*")
	if err != nil {
		return nil, fmt.Errorf("task id key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(key); err != nil {
		_ = tmp.Close()
		return nil, fmt.Errorf("task id key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("task id key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("task id key: %w", err)
	}
	key, err = os.ReadFile(path)
	if err != nil || len(key) < TaskKeyBytes {
		return nil, fmt.Errorf("task id key %s is unreadable or too short; delete it and start again: %v", path, err)
	}
	return key, nil
}
