package mcphttp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// HTTP server limits. There is deliberately no ReadTimeout or WriteTimeout:
// both would cut the long-lived SSE responses; the guard bounds body reads
// (Options.ReadBodyTimeout).
const (
	// DefaultReadHeaderTimeout bounds how long a client may take to send its headers.
	DefaultReadHeaderTimeout = 10 * time.Second
	idleTimeout              = 2 * time.Minute
	maxHeaderBytes           = 64 << 10
	// cancelWait bounds how long Serve waits, once the grace is over and
	// the remaining requests are cancelled, for their handlers to return.
	cancelWait = 5 * time.Second
)

// errServerStopping is the cancellation cause requests see when Serve's
// grace period ends.
var errServerStopping = errors.New("the MCP server is shutting down and its grace period for calls in flight is over")

// shutdownAdvice ends the answer to a call cut off by shutdown: a paid
// submission already sent still completes and is recorded in the journal.
const shutdownAdvice = ": the request was cancelled. If it was a submission already sent, its task was still recorded: " +
	"find it with list_tasks or 'vace-mcp jobs' before submitting again"

// ErrUnauthenticatedExposure is returned (wrapped) by CheckExposure.
var ErrUnauthenticatedExposure = errors.New("refusing to serve MCP over HTTP without an auth token on an address other machines can reach")

// CheckExposure refuses to serve on an address that is not loopback
// ("0.0.0.0:8080", ":8080", "192.168.1.5:8080", "[::]:8080", a host name)
// without an auth token, unless insecure is set. "localhost:8080",
// "127.0.0.1:8080" and "[::1]:8080" are loopback.
func CheckExposure(addr, authToken string, insecure bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid HTTP listen address %q: want host:port, e.g. 127.0.0.1:8080: %w", addr, err)
	}
	if isLoopbackHost(host) || authToken != "" || insecure {
		return nil
	}
	where := "host " + host
	if host == "" {
		where = "every network interface"
	}
	return fmt.Errorf("%w: %q listens on %s; set an auth token, listen on a loopback address such as 127.0.0.1:%s, or explicitly opt in to insecure exposure",
		ErrUnauthenticatedExposure, addr, where, port)
}

// Listen opens a TCP listener on addr. With port 0 the system picks a free
// port: read it back from the listener's Addr.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for MCP over HTTP on %s: %w", addr, err)
	}
	return ln, nil
}

// ServeOptions tunes Serve.
type ServeOptions struct {
	// Grace is how long in-flight requests may finish after ctx ends.
	Grace time.Duration
	// ReadHeaderTimeout bounds how long a client may take to send its
	// request headers (default DefaultReadHeaderTimeout), so slow or stalled
	// clients cannot hold connections open.
	ReadHeaderTimeout time.Duration
}

// Serve serves h on ln until ctx is cancelled, then shuts down: it stops
// accepting, lets in-flight requests finish for up to the grace, then cancels
// those still running, waits briefly for their handlers to return, and
// returns nil. It closes ln. It returns an error only when serving fails
// before ctx is cancelled.
//
// When h is a *Handler, its SSE streams are drained at shutdown (idle ones
// end at once, busy ones after their last answer) instead of holding the
// shutdown for the whole grace, and when the grace is over Serve closes h:
// each request still running is then answered with a JSON-RPC error saying
// the server is stopping.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, opts ServeOptions) error {
	grace := opts.Grace
	if opts.ReadHeaderTimeout <= 0 {
		opts.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	log := slog.Default()
	base, cancelBase := context.WithCancelCause(context.Background())
	defer cancelBase(nil)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// Every request context derives from base, so cancelling it
		// reaches the handlers still running after the grace.
		BaseContext: func(net.Listener) context.Context { return base },
	}
	mh, _ := h.(*Handler)
	if mh != nil {
		log = mh.log
		srv.RegisterOnShutdown(mh.drainSSE)
	}
	srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		cancelBase(err)
		_ = srv.Close() // the listener failed; drop the connections it left
		return fmt.Errorf("serve MCP over HTTP on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}

	log.Info("mcp http server stopping", slog.String("addr", ln.Addr().String()), slog.Duration("grace", grace))
	if err := shutdown(srv, grace); err != nil {
		if mh != nil {
			// Cancelled through the handler, requests are answered: a
			// cancelled request context would leave mcp-go writing nothing
			// (an empty 200, or a stream ending without an answer).
			mh.stop(errServerStopping)
		} else {
			cancelBase(errServerStopping)
		}
		if err := shutdown(srv, cancelWait); err != nil {
			cancelBase(errServerStopping)
			log.Warn("mcp http handlers ignored cancellation; closing their connections",
				slog.Duration("waited", cancelWait))
			_ = srv.Close()
		}
	}
	<-served // http.ErrServerClosed, as soon as shutdown began
	return nil
}

// shutdown waits up to d for srv's in-flight requests to finish.
func shutdown(srv *http.Server, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return srv.Shutdown(ctx)
}
