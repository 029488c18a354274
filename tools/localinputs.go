package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/internal/localfiles"
	"github.com/vace-mcp/vace-mcp/internal/media"
)

// urlField is one URL argument of a request, settable in a copy of it.
type urlField struct {
	name  string // as the agent wrote it: "video_url", "ref_images_url[1]"
	base  string // the API field: "ref_images_url"
	value string
	set   func(string)
}

// urlFields lists the URL arguments (json names ending in _url) of an
// addressable request value, list items included.
func urlFields(v reflect.Value) []urlField {
	var out []urlField
	t := v.Type()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if !strings.HasSuffix(name, "_url") {
			continue
		}
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			out = append(out, urlField{name: name, base: name, value: f.String(), set: f.SetString})
		case reflect.Slice:
			f.Set(reflect.AppendSlice(reflect.MakeSlice(f.Type(), 0, f.Len()), f)) // our own copy to rewrite
			for j := range f.Len() {
				e := f.Index(j)
				out = append(out, urlField{name: fmt.Sprintf("%s[%d]", name, j), base: name, value: e.String(), set: e.SetString})
			}
		}
	}
	return out
}

// limitsFor is the media limits of an API field.
func limitsFor(field string) media.Limits {
	switch field {
	case "video_url", "mask_video_url":
		return media.VideoLimits
	case "first_clip_url", "last_clip_url":
		return media.ClipLimits
	}
	return media.ImageLimits
}

// localInput is a local file given for a URL argument, opened and checked.
type localInput struct {
	field urlField
	file  *localfiles.File
	info  media.Info
}

// inputs is a request whose local files have been opened and checked.
type inputs struct {
	req      reflect.Value // a copy of the request, rewritten in place
	original dashscope.Request
	locals   []*localInput
	warnings []string
}

func (in *inputs) request() dashscope.Request { return in.req.Interface().(dashscope.Request) }

func (in *inputs) close() {
	for _, l := range in.locals {
		_ = l.file.Close()
	}
}

// openInputs validates a request and opens its local files (paths or
// file:// URLs), checking each against the allowed directories and the
// API's media limits, before anything is uploaded or sent.
func (s *Service) openInputs(ctx context.Context, req dashscope.Request) (*inputs, error) {
	v := reflect.New(reflect.TypeOf(req)).Elem()
	v.Set(reflect.ValueOf(req))
	in := &inputs{req: v, original: req}
	var locals []urlField
	for _, f := range urlFields(v) {
		if f.value != "" && localfiles.IsLocal(f.value) {
			locals = append(locals, f)
			f.set("oss://local-file/" + f.base) // stands in for the upload while the rest is validated
		}
	}
	if err := in.request().Validate(); err != nil {
		return nil, err
	}
	var problems []error
	policy := s.opts.Files
	rootsAsked := false
	for _, f := range locals {
		file, err := policy.Open(f.value)
		if (errors.Is(err, localfiles.ErrNoAllowedDirs) || errors.Is(err, localfiles.ErrOutside)) && !rootsAsked {
			rootsAsked = true
			if roots := s.clientRoots(ctx); len(roots) > 0 {
				policy = policy.WithRoots(roots)
				file, err = policy.Open(f.value)
			}
		}
		if err != nil {
			problems = append(problems, &dashscope.FieldError{Field: f.name, Problem: err.Error()})
			continue
		}
		info, warns, err := media.Check(file, file.Info.Size(), limitsFor(f.base))
		if err != nil {
			_ = file.Close()
			problems = append(problems, &dashscope.FieldError{Field: f.name, Problem: fmt.Sprintf("%s: %v", f.value, err)})
			continue
		}
		for _, w := range warns {
			in.warnings = append(in.warnings, f.name+": "+w)
		}
		in.locals = append(in.locals, &localInput{field: f, file: file, info: info})
	}
	problems = append(problems, in.crossChecks()...)
	if len(problems) > 0 {
		in.close()
		return nil, errors.Join(problems...)
	}
	return in, nil
}

// crossChecks applies the rules that involve two local files.
func (in *inputs) crossChecks() []error {
	byField := map[string]*localInput{}
	for _, l := range in.locals {
		byField[l.field.name] = l
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
	if first != nil && last != nil && first.info.Duration+last.info.Duration > 3*time.Second {
		problems = append(problems, &dashscope.FieldError{Field: "last_clip_url", Problem: fmt.Sprintf(
			"first_clip_url and last_clip_url last %.1f s together; the two clips may be at most 3 s in all",
			(first.info.Duration + last.info.Duration).Seconds())})
	}
	return problems
}

// key identifies the submission for the duplicate guard: the request as the
// agent wrote it, plus each local file's identity (path, size, time), so an
// edited file is a new job but the same file twice is not.
func (in *inputs) key() (string, error) {
	b, err := json.Marshal(in.original)
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	sb.WriteString(string(in.original.Function()) + ":" + string(b))
	for _, l := range in.locals {
		fmt.Fprintf(&sb, "|%s=%s:%d:%d", l.field.name, l.file.Path, l.file.Info.Size(), l.file.Info.ModTime().UnixNano())
	}
	return sb.String(), nil
}

// upload puts each local file into DashScope's temporary storage (once per
// file) and returns the request with their oss:// URLs.
func (in *inputs) upload(ctx context.Context, c *dashscope.Client) (dashscope.Request, error) {
	done := map[string]string{}
	for _, l := range in.locals {
		u, ok := done[l.file.Path]
		if !ok {
			var err error
			u, err = c.Upload(ctx, filepath.Base(l.file.Path), l.file, l.file.Info.Size())
			if err != nil {
				return nil, fmt.Errorf("uploading %s for %s: %w", l.file.Path, l.field.name, err)
			}
			done[l.file.Path] = u
		}
		l.field.set(u)
	}
	return in.request(), nil
}

// clientRoots asks the client which directories it shares. Roots describe
// the client's machine, so they are only asked for over stdio, where client
// and server share it; a client without roots simply answers with none.
func (s *Service) clientRoots(ctx context.Context) []string {
	if sessionID(ctx) != "stdio" {
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
