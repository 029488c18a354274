package journal_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/internal/journal"
	"github.com/vace-mcp/vace-mcp/internal/journal/journaltest"
)

// SQLite is the contract's embedded backend: handles on one file are the
// processes of one machine.
func SQLite(t *testing.T, now func() time.Time) func() journal.Store {
	dir := t.TempDir()
	return func() journal.Store {
		j, err := journal.Open(t.Context(), journal.Options{Dir: dir, Now: now})
		require.NoError(t, err)
		t.Cleanup(func() { _ = j.Close() })
		return j
	}
}

func TestTheSQLiteJournalKeepsTheContract(t *testing.T) {
	journaltest.Run(t, SQLite)
}
