// Command vace-mcp is an MCP server that lets AI agents edit and generate
// videos with Alibaba Cloud DashScope's wan2.1-vace-plus model.
//
// Flags and environment → config → DashScope client (or the sandbox's
// simulated one) → MCP server → transport (stdio, SSE or streamable HTTP).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/mark3labs/mcp-go/server"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/internal/config"
	"github.com/vace-mcp/vace-mcp/internal/mcphttp"
	"github.com/vace-mcp/vace-mcp/internal/sandbox"
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

// run is the whole program; it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cfg, err := config.Parse(args, os.Getenv, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "vace-mcp: %v\n", err)
		return 2
	}
	if cfg.ShowVersion {
		fmt.Fprintln(stdout, "vace-mcp", appVersion())
		return 0
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))

	client, closeBackend, err := backend(cfg, logger)
	if err != nil {
		fmt.Fprintf(stderr, "vace-mcp: %v\n", err)
		return 2
	}
	defer closeBackend()

	srv := tools.NewServer(tools.Options{
		Client: client, Sandbox: cfg.Sandbox, MaxWaitsPerSession: cfg.MaxWaitsPerSession,
		ProgressEvery: cfg.ProgressInterval, Logger: logger, Version: appVersion(),
	})
	err = serve(ctx, cfg, srv, stdin, stdout, logger)
	switch {
	case err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled):
		logger.Info("stopped on signal") // a requested shutdown is a clean exit
	case err != nil:
		logger.Error("server stopped", slog.String("error", err.Error()))
		return 1
	}
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
	client, err := dashscope.NewClient(append(opts, dashscope.WithAPIKey(cfg.APIKey), dashscope.WithBaseURL(cfg.BaseURL),
		dashscope.WithModel(cfg.Model), dashscope.WithWorkspace(cfg.Workspace))...)
	if err != nil {
		return nil, nil, err
	}
	if cfg.APIKey == "" {
		logger.Warn("DASHSCOPE_API_KEY is not set: tools are listed, but every call that needs DashScope will fail until it is set; try --sandbox to explore without a key")
	}
	logger.Info("DashScope", slog.String("region", cfg.Region), slog.String("base_url", client.BaseURL()), slog.String("model", client.Model()))
	return client, func() {}, nil
}

// serve runs the chosen transport until ctx ends (or stdin closes, for stdio).
func serve(ctx context.Context, cfg *config.Config, srv *server.MCPServer, stdin io.Reader, stdout io.Writer, logger *slog.Logger) error {
	if cfg.Transport == config.TransportStdio {
		stdio := server.NewStdioServer(srv)
		server.WithWorkerPoolSize(64)(stdio) // waits are long: mcp-go's default of 5 would queue the sixth call
		stdio.SetErrorLogger(slog.NewLogLogger(logger.Handler(), slog.LevelError))
		logger.Info("serving MCP over stdio")
		return stdio.Listen(ctx, stdin, stdout)
	}
	if err := mcphttp.CheckExposure(cfg.Addr, cfg.AuthToken, cfg.InsecureNoAuth); err != nil {
		return err
	}
	if cfg.InsecureNoAuth && cfg.AuthToken == "" {
		logger.Warn("INSECURE: serving without --auth-token; anyone who can reach this address can spend your DashScope key", slog.String("addr", cfg.Addr))
	}
	h := mcphttp.NewHandler(srv, mcphttp.Options{
		AuthToken: cfg.AuthToken, AllowedOrigins: cfg.AllowedOrigins, MaxBodyBytes: cfg.MaxBodyBytes,
		MaxSessions: cfg.MaxSessions, SessionIdleTimeout: cfg.SessionIdleTimeout, Logger: logger,
	})
	defer h.Close()
	ln, err := mcphttp.Listen(cfg.Addr)
	if err != nil {
		return err
	}
	logger.Info("serving MCP over HTTP", slog.String("transport", cfg.Transport), slog.String("url", "http://"+ln.Addr().String()+endpoint(cfg.Transport)))
	return mcphttp.Serve(ctx, ln, h, cfg.ShutdownGrace)
}

func endpoint(transport string) string {
	if transport == config.TransportSSE {
		return "/sse"
	}
	return "/mcp"
}

func appVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func init() {
	log.SetOutput(os.Stderr) // stray standard-library logs must never reach stdout, which stdio owns
}
