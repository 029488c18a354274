package dashscope

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"
)

// RateLimits caps the client's request rates, per second. The defaults are
// the account limits: 2 submissions and 20 task queries a second.
type RateLimits struct {
	Submit float64
	Query  float64
	Upload float64
}

// DefaultRateLimits are DashScope's documented per-account limits.
var DefaultRateLimits = RateLimits{Submit: 2, Query: 20, Upload: 100}

// RetryPolicy bounds retries: at most Attempts tries in all, pausing between
// them for an exponentially growing, jittered delay from Base up to Max.
type RetryPolicy struct {
	Attempts  int
	Base, Max time.Duration
}

// DefaultRetryPolicy makes up to 4 tries over about 7 seconds at most.
var DefaultRetryPolicy = RetryPolicy{Attempts: 4, Base: 500 * time.Millisecond, Max: 4 * time.Second}

// Client calls the DashScope task API. It is safe for concurrent use.
type Client struct {
	apiKey    string
	baseURL   string
	model     string
	editModel string
	userAgent string
	http      *http.Client
	// api is http with the redirect policy of API calls (see [apiRedirect]).
	api *http.Client
	// secrets finds the key, and a password in the roots, in text from elsewhere.
	secrets  *redactor
	clock    Clock
	retry    RetryPolicy
	limits   RateLimits
	schedule PollSchedule

	// uploadBaseURL is the root asked for upload policies (see [WithUploadBaseURL]).
	uploadBaseURL string

	submitLimiter Limiter
	queryLimiter  Limiter
	uploadLimiter Limiter
	// sharedLimiters are [WithLimiters]' submit, query and upload limiters.
	sharedLimiters [3]Limiter
	// shared, when set, shares pollers and answers with other clients.
	shared SharedPolls

	tracker *tracker
	// queries lets concurrent GetTask calls for one id share one query.
	queries singleflight.Group
}

// Option configures a Client.
type Option func(*Client)

// WithAPIKey sets the API key sent as a bearer token.
func WithAPIKey(key string) Option { return func(c *Client) { c.apiKey = key } }

// WithRegion sets the API root and model of a region.
func WithRegion(r Region) Option {
	return func(c *Client) { c.baseURL, c.model = r.BaseURL, r.Model }
}

// WithBaseURL sets the API root: a full URL prefix such as
// https://dashscope-intl.aliyuncs.com/api/v1 or a proxy's …/qwen/api/v1.
func WithBaseURL(u string) Option { return func(c *Client) { c.baseURL = u } }

// WithModel sets the model name.
func WithModel(m string) Option { return func(c *Client) { c.model = m } }

// WithEditModel sets the model InstructEdit requests go to (default EditModel).
func WithEditModel(m string) Option { return func(c *Client) { c.editModel = m } }

// WithUploadBaseURL sets the API root asked for upload policies. By default
// it is the client's root, or the region's shared root when that is a
// workspace domain, as temporary uploads are documented on shared domains only.
func WithUploadBaseURL(u string) Option { return func(c *Client) { c.uploadBaseURL = u } }

// WithHTTPClient sets the HTTP client (timeouts, proxies, transport). The
// client calls the API through a copy of it whose CheckRedirect follows only
// GET redirects to the same scheme and host: see [RedirectError].
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithClock sets the clock used for task ages, poll intervals and retry pauses.
func WithClock(clock Clock) Option { return func(c *Client) { c.clock = clock } }

// WithRetryPolicy sets how transient failures are retried.
func WithRetryPolicy(p RetryPolicy) Option { return func(c *Client) { c.retry = p } }

// WithRateLimits sets the client-side request rates; zero fields keep their defaults.
func WithRateLimits(l RateLimits) Option { return func(c *Client) { c.limits = l } }

// WithPollSchedule sets the schedule [Client.Wait] polls by.
func WithPollSchedule(s PollSchedule) Option { return func(c *Client) { c.schedule = s } }

// NewClient returns a client for the international region unless options say
// otherwise. It fails when the API root is not an absolute http(s) URL.
func NewClient(opts ...Option) (*Client, error) {
	c := &Client{
		baseURL:   RegionIntl.BaseURL,
		model:     RegionIntl.Model,
		userAgent: "vace-mcp-dashscope",
		http:      &http.Client{Timeout: 60 * time.Second},
		clock:     RealClock{},
		retry:     DefaultRetryPolicy,
		limits:    DefaultRateLimits,
		schedule:  DefaultSchedule,
	}
	for _, o := range opts {
		o(c)
	}
	if c.uploadBaseURL == "" {
		c.uploadBaseURL = c.baseURL
		if r := ClassifyRoot(c.baseURL); r.Kind == RootWorkspace {
			c.uploadBaseURL = r.Region.BaseURL
		}
	}
	secrets := []string{c.apiKey}
	for _, root := range []*string{&c.baseURL, &c.uploadBaseURL} {
		u, err := url.Parse(*root)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("dashscope: base URL %q must be an absolute http(s) URL such as %s", RedactURL(*root), RegionIntl.BaseURL)
		}
		if strings.ContainsAny(*root, "?#") { // paths are appended to the root, so a query would end up inside them
			return nil, fmt.Errorf("dashscope: base URL %q must have no query or fragment: it is a prefix such as %s", RedactURL(*root), RegionIntl.BaseURL)
		}
		if pw, ok := u.User.Password(); ok {
			secrets = append(secrets, pw)
		}
		*root = strings.TrimRight(*root, "/")
	}
	c.secrets = newRedactor(secrets...)
	api := *c.http // a copy: the caller's client keeps its own redirect policy
	api.CheckRedirect = apiRedirect
	c.api = &api
	if c.editModel == "" {
		c.editModel = EditModel
	}
	if c.model == "" {
		return nil, errors.New("dashscope: model name is empty")
	}
	if c.retry.Attempts < 1 {
		c.retry.Attempts = 1
	}
	c.submitLimiter = c.limiter(0, c.limits.Submit, DefaultRateLimits.Submit)
	c.queryLimiter = c.limiter(1, c.limits.Query, DefaultRateLimits.Query)
	c.uploadLimiter = c.limiter(2, c.limits.Upload, DefaultRateLimits.Upload)
	c.tracker = newTracker()
	return c, nil
}

// limiter is [WithLimiters]' limiter of kind i, or a local one.
func (c *Client) limiter(i int, perSecond, fallback float64) Limiter {
	if l := c.sharedLimiters[i]; l != nil {
		return l
	}
	return newLimiter(perSecond, fallback)
}

// newLimiter allows perSecond requests a second with no burst, so no
// one-second window ever holds more than perSecond+1 requests.
func newLimiter(perSecond, fallback float64) *rate.Limiter {
	if perSecond <= 0 {
		perSecond = fallback
	}
	return rate.NewLimiter(rate.Limit(perSecond), 1)
}

// Model is the model name VACE requests go to.
func (c *Client) Model() string { return c.model }

// EditModel is the model InstructEdit requests go to.
func (c *Client) EditModel() string { return c.editModel }

// ModelFor is the model a request goes to.
func (c *Client) ModelFor(r Request) string { return r.model(c) }

// BaseURL is the API root the client calls, for display: a user name and
// password in it are hidden (see [RedactURL]).
func (c *Client) BaseURL() string { return RedactURL(c.baseURL) }

// UploadBaseURL is the API root the client asks for upload policies, for
// display like [Client.BaseURL].
func (c *Client) UploadBaseURL() string { return RedactURL(c.uploadBaseURL) }

// HasAPIKey reports whether an API key is configured.
func (c *Client) HasAPIKey() bool { return c.apiKey != "" }

// Clock is the client's clock.
func (c *Client) Clock() Clock { return c.clock }

// Submit starts a task for r and returns it (status PENDING) without waiting
// for the video. It validates r first and sends nothing when r is invalid.
//
// A submission costs money, so it is sent at most once per call unless the
// service certainly refused it: a 429 (throttled, not accepted) or a
// connection that could not be made is retried; any other failure after the
// request was sent returns a [*SubmitUncertainError] and is not retried. A
// redirect is never followed (see [RedirectError]): it is an unknown outcome too.
func (c *Client) Submit(ctx context.Context, r Request) (*Task, error) {
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("dashscope: invalid %s request: %w", r.Function(), err)
	}
	body, err := RequestBody(r.model(c), r)
	if err != nil {
		return nil, err
	}
	hdr := http.Header{"X-Dashscope-Async": {"enable"}, "Content-Type": {"application/json"}}
	if usesOSS(r) {
		hdr.Set("X-DashScope-OssResourceResolve", "enable")
	}
	var resp taskResponse
	if err := c.do(ctx, call{
		method: http.MethodPost, path: "/services/aigc/video-generation/video-synthesis",
		header: hdr, body: body, limiter: c.submitLimiter, submit: true,
	}, &resp); err != nil {
		return nil, err
	}
	t, err := resp.task(c.upstream)
	if err != nil {
		return nil, &SubmitUncertainError{Since: c.clock.Now(), Err: err}
	}
	if t.Status == "" {
		t.Status = StatusPending
	}
	c.tracker.submitted(t, r.Function(), c.clock.Now())
	return t, nil
}

// GetTask returns a task's current state. An id the service does not know
// (wrong, or older than 24 hours) comes back as a task with StatusUnknown.
//
// It asks the service only when what the client knows could be stale, as
// every query counts against the account's 20 a second: a task last seen
// ended (SUCCEEDED, FAILED or CANCELED, not UNKNOWN) is answered from that
// while its result is valid (see [Task.Expires]), since an ended task never
// changes, and a running one from a query answered within the last second.
// Concurrent calls for one id share one query. That query runs to its end
// even if the caller that started it leaves, so its answer still reaches the
// other callers and what the client knows. With [WithSharedPolls], an answer
// another client published is used by the same rules (ended, or published
// within the last second) before asking. [Client.QueryTask] always asks.
func (c *Client) GetTask(ctx context.Context, taskID string) (*Task, error) {
	if err := checkTaskID(taskID); err != nil {
		return nil, err
	}
	if t, ok := c.tracker.known(taskID, c.clock.Now()); ok {
		return t, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	answer := c.queries.DoChan(taskID, func() (any, error) {
		// Looked at again: a shared query that ended since the look above
		// has just told the tracker, and asking again would be a second query.
		if t, ok := c.tracker.known(taskID, c.clock.Now()); ok {
			return t, nil
		}
		if c.shared != nil {
			if t, at, err := c.sharedLatest(context.WithoutCancel(ctx), taskID); err == nil && t != nil {
				c.tracker.observedAt(t, at)
				if t, ok := c.tracker.known(taskID, c.clock.Now()); ok {
					return t, nil
				}
			}
		}
		return c.QueryTask(context.WithoutCancel(ctx), taskID)
	})
	select {
	case r := <-answer:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*Task), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// QueryTask asks the service for a task's state, whatever the client knows
// and without sharing a query already under way, so the answer is read after
// the call began: for a caller that must see a change just made (a cancel)
// or that keeps what the client knows fresh (the shared poller). Otherwise
// use [Client.GetTask]. With [WithSharedPolls] the answer is published.
func (c *Client) QueryTask(ctx context.Context, taskID string) (*Task, error) {
	if err := checkTaskID(taskID); err != nil {
		return nil, err
	}
	var resp taskResponse
	if err := c.do(ctx, call{method: http.MethodGet, path: "/tasks/" + url.PathEscape(taskID), limiter: c.queryLimiter}, &resp); err != nil {
		return nil, err
	}
	t, err := resp.task(c.upstream)
	if err != nil {
		return nil, err
	}
	if t.ID != taskID {
		// An answer about another task (a confused proxy, a hostile
		// upstream) must not be recorded, reported or saved as this one.
		return nil, fmt.Errorf("dashscope: the answer about task %s names another task (request_id %q); it was ignored, try again", taskID, t.RequestID)
	}
	c.tracker.observed(t, c.clock.Now())
	c.publish(ctx, t)
	return t, nil
}

// CancelTask cancels a task that is still PENDING. The service refuses others
// with UnsupportedOperation (see [IsUnsupportedOperation]); as a cancel whose
// answer was lost is retried, that error can also mean it already worked, so
// query the task to learn its state.
func (c *Client) CancelTask(ctx context.Context, taskID string) error {
	if err := checkTaskID(taskID); err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodPost, path: "/tasks/" + url.PathEscape(taskID) + "/cancel", limiter: c.queryLimiter}, nil)
}

// ListTasks lists tasks by creation time, newest first, one page at a time.
func (c *Client) ListTasks(ctx context.Context, f ListFilter) (*TaskPage, error) {
	q := url.Values{}
	if !f.Start.IsZero() {
		q.Set("start_time", f.Start.In(serviceZone).Format(listTimeLayout))
	}
	if !f.End.IsZero() {
		q.Set("end_time", f.End.In(serviceZone).Format(listTimeLayout))
	}
	switch {
	case f.Model != "":
		q.Set("model_name", f.Model)
	case !f.AllModels:
		q.Set("model_name", c.model)
	}
	if f.Status != "" {
		q.Set("status", string(f.Status))
	}
	if f.PageNo > 0 {
		q.Set("page_no", strconv.Itoa(f.PageNo))
	}
	if f.PageSize > 0 {
		q.Set("page_size", strconv.Itoa(f.PageSize))
	}
	var page TaskPage
	if err := c.do(ctx, call{method: http.MethodGet, path: "/tasks", query: q, limiter: c.queryLimiter}, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// checkTaskID refuses ids that could not be a task id, before any request.
func checkTaskID(id string) error {
	if id == "" {
		return &FieldError{Field: "task_id", Problem: "required: the task_id a submission returned"}
	}
	if len(id) > 128 {
		return &FieldError{Field: "task_id", Problem: "too long to be a task id (at most 128 characters)"}
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return &FieldError{Field: "task_id", Problem: fmt.Sprintf("%q is not a task id: ids are letters, digits, '-' and '_' (e.g. 0385dc79-5ff8-4d82-bcb6-8e1f2a3b4c5d)", id)}
		}
	}
	return nil
}

// call is one HTTP request to the API.
type call struct {
	// root is the API root the call goes to, when not the client's.
	root         string
	method, path string
	query        url.Values
	header       http.Header
	body         []byte
	limiter      Limiter
	// submit marks a paid submission: retried only when certainly not accepted.
	submit bool
}

// maxResponseBytes bounds how much of a response body is read.
const maxResponseBytes = 4 << 20

// do sends the call, retrying as the call's kind allows, and decodes a
// successful response's JSON body into out (when out is not nil).
func (c *Client) do(ctx context.Context, cl call, out any) error {
	if c.apiKey == "" {
		return ErrNoAPIKey
	}
	target := cmp.Or(cl.root, c.baseURL) + cl.path
	if len(cl.query) > 0 {
		target += "?" + cl.query.Encode()
	}
	var sentAt time.Time
	for attempt := 1; ; attempt++ {
		if err := cl.limiter.Wait(ctx); err != nil {
			return err
		}
		if sentAt.IsZero() {
			sentAt = c.clock.Now()
		}
		status, err := c.roundTrip(ctx, cl, target, out)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			if cl.submit && status != errNotSent {
				return &SubmitUncertainError{Since: sentAt, Err: ctx.Err()}
			}
			return ctx.Err()
		}
		retry := c.retryable(cl, status, err)
		if !retry || attempt >= c.retry.Attempts {
			if cl.submit && !retry {
				if status == errNotSent || isDefiniteRefusal(err) {
					return err
				}
				return &SubmitUncertainError{Since: sentAt, Err: err}
			}
			return err
		}
		if err := c.clock.Sleep(ctx, c.backoff(attempt, err)); err != nil {
			return err
		}
	}
}

// roundTrip makes one attempt. The int result is the HTTP status, or
// errNotSent when no connection was made, or errBadBody.
func (c *Client) roundTrip(ctx context.Context, cl call, target string, out any) (int, error) {
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, target, body)
	if err != nil {
		return errNotSent, fmt.Errorf("dashscope: %s %s: %w", cl.method, cl.path, c.redactErr(err))
	}
	for k, vs := range cl.header {
		req.Header[k] = vs
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Accept", "application/json")
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	resp, err := c.api.Do(req)
	if err != nil {
		status := 0
		if isDialError(err) {
			status = errNotSent
		}
		return status, fmt.Errorf("dashscope: %s %s: %w", cl.method, cl.path, c.redactErr(err))
	}
	defer resp.Body.Close()
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if resp.StatusCode >= 400 {
		return resp.StatusCode, c.apiError(resp, data)
	}
	if resp.StatusCode >= 300 { // a redirect apiRedirect did not follow: its body is no answer to the call
		return resp.StatusCode, c.redirectError(resp)
	}
	if readErr != nil {
		return errBadBody, fmt.Errorf("dashscope: %s %s: reading response: %w", cl.method, cl.path, readErr)
	}
	if out == nil {
		return resp.StatusCode, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return errBadBody, fmt.Errorf("dashscope: %s %s: HTTP %d with an unreadable body: %w", cl.method, cl.path, resp.StatusCode, err)
	}
	return resp.StatusCode, nil
}

// apiError builds the error for a response with status >= 400.
func (c *Client) apiError(resp *http.Response, data []byte) *APIError {
	var body struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		Msg       string `json:"msg"`
		RequestID string `json:"request_id"`
	}
	e := &APIError{StatusCode: resp.StatusCode}
	if json.Unmarshal(data, &body) == nil {
		e.Code, e.Message, e.RequestID = body.Code, body.Message, body.RequestID
		if e.Message == "" {
			e.Message = body.Msg
		}
	} else {
		e.Message = string(data)
	}
	e.Code = c.upstream(e.Code, maxCodeRunes)
	e.Message = c.upstream(e.Message, maxMessageRunes)
	e.RequestID = c.upstream(e.RequestID, maxCodeRunes)
	if s := resp.Header.Get("Retry-After"); s != "" {
		if secs, err := strconv.Atoi(s); err == nil && secs > 0 {
			e.RetryAfter = time.Duration(secs) * time.Second
		}
	}
	return e
}

// redirectError describes a redirect that was not followed. It names only
// the scheme and host it pointed to: the rest is the upstream's to choose.
func (c *Client) redirectError(resp *http.Response) *RedirectError {
	e := &RedirectError{StatusCode: resp.StatusCode}
	if u, err := resp.Location(); err == nil && u.Host != "" {
		e.Location = c.upstream(u.Scheme+"://"+u.Host, maxCodeRunes)
	}
	return e
}

// apiRedirect is the CheckRedirect of API calls. A POST (a paid submission,
// a cancel) never follows a redirect: a 307 would resend it, prompt and
// inputs included, wherever the Location says, and a 302 would turn it into
// a GET whose answer would pass for the submission's. A GET follows up to 10
// redirects that keep the scheme and host, where the key goes anyway.
// Anything else reaches roundTrip as the 3xx it is (http.ErrUseLastResponse).
func apiRedirect(req *http.Request, via []*http.Request) error {
	first := via[0]
	if first.Method != http.MethodGet || len(via) >= 10 ||
		req.URL.Scheme != first.URL.Scheme || !strings.EqualFold(req.URL.Host, first.URL.Host) {
		return http.ErrUseLastResponse
	}
	return nil
}

// maxUpstreamBytes bounds how much of an upstream text is cleaned: far more
// than the few hundred characters kept.
const maxUpstreamBytes = 64 << 10

// upstream makes text from upstream fit to keep and show: plain (see
// [plain]), without secrets, at most n characters. Secrets are looked for
// once escapes are gone, which could split one, and before the cut, which
// could leave a run too short to recognise.
func (c *Client) upstream(s string, n int) string {
	if len(s) > maxUpstreamBytes {
		s = s[:maxUpstreamBytes]
	}
	return shorten(c.secrets.redact(plain(s)), n)
}

// redactErr makes an error of net/http fit to show: its URL without userinfo
// (net/http keeps the user name) and its text without secrets.
func (c *Client) redactErr(err error) error {
	if ue, ok := err.(*url.Error); ok {
		err = &url.Error{Op: ue.Op, URL: RedactURL(ue.URL), Err: ue.Err}
	}
	msg := err.Error()
	if red := c.secrets.redact(msg); red != msg {
		return errors.New(red)
	}
	return err
}
