package tools

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/server"
)

// ToolsetAll names every tool, in --tools.
const ToolsetAll = "all"

// toolsets are the group names --tools takes besides tool names.
var toolsets = []string{ToolsetAll, ToolsetEdit, ToolsetTasks, ToolsetFiles}

// Select returns the tools of all that names choose (tool names or the
// groups all, edit, tasks and files; no names means all), in all's order.
// With readOnly it keeps only tools whose ReadOnlyHint is true, so nothing
// offered can spend money, cancel a task or write a file. Its errors name
// --tools and --read-only, the flags these values come from.
func Select(all []server.ServerTool, names []string, readOnly bool) ([]server.ServerTool, error) {
	if len(names) == 0 {
		names = []string{ToolsetAll}
	}
	var known []string
	for _, t := range all {
		known = append(known, t.Tool.Name)
	}
	for _, n := range names {
		if !slices.Contains(toolsets, n) && !slices.Contains(known, n) {
			return nil, fmt.Errorf("--tools %q: not a tool or group; use %s, or tool names: %s",
				n, strings.Join(toolsets, ", "), strings.Join(known, ", "))
		}
	}
	var readOnlyNames []string
	var out []server.ServerTool
	for _, t := range all {
		name := t.Tool.Name
		isReadOnly := t.Tool.Annotations.ReadOnlyHint != nil && *t.Tool.Annotations.ReadOnlyHint
		if isReadOnly {
			readOnlyNames = append(readOnlyNames, name)
		}
		chosen := slices.Contains(names, ToolsetAll) || slices.Contains(names, Toolset(name)) || slices.Contains(names, name)
		if chosen && (!readOnly || isReadOnly) {
			out = append(out, t)
		}
	}
	switch {
	case len(out) > 0:
		return out, nil
	case readOnly:
		return nil, fmt.Errorf("--tools %s with --read-only offers no tool: the read-only tools are %s",
			strings.Join(names, ","), strings.Join(readOnlyNames, ", "))
	}
	return nil, fmt.Errorf("--tools %s offers no tool", strings.Join(names, ","))
}
