// Package cli is vace-mcp's command line for people: `call` runs any tool
// through the real MCP path (an in-process client on the same server the
// transports serve) and `doctor` checks a setup without spending money.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/vace-mcp/vace-mcp/internal/localfiles"
)

// CallOptions is a parsed `vace-mcp call` command.
type CallOptions struct {
	Tool string
	// Args are the tool's arguments as given: name → values (repeatable).
	Args     map[string][]string
	order    []string
	Wait     bool
	Download bool
	JSON     bool
	// Timeout bounds the whole call, waits included.
	Timeout time.Duration
}

// CallUsage explains the call command.
const CallUsage = `usage: vace-mcp call TOOL [--ARGUMENT VALUE ...] [--wait] [--download] [--json] [server flags]

Runs one tool through the MCP server in this process and prints its result.
Arguments are the tool's own (see README: --prompt, --video_url, --top_scale, ...);
repeat a flag for a list (--ref_images_url a.png --ref_images_url b.png) or give
a JSON array. Local files are uploaded; their directories are allowed for the call.
  --wait       after a submission, wait until the video is ready (progress on stderr)
  --download   wait, then save the video in --output-dir (download_video)
  --json       print the structured result as JSON
  --timeout D  give up after D (default 20m)
Server flags (--sandbox, --region, --output-dir, ...) work as for the server.`

// ParseCall splits `call` arguments into the call's and the server's
// (isServerFlag names the server's flags, which use dashes; tool arguments
// use the API's underscores).
func ParseCall(args []string, isServerFlag func(string) bool, isBoolFlag func(string) bool) (CallOptions, []string, error) {
	o := CallOptions{Args: map[string][]string{}, Timeout: 20 * time.Minute}
	var serverArgs []string
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" {
			return o, nil, ErrHelp
		}
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return o, nil, errors.New("name the tool to call, e.g. `vace-mcp call video_outpainting --prompt ... --video_url ...`")
	}
	o.Tool = args[0]
	for i := 1; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "--") || name == "" {
			return o, nil, fmt.Errorf("unexpected %q: arguments are --name value", a)
		}
		next := func() (string, error) {
			if hasValue {
				return value, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("--%s needs a value", name)
			}
			i++
			return args[i], nil
		}
		switch name {
		case "wait", "download", "json":
			v := true
			if hasValue {
				var err error
				if v, err = strconv.ParseBool(value); err != nil {
					return o, nil, fmt.Errorf("--%s=%s: use true or false", name, value)
				}
			}
			switch name {
			case "wait":
				o.Wait = v
			case "download":
				o.Download = v
			default:
				o.JSON = v
			}
		case "timeout":
			v, err := next()
			if err != nil {
				return o, nil, err
			}
			if o.Timeout, err = time.ParseDuration(v); err != nil || o.Timeout <= 0 {
				return o, nil, fmt.Errorf("--timeout %q: use a duration such as 15m", v)
			}
		default:
			if isServerFlag(name) {
				if isBoolFlag(name) || hasValue {
					serverArgs = append(serverArgs, a)
					continue
				}
				v, err := next()
				if err != nil {
					return o, nil, err
				}
				serverArgs = append(serverArgs, "--"+name, v)
				continue
			}
			v, err := next()
			if err != nil {
				return o, nil, err
			}
			if _, seen := o.Args[name]; !seen {
				o.order = append(o.order, name)
			}
			o.Args[name] = append(o.Args[name], v)
		}
	}
	o.Wait = o.Wait || o.Download // saving the video means waiting for it
	return o, serverArgs, nil
}

// ErrHelp is returned by ParseCall when the person asked for help.
var ErrHelp = errors.New("help requested")

// LocalDirs makes the local files named in URL arguments absolute and
// returns their directories, so the call may read the files its user named.
// A named file that does not exist is an error here, where it can be said
// plainly.
func (o *CallOptions) LocalDirs() ([]string, error) {
	var dirs []string
	for name, values := range o.Args {
		if !strings.HasSuffix(name, "_url") {
			continue
		}
		for i, v := range values {
			if !localfiles.IsLocal(v) || strings.HasPrefix(v, "file:") {
				continue
			}
			abs, err := filepath.Abs(v)
			if err != nil {
				return nil, fmt.Errorf("--%s %s: %w", name, v, err)
			}
			if _, err := os.Stat(abs); err != nil {
				return nil, fmt.Errorf("--%s %s: no such file", name, v)
			}
			values[i] = abs
			dirs = append(dirs, filepath.Dir(abs))
		}
	}
	return dirs, nil
}

// Call runs the call against srv and returns the exit code: 0 on success,
// 1 for a tool error or a failed task, 2 for a bad command.
func Call(ctx context.Context, srv *server.MCPServer, o CallOptions, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	c, err := client.NewInProcessClient(srv)
	if err != nil {
		return fail(stderr, err)
	}
	defer c.Close()
	bar := newProgressBar(stderr)
	c.OnNotification(bar.notify)
	if err := c.Start(ctx); err != nil {
		return fail(stderr, err)
	}
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "vace-mcp-cli", Version: "1"}
	init.Params.ProtocolVersion = mcp.ProtocolVersion20251125
	if _, err := c.Initialize(ctx, init); err != nil {
		return fail(stderr, err)
	}
	tools, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		return fail(stderr, err)
	}
	var schema json.RawMessage
	var names []string
	for _, t := range tools.Tools {
		names = append(names, t.Name)
		if t.Name == o.Tool {
			if schema, err = json.Marshal(t.InputSchema); err != nil {
				return fail(stderr, err)
			}
		}
	}
	type need struct{ tool, why string }
	needs := []need{{o.Tool, ""}}
	if o.Wait {
		needs = append(needs, need{"wait_task", " (--wait and --download use it)"})
	}
	if o.Download {
		needs = append(needs, need{"download_video", " (--download uses it)"})
	}
	for _, n := range needs { // checked before the call, so nothing is submitted that cannot be followed
		if !slices.Contains(names, n.tool) {
			fmt.Fprintf(stderr, "vace-mcp call: no tool %q%s; the tools offered are: %s (--tools and --read-only choose them)\n",
				n.tool, n.why, strings.Join(names, ", "))
			return 2
		}
	}
	args, err := convertArgs(o, schema)
	if err != nil {
		fmt.Fprintf(stderr, "vace-mcp call: %v\n", err)
		return 2 // a bad command, not a failed call
	}

	res, err := callTool(ctx, c, bar, o.Tool, args)
	if err != nil {
		return fail(stderr, err)
	}
	for o.Wait && !res.IsError && !done(res) {
		id, _ := structuredField(res, "task_id").(string)
		if id == "" {
			break
		}
		if !o.JSON {
			fmt.Fprintln(stdout, resultText(res)) // stdout-ok: the CLI's output, never the stdio transport
		}
		if res, err = callTool(ctx, c, bar, "wait_task", map[string]any{"task_id": id}); err != nil {
			bar.finish()
			return fail(stderr, err)
		}
	}
	bar.finish()
	if id, _ := structuredField(res, "task_id").(string); o.Download && id != "" && structuredField(res, "status") == "SUCCEEDED" {
		if res, err = callTool(ctx, c, bar, "download_video", map[string]any{"task_id": id}); err != nil {
			return fail(stderr, err)
		}
	}
	if o.JSON {
		out := res.StructuredContent
		if out == nil {
			out = map[string]any{"error": resultText(res), "is_error": res.IsError}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
	} else {
		fmt.Fprintln(stdout, resultText(res)) // stdout-ok: the CLI's output
	}
	if res.IsError || structuredField(res, "status") == "FAILED" {
		return 1
	}
	return 0
}

// fail reports an error that ends the call.
func fail(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "vace-mcp call: %v\n", err)
	return 1
}

// callTool calls a tool with a progress token, so waits report progress.
func callTool(ctx context.Context, c *client.Client, bar *progressBar, name string, args map[string]any) (*mcp.CallToolResult, error) {
	bar.calls++ // calls are sequential
	token := fmt.Sprintf("cli-%d", bar.calls)
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	req.Params.Meta = &mcp.Meta{ProgressToken: token}
	return c.CallTool(ctx, req)
}

// convertArgs turns flag values into the JSON types the tool's schema asks for.
func convertArgs(o CallOptions, schema json.RawMessage) (map[string]any, error) {
	var s struct {
		Properties map[string]struct {
			Type  string `json:"type"`
			Items *struct {
				Type string `json:"type"`
			} `json:"items"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(schema, &s); err != nil {
		return nil, err
	}
	args := map[string]any{}
	for _, name := range o.order {
		values := o.Args[name]
		p, ok := s.Properties[name]
		if !ok {
			var known []string
			for k := range s.Properties {
				known = append(known, "--"+k)
			}
			return nil, fmt.Errorf("%s takes no --%s; it takes %s", o.Tool, name, strings.Join(known, ", "))
		}
		if p.Type == "array" {
			if len(values) == 1 && strings.HasPrefix(strings.TrimSpace(values[0]), "[") {
				var list []any
				if err := json.Unmarshal([]byte(values[0]), &list); err != nil {
					return nil, fmt.Errorf("--%s: %q is not a JSON array", name, values[0])
				}
				args[name] = list
				continue
			}
			list := make([]any, len(values))
			for i, v := range values {
				list[i] = scalar(p.Items.Type, v)
			}
			args[name] = list
			continue
		}
		if len(values) > 1 {
			return nil, fmt.Errorf("--%s was given %d times; it takes one value", name, len(values))
		}
		args[name] = scalar(p.Type, values[0])
	}
	return args, nil
}

// scalar converts a flag value; a value that does not convert is passed as
// a string, for the server to refuse with its own explanation.
func scalar(typ, v string) any {
	switch typ {
	case "number":
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	case "integer":
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	case "boolean":
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	return v
}

func structuredField(res *mcp.CallToolResult, name string) any {
	m, ok := res.StructuredContent.(map[string]any)
	if !ok {
		b, err := json.Marshal(res.StructuredContent)
		if err != nil || json.Unmarshal(b, &m) != nil {
			return nil
		}
	}
	return m[name]
}

func done(res *mcp.CallToolResult) bool {
	d, ok := structuredField(res, "done").(bool)
	return !ok || d
}

func resultText(res *mcp.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if t, ok := c.(mcp.TextContent); ok {
			parts = append(parts, t.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// progressBar draws progress notifications on stderr: one redrawn line on
// a terminal, a line per update otherwise.
type progressBar struct {
	calls int // progress tokens used, one per call

	mu    sync.Mutex
	w     io.Writer
	tty   bool
	drawn bool
	last  string
}

func newProgressBar(w io.Writer) *progressBar {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil {
			tty = st.Mode()&os.ModeCharDevice != 0
		}
	}
	return &progressBar{w: w, tty: tty}
}

func (b *progressBar) notify(n mcp.JSONRPCNotification) {
	if n.Method != "notifications/progress" {
		return
	}
	f := n.Params.AdditionalFields
	progress, _ := f["progress"].(float64)
	total, _ := f["total"].(float64)
	msg, _ := f["message"].(string)
	line := msg
	if total > 0 {
		const width = 24
		filled := min(int(progress/total*width), width)
		line = fmt.Sprintf("[%s%s] %s", strings.Repeat("#", filled), strings.Repeat("-", width-filled), msg)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tty {
		fmt.Fprintf(b.w, "\r\033[K%s", line)
		b.drawn = true
		return
	}
	if line != b.last {
		fmt.Fprintln(b.w, line) // stdout-ok: b.w is stderr
		b.last = line
	}
}

func (b *progressBar) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tty && b.drawn {
		fmt.Fprintln(b.w) // stdout-ok: b.w is stderr
		b.drawn = false
	}
}
