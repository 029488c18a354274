package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// mediaDir makes a directory with a real MP4, a mask image of the video's
// size, a too-small image, and things that must never be uploaded.
func mediaDir(t *testing.T) (dir, outside string) {
	t.Helper()
	root := t.TempDir()
	dir, outside = filepath.Join(root, "media"), filepath.Join(root, "private")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, os.MkdirAll(outside, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "in.mp4"), dashscopetest.SampleVideo, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.mp4"), dashscopetest.SampleVideo, 0o644))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.mp4"), filepath.Join(dir, "link.mp4")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo.mp4"), 0o644))
	writePNG(t, filepath.Join(dir, "tiny.png"), 100, 100)
	writePNG(t, filepath.Join(dir, "ref.png"), 400, 400)
	return dir, outside
}

func TestLocalFilesAreCheckedUploadedAndSubmittedAsOSSURLs(t *testing.T) {
	dir, _ := mediaDir(t)
	fake := newFake(t)
	s := startStdio(t, startOptions{env: fakeEnv(fake), args: []string{"--allow-dir", dir}, legacy: true})

	video := filepath.Join(dir, "in.mp4")
	res := call(t, s.Client, "video_repainting", map[string]any{
		"prompt": "a steampunk car", "video_url": video, "ref_images_url": []any{"file://" + filepath.Join(dir, "ref.png")},
		"control_condition": "depth",
	})
	require.False(t, res.IsError, text(res))

	ups := fake.Uploads()
	require.Len(t, ups, 2)
	assert.Equal(t, "file", ups[0].Order[len(ups[0].Order)-1], "the file is the form's last field")
	assert.Empty(t, ups[0].Header.Get("Authorization"), "the storage host never sees the key")
	assert.Equal(t, int64(len(dashscopetest.SampleVideo)), ups[0].Size)

	sub := fake.Requests(dashscopetest.EndpointSubmit)
	require.Len(t, sub, 1)
	assert.Equal(t, "enable", sub[0].Header.Get("X-DashScope-OssResourceResolve"))
	body := string(sub[0].Body)
	assert.Contains(t, body, `"video_url":"oss://`+ups[0].Key+`"`)
	assert.Contains(t, body, `"ref_images_url":["oss://`+ups[1].Key+`"]`)
	assert.NotContains(t, body, dir, "no local path reaches DashScope")

	// The same local file again is a duplicate: nothing is uploaded or paid twice.
	again := call(t, s.Client, "video_repainting", map[string]any{
		"prompt": "a steampunk car", "video_url": video, "ref_images_url": []any{"file://" + filepath.Join(dir, "ref.png")},
		"control_condition": "depth",
	})
	assert.Equal(t, true, structured(t, again)["duplicate"])
	assert.Len(t, fake.Uploads(), 2)
}

func TestLocalPathsThatEscapeOrMisfitAreRefusedAndNothingIsUploaded(t *testing.T) {
	dir, outside := mediaDir(t)
	fake := newFake(t)
	s := startStdio(t, startOptions{env: fakeEnv(fake), args: []string{"--allow-dir", dir}, legacy: true})
	tests := []struct {
		name, video, says string
	}{
		{"dot-dot out", dir + "/../private/secret.mp4", "contains '..'"},
		{"dot-dot in", dir + "/sub/../in.mp4", "contains '..'"},
		{"a link out", filepath.Join(dir, "link.mp4"), "outside the allowed directories"},
		{"outside", filepath.Join(outside, "secret.mp4"), "outside the allowed directories"},
		{"a directory", filepath.Join(dir, "sub"), "a directory"},
		{"a pipe", filepath.Join(dir, "fifo.mp4"), "a named pipe"},
		{"a relative path", "media/in.mp4", "relative path"},
		{"missing", filepath.Join(dir, "nope.mp4"), "does not exist"},
		{"an image as video", filepath.Join(dir, "ref.png"), "PNG"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := call(t, s.Client, "video_outpainting", map[string]any{"prompt": "p", "video_url": tc.video})
			require.True(t, res.IsError, text(res))
			assert.Contains(t, text(res), "video_url:")
			assert.Contains(t, text(res), tc.says)
		})
	}
	res := call(t, s.Client, "image_reference", map[string]any{"prompt": "p", "ref_images_url": []any{filepath.Join(dir, "tiny.png")}})
	require.True(t, res.IsError)
	assert.Contains(t, text(res), "ref_images_url[0]:")
	assert.Contains(t, text(res), "360")

	assert.Zero(t, fake.Count(dashscopetest.EndpointPolicy), "no upload was even prepared")
	assert.Zero(t, fake.Count(dashscopetest.EndpointUpload))
	assert.Zero(t, fake.Count(dashscopetest.EndpointSubmit))
}

func TestWithoutAllowedDirectoriesLocalPathsSayHowToAllowThem(t *testing.T) {
	dir, _ := mediaDir(t)
	fake := newFake(t)
	s := startStdio(t, startOptions{env: fakeEnv(fake), legacy: true})
	res := call(t, s.Client, "video_outpainting", map[string]any{"prompt": "p", "video_url": filepath.Join(dir, "in.mp4")})
	require.True(t, res.IsError)
	assert.Contains(t, text(res), "--allow-dir")
	assert.Empty(t, fake.Requests())
}

// sharedRoots is a client that shares one directory as its MCP root.
type sharedRoots string

func (r sharedRoots) ListRoots(context.Context, mcp.ListRootsRequest) (*mcp.ListRootsResult, error) {
	return &mcp.ListRootsResult{Roots: []mcp.Root{{URI: "file://" + string(r), Name: "media"}}}, nil
}

func TestTheClientsRootsAllowItsFilesOverStdio(t *testing.T) {
	dir, outside := mediaDir(t)
	fake := newFake(t)
	s := startStdio(t, startOptions{env: fakeEnv(fake), legacy: true, clientOpts: []client.ClientOption{client.WithRootsHandler(sharedRoots(dir))}})
	res := call(t, s.Client, "video_outpainting", map[string]any{"prompt": "p", "video_url": filepath.Join(dir, "in.mp4")})
	require.False(t, res.IsError, text(res))
	res = call(t, s.Client, "video_outpainting", map[string]any{"prompt": "q", "video_url": filepath.Join(outside, "secret.mp4")})
	assert.True(t, res.IsError, "a root allows only itself")
	assert.Len(t, fake.Uploads(), 1)
}

func TestDownloadSavesTheVideoAtomicallyInTheOutputDirectory(t *testing.T) {
	out := filepath.Join(t.TempDir(), "videos")
	fake := newFake(t)
	s := startStdio(t, startOptions{env: fakeEnv(fake), args: []string{"--output-dir", out}, legacy: true})
	_, err := os.Stat(out)
	assert.True(t, os.IsNotExist(err), "starting the server creates nothing")

	id := structured(t, call(t, s.Client, "video_outpainting", map[string]any{"prompt": "p", "video_url": "https://x/v.mp4"}))["task_id"].(string)
	require.Equal(t, "SUCCEEDED", structured(t, call(t, s.Client, "wait_task", map[string]any{"task_id": id}))["status"])
	res := call(t, s.Client, "download_video", map[string]any{"task_id": id})
	require.False(t, res.IsError, text(res))
	r := structured(t, res)
	path := r["local_path"].(string)
	assert.Equal(t, filepath.Join(out, "vace-"+id+".mp4"), path)
	saved, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, dashscopetest.SampleVideo, saved)
	var fileLink bool
	for _, c := range res.Content {
		if l, ok := c.(mcp.ResourceLink); ok && strings.HasPrefix(l.URI, "file://") {
			fileLink = true
			assert.Equal(t, "file://"+path, l.URI)
		}
	}
	assert.True(t, fileLink, "a file:// resource link to the saved video")

	// A download that fails leaves no partial file and says why.
	id2 := structured(t, call(t, s.Client, "video_outpainting", map[string]any{"prompt": "q", "video_url": "https://x/v.mp4"}))["task_id"].(string)
	call(t, s.Client, "wait_task", map[string]any{"task_id": id2})
	fake.InjectFault(dashscopetest.EndpointResult, 1, dashscopetest.Fault{TruncateAfter: 1000})
	res = call(t, s.Client, "download_video", map[string]any{"task_id": id2})
	require.True(t, res.IsError)
	assert.Contains(t, text(res), "Nothing was saved")
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the first video, no partial file")

	res = call(t, s.Client, "download_video", map[string]any{"task_id": id2})
	assert.NotEmpty(t, structured(t, res)["local_path"], "a retry succeeds")

	running := structured(t, call(t, s.Client, "video_outpainting", map[string]any{"prompt": "r", "video_url": "https://x/v.mp4"}))["task_id"]
	res = call(t, s.Client, "download_video", map[string]any{"task_id": running})
	require.True(t, res.IsError)
	assert.Contains(t, text(res), "no video to save")
}

// TestRootsAreAskedOnlyOfClientsThatDeclareThem: the spec lets a server send
// roots/list only to a client that declared roots; a refused local path
// must not ask one that did not (it would wait for an answer that never comes).
func TestRootsAreAskedOnlyOfClientsThatDeclareThem(t *testing.T) {
	dir, outside := mediaDir(t)
	fake := newFake(t)
	for _, args := range [][]string{nil, {"--allow-dir", dir}} {
		s := startStdio(t, startOptions{env: fakeEnv(fake), args: args, legacy: true})
		res := call(t, s.Client, "video_outpainting", map[string]any{"prompt": "p", "video_url": filepath.Join(outside, "secret.mp4")})
		require.True(t, res.IsError, text(res))
		for _, m := range s.Wire.messages() {
			var msg struct{ Method string }
			require.NoError(t, json.Unmarshal(m, &msg))
			assert.NotEqual(t, "roots/list", msg.Method, "args %v: the client declared no roots", args)
		}
	}
	assert.Empty(t, fake.Requests())
}

// TestOutsidePathsAreRefusedWithOneMessage probes outside the allowed
// directory every way an agent can (a file that exists, one that does not,
// links to either, /proc/self): each gets the same sentence, which tells
// nothing of the outside.
func TestOutsidePathsAreRefusedWithOneMessage(t *testing.T) {
	dir, outside := mediaDir(t)
	require.NoError(t, os.Symlink(filepath.Join(outside, "missing.mp4"), filepath.Join(dir, "dangling.mp4")))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "private")))
	fake := newFake(t)
	s := startStdio(t, startOptions{env: fakeEnv(fake), args: []string{"--allow-dir", dir}, legacy: true})
	paths := []string{
		filepath.Join(outside, "secret.mp4"),
		filepath.Join(outside, "missing.mp4"),
		filepath.Join(dir, "link.mp4"),
		filepath.Join(dir, "dangling.mp4"),
		filepath.Join(dir, "private", "secret.mp4"),
		filepath.Join(dir, "private", "missing.mp4"),
		"/proc/self/exe",
		"/proc/self/cwd/in.mp4",
	}
	var first string
	for _, p := range paths {
		res := call(t, s.Client, "video_outpainting", map[string]any{"prompt": "p", "video_url": p})
		require.True(t, res.IsError, text(res))
		msg := strings.ReplaceAll(text(res), strconv.Quote(p), "PATH")
		assert.Contains(t, msg, "video_url: PATH is outside the allowed directories", p)
		if first == "" {
			first = msg
		}
		assert.Equal(t, first, msg, p)
	}
	assert.NotContains(t, first, outside)
	assert.NotContains(t, first, "exist")
	assert.NotContains(t, first, binary, "where /proc/self/exe leads")
	res := call(t, s.Client, "video_outpainting", map[string]any{"prompt": "p", "video_url": filepath.Join(dir, "nope.mp4")})
	assert.Contains(t, text(res), "does not exist", "inside, the reason is still told")
	assert.Empty(t, fake.Requests())
}

// hostileUpstream is a DashScope that calls every task SUCCEEDED, names the
// task answerID(asked) in its answers, and serves each result with result.
func hostileUpstream(t *testing.T, answerID func(asked string) string, result http.HandlerFunc) []string {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, ok := strings.CutPrefix(r.URL.Path, "/api/v1/tasks/"); ok {
			now := time.Now()
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"request_id": "r-1", "output": map[string]any{
				"task_id": answerID(id), "task_status": "SUCCEEDED",
				"submit_time": dashscope.FormatServiceTime(now.Add(-time.Minute)), "end_time": dashscope.FormatServiceTime(now),
				"video_url": fmt.Sprintf("%s/results/%s.mp4?Expires=%d", srv.URL, id, now.Add(time.Hour).Unix()),
			}, "usage": map[string]any{"video_duration": 5, "video_count": 1}})
			return
		}
		result(w, r)
	}))
	t.Cleanup(srv.Close)
	return []string{"DASHSCOPE_API_KEY=sk-hostile", "DASHSCOPE_BASE_URL=" + srv.URL + "/api/v1"}
}

func sameID(id string) string { return id }

func serveVideo(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "video/mp4")
	_, _ = w.Write(dashscopetest.SampleVideo)
}

// TestDownloadKeepsOnlyAnMP4OfTheTaskAskedFor: an upstream's error page, an
// endless body, or an answer about another task is never saved as a video,
// and a cached file that is not one is replaced, not served.
func TestDownloadKeepsOnlyAnMP4OfTheTaskAskedFor(t *testing.T) {
	const id = "0385dc79-5ff8-4d82-bcb6-00000000000a"
	saved := func(t *testing.T, out string) []string {
		entries, err := os.ReadDir(out)
		if os.IsNotExist(err) {
			return nil
		}
		require.NoError(t, err)
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		return names
	}
	refused := map[string]struct {
		answerID func(string) string
		result   http.HandlerFunc
		says     string
	}{
		"an HTML error page": {sameID, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
		}, "not an MP4 video"},
		"a body beyond the cap": {sameID, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "video/mp4") // a real video, then no end: no Content-Length to refuse early
			_, _ = w.Write(dashscopetest.SampleVideo)
			pad := make([]byte, 1<<20)
			for range dashscope.MaxResultBytes>>20 + 1 {
				if _, err := w.Write(pad); err != nil {
					return
				}
			}
		}, "larger than the download limit"},
		"an answer about another task": {func(string) string { return "0385dc79-5ff8-4d82-bcb6-00000000000b" }, serveVideo, "names another task"},
	}
	for name, tc := range refused {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "videos")
			s := startStdio(t, startOptions{env: hostileUpstream(t, tc.answerID, tc.result), args: []string{"--output-dir", out}, legacy: true})
			res := call(t, s.Client, "download_video", map[string]any{"task_id": id})
			require.True(t, res.IsError, text(res))
			assert.Contains(t, text(res), tc.says)
			assert.Empty(t, saved(t, out), "nothing is saved, under any name")
		})
	}

	t.Run("a cached file that is not a video", func(t *testing.T) {
		t.Parallel()
		out := filepath.Join(t.TempDir(), "videos")
		require.NoError(t, os.MkdirAll(out, 0o755))
		cached := filepath.Join(out, "vace-"+id+".mp4")
		require.NoError(t, os.WriteFile(cached, []byte("<html>an error page saved by an older version</html>"), 0o644))
		s := startStdio(t, startOptions{env: hostileUpstream(t, sameID, serveVideo), args: []string{"--output-dir", out}, legacy: true})
		res := call(t, s.Client, "download_video", map[string]any{"task_id": id})
		require.False(t, res.IsError, text(res))
		assert.Equal(t, cached, structured(t, res)["local_path"])
		got, err := os.ReadFile(cached)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(dashscopetest.SampleVideo, got), "downloaded again, not served from the cache: %.60q", got)
	})
}
