package mcphttp

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// authRealm names the protected space in WWW-Authenticate challenges.
const authRealm = "vace-mcp"

// bodyReadTimeout bounds how long a client may take to send a request body,
// without a server-wide ReadTimeout (which would also cut long responses).
const bodyReadTimeout = 30 * time.Second

// guard admits a request only if it passes the checks every MCP path shares:
// Host (DNS rebinding), Origin, bearer token and body size.
type guard struct {
	origins  map[string]bool // lower-cased exact origins accepted besides loopback ones
	tokenSum [sha256.Size]byte
	hasToken bool
	maxBody  int64
	reject   rejecter
}

// rejecter answers a refused request and logs why.
type rejecter func(w http.ResponseWriter, r *http.Request, status, code int, reason, message string)

func newGuard(opts Options, log *slog.Logger, reject rejecter) guard {
	g := guard{origins: make(map[string]bool), maxBody: opts.MaxBodyBytes, reject: reject}
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
// fails. On success the POST body has been read into memory (at most maxBody
// bytes), so handlers behind the guard can read it again freely.
func (g *guard) admit(w http.ResponseWriter, r *http.Request) bool {
	if !hostAllowed(r) {
		g.reject(w, r, http.StatusForbidden, codeTransport, "foreign_host",
			fmt.Sprintf("Host header %q is not allowed on a loopback listener (DNS rebinding protection): connect to localhost, 127.0.0.1 or [::1]", r.Host))
		return false
	}
	if origin := r.Header.Get("Origin"); origin != "" && !g.originAllowed(origin) {
		g.reject(w, r, http.StatusForbidden, codeTransport, "foreign_origin",
			fmt.Sprintf("Origin %q is not allowed: only loopback origins and the server's configured allowed origins may call this MCP server", origin))
		return false
	}
	if !g.authorized(w, r) {
		return false
	}
	return g.limitBody(w, r)
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
	g.reject(w, r, http.StatusUnauthorized, codeTransport, reason, message)
	return false
}

// limitBody buffers a POST body up to maxBody bytes and answers 413 beyond
// it. Other methods get a reader that fails past the limit.
func (g *guard) limitBody(w http.ResponseWriter, r *http.Request) bool {
	tooLarge := func() bool {
		g.reject(w, r, http.StatusRequestEntityTooLarge, codeInvalidRequest, "body_too_large",
			fmt.Sprintf("request body exceeds the limit of %d bytes: send a smaller request", g.maxBody))
		return false
	}
	if r.ContentLength > g.maxBody {
		return tooLarge()
	}
	if r.Method != http.MethodPost || r.Body == nil || r.Body == http.NoBody {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, g.maxBody)
		}
		return true
	}

	rc := http.NewResponseController(w)
	// Best effort: recorders and some wrappers cannot set deadlines.
	_ = rc.SetReadDeadline(time.Now().Add(bodyReadTimeout))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, g.maxBody))
	_ = rc.SetReadDeadline(time.Time{})
	if err != nil {
		if maxErr := (*http.MaxBytesError)(nil); errors.As(err, &maxErr) {
			return tooLarge()
		}
		g.reject(w, r, http.StatusBadRequest, codeInvalidRequest, "body_unreadable",
			fmt.Sprintf("could not read the request body: %v", err))
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return true
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
