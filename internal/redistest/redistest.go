// Package redistest gives tests a real Redis: the one named by
// VACE_MCP_TEST_REDIS, or a redis-server of their own on a free loopback
// port. Without either a test is skipped, except in CI (CI=true), where it
// fails: CI must run them.
package redistest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Env names a Redis (redis://host:port/db) the tests use instead of starting
// their own. Tests share it: each keeps to key prefixes of its own
// ([Server.NewPrefix]) and deletes them when it ends, never FLUSHDB.
const Env = "VACE_MCP_TEST_REDIS"

// Server is a Redis a test uses.
type Server struct {
	// URL reaches it, with its password if it has one.
	URL string
	// Prefix is a key prefix of this test's own, deleted when it ends.
	Prefix string

	t        testing.TB
	external bool

	mu      sync.Mutex
	path    string
	args    []string
	port    int
	cmd     *exec.Cmd
	exited  chan struct{}
	output  *lockedBuffer
	running bool
}

// SpawnOptions configures a redis-server of the test's own.
type SpawnOptions struct {
	// Persist keeps the data across Stop and Start (an append-only file
	// written on every write); without it a restarted server is empty.
	Persist bool
	// Password is required of clients (requirepass); URL carries it.
	Password string
}

// Start returns the Redis of VACE_MCP_TEST_REDIS if it is set, else a
// redis-server of the test's own (see [Spawn]).
func Start(t testing.TB) *Server {
	t.Helper()
	if u := os.Getenv(Env); u != "" {
		opts, err := redis.ParseURL(u)
		if err != nil {
			t.Fatalf("%s=%q: %v", Env, u, err)
		}
		c := redis.NewClient(opts)
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatalf("%s=%q does not answer: %v", Env, u, err)
		}
		s := &Server{URL: u, t: t, external: true}
		s.Prefix = s.NewPrefix(t)
		return s
	}
	return Spawn(t, SpawnOptions{})
}

// Spawn starts a redis-server of the test's own on a free loopback port,
// without persistence unless asked, and kills it when the test ends. Unlike
// a server of VACE_MCP_TEST_REDIS, it can be stopped and started again.
func Spawn(t testing.TB, o SpawnOptions) *Server {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "no Redis for this test: set " + Env + " to a redis:// URL, or install redis-server (Debian: apt-get install redis-server)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; CI must run the Redis tests")
		}
		t.Skip(msg)
	}
	s := &Server{t: t, path: path, output: &lockedBuffer{}}
	dir := t.TempDir()
	appendonly := "no"
	if o.Persist {
		appendonly = "yes"
	}
	t.Cleanup(s.Kill)
	for attempt := 0; ; attempt++ {
		s.port = freePort(t)
		s.args = []string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", appendonly,
			"--appendfsync", "always", "--dir", dir, "--daemonize", "no", "--loglevel", "warning"}
		if o.Password != "" {
			s.args = append(s.args, "--requirepass", o.Password)
		}
		u := url.URL{Scheme: "redis", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)), Path: "/0"}
		if o.Password != "" {
			u.User = url.UserPassword("", o.Password)
		}
		s.URL = u.String()
		err := s.start()
		if err == nil {
			break
		}
		if attempt == 2 { // the port was taken meanwhile, three times: give up
			t.Fatal(err)
		}
	}
	s.Prefix = s.NewPrefix(t)
	return s
}

// NewPrefix returns a key prefix no other test uses, deleted from a shared
// Redis when t ends.
func (s *Server) NewPrefix(t testing.TB) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := regexp.MustCompile(`[^A-Za-z0-9_-]+`).ReplaceAllString(t.Name(), "_")
	if len(name) > 40 {
		name = name[len(name)-40:]
	}
	prefix := "vace-mcp-test:" + name + ":" + hex.EncodeToString(b[:]) + ":"
	if s.external {
		t.Cleanup(func() { s.deletePrefix(prefix) })
	}
	return prefix
}

func (s *Server) deletePrefix(prefix string) {
	opts, err := redis.ParseURL(s.URL)
	if err != nil {
		return
	}
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) == 1000 {
			c.Unlink(ctx, keys...)
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		c.Unlink(ctx, keys...)
	}
}

// Stop shuts the server down as an operator would (SIGTERM) and waits until
// it has gone. Only a server of the test's own can be stopped.
func (s *Server) Stop() { s.signal(syscall.SIGTERM) }

// Kill kills the server (SIGKILL), as a crash would, and waits until it has gone.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

// Start starts a stopped server again, on the same port and (with
// Persist) with the same data, and waits until it answers.
func (s *Server) Start() {
	s.t.Helper()
	if s.external {
		s.t.Fatalf("the Redis of %s cannot be restarted: this test needs a redis-server of its own (redistest.Spawn)", Env)
	}
	s.mu.Lock()
	running := s.running
	s.mu.Unlock()
	if running {
		return
	}
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

func (s *Server) signal(sig os.Signal) {
	if s.external {
		s.t.Fatalf("the Redis of %s cannot be stopped: this test needs a redis-server of its own (redistest.Spawn)", Env)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.running = false
}

func (s *Server) start() error {
	s.output.reset()
	cmd := exec.Command(s.path, s.args...)
	cmd.Stdout, cmd.Stderr = s.output, s.output
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting redis-server: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited, s.running = cmd, exited, true
	s.mu.Unlock()
	gone := func() {
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
	}

	opts, err := redis.ParseURL(s.URL)
	if err != nil {
		return err
	}
	opts.MaxRetries = -1
	c := redis.NewClient(opts)
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-exited:
			gone()
			return fmt.Errorf("redis-server on port %d exited at start: %s", s.port, s.output)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			gone()
			return fmt.Errorf("redis-server on port %d does not answer PING: %v; its output: %s", s.port, err, s.output)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// lockedBuffer is redis-server's output, written by exec's copying goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
