// Package dashscopetest is a fake DashScope task API for tests, in the manner
// of net/http/httptest: NewServer starts it on loopback, and a client pointed
// at its BaseURL sees the vendor's documented wire format — status codes,
// JSON shapes, error bodies and task lifecycles — with time that tests can
// compress, faults that tests can inject, and a record of every request.
//
// It validates requests the way the vendor's documentation says the service
// does, independently of the client's own checks, so a field put in the wrong
// place or a missing header shows up in tests.
package dashscopetest

import (
	"bytes"
	"crypto/rand"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vace-mcp/vace-mcp/dashscope"
)

// SampleVideo is the small real MP4 (H.264, 320x180, 30 fps, 2 s) that every
// succeeded task's video_url serves. Its frames say "vace-mcp sandbox (simulated)".
//
//go:embed media/sandbox.mp4
var SampleVideo []byte

// DefaultAPIKey is the key the fake accepts unless WithAPIKey says otherwise.
const DefaultAPIKey = "sk-dashscopetest"

// APIPrefix is where the fake serves the API unless WithPathPrefix says otherwise.
const APIPrefix = "/api/v1"

// Wan27Model is the vendor's current video-editing model, named alike in
// both regions. Its body has no function: media go in input.media.
const Wan27Model = "wan2.7-videoedit"

// maxBody is the largest request body the fake reads: room for a wan2.7
// submission with four 20 MB reference images as Base64 data URLs (about
// 107 MB). The docs give the service's own limit for neither model.
const maxBody = 128 << 20

// Endpoint names a kind of request, for fault injection and the request record.
type Endpoint string

// The fake's endpoints.
const (
	EndpointSubmit    Endpoint = "submit"
	EndpointGetTask   Endpoint = "get"
	EndpointListTasks Endpoint = "list"
	EndpointCancel    Endpoint = "cancel"
	EndpointPolicy    Endpoint = "policy"
	EndpointUpload    Endpoint = "upload"
	EndpointResult    Endpoint = "result"
)

// Fault is an injected failure for one request.
type Fault struct {
	// Status and Code give an error response with the documented body
	// {"code","message","request_id"}; Message defaults to a stock text.
	Status  int
	Code    string
	Message string
	// UseMsg writes the message under "msg", as some services do.
	UseMsg bool
	// RetryAfter sets the Retry-After header, in whole seconds.
	RetryAfter time.Duration
	// Reset closes the connection without any response.
	Reset bool
	// Malformed answers 200 with a body that is not valid JSON.
	Malformed bool
	// Delay holds the request this long (wall time) before anything else.
	Delay time.Duration
	// TruncateAfter answers as usual (status, headers, full Content-Length)
	// but drops the connection after this many bytes of the body.
	TruncateAfter int
	// AfterAccept handles the request first (a submission creates its task)
	// and then answers with the fault: the client never learns of the task.
	AfterAccept bool
}

// Request is a request the fake received.
type Request struct {
	Endpoint Endpoint
	Method   string
	Path     string
	Query    url.Values
	Header   http.Header
	// Body is the body's bytes as sent; none for an upload, which is
	// streamed, nor for a body over the fake's limit, which it refuses (413).
	Body []byte
	// At is when it arrived, by the fake's clock; Wall by the wall clock.
	At   time.Time
	Wall time.Time
}

// Lifecycle scripts a submitted task: PENDING for Queue, RUNNING for Run, then
// SUCCEEDED, or FAILED with FailCode and FailMessage when FailCode is set.
type Lifecycle struct {
	Queue       time.Duration
	Run         time.Duration
	FailCode    string
	FailMessage string
	// VideoDuration is a succeeded VACE task's usage.video_duration, in seconds.
	VideoDuration float64
	// InputVideoDuration and OutputVideoDuration are the seconds a succeeded
	// wan2.7-videoedit task bills (usage.input_video_duration and
	// usage.output_video_duration; usage.duration is their sum). Zero input
	// means the vendor example's 5.02 s; zero output means as long as the
	// input, or parameters.duration when that is set and shorter.
	InputVideoDuration  float64
	OutputVideoDuration float64
}

// DefaultLifecycle is a typical job: 2 s queued, 5 minutes running, success.
var DefaultLifecycle = Lifecycle{Queue: 2 * time.Second, Run: 5 * time.Minute, VideoDuration: 5}

// Submission is what the fake knows of a submission when scripting it.
type Submission struct {
	Model string
	// Function is a VACE submission's input.function; "" for wan2.7-videoedit.
	Function string
	// Prompt is input.prompt as the service keeps it (cut to the model's limit).
	Prompt string
	// Media is a wan2.7-videoedit submission's input.media, in order; nil for VACE.
	Media []Media
	// Input and Parameters are the body's objects as decoded, numbers as json.Number.
	Input      map[string]any
	Parameters map[string]any
}

// Media is an entry of a wan2.7-videoedit submission's input.media.
type Media struct {
	// Type is "video" or "reference_image".
	Type string
	// URL is an http(s) or oss:// URL, or for a reference image a
	// data:{mime};base64,… URL.
	URL string
}

// Option configures a Server.
type Option func(*Server)

// WithAPIKey sets the one API key the fake accepts.
func WithAPIKey(key string) Option { return func(s *Server) { s.apiKey = key } }

// WithClock sets the fake's clock; pass the same clock to the client so task
// ages agree. A dashscope.ScaledClock compresses lifecycles.
func WithClock(c dashscope.Clock) Option { return func(s *Server) { s.clock = c } }

// WithLifecycle gives every submission the same lifecycle.
func WithLifecycle(l Lifecycle) Option {
	return func(s *Server) { s.script = func(Submission) Lifecycle { return l } }
}

// WithScript decides each submission's lifecycle.
func WithScript(f func(Submission) Lifecycle) Option { return func(s *Server) { s.script = f } }

// WithPathPrefix serves the API under prefix (e.g. "/qwen/api/v1") instead of /api/v1.
func WithPathPrefix(prefix string) Option {
	return func(s *Server) { s.prefix = "/" + strings.Trim(prefix, "/") }
}

// WithRequestLimit keeps only the newest n requests in the record (default:
// all), for a fake that runs for long, like the sandbox.
func WithRequestLimit(n int) Option { return func(s *Server) { s.requestLimit = n } }

// WithModels sets the model names the fake accepts (default: both regions'
// names for VACE, and Wan27Model). A body is checked against Wan27Model's
// rules when it names that model, and against VACE's otherwise.
func WithModels(models ...string) Option { return func(s *Server) { s.models = models } }

// Server is a running fake DashScope.
type Server struct {
	// URL is the server's root, e.g. http://127.0.0.1:41234.
	URL string

	ts     *httptest.Server
	apiKey string
	clock  dashscope.Clock
	script func(Submission) Lifecycle
	prefix string
	models []string

	uploadLimitMB int
	stringPolicy  bool
	requestLimit  int

	mu          sync.Mutex
	tasks       map[string]*task
	order       []*task
	faults      map[Endpoint][]Fault
	requests    []Request
	policies    map[string]*policy
	policyOrder []string
	uploads     map[string]*Upload
	uploadOrder []string
}

// New starts a fake DashScope on loopback. Call Close when done; tests should
// prefer NewServer, which closes it at the end of the test.
func New(opts ...Option) *Server {
	s := &Server{
		apiKey: DefaultAPIKey,
		clock:  dashscope.RealClock{},
		script: func(Submission) Lifecycle { return DefaultLifecycle },
		prefix: APIPrefix,
		models: []string{dashscope.RegionIntl.Model, dashscope.RegionCN.Model, Wan27Model},
		tasks:  map[string]*task{},
		faults: map[Endpoint][]Fault{},
	}
	for _, o := range opts {
		o(s)
	}
	// URL is set before serving starts: handlers read it, and a request may
	// come from another process, which the race detector cannot see.
	s.ts = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.URL = "http://" + s.ts.Listener.Addr().String()
	s.ts.Start()
	return s
}

// TB is the part of testing.TB that NewServer needs; taking it instead of
// testing.TB keeps the testing package out of binaries that run the fake
// (the sandbox).
type TB interface {
	Helper()
	Cleanup(func())
}

// NewServer starts a fake DashScope that closes when the test ends.
func NewServer(tb TB, opts ...Option) *Server {
	tb.Helper()
	s := New(opts...)
	tb.Cleanup(s.Close)
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.ts.Close() }

// BaseURL is the API root to give a client, e.g. http://127.0.0.1:41234/api/v1.
func (s *Server) BaseURL() string { return s.URL + s.prefix }

// APIKey is the key the fake accepts.
func (s *Server) APIKey() string { return s.apiKey }

// Client returns a dashscope.Client for this server: its key, root and clock,
// plus any further options.
func (s *Server) Client(opts ...dashscope.Option) (*dashscope.Client, error) {
	base := []dashscope.Option{
		dashscope.WithAPIKey(s.apiKey), dashscope.WithBaseURL(s.BaseURL()), dashscope.WithClock(s.clock),
	}
	return dashscope.NewClient(append(base, opts...)...)
}

// InjectFault makes the next n requests to endpoint fail with f.
func (s *Server) InjectFault(endpoint Endpoint, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults[endpoint] = append(s.faults[endpoint], f)
	}
}

// Requests returns the requests received so far, of the given endpoints (all when none given).
func (s *Server) Requests(endpoints ...Endpoint) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if len(endpoints) == 0 || slices.Contains(endpoints, r.Endpoint) {
			out = append(out, r)
		}
	}
	return out
}

// Count returns how many requests an endpoint received.
func (s *Server) Count(endpoint Endpoint) int { return len(s.Requests(endpoint)) }

// TaskIDs lists the ids of every task created, oldest first.
func (s *Server) TaskIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, len(s.order))
	for i, t := range s.order {
		ids[i] = t.id
	}
	return ids
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	endpoint, taskID, ok := s.route(r)
	if !ok {
		writeError(w, http.StatusNotFound, "NotFound", "no such endpoint: "+r.Method+" "+r.URL.Path, "")
		return
	}
	var body []byte
	tooLarge := endpoint != EndpointUpload && r.ContentLength > maxBody
	if endpoint != EndpointUpload && !tooLarge { // an upload is streamed, never held whole
		body, _ = io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if tooLarge = len(body) > maxBody; tooLarge {
			body = nil
		}
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{
		Endpoint: endpoint, Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
		Header: r.Header.Clone(), Body: body, At: s.clock.Now(), Wall: time.Now(),
	})
	if s.requestLimit > 0 && len(s.requests) > 2*s.requestLimit {
		s.requests = append([]Request(nil), s.requests[len(s.requests)-s.requestLimit:]...)
	}
	if tooLarge {
		s.mu.Unlock()
		writeError(w, http.StatusRequestEntityTooLarge, "BadRequest.TooLarge", fmt.Sprintf("the request body is over %d MB", maxBody>>20), newID())
		return
	}
	var fault *Fault
	if q := s.faults[endpoint]; len(q) > 0 {
		fault = &q[0]
		s.faults[endpoint] = q[1:]
	}
	s.mu.Unlock()

	if fault != nil {
		if fault.Delay > 0 {
			select {
			case <-time.After(fault.Delay):
			case <-r.Context().Done():
				return
			}
		}
		if fault.TruncateAfter > 0 {
			rec := httptest.NewRecorder()
			s.handle(rec, r, endpoint, taskID, body)
			writeTruncated(w, rec, fault.TruncateAfter)
			return
		}
		if !fault.AfterAccept {
			writeFault(w, *fault)
			return
		}
		s.handle(&discardWriter{header: http.Header{}}, r, endpoint, taskID, body)
		writeFault(w, *fault)
		return
	}
	s.handle(w, r, endpoint, taskID, body)
}

// route maps a request to its endpoint; taskID is set for task paths.
func (s *Server) route(r *http.Request) (Endpoint, string, bool) {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/results/"):
		return EndpointResult, strings.TrimSuffix(strings.TrimPrefix(p, "/results/"), ".mp4"), true
	case r.Method == http.MethodPost && p == ossPath:
		return EndpointUpload, "", true
	}
	rest, ok := strings.CutPrefix(p, s.prefix)
	if !ok {
		return "", "", false
	}
	switch {
	case r.Method == http.MethodPost && rest == "/services/aigc/video-generation/video-synthesis":
		return EndpointSubmit, "", true
	case r.Method == http.MethodGet && rest == "/tasks":
		return EndpointListTasks, "", true
	case r.Method == http.MethodGet && rest == "/uploads":
		return EndpointPolicy, "", true
	case strings.HasPrefix(rest, "/tasks/"):
		id := strings.TrimPrefix(rest, "/tasks/")
		if id, ok := strings.CutSuffix(id, "/cancel"); ok && r.Method == http.MethodPost && !strings.Contains(id, "/") {
			return EndpointCancel, id, true
		}
		if r.Method == http.MethodGet && !strings.Contains(id, "/") {
			return EndpointGetTask, id, true
		}
	}
	return "", "", false
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request, endpoint Endpoint, taskID string, body []byte) {
	switch endpoint {
	case EndpointResult:
		s.serveResult(w, taskID)
		return
	case EndpointUpload:
		s.serveUpload(w, r)
		return
	}
	if !s.authorized(w, r) {
		return
	}
	switch endpoint {
	case EndpointSubmit:
		s.serveSubmit(w, r, body)
	case EndpointGetTask:
		s.serveGetTask(w, taskID)
	case EndpointListTasks:
		s.serveListTasks(w, r)
	case EndpointCancel:
		s.serveCancel(w, taskID)
	case EndpointPolicy:
		s.servePolicy(w, r)
	}
}

// authorized checks the bearer key as the service does, answering 401 when it fails.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	key, ok := strings.CutPrefix(auth, "Bearer ")
	switch {
	case auth == "" || (ok && key == ""):
		writeError(w, http.StatusUnauthorized, "InvalidApiKey", "No API-key provided.", newID())
		return false
	case !ok || key != s.apiKey:
		writeError(w, http.StatusUnauthorized, "InvalidApiKey", "Invalid API-key provided.", newID())
		return false
	}
	return true
}

func writeFault(w http.ResponseWriter, f Fault) {
	switch {
	case f.Reset:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	case f.Malformed:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"request_id": "`+newID()+`", "output": {"task_id": `)
		return
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int(f.RetryAfter.Seconds())))
	}
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(f.Status)
	}
	if f.UseMsg {
		writeJSON(w, f.Status, map[string]any{"code": f.Code, "msg": msg, "request_id": newID()})
		return
	}
	writeError(w, f.Status, f.Code, msg, newID())
}

// writeTruncated sends a recorded response's head and only n bytes of its
// body, then closes the connection, as a network failure mid-transfer does.
func writeTruncated(w http.ResponseWriter, rec *httptest.ResponseRecorder, n int) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	body := rec.Body.Bytes()
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body[:min(n, len(body))])
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	panic(http.ErrAbortHandler) // net/http closes the connection without finishing the body
}

func writeError(w http.ResponseWriter, status int, code, message, requestID string) {
	writeJSON(w, status, map[string]any{"code": code, "message": message, "request_id": requestID})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// discardWriter swallows a response that an AfterAccept fault replaces.
type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// newID returns a random UUID (version 4), the shape of the service's ids.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
