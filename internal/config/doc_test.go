package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadmeFlagTableIsCurrent fails when README.md's configuration table no
// longer matches the flags; UPDATE_TOOLSNAPS=1 rewrites it.
func TestReadmeFlagTableIsCurrent(t *testing.T) {
	path := filepath.Join("..", "..", "README.md")
	readme, err := os.ReadFile(path)
	require.NoError(t, err)
	const begin, end = "<!-- flags:begin -->\n", "<!-- flags:end -->"
	before, rest, ok := strings.Cut(string(readme), begin)
	require.True(t, ok, "README.md lacks %q", begin)
	current, after, ok := strings.Cut(rest, end)
	require.True(t, ok, "README.md lacks %q", end)
	if os.Getenv("UPDATE_TOOLSNAPS") != "" {
		require.NoError(t, os.WriteFile(path, []byte(before+begin+Markdown()+end+after), 0o644))
		return
	}
	assert.Equal(t, Markdown(), current, "README's flag table is stale: run UPDATE_TOOLSNAPS=1 go test ./internal/config/")
}
