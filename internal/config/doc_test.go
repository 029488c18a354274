package config

import (
	"path/filepath"
	"testing"

	"github.com/vace-mcp/vace-mcp/internal/docgen"
)

// TestReadmeFlagTableIsCurrent fails when README.md's configuration table no
// longer matches the flags.
func TestReadmeFlagTableIsCurrent(t *testing.T) {
	docgen.CheckSection(t, filepath.Join("..", "..", "README.md"), "flags", Markdown())
}
