package config

import (
	"fmt"
	"strings"
)

// Markdown is README's table of every flag and environment variable,
// generated from the flag definitions so it cannot drift.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| flag | environment | default | what it does |\n|---|---|---|---|\n")
	b.WriteString("| | `DASHSCOPE_API_KEY` | | the DashScope API key; never logged or returned |\n")
	b.WriteString("| | `VACE_MCP_REDIS_PASSWORD` | | the Redis password for a redis:// `--store`, instead of one in the URL (this one wins); never logged |\n")
	for _, f := range Flags() {
		env, def := "", ""
		if f.Env != "" {
			env = "`" + f.Env + "`"
		}
		if f.Default != "" && f.Default != "false" {
			def = "`" + f.Default + "`"
		}
		fmt.Fprintf(&b, "| `--%s` | %s | %s | %s |\n", f.Name, env, def, strings.ReplaceAll(f.Usage, "|", "\\|"))
	}
	return b.String()
}
