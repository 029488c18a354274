package mcphttp

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"
)

// authRealm names the protected space in WWW-Authenticate challenges.
const authRealm = "vace-mcp"

// guard admits a request only if it passes the checks every MCP path shares:
// Host (DNS rebinding), Origin, bearer token, content type, body size, and
// a body that arrives in time.
type guard struct {
	origins     map[string]bool // lower-cased exact origins accepted besides loopback ones
	tokenSum    [sha256.Size]byte
	hasToken    bool
	maxBody     int64
	bodyTimeout time.Duration
	reject      rejecter
}

// rejecter answers a refused request and logs why.
type rejecter func(w http.ResponseWriter, r *http.Request, status, code int, reason, message string)

func newGuard(opts Options, log *slog.Logger, reject rejecter) guard {
	g := guard{origins: make(map[string]bool), maxBody: opts.MaxBodyBytes, bodyTimeout: opts.ReadBodyTimeout, reject: reject}
	for _, o := range opts.AllowedOrigins {
		norm := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(o), "/"))
		if u, err := url.Parse(norm); err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" {
			// Browsers send origins as scheme://host[:port]; anything else
			// can never match, which is worth saying at startup.
			log.Warn("allowed origin will never match: want scheme://host[:port]", slog.String("origin", o))
		}
		g.origins[norm] = true
	}
	if opts.AuthToken != "" {
		g.hasToken = true
		// Comparing fixed-size digests keeps the comparison constant-time
		// even in the token's length.
		g.tokenSum = sha256.Sum256([]byte(opts.AuthToken))
	}
	return g
}

// admit runs the checks in order and answers the request itself when one
// fails. Every check but the last looks at the headers alone, so a refused
// client is answered without waiting for its body. On success the body has
// been read into memory (at most maxBody bytes), so handlers behind the
// guard can read it again freely.
func (g *guard) admit(w http.ResponseWriter, r *http.Request) bool {
	if !hostAllowed(r) {
		g.refuse(w, r, http.StatusForbidden, codeTransport, "foreign_host",
			fmt.Sprintf("Host header %q is not allowed on a loopback listener (DNS rebinding protection): connect to localhost, 127.0.0.1 or [::1]", r.Host))
		return false
	}
	if origin := r.Header.Get("Origin"); origin != "" && !g.originAllowed(origin) {
		g.refuse(w, r, http.StatusForbidden, codeTransport, "foreign_origin",
			fmt.Sprintf("Origin %q is not allowed: only loopback origins and the server's configured allowed origins may call this MCP server", origin))
		return false
	}
	if !g.authorized(w, r) {
		return false
	}
	// mcp-go checks this on /mcp but not on /message; checking it here
	// makes both transports accept the same bodies.
	if mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); r.Method == http.MethodPost && mediaType != "application/json" {
		g.refuse(w, r, http.StatusUnsupportedMediaType, codeTransport, "unsupported_media_type",
			fmt.Sprintf("Content-Type %q is not accepted: POST JSON-RPC messages with Content-Type: application/json", r.Header.Get("Content-Type")))
		return false
	}
	if r.ContentLength > g.maxBody {
		g.refuseTooLarge(w, r)
		return false
	}
	return g.readBody(w, r)
}

// authorized checks the bearer token and answers 401 when it is missing or
// wrong. Neither the expected nor the presented token is ever echoed.
func (g *guard) authorized(w http.ResponseWriter, r *http.Request) bool {
	if !g.hasToken {
		return true
	}
	presented, ok := bearerToken(r.Header.Get("Authorization"))
	if ok {
		sum := sha256.Sum256([]byte(presented))
		if subtle.ConstantTimeCompare(sum[:], g.tokenSum[:]) == 1 {
			return true
		}
	}
	challenge := fmt.Sprintf("Bearer realm=%q", authRealm)
	reason, message := "missing_token",
		`authentication required: send the header "Authorization: Bearer <token>" with the token this MCP server was started with`
	if ok {
		challenge += `, error="invalid_token"`
		reason, message = "wrong_token",
			`invalid bearer token: send "Authorization: Bearer <token>" with the token this MCP server was started with`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	g.refuse(w, r, http.StatusUnauthorized, codeTransport, reason, message)
	return false
}

// readBody reads the body into memory, at most maxBody bytes (413 beyond),
// within bodyTimeout of the handler starting (408 after it), so that no
// handler ever waits on a slow or stalled client.
func (g *guard) readBody(w http.ResponseWriter, r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody {
		// No deadline here: net/http is already reading ahead on the
		// connection to notice a client leaving, and a deadline would end
		// that read, and with it the request, mid-answer (SSE streams, long
		// waits).
		return true
	}
	rc := http.NewResponseController(w)
	// Best effort: recorders and some wrappers cannot set deadlines.
	_ = rc.SetReadDeadline(time.Now().Add(g.bodyTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, g.maxBody))
	if maxErr := (*http.MaxBytesError)(nil); errors.As(err, &maxErr) {
		g.refuseTooLarge(w, r)
		return false
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		g.refuse(w, r, http.StatusRequestTimeout, codeTransport, "body_timeout",
			fmt.Sprintf("the request body did not arrive within %s: send the whole body right after the headers", g.bodyTimeout))
		return false
	}
	if err != nil {
		g.refuse(w, r, http.StatusBadRequest, codeInvalidRequest, "body_unreadable",
			fmt.Sprintf("could not read the request body: %v", err))
		return false
	}
	// The whole body is in: the answer may now take as long as it needs.
	_ = rc.SetReadDeadline(time.Time{})
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return true
}

func (g *guard) refuseTooLarge(w http.ResponseWriter, r *http.Request) {
	g.refuse(w, r, http.StatusRequestEntityTooLarge, codeInvalidRequest, "body_too_large",
		fmt.Sprintf("request body exceeds the limit of %d bytes: send a smaller request", g.maxBody))
}

// refuse rejects a request whose body the guard has not read (whole).
func (g *guard) refuse(w http.ResponseWriter, r *http.Request, status, code int, reason, message string) {
	skipBody(w, r)
	g.reject(w, r, status, code, reason, message)
}

// skipBody prepares the answer to a request whose body will not be read:
// the connection closes after the answer. Otherwise net/http would read up
// to 256 KB of what is left of the body before answering, so a client that
// sends headers and never its body would hold the connection with no answer
// at all. The read deadline, set to now, makes net/http's last look at the
// body fail at once instead of waiting for bytes that may never come.
func skipBody(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Connection", "close")
	if r.Body != nil && r.Body != http.NoBody {
		// Best effort: recorders and some wrappers cannot set deadlines.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	}
}

// originAllowed accepts loopback origins and the configured extra ones.
func (g *guard) originAllowed(origin string) bool {
	if g.origins[strings.ToLower(origin)] {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Host == "" {
		return false
	}
	return isLoopbackHost(u.Host)
}

// hostAllowed mirrors mcp-go's DNS rebinding protection so that it also
// covers the requests this package answers itself: on a loopback listener
// the Host header must name a loopback host.
func hostAllowed(r *http.Request) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok || local == nil || !isLoopbackHost(local.String()) {
		return true
	}
	return isLoopbackHost(r.Host)
}

// isLoopbackHost reports whether hostport ("localhost", "127.0.0.1:80",
// "[::1]:3", "::1") names a loopback host.
func isLoopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = strings.Trim(hostport, "[]")
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// bearerToken extracts the token from an "Authorization: Bearer <token>"
// value; the scheme is case-insensitive (RFC 7235).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// clientOf names the client of a request for the limits that apply per
// client where a request has no session (wait_task calls of the stateless
// 2026-07-28 revision): its IP address. Not its connection: HTTP/1.1 carries
// one request at a time per connection, so one client's concurrent calls
// always arrive on different connections. Not its bearer token: the server
// has a single token, which would put every client in one group; keying by
// address does that only where all clients share an address (loopback, a
// reverse proxy), and keeps machines apart that reach the server directly.
func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "http-client:" + host
}
