package tools

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
	"github.com/vace-mcp/vace-mcp/internal/docgen"
	"github.com/vace-mcp/vace-mcp/internal/journal"
)

// testService returns the tools' service on a fake DashScope.
func testService(t *testing.T) (*Service, *dashscopetest.Server) {
	t.Helper()
	fake := dashscopetest.NewServer(t)
	c, err := fake.Client()
	require.NoError(t, err)
	return New(Options{Client: c, Journal: testJournal(t)}), fake
}

// update rewrites snapshots and generated documentation instead of comparing:
// UPDATE_TOOLSNAPS=1 go test ./tools/
var update = docgen.Update

// TestToolSchemaSnapshots pins every tool's definition (schemas, annotations,
// descriptions): a changed schema is a visible diff in review.
func TestToolSchemaSnapshots(t *testing.T) {
	s, _ := testService(t)
	for _, tool := range s.Tools() {
		t.Run(tool.Tool.Name, func(t *testing.T) {
			got, err := json.MarshalIndent(tool.Tool, "", "  ")
			require.NoError(t, err)
			path := filepath.Join("__toolsnaps__", tool.Tool.Name+".snap")
			if update {
				require.NoError(t, os.MkdirAll("__toolsnaps__", 0o755))
				require.NoError(t, os.WriteFile(path, append(got, '\n'), 0o644))
				return
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "no snapshot: run UPDATE_TOOLSNAPS=1 go test ./tools/")
			assert.Equal(t, strings.TrimSpace(string(want)), string(got), "schema changed: review it, then run UPDATE_TOOLSNAPS=1 go test ./tools/")
		})
	}
}

// TestReadmeToolReferenceIsCurrent fails when README.md's tool reference no
// longer matches the definitions.
func TestReadmeToolReferenceIsCurrent(t *testing.T) {
	s, _ := testService(t)
	docgen.CheckSection(t, filepath.Join("..", "README.md"), "tools", Reference(s.Tools()))
}

// The tools/list budget: every byte is read by the model in every
// conversation. README reports the current figures.
const (
	// toolsListBudget is the most bytes the whole tools/list answer may take.
	toolsListBudget = 20 * 1024
	// perToolBudget is the most bytes, on average per tool, of what hosts
	// show the model: name, title, description and input schema.
	perToolBudget = 1000
)

// modelFacing is the part of a tool definition that hosts put in front of the model.
func modelFacing(t mcp.Tool) int {
	return len(t.Name) + len(t.Title) + len(t.Description) + len(t.RawInputSchema)
}

func TestToolsListFitsItsBudget(t *testing.T) {
	s, _ := testService(t)
	var defs []mcp.Tool
	facing := 0
	for _, tool := range s.Tools() {
		defs = append(defs, tool.Tool)
		facing += modelFacing(tool.Tool)
		t.Logf("%-18s %4d bytes model-facing", tool.Tool.Name, modelFacing(tool.Tool))
	}
	// The answer as a client gets it: with MCP tasks on, the editing tools
	// also carry execution.taskSupport.
	c, err := dashscopetest.NewServer(t).Client()
	require.NoError(t, err)
	srv, err := New(Options{Client: c, Journal: testJournal(t), Tasks: true}).Server()
	require.NoError(t, err)
	b, err := json.Marshal(srv.HandleMessage(t.Context(), []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)))
	require.NoError(t, err)
	require.Contains(t, string(b), `"taskSupport":"optional"`)
	t.Logf("tools/list is %d bytes (budget %d); model-facing %d bytes per tool on average (budget %d)",
		len(b), toolsListBudget, facing/len(defs), perToolBudget)
	assert.LessOrEqual(t, len(b), toolsListBudget)
	assert.LessOrEqual(t, facing/len(defs), perToolBudget)
}

func TestEveryArgumentIsDescribed(t *testing.T) {
	s, _ := testService(t)
	for _, tool := range s.Tools() {
		var schema struct {
			Properties map[string]struct {
				Description string `json:"description"`
			} `json:"properties"`
		}
		require.NoError(t, json.Unmarshal(tool.Tool.RawInputSchema, &schema))
		for name, p := range schema.Properties {
			assert.NotEmpty(t, p.Description, "%s.%s", tool.Tool.Name, name)
		}
	}
}

// TestSchemaLimitsAgreeWithValidation checks that each numeric range and enum
// the schema advertises is the one the request validation enforces.
func TestSchemaLimitsAgreeWithValidation(t *testing.T) {
	s, _ := testService(t)
	valid := map[string]map[string]any{
		"image_reference":     {"prompt": "p", "ref_images_url": []any{"https://x/a.png"}},
		"video_repainting":    {"prompt": "p", "video_url": "https://x/v.mp4", "control_condition": "depth"},
		"video_edit":          {"prompt": "p", "video_url": "https://x/v.mp4", "mask_image_url": "https://x/m.png"},
		"video_extension":     {"prompt": "p", "first_clip_url": "https://x/c.mp4", "video_url": "https://x/v.mp4", "control_condition": "depth"},
		"video_outpainting":   {"prompt": "p", "video_url": "https://x/v.mp4"},
		"video_instruct_edit": {"video_url": "https://x/v.mp4"},
	}
	for _, tool := range s.Tools() {
		if !isSubmitTool(tool.Tool.Name) {
			continue
		}
		name := tool.Tool.Name
		var schema struct {
			Properties map[string]struct {
				Type    string   `json:"type"`
				Minimum *float64 `json:"minimum"`
				Maximum *float64 `json:"maximum"`
				Enum    []string `json:"enum"`
			} `json:"properties"`
		}
		require.NoError(t, json.Unmarshal(tool.Tool.RawInputSchema, &schema))
		for field, p := range schema.Properties {
			try := func(v any) error {
				args := map[string]any{}
				for k, v := range valid[name] {
					args[k] = v
				}
				args[field] = v
				return validateArgs(t, name, args)
			}
			if p.Minimum != nil {
				assert.NoError(t, try(*p.Minimum), "%s.%s at its minimum", name, field)
				below := *p.Minimum - 0.01
				if p.Type == "integer" {
					below = *p.Minimum - 1
				}
				assert.Error(t, try(below), "%s.%s below its minimum", name, field)
			}
			if p.Maximum != nil {
				assert.NoError(t, try(*p.Maximum), "%s.%s at its maximum", name, field)
				above := *p.Maximum + 0.01
				if p.Type == "integer" {
					above = *p.Maximum + 1
				}
				assert.Error(t, try(above), "%s.%s above its maximum", name, field)
			}
			for _, e := range p.Enum {
				assert.NoError(t, try(e), "%s.%s = %q", name, field, e)
			}
			if len(p.Enum) > 0 {
				assert.Error(t, try("not-"+p.Enum[0]), "%s.%s outside its enum", name, field)
			}
		}
	}
}

// validateArgs binds and validates arguments as the submit tools do.
func validateArgs(t *testing.T, tool string, args map[string]any) error {
	req := mcp.CallToolRequest{}
	req.Params.Arguments = args
	var a submitArgs
	switch tool {
	case "image_reference":
		a = bindTo[ImageReferenceArgs](t, req)
	case "video_repainting":
		a = bindTo[VideoRepaintingArgs](t, req)
	case "video_edit":
		a = bindTo[VideoEditArgs](t, req)
	case "video_extension":
		a = bindTo[VideoExtensionArgs](t, req)
	case "video_outpainting":
		a = bindTo[VideoOutpaintingArgs](t, req)
	case "video_instruct_edit":
		a = bindTo[VideoInstructEditArgs](t, req)
	}
	return a.request().Validate()
}

func bindTo[A submitArgs](t *testing.T, req mcp.CallToolRequest) submitArgs {
	var a A
	require.NoError(t, bindArgs(rawArguments(req), &a))
	return a
}

func TestBindArgsNamesTheArgument(t *testing.T) {
	tests := []struct {
		args  any
		field string
		says  string
	}{
		{map[string]any{"top_scale": "1.5"}, "top_scale", "must be a number, not a JSON string"},
		{map[string]any{"seed": 1.5}, "seed", "must be an integer"},
		{map[string]any{"prompt_extend": 1}, "prompt_extend", "must be true or false"},
		{map[string]any{"prompt": []any{"a"}}, "prompt", "must be a string"},
		{map[string]any{"videourl": "x"}, "videourl", "it takes prompt, video_url, top_scale"},
		{map[string]any{"PROMPT": "x"}, "PROMPT", "is not an argument"},
		{map[string]any{"Left_Scale": 1.5}, "Left_Scale", "is not an argument"},
		{[]any{"p"}, "arguments", "JSON object"},
	}
	for _, tc := range tests {
		req := mcp.CallToolRequest{}
		req.Params.Arguments = tc.args
		var a VideoOutpaintingArgs
		err := bindArgs(rawArguments(req), &a)
		var fe *dashscope.FieldError
		require.ErrorAs(t, err, &fe, "%v", tc.args)
		assert.Equal(t, tc.field, fe.Field)
		assert.Contains(t, fe.Problem, tc.says)
	}
	req := mcp.CallToolRequest{}
	var a VideoOutpaintingArgs
	assert.NoError(t, bindArgs(rawArguments(req), &a), "no arguments at all is an empty object")
}

// TestIntegerArgumentsTakeAnyWholeNumberSpelling: JSON Schema's "integer"
// is any whole number, however it is written; a fraction is refused by name.
func TestIntegerArgumentsTakeAnyWholeNumberSpelling(t *testing.T) {
	for spelling, want := range map[string]int{
		"3": 3, "3.0": 3, "3e0": 3, "30e-1": 3, "0.3E1": 3, "3.000e+00": 3, "-0.0": 0, "0e-999999999999": 0,
		"2147483647": 2147483647, "2147483647.0": 2147483647, "21474836470e-1": 2147483647, "2.147483647e9": 2147483647,
		"9007199254740993.0": 9007199254740993, // above 2^53: exact, not rounded through float64
	} {
		var a VideoOutpaintingArgs
		require.NoError(t, bindArgs(json.RawMessage(`{"seed":`+spelling+`}`), &a), spelling)
		require.NotNil(t, a.Seed, spelling)
		assert.Equal(t, want, *a.Seed, spelling)
	}
	for spelling, says := range map[string]string{
		"3.5":                    "must be an integer, not 3.5",
		"35e-1":                  "must be an integer, not 35e-1",
		"1e-400":                 "must be an integer, not 1e-400",
		"1e400":                  "out of range",
		"1e99999999999999999999": "out of range",
		"9223372036854775808":    "out of range",
	} {
		var a VideoOutpaintingArgs
		err := bindArgs(json.RawMessage(`{"prompt":"p","seed":`+spelling+`}`), &a)
		var fe *dashscope.FieldError
		require.ErrorAs(t, err, &fe, spelling)
		assert.Equal(t, "seed", fe.Field)
		assert.Contains(t, fe.Problem, says)
	}
	var l ListTasksArgs
	require.NoError(t, bindArgs(json.RawMessage(`{"page_no":2.0,"page_size":1e1,"status":"RUNNING"}`), &l))
	assert.Equal(t, 2, *l.PageNo)
	assert.Equal(t, 10, *l.PageSize)
	var w WaitTaskArgs
	err := bindArgs(json.RawMessage(`{"task_id":"t","timeout_seconds":"30"}`), &w)
	assert.ErrorContains(t, err, "timeout_seconds: must be an integer, not a JSON string", "a string is still the wrong type")
}

func TestHumanDurations(t *testing.T) {
	assert.Equal(t, "45s", human(45))
	assert.Equal(t, "3m10s", human(190))
	assert.Equal(t, "5m", human(300))
}

// testJournal opens a journal of the test's own.
func testJournal(t testing.TB) *journal.Journal {
	t.Helper()
	j, err := journal.Open(t.Context(), journal.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	return j
}
