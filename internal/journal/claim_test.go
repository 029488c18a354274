package journal

import (
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAnIdenticalRequestIsAnsweredWithoutTheWriteLock(t *testing.T) {
	dir := t.TempDir()
	clock := &manualNow{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.Local)}
	j := open(t, dir, clock)
	in := Intent{Key: "k", Tool: "video_edit", Model: "m", EstimateUSD: 0.5}
	first, owner, err := j.Claim(t.Context(), in, rules)
	require.NoError(t, err)
	require.True(t, owner)
	require.NoError(t, j.Accepted(t.Context(), first.ID, "task-1", "PENDING"))

	// Another process holds the write lock for as long as it likes.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName))
	require.NoError(t, err)
	defer db.Close()
	holder, err := db.Conn(t.Context())
	require.NoError(t, err)
	defer holder.Close()
	_, err = holder.ExecContext(t.Context(), "BEGIN IMMEDIATE")
	require.NoError(t, err)
	defer func() { _, _ = holder.ExecContext(t.Context(), "ROLLBACK") }()

	busy, err := Open(t.Context(), Options{Dir: dir, Now: clock.now, BusyTimeout: 50 * time.Millisecond})
	require.NoError(t, err)
	defer busy.Close()
	earlier, owner, err := busy.Claim(t.Context(), in, rules)
	require.NoError(t, err, "finding the earlier job needs no write lock")
	assert.False(t, owner)
	assert.Equal(t, "task-1", earlier.TaskID)
	_, _, err = busy.Claim(t.Context(), Intent{Key: "other", Tool: "video_edit", Model: "m"}, rules)
	assert.ErrorIs(t, err, ErrUnavailable, "recording a new intent does")
}
