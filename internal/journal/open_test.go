package journal

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOpenNeedsNoWriteLockAndALockedClaimIsUnavailableUntilReleased(t *testing.T) {
	dir := t.TempDir()
	clock := &manualNow{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.Local)}
	open(t, dir, clock) // an existing journal at this schema

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, FileName))
	require.NoError(t, err)
	defer db.Close()
	holder, err := db.Conn(t.Context())
	require.NoError(t, err)
	defer holder.Close()
	_, err = holder.ExecContext(t.Context(), "BEGIN IMMEDIATE")
	require.NoError(t, err)

	j, err := Open(t.Context(), Options{Dir: dir, Now: clock.now, BusyTimeout: 100 * time.Millisecond})
	require.NoError(t, err, "opening a current journal takes no write lock")
	defer j.Close()
	n, err := j.Prune(t.Context(), clock.now().AddDate(0, 0, -90))
	require.NoError(t, err, "nothing to prune takes no write lock")
	assert.Zero(t, n)

	in := Intent{Key: "k", Tool: "video_edit", Model: "m", EstimateUSD: 0.5}
	_, _, err = j.Claim(t.Context(), in, rules)
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Contains(t, err.Error(), "locked")
	assert.Equal(t, 1, strings.Count(err.Error(), j.Path()), err.Error())

	_, err = holder.ExecContext(t.Context(), "ROLLBACK")
	require.NoError(t, err)
	_, owner, err := j.Claim(t.Context(), in, rules)
	require.NoError(t, err)
	assert.True(t, owner)
}

func TestOpenAnUnreadableJournalNamesTheFileOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	require.NoError(t, os.WriteFile(path, []byte(strings.Repeat("not a database ", 500)), 0o600))
	_, err := Open(t.Context(), Options{Dir: dir})
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Equal(t, 1, strings.Count(err.Error(), path), err.Error())
}

func TestTaskKeyFileIsPrivateAndKept(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, &manualNow{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.Local)})
	key, err := j.TaskKey(t.Context())
	require.NoError(t, err)
	assert.Len(t, key, TaskKeyBytes)
	info, err := os.Stat(filepath.Join(dir, TaskKeyFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "only the user reads the key that signs task ids")
	again, err := j.TaskKey(t.Context())
	require.NoError(t, err)
	assert.Equal(t, key, again)
}
