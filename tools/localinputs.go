package tools

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/internal/localfiles"
	"github.com/vace-mcp/vace-mcp/internal/media"
)

// localInput is a local file given for a media URL, opened and checked.
type localInput struct {
	media  dashscope.Media
	file   *localfiles.File
	info   media.Info
	digest string // sha256 of the content, read once
}

// staging is a request whose local files are open and checked: the step
// between the caller's arguments and the request that goes on the wire.
type staging struct {
	req      dashscope.Request // as the caller wrote it
	media    []dashscope.Media
	locals   map[int]*localInput // by index in media
	warnings []string
}

func (st *staging) close() {
	for _, l := range st.locals {
		_ = l.file.Close()
	}
}

func (st *staging) uploads() int { return len(st.locals) }

// stage validates a request and opens its local files (paths or file://
// URLs), checking each against the allowed directories and the API's media
// limits, before anything is uploaded or sent.
func (s *Service) stage(ctx context.Context, req dashscope.Request) (*staging, error) {
	st := &staging{req: req, media: req.Media(), locals: map[int]*localInput{}}
	var problems []error
	policy := s.opts.Files
	rootsAsked := false
	for i, m := range st.media {
		if !localfiles.IsLocal(m.URL) {
			continue
		}
		file, err := policy.Open(m.URL)
		if (errors.Is(err, localfiles.ErrNoAllowedDirs) || errors.Is(err, localfiles.ErrOutside)) && !rootsAsked {
			rootsAsked = true
			if roots := s.clientRoots(ctx); len(roots) > 0 {
				policy = policy.WithRoots(roots)
				file, err = policy.Open(m.URL)
			}
		}
		if err != nil {
			problems = append(problems, &dashscope.FieldError{Field: m.Field, Problem: err.Error()})
			continue
		}
		info, warns, err := media.Check(file, file.Info.Size(), m.Limits)
		if err != nil {
			_ = file.Close()
			problems = append(problems, &dashscope.FieldError{Field: m.Field, Problem: fmt.Sprintf("%s: %v", m.URL, err)})
			continue
		}
		for _, w := range warns {
			st.warnings = append(st.warnings, m.Field+": "+w)
		}
		st.locals[i] = &localInput{media: m, file: file, info: info}
	}
	// Local files were checked as they were opened; every other URL is checked as a URL.
	err := req.ValidateWith(func(field, u string) error {
		if localfiles.IsLocal(u) {
			return nil
		}
		return dashscope.CheckURL(field, u)
	})
	if err != nil {
		problems = append(problems, err)
	}
	problems = append(problems, st.crossChecks()...)
	if len(problems) > 0 {
		st.close()
		return nil, errors.Join(problems...)
	}
	return st, nil
}

// crossChecks applies the rules that involve two local files.
func (st *staging) crossChecks() []error {
	byField := map[string]*localInput{}
	for _, l := range st.locals {
		byField[l.media.Field] = l
	}
	var problems []error
	mask, video := byField["mask_image_url"], byField["video_url"]
	if mask != nil && video != nil && video.info.Width > 0 && mask.info.Width > 0 &&
		(mask.info.Width != video.info.Width || mask.info.Height != video.info.Height) {
		problems = append(problems, &dashscope.FieldError{Field: "mask_image_url", Problem: fmt.Sprintf(
			"the mask is %dx%d px but video_url is %dx%d px: a mask image must be exactly the video's resolution",
			mask.info.Width, mask.info.Height, video.info.Width, video.info.Height)})
	}
	first, last := byField["first_clip_url"], byField["last_clip_url"]
	if first != nil && last != nil && first.info.Duration+last.info.Duration > dashscope.VACEClipsMaxTotal {
		problems = append(problems, &dashscope.FieldError{Field: "last_clip_url", Problem: fmt.Sprintf(
			"first_clip_url and last_clip_url last %.1f s together; the two clips may be at most %s in all",
			(first.info.Duration + last.info.Duration).Seconds(), seconds(dashscope.VACEClipsMaxTotal))})
	}
	return problems
}

// key identifies the submission for the duplicate guard: the request as the
// service will understand it (model, defaults filled in, URL hosts
// lower-cased) with each local file named by its content, so one file given
// as a path, a file:// URL or through a link is one job, and an edited file
// is a new one.
func (st *staging) key(model string) (string, error) {
	urls := make([]string, len(st.media))
	for i, m := range st.media {
		urls[i] = m.URL
		if l, ok := st.locals[i]; ok {
			d, err := l.contentDigest()
			if err != nil {
				return "", &dashscope.FieldError{Field: m.Field, Problem: fmt.Sprintf("%s could not be read: %v", m.URL, err)}
			}
			urls[i] = "sha256:" + d
		}
	}
	body, err := dashscope.RequestBody(model, st.req.WithMedia(urls).Canonical())
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:]), nil
}

func (l *localInput) contentDigest() (string, error) {
	if l.digest == "" {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(l.file, 0, l.file.Info.Size())); err != nil {
			return "", err
		}
		l.digest = hex.EncodeToString(h.Sum(nil))
	}
	return l.digest, nil
}

// upload puts each local file into DashScope's temporary storage (once per
// file) and returns the request to send: the caller's, with oss:// URLs in
// place of the local files.
func (st *staging) upload(ctx context.Context, c *dashscope.Client) (dashscope.Request, error) {
	urls := make([]string, len(st.media))
	done := map[string]string{}
	for i, m := range st.media {
		urls[i] = m.URL
		l, ok := st.locals[i]
		if !ok {
			continue
		}
		u, ok := done[l.file.Path]
		if !ok {
			var err error
			u, err = c.UploadFor(ctx, c.ModelFor(st.req), filepath.Base(l.file.Path), l.file, l.file.Info.Size())
			if err != nil {
				return nil, &uploadError{field: m.Field, path: l.file.Path, err: err}
			}
			done[l.file.Path] = u
		}
		urls[i] = u
	}
	return st.req.WithMedia(urls), nil
}

// uploadError is a local file that could not be put into temporary storage;
// nothing was submitted.
type uploadError struct {
	field, path string
	err         error
}

func (e *uploadError) Error() string {
	return fmt.Sprintf("uploading %s for %s: %v", e.path, e.field, e.err)
}

func (e *uploadError) Unwrap() error { return e.err }

// clientRoots asks the client which directories it shares. Roots describe
// the client's machine, so they are only asked for over stdio, where client
// and server share it, and only of a client that declared the roots
// capability: the spec forbids asking the others, and they would never
// answer, so every refused path would wait out the timeout.
func (s *Service) clientRoots(ctx context.Context) []string {
	if sessionID(ctx) != "stdio" || !declaresRoots(ctx) {
		return nil
	}
	srv := server.ServerFromContext(ctx)
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	res, err := srv.RequestRoots(ctx, mcp.ListRootsRequest{})
	if err != nil {
		return nil
	}
	var uris []string
	for _, r := range res.Roots {
		uris = append(uris, r.URI)
	}
	return uris
}

// declaresRoots reports whether the client declared the roots capability:
// mcp-go records it on the session at initialize, and from each request's
// _meta on the stateless protocol.
func declaresRoots(ctx context.Context) bool {
	cs, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo)
	return ok && cs.GetClientCapabilities().Roots != nil
}
