package dashscope

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// MaxResultBytes is the most a result download may be. A result is at most
// a few seconds of 720p video, a few MB; twice the 50 MB the API takes as an
// input video leaves room for any of them, and a body larger than that is
// not one (an upstream that streams without end must not fill the disk).
const MaxResultBytes = 100 << 20

// ErrResultTooLarge is matched by downloads that exceed their size cap.
var ErrResultTooLarge = errors.New("dashscope: result larger than the download limit")

// Download streams a result (a task's video_url) into w, refusing to write
// more than maxBytes. It returns the bytes written. The URL is signed and
// needs no key, so none is sent.
func (c *Client) Download(ctx context.Context, resultURL string, w io.Writer, maxBytes int64) (int64, error) {
	u, err := url.Parse(resultURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return 0, fmt.Errorf("dashscope: result URL %q is not an http(s) URL", resultURL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, resultURL, nil)
	if err != nil {
		return 0, err
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	resp, err := c.uploadHTTP().Do(req)
	if err != nil {
		return 0, fmt.Errorf("dashscope: downloading the result: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound:
		return 0, fmt.Errorf("dashscope: the result is gone (HTTP %d): result URLs expire 24 hours after the task", resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return 0, fmt.Errorf("dashscope: downloading the result: HTTP %d", resp.StatusCode)
	case resp.ContentLength > maxBytes:
		return 0, fmt.Errorf("%w: %d bytes, the limit is %d", ErrResultTooLarge, resp.ContentLength, maxBytes)
	}
	n, err := io.Copy(w, io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return n, fmt.Errorf("dashscope: downloading the result: %w", err)
	}
	if n > maxBytes {
		return n, fmt.Errorf("%w: more than %d bytes", ErrResultTooLarge, maxBytes)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, fmt.Errorf("dashscope: downloading the result: got %d of %d bytes", n, resp.ContentLength)
	}
	return n, nil
}
