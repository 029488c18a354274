package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// runCLI runs the binary with args in dir and returns stdout, stderr and the exit code.
func runCLI(t *testing.T, dir string, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(baseEnv(t), env...)
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return stdout.String(), stderr.String(), code
}

func TestCallRunsAWholeSandboxJobWithProgressAndSavesTheVideo(t *testing.T) {
	dir := t.TempDir()
	stdout, stderr, code := runCLI(t, dir, nil, "call", "video_outpainting", "--sandbox", "--prompt", "a violinist on a wider stage",
		"--video_url", "https://example.com/in.mp4", "--left_scale", "1.5", "--wait", "--download", "--poll-interval", "500ms", "--progress-interval", "1s",
		"--output-dir", "clips")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	assert.Contains(t, stdout, "SANDBOX")
	assert.Contains(t, stdout, "SUCCEEDED")
	assert.Contains(t, stderr, "[sandbox] RUNNING", "progress is shown on stderr")
	assert.Contains(t, stderr, "SANDBOX MODE")
	files, err := filepath.Glob(filepath.Join(dir, "clips", "vace-*.mp4"))
	require.NoError(t, err)
	require.Len(t, files, 1, "an explicit relative --output-dir is relative to the working directory")
	saved, _ := os.ReadFile(files[0])
	assert.Equal(t, dashscopetest.SampleVideo, saved)
}

// TestCallSavesInTheUsersVideosFolderWhateverTheWorkingDirectory: desktop
// hosts start servers in /, so the default output directory cannot be
// relative to the working directory.
func TestCallSavesInTheUsersVideosFolderWhateverTheWorkingDirectory(t *testing.T) {
	home := t.TempDir()
	env := []string{"HOME=" + home, "USERPROFILE=" + home, "XDG_VIDEOS_DIR=", "VACE_MCP_OUTPUT_DIR="} // empty: not set
	stdout, stderr, code := runCLI(t, string(filepath.Separator), env, "call", "video_outpainting", "--sandbox", "--prompt", "p",
		"--video_url", "https://example.com/in.mp4", "--wait", "--download", "--poll-interval", "500ms", "--json")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
	videos := "Videos"
	if runtime.GOOS == "darwin" {
		videos = "Movies"
	}
	want := filepath.Join(home, videos, "vace-mcp", "vace-"+out["task_id"].(string)+".mp4")
	assert.Equal(t, want, out["local_path"])
	assert.FileExists(t, want)
}

func TestCallPrintsJSONAndUploadsTheFilesItNames(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "clip.mp4"), dashscopetest.SampleVideo, 0o644))
	fake := newFake(t)
	stdout, stderr, code := runCLI(t, dir, fakeEnv(fake), "call", "video_extension", "--prompt", "a dog skateboarding",
		"--first_clip_url", "clip.mp4", "--json")
	require.Equal(t, 0, code, stderr)
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
	assert.Equal(t, "PENDING", out["status"])
	require.Len(t, fake.Uploads(), 1, "a relative path on the command line is the person's own file")
	assert.Contains(t, string(fake.Requests(dashscopetest.EndpointSubmit)[0].Body), `"first_clip_url":"oss://`)
}

func TestCallExplainsBadInput(t *testing.T) {
	fake := newFake(t)
	stdout, _, code := runCLI(t, t.TempDir(), fakeEnv(fake), "call", "video_outpainting", "--prompt", "p", "--video_url", "https://x/v.mp4", "--top_scale", "3")
	assert.Equal(t, 1, code)
	assert.Contains(t, stdout, "top_scale: must be between 1.0 and 2.0")
	_, stderr, code := runCLI(t, t.TempDir(), fakeEnv(fake), "call", "make_movie")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "video_outpainting")
	_, stderr, code = runCLI(t, t.TempDir(), fakeEnv(fake), "call", "video_outpainting", "--top_scal", "1.5")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "takes no --top_scal")
	assert.Empty(t, fake.Requests())
}

func TestDoctorChecksTheSetupWithoutSpending(t *testing.T) {
	fake := newFake(t)
	stdout, _, code := runCLI(t, t.TempDir(), fakeEnv(fake), "doctor")
	assert.Equal(t, 0, code, stdout)
	assert.Contains(t, stdout, "accepts the key")
	assert.Contains(t, stdout, "temporary uploads work")
	assert.Zero(t, fake.Count(dashscopetest.EndpointSubmit), "doctor never submits")

	stdout, _, code = runCLI(t, t.TempDir(), []string{"DASHSCOPE_API_KEY=sk-wrong", "DASHSCOPE_BASE_URL=" + fake.BaseURL()}, "doctor")
	assert.Equal(t, 1, code)
	assert.Contains(t, stdout, "FAIL  DashScope refused the key")
	assert.NotContains(t, stdout, "sk-wrong")

	stdout, _, code = runCLI(t, t.TempDir(), nil, "doctor", "--region", "cn", "--allow-dir", "/no/such/dir")
	assert.Equal(t, 1, code)
	for _, want := range []string{"FAIL  DASHSCOPE_API_KEY is not set", "region cn", "FAIL  --allow-dir /no/such/dir"} {
		assert.Contains(t, stdout, want)
	}
	assert.True(t, strings.Contains(stdout, "→"), "each problem says what to do")
}

// TestTheReadmesVideoEditExampleRunsInTheSandbox runs README's video_edit
// example, with only the required arguments, against the sandbox, whose
// simulated DashScope refuses fields the caller never sent.
func TestTheReadmesVideoEditExampleRunsInTheSandbox(t *testing.T) {
	stdout, stderr, code := runCLI(t, t.TempDir(), nil, "call", "video_edit", "--sandbox", "--prompt", "a lion in a suit sipping coffee",
		"--video_url", "https://example.com/cafe.mp4", "--mask_image_url", "https://example.com/cafe_mask.png", "--json")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &out), stdout)
	assert.Equal(t, "PENDING", out["status"])
	assert.Equal(t, "video_edit", out["function"])
}
