package journal

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// manualNow is a clock tests move by hand.
type manualNow struct {
	mu sync.Mutex
	t  time.Time
}

func (m *manualNow) now() time.Time { m.mu.Lock(); defer m.mu.Unlock(); return m.t }
func (m *manualNow) add(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.t = m.t.Add(d)
}

func open(t *testing.T, dir string, clock *manualNow) *Journal {
	t.Helper()
	j, err := Open(t.Context(), Options{Dir: dir, Now: clock.now})
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	return j
}

var rules = Rules{Window: 15 * time.Minute, UncertainFor: 24 * time.Hour, InFlight: 2 * time.Minute}

func TestANewerSchemaOrACorruptFileIsUnavailableNamingTheFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, FileName), []byte("this is not a database, it is a text file of some length"), 0o600))
	_, err := Open(t.Context(), Options{Dir: dir})
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Contains(t, err.Error(), filepath.Join(dir, FileName))
	assert.Contains(t, err.Error(), "nothing is sent untracked")

	dir2 := t.TempDir()
	j, err := Open(t.Context(), Options{Dir: dir2})
	require.NoError(t, err)
	_, err = j.db.Exec("PRAGMA user_version = 99")
	require.NoError(t, err)
	require.NoError(t, j.Close())
	_, err = Open(t.Context(), Options{Dir: dir2})
	require.ErrorIs(t, err, ErrUnavailable)
	assert.Contains(t, err.Error(), "newer")
	var ue *UnavailableError
	assert.True(t, errors.As(err, &ue))
}

func TestALockHeldTooLongIsUnavailableNotAHang(t *testing.T) {
	dir := t.TempDir()
	clock := &manualNow{t: time.Now()}
	holder := open(t, dir, clock)
	j, err := Open(t.Context(), Options{Dir: dir, Now: clock.now, BusyTimeout: 50 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	tx, err := holder.db.BeginTx(t.Context(), nil) // an immediate transaction: holds the write lock
	require.NoError(t, err)
	_, err = tx.Exec("UPDATE jobs SET owner = owner")
	require.NoError(t, err)
	_, _, err = j.Claim(t.Context(), Intent{Key: "k", Tool: "t", Model: "m"}, rules)
	require.ErrorIs(t, err, ErrUnavailable, "the claim gives up after the busy timeout")
	require.NoError(t, tx.Rollback())
	_, owner, err := j.Claim(t.Context(), Intent{Key: "k", Tool: "t", Model: "m"}, rules)
	require.NoError(t, err)
	assert.True(t, owner, "and works again once the lock is gone")
}

// The SQLite journal is one machine's: an intent whose process has died is
// lost at once, without waiting for it to go untouched.
func TestAnIntentOfADeadProcessIsLostAtOnce(t *testing.T) {
	clock := &manualNow{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.Local)}
	j := open(t, t.TempDir(), clock)
	mine, _, err := j.Claim(t.Context(), Intent{Key: "mine", Tool: "t", Model: "m"}, rules)
	require.NoError(t, err)
	dead, _, err := j.Claim(t.Context(), Intent{Key: "dead", Tool: "t", Model: "m"}, rules)
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("pid %d", os.Getpid()), mine.Owner)

	// A process that has exited: its pid is free (or reused, which errs on the side of waiting).
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	require.NoError(t, cmd.Run())
	_, err = j.db.Exec("UPDATE jobs SET owner = ? WHERE id = ?", fmt.Sprintf("pid %d", cmd.Process.Pid), dead.ID)
	require.NoError(t, err)

	lost, err := j.LostIntents(t.Context(), 2*time.Minute)
	require.NoError(t, err)
	if runtime.GOOS == "windows" {
		assert.Empty(t, lost, "a pid cannot be checked here: only age counts")
		return
	}
	require.Len(t, lost, 1)
	assert.Equal(t, dead.ID, lost[0].ID)
}
