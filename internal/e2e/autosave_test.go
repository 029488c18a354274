package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// autoSaveEnv runs a server on fake with auto-save at its default (on: the
// harness turns it off), its journal in state and its videos in out.
func autoSaveEnv(fake *dashscopetest.Server, state, out string) []string {
	return append(fakeEnv(fake), "VACE_MCP_AUTO_SAVE=", "VACE_MCP_STATE_DIR="+state, "VACE_MCP_OUTPUT_DIR="+out)
}

// submitUnwatched submits a job and returns its task id; nobody waits for it.
func submitUnwatched(t *testing.T, s *session, prompt string) string {
	t.Helper()
	res := call(t, s.Client, "video_outpainting", map[string]any{"prompt": prompt, "video_url": "https://example.com/in.mp4"})
	require.False(t, res.IsError, text(res))
	return structured(t, res)["task_id"].(string)
}

// savedVideos lists the finished videos in dirs (not the temporary files a
// save in progress writes): where each file name is.
func savedVideos(dirs ...string) map[string][]string {
	out := map[string][]string{}
	for _, dir := range dirs {
		entries, _ := os.ReadDir(dir) // a directory not made yet holds nothing
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "vace-") && strings.HasSuffix(e.Name(), ".mp4") {
				out[e.Name()] = append(out[e.Name()], filepath.Join(dir, e.Name()))
			}
		}
	}
	return out
}

// waitForVideo waits (boundedly) for the video of taskID to appear in one of dirs.
func waitForVideo(t *testing.T, taskID string, dirs ...string) string {
	t.Helper()
	name := "vace-" + taskID + ".mp4"
	require.Eventually(t, func() bool { return len(savedVideos(dirs...)[name]) > 0 },
		30*time.Second, 20*time.Millisecond, "the video of %s never appeared in %v", taskID, dirs)
	return savedVideos(dirs...)[name][0]
}

func TestAutoSaveSavesAJobNobodyWaitedForAndDownloadVideoAnswersWithIt(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	out := filepath.Join(t.TempDir(), "videos")
	s := startStdio(t, startOptions{env: autoSaveEnv(fake, t.TempDir(), out), legacy: true})
	id := submitUnwatched(t, s, "a violinist on a wider stage")

	path := waitForVideo(t, id, out)
	assert.Equal(t, filepath.Join(out, "vace-"+id+".mp4"), path)
	saved, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, dashscopetest.SampleVideo, saved)

	queries := fake.Count(dashscopetest.EndpointGetTask)
	res := call(t, s.Client, "download_video", map[string]any{"task_id": id})
	require.False(t, res.IsError, text(res))
	assert.Equal(t, path, structured(t, res)["local_path"])
	assert.Contains(t, text(res), "Already saved.")
	assert.Equal(t, queries, fake.Count(dashscopetest.EndpointGetTask), "answered at once, without asking DashScope")
	assert.Equal(t, 1, fake.Count(dashscopetest.EndpointResult), "downloaded once")
	assert.Contains(t, s.Stderr.String(), "auto-saved a finished job's video")
}

func TestAutoSaveInTwoProcessesSharingAStateDirectorySavesEachVideoOnce(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	state, outA, outB := t.TempDir(), t.TempDir(), t.TempDir()
	a := startStdio(t, startOptions{env: autoSaveEnv(fake, state, outA), legacy: true})
	b := startStdio(t, startOptions{env: autoSaveEnv(fake, state, outB), legacy: true})
	ids := []string{submitUnwatched(t, a, "one"), submitUnwatched(t, b, "two"), submitUnwatched(t, a, "three")}

	paths := map[string]string{}
	for _, id := range ids {
		paths[id] = waitForVideo(t, id, outA, outB)
	}
	time.Sleep(time.Second) // ten more rounds of each process: nobody saves anything again
	saved := savedVideos(outA, outB)
	assert.Len(t, saved, len(ids))
	for name, where := range saved {
		assert.Len(t, where, 1, "%s saved in one place", name)
	}
	assert.Equal(t, len(ids), fake.Count(dashscopetest.EndpointResult), "one download per video, by whichever process held its lease")

	for _, id := range ids { // either process answers with the file, wherever it was saved
		for _, s := range []*session{a, b} {
			res := call(t, s.Client, "download_video", map[string]any{"task_id": id})
			require.False(t, res.IsError, text(res))
			assert.Equal(t, paths[id], structured(t, res)["local_path"])
		}
	}
	assert.Equal(t, len(ids), fake.Count(dashscopetest.EndpointResult))
}

func TestAutoSaveCatchesUpWithAJobThatEndedWhileNoServerRan(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	state, out := t.TempDir(), t.TempDir()
	first := startStdio(t, startOptions{env: append(fakeEnv(fake), "VACE_MCP_STATE_DIR="+state, "VACE_MCP_OUTPUT_DIR="+out, "VACE_MCP_AUTO_SAVE=false"), legacy: true})
	id := submitUnwatched(t, first, "submitted, then the host quit")
	first.Proc.stop()
	time.Sleep(testLife.Queue + testLife.Run) // the job ends while no server runs
	assert.Empty(t, savedVideos(out))

	later := startStdio(t, startOptions{env: autoSaveEnv(fake, state, out), legacy: true})
	path := waitForVideo(t, id, out)
	res := call(t, later.Client, "download_video", map[string]any{"task_id": id})
	require.False(t, res.IsError, text(res))
	assert.Equal(t, path, structured(t, res)["local_path"])
	assert.Equal(t, 1, fake.Count(dashscopetest.EndpointResult))
}

func TestAutoSaveOffSavesNothingByItself(t *testing.T) {
	t.Parallel()
	fake := newFake(t)
	out := t.TempDir()
	s := startStdio(t, startOptions{env: autoSaveEnv(fake, t.TempDir(), out), args: []string{"--auto-save=false"}, legacy: true})
	submitUnwatched(t, s, "p")
	time.Sleep(testLife.Queue + testLife.Run + time.Second)
	assert.Empty(t, savedVideos(out))
	assert.Zero(t, fake.Count(dashscopetest.EndpointGetTask), "nobody asked about the job")
	assert.Zero(t, fake.Count(dashscopetest.EndpointResult))
}
