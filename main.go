// Command vace-mcp is an MCP server that lets AI agents edit and generate
// videos with Alibaba Cloud DashScope's wan2.1-vace-plus model.
//
// Flags and environment → config → DashScope client (or the sandbox's
// simulated one) → MCP server → transport (stdio, SSE or streamable HTTP).
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/mark3labs/mcp-go/server"
	"github.com/redis/go-redis/v9"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/internal/cancellation"
	"github.com/vace-mcp/vace-mcp/internal/cli"
	"github.com/vace-mcp/vace-mcp/internal/config"
	"github.com/vace-mcp/vace-mcp/internal/journal"
	"github.com/vace-mcp/vace-mcp/internal/journal/redisjournal"
	"github.com/vace-mcp/vace-mcp/internal/localfiles"
	"github.com/vace-mcp/vace-mcp/internal/mcphttp"
	"github.com/vace-mcp/vace-mcp/internal/mcptasks"
	"github.com/vace-mcp/vace-mcp/internal/redisshared"
	"github.com/vace-mcp/vace-mcp/internal/sandbox"
	"github.com/vace-mcp/vace-mcp/internal/stdio"
	"github.com/vace-mcp/vace-mcp/tools"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr) // stdout-ok: the stdio transport's channel
	stop()
	os.Exit(code)
}

// run is the whole program; it returns the exit code. The first argument
// may name a command: call (run one tool), doctor (check the setup) or jobs
// (list the journal); without one, the server runs.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "simulate" {
		return simulate(ctx, args[1:], stdout, stderr)
	}
	command := "serve"
	if len(args) > 0 && (args[0] == "call" || args[0] == "doctor" || args[0] == "jobs") {
		command, args = args[0], args[1:]
	}
	var jobs cli.JobsOptions
	if command == "jobs" {
		var err error
		jobs, args, err = cli.ParseJobs(args)
		switch {
		case errors.Is(err, cli.ErrHelp):
			fmt.Fprintln(stdout, cli.JobsUsage) // stdout-ok: help, not the stdio transport
			return 0
		case err != nil:
			fmt.Fprintf(stderr, "vace-mcp jobs: %v\n\n%s\n", err, cli.JobsUsage)
			return 2
		}
	}
	var call cli.CallOptions
	if command == "call" {
		var err error
		call, args, err = cli.ParseCall(args, config.IsFlag, config.IsBoolFlag)
		switch {
		case errors.Is(err, cli.ErrHelp):
			fmt.Fprintln(stdout, cli.CallUsage) // stdout-ok: help, not the stdio transport
			return 0
		case err != nil:
			fmt.Fprintf(stderr, "vace-mcp call: %v\n\n%s\n", err, cli.CallUsage)
			return 2
		}
	}
	cfg, err := config.Parse(args, os.Getenv, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "vace-mcp: %v\n", err)
		return 2
	}
	if cfg.ShowVersion {
		fmt.Fprintln(stdout, "vace-mcp", appVersion()) // stdout-ok: --version, not the stdio transport
		return 0
	}
	level := cfg.LogLevel
	if command != "serve" && level == slog.LevelInfo {
		level = slog.LevelWarn // a person at a terminal wants the result, not the server's diary
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	// go-redis reports each failed dial on stderr by itself; the store's own
	// errors say what failed, so its lines go to the debug log.
	redis.SetLogger(redisLog{logger})
	if command == "call" {
		dirs, err := call.LocalDirs()
		if err != nil {
			fmt.Fprintf(stderr, "vace-mcp call: %v\n", err)
			return 2
		}
		cfg.AllowedDirs = append(cfg.AllowedDirs, dirs...) // the files the person named
	}

	jnl, closeJournal, jerr := openStore(ctx, cfg, command == "serve", logger)
	defer closeJournal()
	if command == "jobs" {
		if jerr != nil {
			fmt.Fprintf(stderr, "vace-mcp jobs: %v\n", jerr)
			return 1
		}
		return cli.Jobs(ctx, jnl, jobs, time.Now(), stdout, stderr)
	}

	client, closeBackend, err := backend(cfg, logger)
	if err != nil {
		fmt.Fprintf(stderr, "vace-mcp: %v\n", err)
		return 2
	}
	defer closeBackend()

	outputs, err := localfiles.NewOutputDir(cfg.OutputDir)
	if err != nil {
		fmt.Fprintf(stderr, "vace-mcp: --output-dir: %v\n", err)
		return 2
	}
	if command == "doctor" {
		return cli.Doctor(ctx, cli.Setup{
			Client: client, Sandbox: cfg.Sandbox, HasKey: cfg.APIKey != "",
			AllowDirs: cfg.AllowedDirs, Outputs: outputs, AuthToken: cfg.AuthToken != "",
			Transport: cfg.Transport, ListenAddr: cfg.Addr, Journal: jnl, JournalErr: jerr,
		}, stdout)
	}
	files, err := localfiles.NewPolicy(cfg.AllowedDirs)
	if err != nil {
		fmt.Fprintf(stderr, "vace-mcp: %v\n", err)
		return 2
	}
	service := tools.New(tools.Options{
		Client: client, Sandbox: cfg.Sandbox, MaxWaitsPerSession: cfg.MaxWaitsPerSession,
		ProgressEvery: cfg.ProgressInterval, Logger: logger, Version: appVersion(),
		Files: files, Outputs: outputs, Tools: cfg.Tools, ReadOnly: cfg.ReadOnly,
		Journal: jnl, JournalErr: jerr, DailyBudget: cfg.DailyBudget, Prices: cfg.Prices,
		AutoSave: cfg.AutoSave, FollowEvery: cfg.PollInterval, // a fixed --poll-interval paces auto-save too; unset, its own gentle pace
		Tasks: cfg.Tasks,
	})
	defer service.Stop() // its saves end before the journal closes (deferred earlier, so closed later)
	srv, err := service.Server()
	if err != nil {
		fmt.Fprintf(stderr, "vace-mcp: %v\n", err)
		return 2
	}
	if command == "call" {
		return cli.Call(ctx, srv, call, stdout, stderr)
	}
	tasks, err := taskLayer(ctx, cfg, service, jnl, logger)
	if err != nil {
		fmt.Fprintf(stderr, "vace-mcp: %v\n", err)
		return 2
	}
	go reconcile(ctx, service, logger)
	// Auto-save stops, and its downloads with it, before the journal closes.
	following, stopFollowing := context.WithCancel(ctx)
	followed := make(chan struct{})
	go func() { defer close(followed); service.Follow(following) }()
	defer func() { stopFollowing(); <-followed }()
	err = serve(ctx, cfg, srv, tasks, stdin, stdout, logger)
	switch {
	case err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled):
		logger.Info("stopped on signal") // a requested shutdown is a clean exit
	case err != nil:
		logger.Error("server stopped", slog.String("error", err.Error()))
		return 1
	}
	return 0
}

// simulate runs the sandbox's simulated DashScope on its own, for servers
// in other processes (tests of a server that restarts while its jobs go
// on): it prints the API root and key to use, then serves until stopped.
func simulate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: vace-mcp simulate\n\nRuns the simulated DashScope of --sandbox on a loopback port and prints DASHSCOPE_BASE_URL and DASHSCOPE_API_KEY\nfor servers started with them (and --state-dir); stops on SIGINT or SIGTERM. Nothing is billed.") // stdout-ok: stderr, the simulate command's usage
		return 2
	}
	sb, err := sandbox.Start()
	if err != nil {
		fmt.Fprintf(stderr, "vace-mcp simulate: %v\n", err)
		return 1
	}
	defer sb.Close()
	fmt.Fprintf(stdout, "DASHSCOPE_BASE_URL=%s\nDASHSCOPE_API_KEY=%s\n", sb.BaseURL(), sb.APIKey()) // stdout-ok: the simulate command's output, not the stdio transport
	<-ctx.Done()
	return 0
}

// backend returns the DashScope client: the real service, or the sandbox's.
func backend(cfg *config.Config, logger *slog.Logger) (*dashscope.Client, func(), error) {
	opts := []dashscope.Option{
		dashscope.WithUserAgent("vace-mcp/" + appVersion()),
		dashscope.WithRateLimits(dashscope.RateLimits{Query: cfg.QueryRate}),
	}
	if cfg.PollInterval > 0 {
		opts = append(opts, dashscope.WithPollSchedule(dashscope.FixedSchedule(cfg.PollInterval)))
	}
	if cfg.Sandbox {
		sb, err := sandbox.Start(opts...)
		if err != nil {
			return nil, nil, err
		}
		logger.Warn("SANDBOX MODE: DashScope is simulated in-process; no key or network needed, nothing is billed, results are a sample video",
			slog.String("simulated_api", sb.URL()), slog.Int("speedup", sandbox.Speed))
		return sb.Client, sb.Close, nil
	}
	closeShared := func() {}
	if cfg.Store == config.StoreRedis {
		// Instances sharing a store share the account: its submission and
		// query limits are counted in Redis (each falls back to this
		// process's own while Redis is down), and each task has one poller
		// among them.
		rc, err := redisshared.NewClient(cfg.RedisURL, cfg.RedisPassword)
		if err != nil {
			return nil, nil, err
		}
		shared := redisshared.New(rc, redisshared.Options{Prefix: redisjournal.DefaultPrefix, Logger: logger})
		opts = append(opts,
			dashscope.WithLimiters(shared.Limiter("submit", dashscope.DefaultRateLimits.Submit, nil), shared.Limiter("query", cfg.QueryRate, nil),
				shared.Limiter("upload", dashscope.DefaultRateLimits.Upload, nil)),
			dashscope.WithSharedPolls(shared.Polls()))
		closeShared = func() { _ = rc.Close() }
	}
	client, err := dashscope.NewClient(append(opts, dashscope.WithAPIKey(cfg.APIKey), dashscope.WithBaseURL(cfg.BaseURL),
		dashscope.WithModel(cfg.Model), dashscope.WithEditModel(cfg.EditModel))...)
	if err != nil {
		closeShared()
		return nil, nil, err
	}
	if cfg.APIKey == "" {
		logger.Warn("DASHSCOPE_API_KEY is not set: tools are listed, but every call that needs DashScope will fail until it is set; try --sandbox to explore without a key")
	}
	root := dashscope.ClassifyRoot(client.BaseURL())
	logger.Info("DashScope", slog.String("region", root.RegionName()), slog.String("root", string(root.Kind)),
		slog.String("base_url", client.BaseURL()), slog.String("model", client.Model()), slog.String("edit_model", client.EditModel()))
	if cfg.InsecureBaseURL {
		logger.Warn("INSECURE: --allow-insecure-http: the API root is plain http:// on another host, so the DashScope API key, prompts and inputs cross the network unencrypted",
			slog.String("base_url", client.BaseURL()))
	}
	for _, m := range []string{client.Model(), client.EditModel()} {
		if len(dashscope.ModelRegions(m)) == 0 {
			logger.Warn("unknown model name: used as given, its region cannot be checked", slog.String("model", m))
		}
	}
	return client, closeShared, nil
}

// serve runs the chosen transport until ctx ends (or stdin closes, for stdio).
func serve(ctx context.Context, cfg *config.Config, srv *server.MCPServer, tasks taskHooks, stdin io.Reader, stdout io.Writer, logger *slog.Logger) error {
	if cfg.Transport == config.TransportStdio {
		logger.Info("serving MCP over stdio")
		var hook func(context.Context, func([]byte)) cancellation.Hook
		if tasks != nil {
			hook = func(ctx context.Context, notify func([]byte)) cancellation.Hook { return tasks.Hook(ctx, "", notify) }
		}
		return stdio.Serve(ctx, srv, stdin, stdout, logger, hook)
	}
	if err := mcphttp.CheckExposure(cfg.Addr, cfg.AuthToken, cfg.InsecureNoAuth); err != nil {
		return err
	}
	if cfg.InsecureNoAuth && cfg.AuthToken == "" {
		logger.Warn("INSECURE: serving without --auth-token; anyone who can reach this address can spend your DashScope key", slog.String("addr", cfg.Addr))
	}
	opts := mcphttp.Options{
		AuthToken: cfg.AuthToken, AllowedOrigins: cfg.AllowedOrigins, MaxBodyBytes: cfg.MaxBodyBytes,
		ReadBodyTimeout: cfg.ReadBodyTimeout, MaxSessions: cfg.MaxSessions, SessionIdleTimeout: cfg.SessionIdleTimeout, Logger: logger,
		InstanceID: cfg.InstanceID, // session ids start with it, for a proxy's sticky routing
	}
	if tasks != nil {
		// Tasks are bound to the bearer token (none: to anyone who can reach
		// the server, which then must be loopback or --insecure-no-auth).
		// HTTP has no channel for notifications once a POST is answered.
		opts.TaskHook = tasks.Hook(ctx, cfg.AuthToken, nil)
	}
	h := mcphttp.NewHandler(srv, opts)
	defer h.Close()
	ln, err := mcphttp.Listen(cfg.Addr)
	if err != nil {
		return err
	}
	logger.Info("serving MCP over HTTP", slog.String("transport", cfg.Transport), slog.String("url", "http://"+ln.Addr().String()+endpoint(cfg.Transport)),
		slog.String("instance", cfg.InstanceID))
	return mcphttp.Serve(ctx, ln, h, mcphttp.ServeOptions{Grace: cfg.ShutdownGrace, ReadHeaderTimeout: cfg.ReadHeaderTimeout})
}

func endpoint(transport string) string {
	if transport == config.TransportSSE {
		return "/sse"
	}
	return "/mcp"
}

func appVersion() string {
	bi, _ := debug.ReadBuildInfo()
	return versionOf(version, bi)
}

// versionOf prefers -ldflags, then the module version `go install …@vX` records; a working-tree build says (devel), so "dev".
func versionOf(ldflags string, bi *debug.BuildInfo) string {
	switch {
	case ldflags != "":
		return ldflags
	case bi != nil && bi.Main.Version != "" && bi.Main.Version != "(devel)":
		return bi.Main.Version
	}
	return "dev"
}

// taskLayer returns what answers MCP task traffic, or nil when --tasks is
// off or no editing tool is offered. Task ids are signed with the store's
// key (beside the SQLite journal, or in Redis for every instance), so they
// stay good across restarts and on every instance; without a journal
// (nothing can be submitted then) the key lives only in memory. A shared
// store that does not answer at start is asked again every second, and task
// requests are refused meanwhile (see pendingTasks).
func taskLayer(ctx context.Context, cfg *config.Config, service *tools.Service, store journal.Store, logger *slog.Logger) (taskHooks, error) {
	offered, err := tools.Select(service.Tools(), cfg.Tools, cfg.ReadOnly)
	if err != nil {
		return nil, err
	}
	names := tools.TaskTools(offered)
	if !cfg.Tasks || len(names) == 0 {
		return nil, nil
	}
	layer := func(key []byte) *mcptasks.Layer {
		return mcptasks.New(mcptasks.Options{
			Jobs: service.TaskJobs(), Key: key, Tools: names,
			PollInterval: cfg.TaskPollInterval, ProgressEvery: cfg.ProgressInterval, Logger: logger,
		})
	}
	if store == nil {
		key := make([]byte, journal.TaskKeyBytes)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		return layer(key), nil
	}
	kctx, cancel := context.WithTimeout(ctx, taskKeyTimeout)
	key, err := store.TaskKey(kctx)
	cancel()
	_, embedded := store.(*journal.Journal)
	switch {
	case err == nil:
		return layer(key), nil
	case embedded || !errors.Is(err, journal.ErrUnavailable):
		logger.Warn("MCP tasks are off: the task-id key cannot be read; plain calls work as always", slog.String("error", err.Error()))
		return nil, nil
	}
	logger.Warn("MCP tasks wait for the shared job journal, which keeps their key: task requests are refused until it answers", slog.String("error", err.Error()))
	return awaitTaskKey(ctx, store, layer, err, logger), nil
}

// openStore opens the job journal: in Redis for --store redis://..., else
// the embedded journal in the state directory; the sandbox always keeps one
// of its own in a temporary directory, so simulated jobs never mix with real
// ones. A journal that cannot be opened is logged, and the server still
// starts: its tools answer, but the editing tools refuse to submit. The
// Redis store is made without contacting Redis (checked at once when
// serving, only to log): a server starts while Redis is down, refuses
// submissions meanwhile and works once it answers, with no restart.
func openStore(ctx context.Context, cfg *config.Config, serving bool, logger *slog.Logger) (journal.Store, func(), error) {
	if cfg.Store == config.StoreRedis && !cfg.Sandbox {
		return openRedis(ctx, cfg, serving, logger)
	}
	if cfg.Store == config.StoreRedis {
		logger.Warn("the sandbox keeps a journal of its own: --store is not used", slog.String("store", cfg.StoreName()))
	}
	j, done, err := openJournal(ctx, cfg, logger)
	if err != nil {
		return nil, done, err // no store, rather than a nil *Journal that would look like one
	}
	return j, done, nil
}

// openRedis makes the shared store of --store redis://...; its password is
// never logged (Describe leaves it out).
func openRedis(ctx context.Context, cfg *config.Config, serving bool, logger *slog.Logger) (journal.Store, func(), error) {
	s, err := redisjournal.New(redisjournal.Options{URL: cfg.RedisURL, Password: cfg.RedisPassword, Instance: cfg.InstanceID,
		HistoryTTL: time.Duration(cfg.HistoryDays) * 24 * time.Hour})
	if err != nil {
		logger.Error("job journal unavailable: paid submissions are refused until it works", slog.String("error", err.Error()))
		return nil, func() {}, err
	}
	closeStore := func() { _ = s.Close() }
	if !serving {
		return s, closeStore, nil
	}
	hctx, cancel := context.WithTimeout(ctx, storeCheckTimeout)
	defer cancel()
	switch h, err := s.Health(hctx); {
	case err != nil:
		logger.Error("the shared job journal does not answer: paid submissions are refused until it does, the read-only tools answer from DashScope meanwhile, and it is used as soon as it answers",
			slog.String("store", s.Describe()), slog.String("error", err.Error()))
	case h.Check != "ok":
		logger.Error("the shared job journal cannot be used: paid submissions are refused", slog.String("store", s.Describe()), slog.String("problem", h.Check))
	default:
		if n, err := s.Prune(hctx, time.Now().AddDate(0, 0, -cfg.HistoryDays)); err == nil && n > 0 {
			logger.Info("pruned old jobs from the journal", slog.Int64("jobs", n), slog.Int("history_days", cfg.HistoryDays))
		}
		logger.Info("shared job journal", slog.String("store", s.Describe()), slog.Int("jobs", h.Jobs), slog.String("instance", cfg.InstanceID))
	}
	return s, closeStore, nil
}

// storeCheckTimeout bounds the look at a shared store at start, and
// taskKeyTimeout the first request for the task-id key.
const (
	storeCheckTimeout = 5 * time.Second
	taskKeyTimeout    = 5 * time.Second
)

// openJournal opens the embedded journal: in the state directory, or for
// the sandbox a directory of its own.
func openJournal(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*journal.Journal, func(), error) {
	dir, done := cfg.StateDir, func() {}
	switch {
	case cfg.Sandbox:
		d, err := os.MkdirTemp("", "vace-mcp-sandbox-")
		if err != nil {
			return nil, done, &journal.UnavailableError{Path: os.TempDir(), Err: err}
		}
		dir, done = d, func() { _ = os.RemoveAll(d) }
	case dir == "":
		d, err := journal.DefaultDir()
		if err != nil {
			return nil, done, &journal.UnavailableError{Path: "(no state directory)", Err: fmt.Errorf("%w; set --state-dir or VACE_MCP_STATE_DIR", err)}
		}
		dir = d
	}
	j, err := journal.Open(ctx, journal.Options{Dir: dir})
	if err != nil {
		logger.Error("job journal unavailable: paid submissions are refused until it works", slog.String("error", err.Error()))
		return nil, done, err
	}
	closeAll := func() { _ = j.Close(); done() }
	if n, err := j.Prune(ctx, time.Now().AddDate(0, 0, -cfg.HistoryDays)); err == nil && n > 0 {
		logger.Info("pruned old jobs from the journal", slog.Int64("jobs", n), slog.Int("history_days", cfg.HistoryDays))
	}
	logger.Debug("job journal", slog.String("path", j.Path()))
	return j, closeAll, nil
}

// redisLog passes go-redis's own messages to the log at debug level.
type redisLog struct{ l *slog.Logger }

func (r redisLog) Printf(ctx context.Context, format string, v ...any) {
	r.l.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

// reconcile settles submissions that a stopped process left unfinished: at
// start, then every minute (another process may stop while this one runs).
func reconcile(ctx context.Context, s *tools.Service, logger *slog.Logger) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		if err := s.Reconcile(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("reconciling the journal failed; it is tried again in a minute", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
