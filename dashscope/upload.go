package dashscope

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// UploadPolicy is a short-lived permit to put one file into DashScope's
// temporary storage, for use by one model.
type UploadPolicy struct {
	Policy          string   `json:"policy"`
	Signature       string   `json:"signature"`
	UploadDir       string   `json:"upload_dir"`
	UploadHost      string   `json:"upload_host"`
	ExpireInSeconds flexInt  `json:"expire_in_seconds"`
	MaxFileSizeMB   flexInt  `json:"max_file_size_mb"`
	CapacityLimitMB flexInt  `json:"capacity_limit_mb"`
	OSSAccessKeyID  string   `json:"oss_access_key_id"`
	ObjectACL       string   `json:"x_oss_object_acl"`
	ForbidOverwrite flexBool `json:"x_oss_forbid_overwrite"`
}

// MaxBytes is the largest file the policy allows.
func (p *UploadPolicy) MaxBytes() int64 { return int64(p.MaxFileSizeMB) << 20 }

// UploadTTL is how long an uploaded oss:// file can be used.
const UploadTTL = 48 * time.Hour

// GetUploadPolicy asks for a permit to upload one file for the client's
// VACE model, from [Client.UploadBaseURL].
func (c *Client) GetUploadPolicy(ctx context.Context) (*UploadPolicy, error) {
	return c.uploadPolicy(ctx, c.model)
}

// uploadPolicy asks for a permit to upload one file for model: an uploaded
// file can be used by that model only.
func (c *Client) uploadPolicy(ctx context.Context, model string) (*UploadPolicy, error) {
	var resp struct {
		RequestID string        `json:"request_id"`
		Data      *UploadPolicy `json:"data"`
	}
	q := url.Values{"action": {"getPolicy"}, "model": {model}}
	if err := c.do(ctx, call{root: c.uploadBaseURL, method: http.MethodGet, path: "/uploads", query: q, limiter: c.uploadLimiter}, &resp); err != nil {
		return nil, err
	}
	p := resp.Data
	if p == nil || p.UploadHost == "" || p.UploadDir == "" || p.Policy == "" {
		return nil, fmt.Errorf("dashscope: upload policy response lacks data (request_id %q)", resp.RequestID)
	}
	if u, err := url.Parse(p.UploadHost); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("dashscope: upload policy has an unusable upload_host %q", c.upstream(p.UploadHost, maxCodeRunes))
	}
	return p, nil
}

// UploadError is a refusal from the storage host (an XML error body), or a
// redirect, which an upload never follows. Code, Message and RequestID are
// kept plain and short, like [APIError]'s.
type UploadError struct {
	StatusCode int
	Code       string `xml:"Code"`
	Message    string `xml:"Message"`
	RequestID  string `xml:"RequestId"`
}

func (e *UploadError) Error() string {
	msg := fmt.Sprintf("dashscope: upload refused: HTTP %d", e.StatusCode)
	if e.Code != "" {
		msg += " " + quoted(e.Code)
	}
	if e.Message != "" {
		msg += ", the storage host said: " + strconv.Quote(e.Message)
	}
	return msg
}

// ErrTooLarge is matched by uploads larger than the policy allows.
var ErrTooLarge = errors.New("dashscope: file larger than the upload policy allows")

// Upload puts a file into DashScope's temporary storage and returns its
// oss:// URL, usable for 48 hours by this account and model only (requests
// that use it must send X-DashScope-OssResourceResolve, which Submit does).
//
// The file is streamed from r, never held in memory; r is read again from
// the start if an attempt must be retried. name is the file's base name.
func (c *Client) Upload(ctx context.Context, name string, r io.ReaderAt, size int64) (string, error) {
	return c.UploadFor(ctx, c.model, name, r, size)
}

// UploadFor is [Client.Upload] for a file that requests to model will use
// (see [Client.ModelFor]): DashScope binds an uploaded file to one model.
func (c *Client) UploadFor(ctx context.Context, model, name string, r io.ReaderAt, size int64) (string, error) {
	policy, err := c.uploadPolicy(ctx, model)
	if err != nil {
		return "", err
	}
	if max := policy.MaxBytes(); max > 0 && size > max {
		return "", fmt.Errorf("%w: %d bytes, the limit is %d MB", ErrTooLarge, size, policy.MaxFileSizeMB)
	}
	// A random prefix keeps two files of one name apart, so a retry that meets
	// FileAlreadyExists can only have met its own earlier attempt.
	key := policy.UploadDir + "/" + randomPrefix() + "-" + objectName(name)
	for attempt := 1; ; attempt++ {
		err := c.postObject(ctx, policy, key, r, size)
		var ue *UploadError
		switch {
		case err == nil:
			return "oss://" + key, nil
		case attempt > 1 && errors.As(err, &ue) && ue.Code == "FileAlreadyExists":
			return "oss://" + key, nil // an earlier attempt's answer was lost, but the file is there
		case ctx.Err() != nil:
			return "", ctx.Err()
		case attempt >= c.retry.Attempts || !uploadRetryable(err):
			return "", err
		}
		if err := c.clock.Sleep(ctx, c.backoff(attempt, err)); err != nil {
			return "", err
		}
	}
}

func uploadRetryable(err error) bool {
	var ue *UploadError
	if errors.As(err, &ue) {
		return ue.StatusCode >= 500 || ue.StatusCode == http.StatusTooManyRequests
	}
	return true // a broken connection: the key forbids overwrites, so a retry cannot clobber anything
}

// postObject sends the PostObject form: the policy's fields, then the file
// as the last part, with an exact Content-Length and no Authorization.
func (c *Client) postObject(ctx context.Context, p *UploadPolicy, key string, r io.ReaderAt, size int64) error {
	var head bytes.Buffer
	mw := multipart.NewWriter(&head)
	forbid := "true"
	if !bool(p.ForbidOverwrite) {
		forbid = "false"
	}
	acl := p.ObjectACL
	if acl == "" {
		acl = "private"
	}
	for _, f := range [][2]string{
		{"OSSAccessKeyId", p.OSSAccessKeyID}, {"Signature", p.Signature}, {"policy", p.Policy}, {"key", key},
		{"x-oss-object-acl", acl}, {"x-oss-forbid-overwrite", forbid}, {"success_action_status", "200"},
	} {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return err
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, key[strings.LastIndex(key, "/")+1:]))
	h.Set("Content-Type", "application/octet-stream")
	if _, err := mw.CreatePart(h); err != nil {
		return err
	}
	tail := "\r\n--" + mw.Boundary() + "--\r\n"
	body := io.MultiReader(bytes.NewReader(head.Bytes()), io.NewSectionReader(r, 0, size), strings.NewReader(tail))

	if err := c.uploadLimiter.Wait(ctx); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.UploadHost, body)
	if err != nil {
		return err
	}
	req.ContentLength = int64(head.Len()) + size + int64(len(tail))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	hc := c.uploadHTTP()
	// The form carries the policy's signature, which must not be resent to
	// another host (307), and a 302 would turn the upload into a GET whose
	// 200 would pass for a stored file: a redirect is a refusal (>= 300 below).
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("dashscope: upload to %s: %w", RedactURL(p.UploadHost), c.redactErr(err))
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 300 {
		ue := &UploadError{StatusCode: resp.StatusCode}
		if xml.Unmarshal(data, ue) != nil {
			ue.Message = string(data)
		}
		ue.Code = c.upstream(ue.Code, maxCodeRunes)
		ue.Message = c.upstream(ue.Message, maxMessageRunes)
		ue.RequestID = c.upstream(ue.RequestID, maxCodeRunes)
		return ue
	}
	return nil
}

// uploadHTTP is the client's HTTP client without its overall timeout, which
// a large upload on a slow link would exceed; the context bounds it instead.
func (c *Client) uploadHTTP() *http.Client {
	h := *c.http
	h.Timeout = 0
	return &h
}

// objectName makes a file name safe for an object key (and for the API's
// URLs, which must not contain Chinese characters): ASCII letters, digits,
// dot, dash and underscore; anything else becomes '_'.
func objectName(name string) string {
	name = name[strings.LastIndexAny(name, `/\`)+1:]
	var b strings.Builder
	for _, r := range name {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	out := strings.TrimLeft(b.String(), ".")
	if out == "" {
		out = "file"
	}
	if len(out) > 100 {
		out = out[len(out)-100:]
	}
	return out
}

func randomPrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// flexInt reads a number written as a JSON number or a string.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("dashscope: %s is not a number", b)
	}
	*f = flexInt(n)
	return nil
}

// flexBool reads a boolean written as a JSON boolean or a string.
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = false
		return nil
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("dashscope: %s is not a boolean", b)
	}
	*f = flexBool(v)
	return nil
}
