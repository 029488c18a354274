package redisjournal_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/internal/journal"
	"github.com/vace-mcp/vace-mcp/internal/journal/journaltest"
	"github.com/vace-mcp/vace-mcp/internal/journal/redisjournal"
	"github.com/vace-mcp/vace-mcp/internal/redistest"
)

// BenchmarkStores compares, in one run, the per-call overhead of the
// embedded SQLite journal (a file in a temporary directory) and the Redis
// store (a loopback redis-server, or VACE_MCP_TEST_REDIS).
func BenchmarkStores(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		journaltest.Bench(b, func(b *testing.B) journal.Store {
			j, err := journal.Open(b.Context(), journal.Options{Dir: b.TempDir()})
			require.NoError(b, err)
			b.Cleanup(func() { _ = j.Close() })
			return j
		})
	})
	b.Run("redis", func(b *testing.B) {
		srv := redistest.Start(b)
		journaltest.Bench(b, func(b *testing.B) journal.Store {
			return open(b, redisjournal.Options{URL: srv.URL, Prefix: srv.NewPrefix(b)})
		})
	})
}
