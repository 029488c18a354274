// Package config reads vace-mcp's flags and environment into a Config,
// refusing bad values at start with a message that says what is allowed.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/internal/localfiles"
)

// Stores the job journal can be kept in (see --store).
const (
	// StoreSQLite is the embedded journal, a file in the state directory.
	StoreSQLite = "sqlite"
	// StoreRedis is a journal in Redis, shared by several instances.
	StoreRedis = "redis"
)

// Transports the server can speak.
const (
	TransportStdio = "stdio"
	TransportSSE   = "sse"
	TransportHTTP  = "http"
)

// Config is everything the server needs to start.
type Config struct {
	Transport string
	Addr      string

	// APIKey comes only from DASHSCOPE_API_KEY. It is never printed.
	APIKey string
	// Region is the vendor root's region or, for a custom root such as a
	// proxy, the one --region named, which only picks the default model.
	Region  string
	BaseURL string
	Model   string
	// EditModel is the model video_instruct_edit submits to.
	EditModel string
	Workspace string
	Sandbox   bool
	// AllowInsecureHTTP lets BaseURL be plain http:// to a host other than loopback.
	AllowInsecureHTTP bool
	// InsecureBaseURL is set when it is: the key then crosses the network in
	// clear text, which the server logs loudly.
	InsecureBaseURL bool

	LogLevel    slog.Level
	ShowVersion bool

	// PollInterval, when set, replaces the adaptive poll schedule with a fixed interval.
	PollInterval time.Duration
	// ProgressInterval is how often a waiting call reports progress.
	ProgressInterval time.Duration
	// QueryRate caps task queries per second (DashScope allows 20 per account).
	QueryRate float64

	// HTTP transports.
	AuthToken          string
	AllowedOrigins     []string
	InsecureNoAuth     bool
	SessionIdleTimeout time.Duration
	MaxBodyBytes       int64
	MaxSessions        int
	MaxWaitsPerSession int
	ShutdownGrace      time.Duration
	ReadHeaderTimeout  time.Duration
	ReadBodyTimeout    time.Duration

	// Local files (inputs) and downloads (outputs).
	AllowedDirs []string
	OutputDir   string
	// Tasks offers MCP tasks (both protocols) for the editing tools.
	Tasks bool
	// TaskPollInterval is the poll interval suggested to task clients.
	TaskPollInterval time.Duration
	// AutoSave saves every succeeded job's video into OutputDir while a
	// server runs, so a job nobody waited for is not lost when its URL expires.
	AutoSave bool

	// StateDir holds the job journal (default: the user's state directory);
	// --store sqlite:DIR sets it too.
	StateDir string
	// Store is where the journal is kept: StoreSQLite (in StateDir) or
	// StoreRedis (at RedisURL).
	Store string
	// RedisURL is --store's redis:// or rediss:// URL, with its password if
	// it has one: never print it; StoreName is for people.
	RedisURL string
	// RedisPassword comes only from VACE_MCP_REDIS_PASSWORD and, when set,
	// replaces the URL's. It is never printed.
	RedisPassword string
	// InstanceID names this server among several sharing a store: it starts
	// every HTTP session id the server issues, so a proxy can route a
	// session to the instance that holds it.
	InstanceID string
	// DailyBudget caps today's estimated spending in USD; 0 is no cap.
	DailyBudget float64
	// HistoryDays is how long the journal keeps jobs.
	HistoryDays int
	// Prices estimate costs, USD per billed second.
	Prices dashscope.Prices

	// Tools names the tools and groups to offer; package tools checks the names.
	Tools []string
	// ReadOnly offers only the tools that cannot spend money, cancel or write.
	ReadOnly bool
}

// Flag documents one flag: its name, the environment variable that can set
// it, its default and what it does. README's table is generated from these.
type Flag struct {
	Name, Env, Default, Usage string
	// Bool flags take no value on the command line.
	Bool bool
}

// env is how the environment is read (os.Getenv in production).
type env func(string) string

// spec binds flags to a Config; it is built once per Parse.
type spec struct {
	fs    *flag.FlagSet
	flags []Flag
	env   env
	set   map[string]bool // flags given on the command line or by the environment
	errs  []error         // environment values that do not parse
}

// binder registers one flag with its starting value (default or environment).
type binder struct {
	bind   func(fs *flag.FlagSet, name, value, usage string) error
	isBool bool
}

func (s *spec) add(name, envName, def, usage string, b binder) {
	value := def
	if envName != "" && s.env(envName) != "" {
		value = s.env(envName)
		s.set[name] = true
	}
	if err := b.bind(s.fs, name, value, usage); err != nil {
		s.errs = append(s.errs, fmt.Errorf("%s=%q: %w", envName, value, err))
	}
	s.flags = append(s.flags, Flag{Name: name, Env: envName, Default: def, Usage: usage, Bool: b.isBool})
}

// Parse reads args (without the program name) and the environment.
func Parse(args []string, getenv func(string) string, stderr io.Writer) (*Config, error) {
	c, r, s := &Config{}, &raw{}, newSpec(getenv)
	s.fs.SetOutput(stderr)
	bindAll(c, r, s)
	if err := s.fs.Parse(args); err != nil {
		return nil, err
	}
	if s.fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (flags start with --; see --help)", s.fs.Arg(0))
	}
	s.fs.Visit(func(f *flag.Flag) { s.set[f.Name] = true })
	if err := c.finish(r, s); err != nil {
		return nil, err
	}
	return c, nil
}

// IsFlag reports whether name (without dashes) is one of the server's flags.
func IsFlag(name string) bool {
	for _, f := range Flags() {
		if f.Name == name {
			return true
		}
	}
	return false
}

// IsBoolFlag reports whether the flag takes no value.
func IsBoolFlag(name string) bool {
	for _, f := range Flags() {
		if f.Name == name {
			return f.Bool
		}
	}
	return false
}

// Flags lists every flag, for documentation.
func Flags() []Flag {
	s := newSpec(func(string) string { return "" })
	bindAll(&Config{}, &raw{}, s)
	return s.flags
}

func newSpec(getenv func(string) string) *spec {
	return &spec{fs: flag.NewFlagSet("vace-mcp", flag.ContinueOnError), env: getenv, set: map[string]bool{}}
}

// raw holds flag values as given, for finish to check and convert.
type raw struct {
	logLevel, idle, grace, maxBody, maxSessions, maxWaits, poll, progress, queryRate, headerTimeout, bodyTimeout string
	budget, historyDays, prices, taskPoll, store                                                                 string
}

func bindAll(c *Config, r *raw, s *spec) {
	str := func(dst *string) binder {
		return binder{bind: func(fs *flag.FlagSet, name, value, usage string) error {
			fs.StringVar(dst, name, value, usage)
			return nil
		}}
	}
	boolean := func(dst *bool) binder {
		return binder{isBool: true, bind: func(fs *flag.FlagSet, name, value, usage string) error {
			v, err := strconv.ParseBool(value)
			fs.BoolVar(dst, name, v, usage)
			if err != nil {
				return errors.New("use true or false")
			}
			return nil
		}}
	}
	// secret is a string flag whose value may hold a password: --help shows
	// it without one.
	secret := func(dst *string) binder {
		return binder{bind: func(fs *flag.FlagSet, name, value, usage string) error {
			*dst = value
			fs.Var(secretValue{dst}, name, usage)
			return nil
		}}
	}
	list := func(dst *[]string, sep string) binder {
		return binder{bind: func(fs *flag.FlagSet, name, value, usage string) error {
			*dst = splitList(value, sep)
			fs.Var(&listValue{dst: dst, fromEnv: len(*dst) > 0}, name, usage)
			return nil
		}}
	}
	s.add("transport", "VACE_MCP_TRANSPORT", TransportStdio, "how clients connect: stdio, or http/sse, which both serve streamable HTTP at /mcp and SSE at /sse and /message (the value picks the URL logged)", str(&c.Transport))
	s.add("addr", "VACE_MCP_ADDR", "127.0.0.1:8080", "listen address for sse and http", str(&c.Addr))
	s.add("sandbox", "VACE_MCP_SANDBOX", "false", "use a built-in simulated DashScope: no key, no network, nothing billed, results labelled simulated", boolean(&c.Sandbox))
	s.add("region", "DASHSCOPE_REGION", "intl", "DashScope region, intl (Singapore) or cn (Beijing): picks the default model and, without --base-url, the API root (the shared domain, or with --workspace the workspace's)", str(&c.Region))
	s.add("base-url", "DASHSCOPE_BASE_URL", "", "API root, a full URL prefix such as https://dashscope-intl.aliyuncs.com/api/v1 or a proxy's .../api/v1, without a query or fragment (also read from DASHSCOPE_HTTP_BASE_URL); a vendor root must be in the model's region, a custom one is not checked; plain http:// only to loopback (see --allow-insecure-http); a user and password in it are never shown", str(&c.BaseURL))
	s.add("allow-insecure-http", "VACE_MCP_ALLOW_INSECURE_HTTP", "false", "allow a plain http:// --base-url on a host other than loopback: the API key, prompts and inputs then cross the network unencrypted (logged as a warning at start)", boolean(&c.AllowInsecureHTTP))
	s.add("model", "DASHSCOPE_MODEL", "", "VACE model name for the five VACE tools (default: the region's, wan2.1-vace-plus or wanx2.1-vace-plus)", str(&c.Model))
	s.add("edit-model", "DASHSCOPE_EDIT_MODEL", dashscope.EditModel, "model name for video_instruct_edit (the same in every region; change it when the vendor ships a successor)", str(&c.EditModel))
	s.add("workspace", "DASHSCOPE_WORKSPACE", "", "DashScope workspace id (such as llm-xxx): call the workspace's own domain in --region, the root the vendor recommends, instead of the shared one; not with --base-url", str(&c.Workspace))
	s.add("poll-interval", "VACE_MCP_POLL_INTERVAL", "", "query task status at this fixed interval (default: an adaptive schedule, about half the official SDK's queries)", str(&r.poll))
	s.add("progress-interval", "VACE_MCP_PROGRESS_INTERVAL", "5s", "how often wait_task sends a progress notification", str(&r.progress))
	s.add("query-rate", "VACE_MCP_QUERY_RATE", "20", "task queries per second at most, across all clients (DashScope's account limit is 20; raise it only if yours is higher)", str(&r.queryRate))
	s.add("log-level", "VACE_MCP_LOG_LEVEL", "info", "log level on stderr: debug, info, warn or error", str(&r.logLevel))
	s.add("version", "", "false", "print the version and exit", boolean(&c.ShowVersion))
	s.add("auth-token", "VACE_MCP_AUTH_TOKEN", "", "require 'Authorization: Bearer <token>' on every HTTP request (sse and http)", str(&c.AuthToken))
	s.add("allow-origin", "VACE_MCP_ALLOW_ORIGINS", "", "an extra browser Origin to accept besides loopback (repeatable; the variable takes a comma-separated list)", list(&c.AllowedOrigins, ","))
	s.add("insecure-no-auth", "", "false", "allow listening on a non-loopback address without --auth-token (anyone who can reach it spends your key)", boolean(&c.InsecureNoAuth))
	s.add("session-idle-timeout", "VACE_MCP_SESSION_IDLE_TIMEOUT", "30m", "end streamable HTTP sessions idle this long", str(&r.idle))
	s.add("read-header-timeout", "VACE_MCP_READ_HEADER_TIMEOUT", "10s", "how long an HTTP client may take to send its request headers", str(&r.headerTimeout))
	s.add("read-body-timeout", "VACE_MCP_READ_BODY_TIMEOUT", "30s", "how long an HTTP client may take to send a request body once its headers are in (then 408 and the connection closes)", str(&r.bodyTimeout))
	s.add("max-body-bytes", "VACE_MCP_MAX_BODY_BYTES", "1048576", "largest HTTP request body accepted", str(&r.maxBody))
	s.add("max-sessions", "VACE_MCP_MAX_SESSIONS", "256", "most streamable HTTP sessions at once", str(&r.maxSessions))
	s.add("max-waits-per-session", "VACE_MCP_MAX_WAITS_PER_SESSION", "16", "most wait_task calls running at once per client session (for stateless 2026-07-28 HTTP clients, per client IP address)", str(&r.maxWaits))
	s.add("shutdown-grace", "VACE_MCP_SHUTDOWN_GRACE", "10s", "on SIGINT/SIGTERM, how long in-flight calls may finish before they are cancelled", str(&r.grace))
	s.add("allow-dir", "VACE_MCP_ALLOW_DIRS", "", "a directory whose files may be used as local inputs (repeatable; the variable takes a list separated by the OS path list separator)", list(&c.AllowedDirs, string(os.PathListSeparator)))
	s.add("output-dir", "VACE_MCP_OUTPUT_DIR", "", "where videos are saved (default: $XDG_VIDEOS_DIR/vace-mcp, else ~/Movies/vace-mcp on macOS, ~/Videos/vace-mcp elsewhere); a relative path is relative to the working directory", str(&c.OutputDir))
	s.add("auto-save", "VACE_MCP_AUTO_SAVE", "true", "while a server runs, save every succeeded job's video into --output-dir before its URL expires, including jobs that finished while no server ran (up to 24 h back); one process saves each", boolean(&c.AutoSave))
	s.add("tasks", "VACE_MCP_TASKS", "true", "offer MCP tasks: hosts that speak them (VS Code; Claude Code through the 2026-07-28 tasks extension) run an editing tool as a task, poll it and get the finished video without wait_task; false stops declaring the capability and every call is a plain one", boolean(&c.Tasks))
	s.add("task-poll-interval", "VACE_MCP_TASK_POLL_INTERVAL", "10s", "poll interval suggested to task clients (pollInterval); hosts poll tasks/get this often", str(&r.taskPoll))
	s.add("state-dir", "VACE_MCP_STATE_DIR", "", "directory of the job journal shared by every vace-mcp process of this user (default: $XDG_STATE_HOME/vace-mcp, ~/.local/state/vace-mcp, or the OS's equivalent)", str(&c.StateDir))
	s.add("store", "VACE_MCP_STORE", "", "where the job journal is kept: empty or sqlite: for the embedded journal in --state-dir, sqlite:DIR for one in DIR (instead of --state-dir), "+
		"or redis://[:password@]host:port/db (rediss:// for TLS) for a journal, duplicate guard, budget and save lease shared by several instances; "+
		"the password may come from VACE_MCP_REDIS_PASSWORD instead, and is never shown", secret(&r.store))
	s.add("instance-id", "VACE_MCP_INSTANCE_ID", "", "this instance's name among several sharing a --store, 1-32 letters, digits or underscores: it starts every HTTP session id "+
		"it issues (<id>-...), so a reverse proxy can send each session to the instance that holds it (default: 8 random hex digits)", str(&c.InstanceID))
	s.add("daily-budget", "VACE_MCP_DAILY_BUDGET", "", "refuse a submission whose estimated cost would take today's total (all processes sharing the journal; the local day, or the UTC day with a Redis --store) past this many USD; off when empty", str(&r.budget))
	s.add("history-days", "VACE_MCP_HISTORY_DAYS", "90", "how many days the journal keeps finished jobs", str(&r.historyDays))
	s.add("prices", "VACE_MCP_PRICES", "", "USD per billed second for estimates, replacing defaults: model=USD or model:tier=USD, comma-separated (defaults: 0.10 for VACE; wan2.7-videoedit 0.10 at 720P, 0.15 at 1080P)", str(&r.prices))
	s.add("tools", "VACE_MCP_TOOLS", "all", "tools to offer, comma-separated: tool names or groups edit (the paid editing tools), tasks (get_task, wait_task, cancel_task, list_tasks), files (download_video) or all", list(&c.Tools, ","))
	s.add("read-only", "VACE_MCP_READ_ONLY", "false", "offer only read-only tools: none that can spend money, cancel a task or write a file (narrows --tools)", boolean(&c.ReadOnly))
}

// finish checks values and fills what follows from them.
func (c *Config) finish(r *raw, s *spec) error {
	errs := s.errs
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if !slices.Contains([]string{TransportStdio, TransportSSE, TransportHTTP}, c.Transport) {
		bad("--transport %q: use stdio, sse or http", c.Transport)
	}
	if c.Transport != TransportStdio {
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			bad("--addr %q: use host:port, such as 127.0.0.1:8080", c.Addr)
		}
	}
	if err := c.LogLevel.UnmarshalText([]byte(r.logLevel)); err != nil {
		bad("--log-level %q: use debug, info, warn or error", r.logLevel)
	}
	c.APIKey = strings.TrimSpace(s.env("DASHSCOPE_API_KEY"))

	region, ok := dashscope.Regions[c.Region]
	if !ok {
		intl, cn := dashscope.RegionIntl, dashscope.RegionCN
		bad("--region %q: use %s (%s, %s) or %s (%s, %s)", c.Region, intl.Name, intl.Place, intl.Model, cn.Name, cn.Place, cn.Model)
	}
	rootFlag := "--base-url"
	if c.BaseURL == "" && s.env("DASHSCOPE_HTTP_BASE_URL") != "" {
		c.BaseURL, rootFlag = s.env("DASHSCOPE_HTTP_BASE_URL"), "DASHSCOPE_HTTP_BASE_URL"
	}
	rootGiven := c.BaseURL != ""
	shownRoot := dashscope.RedactURL(c.BaseURL) // a proxy's user name and password stay out of messages
	switch {
	case c.Workspace != "" && rootGiven:
		bad("--workspace %s and %s %s both choose the API root: give one or the other (--workspace with --region builds the workspace domain's root)", c.Workspace, rootFlag, shownRoot)
	case c.Workspace != "" && ok:
		root, err := region.WorkspaceRoot(c.Workspace)
		if err != nil {
			bad("--workspace: %v", err)
		}
		c.BaseURL = root
	case !rootGiven:
		c.BaseURL = region.BaseURL
	case !validRoot(c.BaseURL):
		bad("%s %q: give the full API root, such as %s", rootFlag, shownRoot, dashscope.RegionIntl.BaseURL)
	case strings.ContainsAny(c.BaseURL, "?#"):
		bad("%s %q: remove the query or fragment: the API root is a prefix that every call's path is appended to, such as %s", rootFlag, shownRoot, dashscope.RegionIntl.BaseURL)
	case dashscope.InsecureRoot(c.BaseURL) && !c.AllowInsecureHTTP:
		bad("%s %s: plain http:// to a host other than loopback would send the API key unencrypted: use https://, "+
			"or add --allow-insecure-http (VACE_MCP_ALLOW_INSECURE_HTTP=true) if the network to it is trusted", rootFlag, shownRoot)
	}
	c.InsecureBaseURL = dashscope.InsecureRoot(c.BaseURL)
	if root := dashscope.ClassifyRoot(c.BaseURL); root.Kind != dashscope.RootCustom {
		if ok && s.set["region"] && root.Region.Name != region.Name {
			bad("--region %s conflicts with the API root %s, which is in %s (region %s): keys, roots and models only work within one region, so drop one of them", c.Region, shownRoot, root.Region.Place, root.Region.Name)
		}
		region = root.Region // a vendor root decides the region; a custom one leaves it to --region
	}
	var mismatch *dashscope.ModelRegionError
	switch err := dashscope.CheckModel(c.BaseURL, c.Model); {
	case c.Model == "":
		c.Model = region.Model
	case errors.As(err, &mismatch):
		fix := "--region " + mismatch.ModelRegion.Name
		if rootGiven {
			fix = fmt.Sprintf("a %s root in %s (such as %s)", mismatch.ModelRegion.Place, rootFlag, mismatch.ModelRegion.BaseURL)
		}
		if mismatch.RootModel != "" {
			fix += ", or --model " + mismatch.RootModel
		}
		bad("--model %s is the %s (%s) name for the model, but the API root %s is in %s (%s): use %s",
			c.Model, mismatch.ModelRegion.Place, mismatch.ModelRegion.Name, mismatch.Root, mismatch.RootRegion.Place, mismatch.RootRegion.Name, fix)
	}
	switch err := dashscope.CheckModel(c.BaseURL, c.EditModel); {
	case c.EditModel == "":
		bad("--edit-model must not be empty (default %s)", dashscope.EditModel)
	case err != nil:
		bad("--edit-model %s: %v", c.EditModel, err)
	}
	c.Region = region.Name

	dur := func(name, v string, dst *time.Duration) {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			bad("--%s %q: use a positive duration such as 30m or 10s", name, v)
		}
		*dst = d
	}
	dur("session-idle-timeout", r.idle, &c.SessionIdleTimeout)
	dur("progress-interval", r.progress, &c.ProgressInterval)
	if r.poll != "" {
		dur("poll-interval", r.poll, &c.PollInterval)
	}
	dur("shutdown-grace", r.grace, &c.ShutdownGrace)
	dur("task-poll-interval", r.taskPoll, &c.TaskPollInterval)
	dur("read-header-timeout", r.headerTimeout, &c.ReadHeaderTimeout)
	dur("read-body-timeout", r.bodyTimeout, &c.ReadBodyTimeout)
	positive := func(name, v string) int64 {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			bad("--%s %q: use a positive whole number", name, v)
		}
		return n
	}
	if q, err := strconv.ParseFloat(r.queryRate, 64); err != nil || q <= 0 {
		bad("--query-rate %q: use a positive number of queries per second", r.queryRate)
	} else {
		c.QueryRate = q
	}
	c.MaxBodyBytes = positive("max-body-bytes", r.maxBody)
	c.MaxSessions = int(positive("max-sessions", r.maxSessions))
	c.MaxWaitsPerSession = int(positive("max-waits-per-session", r.maxWaits))

	for _, o := range c.AllowedOrigins {
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			bad("--allow-origin %q: give an origin such as https://app.example.com (scheme and host, no path)", o)
		}
	}
	switch {
	case c.OutputDir != "":
	case s.set["output-dir"]:
		bad("--output-dir must not be empty")
	default:
		d, err := localfiles.DefaultOutputDir(s.env)
		if err != nil {
			bad("--output-dir: the default is in the home directory, which is unknown (%v): give --output-dir or VACE_MCP_OUTPUT_DIR", err)
		}
		c.OutputDir = d
	}
	if r.budget != "" {
		if b, err := strconv.ParseFloat(r.budget, 64); err != nil || b <= 0 {
			bad("--daily-budget %q: use a positive number of USD, such as 5 or 12.50 (leave it empty for no cap)", r.budget)
		} else {
			c.DailyBudget = b
		}
	}
	c.HistoryDays = int(positive("history-days", r.historyDays))
	if p, err := dashscope.ParsePrices(r.prices); err != nil {
		bad("--prices: %v", err)
	} else {
		c.Prices = p
	}
	c.Tools = splitList(strings.Join(c.Tools, ","), ",") // --tools edit,tasks as well as --tools edit --tools tasks
	if err := c.parseStore(r.store, s); err != nil {
		bad("%v", err)
	}
	switch {
	case c.InstanceID == "":
		var b [4]byte
		_, _ = rand.Read(b[:])
		c.InstanceID = hex.EncodeToString(b[:])
	case !validInstanceID(c.InstanceID):
		bad("--instance-id %q: use 1-32 letters, digits or underscores (it starts HTTP session ids, before a '-')", c.InstanceID)
	}
	return errors.Join(errs...)
}

// parseStore reads --store. The URL may hold a password, so messages show
// it redacted, or not at all when it does not parse.
func (c *Config) parseStore(v string, s *spec) error {
	c.Store = StoreSQLite
	c.RedisPassword = s.env("VACE_MCP_REDIS_PASSWORD")
	if v == "" {
		return nil
	}
	scheme, rest, found := strings.Cut(v, ":")
	if !found {
		return errors.New("--store has no scheme (the value is not shown, as it may hold a password): use sqlite: (the embedded journal in --state-dir), sqlite:DIR, redis://host:port/db or rediss://host:port/db")
	}
	switch strings.ToLower(scheme) {
	case "sqlite":
		if strings.HasPrefix(rest, "//") { // sqlite:///abs/dir, as URLs spell paths
			rest = strings.TrimPrefix(rest, "//")
		}
		if rest != "" {
			c.StateDir = rest // --store names the journal's directory, instead of --state-dir
		}
		return nil
	case "redis", "rediss":
	default:
		return fmt.Errorf("--store: unknown scheme %q: use sqlite: (the embedded journal), sqlite:DIR, redis://host:port/db or rediss://host:port/db (TLS)", scheme)
	}
	u, err := url.Parse(v)
	if err != nil {
		return fmt.Errorf("--store: the Redis URL does not parse (not shown, as it may hold a password): use redis://[:password@]host:port/db")
	}
	shown := u.Redacted()
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("--store %s: name the Redis host, as in redis://redis:6379/0", shown)
	}
	if _, err := redis.ParseURL(v); err != nil {
		return fmt.Errorf("--store %s: %v", shown, strings.TrimPrefix(err.Error(), "redis: "))
	}
	c.Store, c.RedisURL = StoreRedis, v
	return nil
}

// StoreName names the store for people: the journal's directory, or the
// Redis URL without its password.
func (c *Config) StoreName() string {
	if c.Store != StoreRedis {
		return "sqlite:" + c.StateDir
	}
	return redactURL(c.RedisURL)
}

func redactURL(v string) string {
	u, err := url.Parse(v)
	if err != nil {
		return "(a URL that does not parse)"
	}
	return u.Redacted()
}

func validInstanceID(id string) bool {
	if len(id) == 0 || len(id) > 32 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// secretValue is a string flag shown without the password it may hold.
type secretValue struct{ dst *string }

func (v secretValue) String() string {
	if v.dst == nil || *v.dst == "" {
		return ""
	}
	return redactURL(*v.dst)
}

func (v secretValue) Set(s string) error {
	*v.dst = s
	return nil
}

func validRoot(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}

func splitList(v, sep string) []string {
	var out []string
	for _, p := range strings.Split(v, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// listValue is a repeatable flag; its first use on the command line replaces
// what the environment gave.
type listValue struct {
	dst     *[]string
	fromEnv bool
}

func (l *listValue) String() string {
	if l.dst == nil {
		return ""
	}
	return strings.Join(*l.dst, ",")
}

func (l *listValue) Set(v string) error {
	if l.fromEnv {
		*l.dst, l.fromEnv = nil, false
	}
	*l.dst = append(*l.dst, v)
	return nil
}
