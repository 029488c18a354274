package dashscope

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"time"
)

// Retry rules. Reads (get, list) and cancels are safe to repeat, so they are
// retried on 429, 5xx, 408 and broken connections or bodies. A submission
// costs money and has no idempotency key, so it is retried only when the
// service certainly did not take it: a 429, or a connection never made. A
// redirect that was not followed is not retried: it would come again.

// jitter returns a random duration in [0, d].
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}

// errNotSent is the pseudo-status of a request that never reached the server.
const errNotSent = -1

// errBadBody is the pseudo-status of a 2xx response whose body could not be read.
const errBadBody = -2

// retryable decides whether a failed call may be sent again.
func (c *Client) retryable(cl call, status int, err error) bool {
	var apiErr *APIError
	isAPI := errors.As(err, &apiErr)
	var redirect *RedirectError
	switch {
	case status == errNotSent:
		return true // nothing reached the server: safe for every call
	case cl.submit:
		return isAPI && apiErr.StatusCode == http.StatusTooManyRequests
	case errors.As(err, &redirect):
		return false
	case isAPI:
		return apiErr.Temporary()
	default:
		return true // broken connection or unreadable body: reads and cancels are safe to repeat
	}
}

// isDefiniteRefusal reports an error response that certainly created no task
// (any HTTP error status except 5xx and 408, which may hide an accepted task).
func isDefiniteRefusal(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode < 500 && apiErr.StatusCode != http.StatusRequestTimeout
}

// backoff is the pause before attempt+1: the service's Retry-After when it
// gave one (capped at Max), else exponential from Base with equal jitter.
func (c *Client) backoff(attempt int, err error) time.Duration {
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
		return min(apiErr.RetryAfter, c.retry.Max)
	}
	d := c.retry.Base << (attempt - 1)
	if d <= 0 || d > c.retry.Max {
		d = c.retry.Max
	}
	return d/2 + jitter(d/2)
}

// isDialError reports a failure to connect at all, so no request was sent.
func isDialError(err error) bool {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr)
}
