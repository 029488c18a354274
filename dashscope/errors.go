package dashscope

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// APIError is a failure reported by DashScope: an HTTP status of 400 or more,
// with the service's error code, message and request id. These come from
// upstream, so they are kept plain (no control characters or escapes, one
// line), without the key, and short; Error quotes them.
type APIError struct {
	// StatusCode is the HTTP status of the response.
	StatusCode int
	// Code is the service's error code, such as "InvalidApiKey" or "Throttling.RateQuota".
	Code string
	// Message is the service's explanation (from "message", or "msg" on some services).
	Message string
	// RequestID identifies the request in DashScope's logs.
	RequestID string
	// RetryAfter is the pause the service asked for (Retry-After header), if any.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dashscope: HTTP %d", e.StatusCode)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", quoted(e.Code))
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ", DashScope said: %q", e.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request_id %s)", quoted(e.RequestID))
	}
	return b.String()
}

// RedirectError is a 3xx answer that was not followed. A submission or a
// cancel never follows a redirect, which would resend it elsewhere (307) or
// turn it into a GET (302); a read follows only redirects to the same scheme
// and host. A submission that meets one has an unknown outcome
// ([*SubmitUncertainError]), as the redirecting server may have taken it.
type RedirectError struct {
	StatusCode int
	// Location is the scheme and host redirected to; "" when there was none.
	Location string
}

func (e *RedirectError) Error() string {
	to := "without a Location"
	if e.Location != "" {
		to = "to " + e.Location
	}
	return fmt.Sprintf("dashscope: HTTP %d redirect %s not followed: the API root must answer itself "+
		"(a POST never follows a redirect, a GET only to the same scheme and host); check the API root", e.StatusCode, to)
}

// Temporary reports whether the same request may succeed later: throttling,
// a request timeout, or a server-side failure.
func (e *APIError) Temporary() bool {
	return e.StatusCode == http.StatusTooManyRequests ||
		e.StatusCode == http.StatusRequestTimeout ||
		e.StatusCode >= 500
}

// IsThrottled reports whether err is DashScope refusing a request for rate or
// quota reasons (HTTP 429, codes Throttling*). The request was not accepted.
func IsThrottled(err error) bool {
	var e *APIError
	return errors.As(err, &e) && (e.StatusCode == http.StatusTooManyRequests || strings.HasPrefix(e.Code, "Throttling"))
}

// IsAuth reports whether err is an authentication or authorization failure:
// a missing, wrong or cross-region API key (401, InvalidApiKey) or an account
// without access to the model (403, AccessDenied*).
func IsAuth(err error) bool {
	var e *APIError
	return errors.As(err, &e) && (e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden ||
		e.Code == "InvalidApiKey" || strings.HasPrefix(e.Code, "AccessDenied"))
}

// IsInvalidRequest reports whether DashScope rejected the request's content
// (HTTP 400 other than an unsupported operation or an overdue account).
func IsInvalidRequest(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.StatusCode == http.StatusBadRequest &&
		e.Code != "UnsupportedOperation" && e.Code != "Arrearage"
}

// IsUnsupportedOperation reports whether the service refused an operation in
// the task's current state, such as cancelling a task that is no longer PENDING.
func IsUnsupportedOperation(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Code == "UnsupportedOperation"
}

// IsArrearage reports whether the account is overdue and cannot run paid tasks.
func IsArrearage(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Code == "Arrearage"
}

// ErrNoAPIKey is returned, before anything is sent, by every call of a
// client that has no API key.
var ErrNoAPIKey = errors.New("dashscope: no API key is configured (DASHSCOPE_API_KEY)")

// ErrSubmitUncertain is matched (errors.Is) by every [*SubmitUncertainError].
var ErrSubmitUncertain = errors.New("dashscope: the submission may have been accepted")

// SubmitUncertainError reports a submission whose outcome is unknown: the
// request was sent but the answer was a server error, a timeout, a broken
// connection or an unreadable body. A task (and a charge) may exist, so the
// client does not resubmit; look for it with [Client.ListTasks] from Since.
type SubmitUncertainError struct {
	// Since is when the submission was sent; list tasks from here to find it.
	Since time.Time
	// Err is what went wrong.
	Err error
}

func (e *SubmitUncertainError) Error() string {
	return fmt.Sprintf("dashscope: submission outcome unknown, a task may have been created and billed (%v); "+
		"it was not resent: list tasks created since %s to find it before submitting again",
		e.Err, e.Since.In(serviceZone).Format(time.DateTime+" MST"))
}

func (e *SubmitUncertainError) Unwrap() []error { return []error{ErrSubmitUncertain, e.Err} }

// FieldError is a request field whose value the service would refuse or
// misread. Field is the API's field name, such as "top_scale".
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// fieldErrors collects a request's problems; Err joins them, nil when none.
type fieldErrors []error

func (fe *fieldErrors) add(field, format string, args ...any) {
	*fe = append(*fe, &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
}

func (fe fieldErrors) err() error { return errors.Join(fe...) }
