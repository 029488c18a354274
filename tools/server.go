// Package tools is the MCP surface of vace-mcp: one tool per VACE editing
// function, tools to follow tasks, their schemas (generated from the typed
// argument structs) and their results. It knows nothing of HTTP; the
// dashscope package does the talking.
package tools

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"golang.org/x/sync/singleflight"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/internal/cancellation"
	"github.com/vace-mcp/vace-mcp/internal/clientid"
	"github.com/vace-mcp/vace-mcp/internal/journal"
	"github.com/vace-mcp/vace-mcp/internal/localfiles"
	"github.com/vace-mcp/vace-mcp/internal/mcptasks"
)

// Limits of wait_task, in seconds; the schema states the same numbers.
const (
	// DefaultWaitSeconds keeps a wait well under the ~60 s some hosts allow a call.
	DefaultWaitSeconds = 40
	// MaxWaitSeconds is the longest any common host (Cursor, VS Code) holds a call.
	MaxWaitSeconds = 300
)

// Options configures the tools.
type Options struct {
	// Client talks to DashScope (or to the sandbox's simulated DashScope).
	Client *dashscope.Client
	// Sandbox marks every result as simulated.
	Sandbox bool
	// WaitDefault is wait_task's default timeout (default 40 s).
	WaitDefault time.Duration
	// ProgressEvery is how often a wait sends a progress notification (default 5 s).
	ProgressEvery time.Duration
	// DuplicateWindow is how long an identical submission returns the earlier
	// task instead of paying again (default 15 min).
	DuplicateWindow time.Duration
	// MaxWaitsPerSession caps concurrent wait_task calls per client session,
	// or per client address for stateless HTTP requests (default 16).
	MaxWaitsPerSession int
	// MaxWaits caps concurrent wait_task calls in all (default 256).
	MaxWaits int
	Logger   *slog.Logger
	// Version is the server's version, reported at initialize.
	Version string
	// Files decides which local files may be used as inputs (none when nil).
	Files *localfiles.Policy
	// Outputs is where download_video saves videos (downloads are off when nil).
	Outputs *localfiles.OutputDir
	// MaxDownloadBytes caps a downloaded video (default dashscope.MaxResultBytes).
	MaxDownloadBytes int64
	// AutoSave makes Follow save every succeeded job's video into Outputs.
	AutoSave bool
	// FollowEvery is how often Follow looks at each unfinished job (default
	// 20 s: a job takes minutes and its video lasts 24 hours, so looking more
	// often would only spend the account's queries).
	FollowEvery time.Duration
	// Journal records submissions across processes and restarts: the
	// embedded SQLite journal, or a store shared by several instances.
	// Without it (JournalErr says why) the editing tools refuse to submit;
	// while it fails (a shared store that does not answer) they refuse too,
	// and the read-only tools answer from DashScope.
	Journal    journal.Store
	JournalErr error
	// DailyBudget caps today's estimated spending in USD across every process
	// sharing the journal; 0 means no cap.
	DailyBudget float64
	// Prices estimate costs (default dashscope.DefaultPrices).
	Prices dashscope.Prices
	// Tools names the tools and groups to offer (--tools; default all); see Select.
	Tools []string
	// ReadOnly offers only the read-only tools (--read-only); see Select.
	ReadOnly bool
	// Tasks declares MCP tasks (--tasks): the editing tools say
	// execution.taskSupport "optional" and the server declares the
	// 2025-11-25 tasks capability and the tasks extension. The task traffic
	// itself is answered in front of mcp-go (see package mcptasks).
	Tasks bool
}

// Service holds what the tools share.
type Service struct {
	client *dashscope.Client
	opts   Options
	log    *slog.Logger
	// journal records every submission, shared by the user's processes (or
	// a store's instances); nil when it could not be opened (journalErr says
	// why): then nothing is submitted.
	journal    journal.Store
	journalErr error
	waits      *waitSlots
	// intents lets this process's calls waiting for one intent's outcome
	// share one look at the journal (see awaitIntent).
	intents singleflight.Group
	// saves are this process's saves of videos for MCP tasks, by task id
	// (see saveState).
	savesMu sync.Mutex
	saves   map[string]*saving
	saving  sync.WaitGroup
	// life ends with Stop; the saves above run on it.
	life context.Context
	stop context.CancelFunc
	// troubleAt is when journalTrouble last logged (Unix ns).
	troubleAt atomic.Int64
}

// Stop ends the service's own background work (saves of videos for MCP
// tasks) and waits for it, before the journal it writes to is closed.
func (s *Service) Stop() {
	s.savesMu.Lock()
	s.stop() // under the lock: no background work starts once Wait may run
	s.savesMu.Unlock()
	s.saving.Wait()
}

// background runs f on a goroutine Stop waits for, unless the service is
// stopping; it reports whether f was started. The caller holds s.savesMu.
func (s *Service) background(f func()) bool {
	if s.life.Err() != nil {
		return false
	}
	s.saving.Add(1)
	go func() {
		defer s.saving.Done()
		f()
	}()
	return true
}

// New returns the tools' service.
func New(opts Options) *Service {
	if opts.WaitDefault <= 0 {
		opts.WaitDefault = DefaultWaitSeconds * time.Second
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = 5 * time.Second
	}
	if opts.DuplicateWindow <= 0 {
		opts.DuplicateWindow = 15 * time.Minute
	}
	if opts.MaxWaitsPerSession <= 0 {
		opts.MaxWaitsPerSession = 16
	}
	if opts.MaxWaits <= 0 {
		opts.MaxWaits = 256
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Files == nil {
		opts.Files, _ = localfiles.NewPolicy(nil)
	}
	if opts.MaxDownloadBytes <= 0 {
		opts.MaxDownloadBytes = dashscope.MaxResultBytes
	}
	if opts.FollowEvery <= 0 {
		opts.FollowEvery = 20 * time.Second
	}
	if opts.Prices == nil {
		opts.Prices = dashscope.DefaultPrices
	}
	if j, ok := opts.Journal.(*journal.Journal); ok && j == nil {
		opts.Journal = nil // a nil *Journal is no journal, not one that fails
	}
	if opts.Journal == nil && opts.JournalErr == nil {
		opts.JournalErr = &journal.UnavailableError{Path: "(none)", Err: errors.New("no journal was opened")}
	}
	life, stop := context.WithCancel(context.Background())
	return &Service{
		life: life, stop: stop,
		client:  opts.Client,
		opts:    opts,
		log:     opts.Logger,
		journal: opts.Journal, journalErr: opts.JournalErr,
		waits: &waitSlots{perSession: map[string]int{}, maxPerSession: opts.MaxWaitsPerSession, max: opts.MaxWaits},
	}
}

// Tools returns every tool, in the order tools/list shows them.
func (s *Service) Tools() []server.ServerTool {
	return []server.ServerTool{
		s.imageReference(), s.videoRepainting(), s.videoEdit(), s.videoExtension(), s.videoOutpainting(), s.videoInstructEdit(),
		s.getTask(), s.waitTask(), s.downloadVideo(), s.cancelTask(), s.listTasks(),
	}
}

// Toolsets group the tools, for choosing which ones a server offers.
const (
	// ToolsetEdit holds the paid editing tools.
	ToolsetEdit = "edit"
	// ToolsetTasks holds the tools that follow tasks: get, wait, cancel, list.
	ToolsetTasks = "tasks"
	// ToolsetFiles holds download_video, which writes to the server's disk.
	ToolsetFiles = "files"
)

// Toolset names the set a tool belongs to.
func Toolset(tool string) string {
	switch tool {
	case "download_video":
		return ToolsetFiles
	case "get_task", "wait_task", "cancel_task", "list_tasks":
		return ToolsetTasks
	}
	return ToolsetEdit
}

func isSubmitTool(name string) bool { return Toolset(name) == ToolsetEdit }

// Instructions is what the server tells a client about using the offered
// tools; it names no tool the client cannot call.
func (s *Service) Instructions(offered []server.ServerTool) string {
	var names, editing []string
	for _, t := range offered {
		names = append(names, t.Tool.Name)
		if isSubmitTool(t.Tool.Name) {
			editing = append(editing, t.Tool.Name)
		}
	}
	text := "vace-mcp edits and generates short videos with Alibaba Cloud DashScope's models: wan2.1-vace-plus (VACE: " +
		"reference images, repainting, masked edits, extension, outpainting; 5 s, no sound) and wan2.7-videoedit " +
		"(video_instruct_edit: instruction and style edits of a 2-10 s clip, with sound, up to 1080P)."
	if len(editing) > 0 {
		text += " The editing tools (" + strings.Join(editing, ", ") + ") each submit a paid job " +
			"(about USD 0.10 per second of video) and return a task_id at once."
	}
	if slices.Contains(names, "wait_task") {
		text += " Jobs take 1-10 minutes: call wait_task with the task_id " +
			"until done is true (each call waits at most timeout_seconds, default 40, and reports progress)."
		if s.opts.Tasks && len(editing) > 0 {
			text += " When the host runs an editing tool as a task, its result is the finished job: no wait_task is needed."
		}
	}
	text += " Videos and task ids expire after 24 hours"
	if slices.Contains(names, "download_video") {
		text += ": download_video saves a finished video on the server's disk"
	}
	text += "."
	if s.opts.Sandbox {
		text += " SANDBOX MODE: DashScope is simulated; results are a sample video and nothing is billed."
	}
	return text
}

// NewServer returns an MCP server offering the tools opts.Tools and
// opts.ReadOnly choose; an unknown name or an empty choice is an error.
func NewServer(opts Options) (*server.MCPServer, error) {
	return New(opts).Server()
}

// Server returns an MCP server with the offered tools registered.
func (s *Service) Server() (*server.MCPServer, error) {
	opts := s.opts
	offered, err := Select(s.Tools(), opts.Tools, opts.ReadOnly)
	if err != nil {
		return nil, err
	}
	serverOpts := []server.ServerOption{
		server.WithToolCapabilities(false),
		server.WithInstructions(s.Instructions(offered)),
		server.WithToolHandlerMiddleware(s.observe),
	}
	if tasks := TaskTools(offered); opts.Tasks && len(tasks) > 0 {
		// mcp-go's own task engine stays off and unreachable: the tools
		// registered with it carry no execution.taskSupport (mcp-go routes a
		// call to its engine only for tools that do), which is added to
		// tools/list's answer instead; the capability is declared here and
		// the task traffic answered by mcptasks.
		hooks := &server.Hooks{}
		hooks.AddAfterListTools(func(_ context.Context, _ any, _ *mcp.ListToolsRequest, result *mcp.ListToolsResult) {
			for i := range result.Tools {
				if slices.Contains(tasks, result.Tools[i].Name) {
					result.Tools[i].Execution = &mcp.ToolExecution{TaskSupport: mcp.TaskSupportOptional}
				}
			}
		})
		hooks.AddAfterInitialize(func(_ context.Context, _ any, _ *mcp.InitializeRequest, result *mcp.InitializeResult) {
			result.Capabilities.Tasks = &mcp.TasksCapability{
				Cancel: &struct{}{},
				Requests: &mcp.TaskRequestsCapability{Tools: &struct {
					Call *struct{} `json:"call,omitempty"`
				}{Call: &struct{}{}}},
			}
		})
		serverOpts = append(serverOpts, server.WithHooks(hooks),
			server.WithExtensions(map[string]any{mcptasks.ExtensionID: map[string]any{}}))
	}
	srv := server.NewMCPServer("vace-mcp", opts.Version, serverOpts...)
	srv.AddTools(offered...)
	return srv, nil
}

// observe logs every call and turns a panic into a tool error, so one bad
// call never takes the server (or a stdio host's connection) down.
func (s *Service) observe(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (res *mcp.CallToolResult, err error) {
		if call, ok := cancellation.CallID(req); ok {
			// A cancel that reached mcp-go before it registered this call
			// was lost there; the transport layer still stops the call.
			var release func()
			ctx, release = cancellation.Bind(ctx, call)
			defer release()
			if ctx.Err() != nil {
				return nil, context.Cause(ctx) // cancelled before it started: nothing runs, no answer goes out
			}
		}
		start := time.Now()
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("tool panicked", slog.String("tool", req.Params.Name), slog.Any("panic", p), slog.String("stack", string(debug.Stack())))
				res, err = mcp.NewToolResultError(fmt.Sprintf("%s hit an internal error (%v). The server is still running; please report this.", req.Params.Name, p)), nil
			}
			attrs := []any{slog.String("tool", req.Params.Name), slog.Duration("took", time.Since(start))}
			if res != nil && res.IsError {
				attrs = append(attrs, slog.Bool("tool_error", true))
			}
			if err != nil {
				attrs = append(attrs, slog.String("error", err.Error()))
			}
			s.log.Info("tool call", attrs...)
		}()
		return next(ctx, req)
	}
}

// functionOf is the tool that made a task, from the journal (any process's
// submission), else from this process's client.
func (s *Service) functionOf(taskID string) string {
	if s.journal != nil {
		if job, err := s.journal.ByTask(context.Background(), taskID); err == nil {
			return job.Tool
		}
	}
	obs, _ := s.client.LastObservation(taskID)
	return string(obs.Function)
}

// annotate sets every hint explicitly (mcp-go's defaults claim destructive
// and open-world) and the display title.
func annotate(t *mcp.Tool, title string, readOnly, destructive, idempotent bool) {
	t.Title = title
	t.Annotations = mcp.ToolAnnotation{
		Title:           title,
		ReadOnlyHint:    mcp.ToBoolPtr(readOnly),
		DestructiveHint: mcp.ToBoolPtr(destructive),
		IdempotentHint:  mcp.ToBoolPtr(idempotent),
		OpenWorldHint:   mcp.ToBoolPtr(true), // every tool reaches DashScope
	}
}

// waitSlots bounds concurrent waits per session and in all.
type waitSlots struct {
	mu            sync.Mutex
	perSession    map[string]int
	total         int
	maxPerSession int
	max           int
}

// acquire takes a slot for a wait in session (see sessionID); "" counts
// only against the total.
func (w *waitSlots) acquire(session string) (release func(), err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case session != "" && w.perSession[session] >= w.maxPerSession:
		return nil, fmt.Errorf("this client already has %d wait_task calls running (the limit); let one finish first", w.maxPerSession)
	case w.total >= w.max:
		return nil, fmt.Errorf("the server already has %d wait_task calls running (the limit); try again shortly", w.max)
	}
	if session != "" {
		w.perSession[session]++
	}
	w.total++
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.total--
		if session == "" {
			return
		}
		if w.perSession[session]--; w.perSession[session] <= 0 {
			delete(w.perSession, session)
		}
	}, nil
}

// sessionID names the client a request comes from: its MCP session or, for
// requests of the stateless protocol revision, which carry none, the client
// the transport named (see clientid); "" when neither is known.
func sessionID(ctx context.Context) string {
	if cs := server.ClientSessionFromContext(ctx); cs != nil && cs.SessionID() != "" {
		return cs.SessionID()
	}
	return clientid.From(ctx)
}
