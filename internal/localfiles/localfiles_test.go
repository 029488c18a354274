package localfiles

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// layout makes an allowed directory with a file, a subdirectory, links in
// and out, a pipe, and a secret file outside it.
func layout(t *testing.T) (allowed, outside string) {
	t.Helper()
	root := t.TempDir()
	allowed = filepath.Join(root, "media")
	outside = filepath.Join(root, "media-private") // shares a prefix with "media"
	require.NoError(t, os.MkdirAll(filepath.Join(allowed, "sub"), 0o755))
	require.NoError(t, os.MkdirAll(outside, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(allowed, "clip.mp4"), []byte("video"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(allowed, "sub", "frame.png"), []byte("image"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("secret"), 0o644))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(allowed, "escape.mp4")))
	require.NoError(t, os.Symlink(filepath.Join(allowed, "clip.mp4"), filepath.Join(allowed, "alias.mp4")))
	require.NoError(t, os.Symlink(outside, filepath.Join(allowed, "dirlink")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(allowed, "pipe.mp4"), 0o644))
	return allowed, outside
}

func TestOpenAllowsOnlyRegularFilesInsideAllowedDirectories(t *testing.T) {
	allowed, outside := layout(t)
	p, err := NewPolicy([]string{allowed})
	require.NoError(t, err)
	tests := []struct {
		name, path string
		says       string // "" means allowed
	}{
		{"a file", filepath.Join(allowed, "clip.mp4"), ""},
		{"a file in a subdirectory", filepath.Join(allowed, "sub", "frame.png"), ""},
		{"a file URL", "file://" + filepath.Join(allowed, "clip.mp4"), ""},
		{"a localhost file URL", "file://localhost" + filepath.Join(allowed, "clip.mp4"), ""},
		{"a link that stays inside", filepath.Join(allowed, "alias.mp4"), ""},
		{"dot-dot that would stay inside", filepath.Join(allowed, "sub") + "/../clip.mp4", "contains '..'"},
		{"dot-dot out", allowed + "/../media-private/secret.txt", "contains '..'"},
		{"a link out", filepath.Join(allowed, "escape.mp4"), "is a link to"},
		{"through a directory link out", filepath.Join(allowed, "dirlink", "secret.txt"), "outside the allowed directories"},
		{"a sibling sharing the prefix", filepath.Join(outside, "secret.txt"), "outside the allowed directories"},
		{"a directory", filepath.Join(allowed, "sub"), "a directory"},
		{"a pipe", filepath.Join(allowed, "pipe.mp4"), "a named pipe"},
		{"a relative path", "media/clip.mp4", "relative path"},
		{"a missing file", filepath.Join(allowed, "nope.mp4"), "does not exist"},
		{"another host", "file://server" + filepath.Join(allowed, "clip.mp4"), "another host"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := p.Open(tc.path)
			if tc.says == "" {
				require.NoError(t, err)
				defer f.Close()
				assert.True(t, f.Info.Mode().IsRegular())
				return
			}
			require.Error(t, err)
			assert.Nil(t, f)
			assert.Contains(t, err.Error(), tc.says)
		})
	}
}

func TestDevicesAreRefused(t *testing.T) {
	p, err := NewPolicy([]string{"/dev"})
	require.NoError(t, err)
	_, err = p.Open("/dev/null")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "a device")
}

func TestWithoutAllowedDirectoriesLocalPathsAreOffAndSaySo(t *testing.T) {
	allowed, _ := layout(t)
	p, err := NewPolicy(nil)
	require.NoError(t, err)
	_, err = p.Open(filepath.Join(allowed, "clip.mp4"))
	assert.True(t, errors.Is(err, ErrNoAllowedDirs))
	assert.Contains(t, err.Error(), "--allow-dir")

	withRoots := p.WithRoots([]string{"file://" + allowed, "file:///does/not/exist", "https://example.com/"})
	assert.Equal(t, []string{mustReal(t, allowed)}, withRoots.Dirs(), "roots that are directories count")
	f, err := withRoots.Open(filepath.Join(allowed, "clip.mp4"))
	require.NoError(t, err)
	f.Close()
}

func mustReal(t *testing.T, p string) string {
	r, err := filepath.EvalSymlinks(p)
	require.NoError(t, err)
	return r
}

func TestNewPolicyRefusesMissingDirectories(t *testing.T) {
	_, err := NewPolicy([]string{filepath.Join(t.TempDir(), "missing")})
	assert.ErrorContains(t, err, "no such directory")
}

func TestIsLocal(t *testing.T) {
	for s, local := range map[string]bool{
		"/data/clip.mp4":                  true,
		"file:///data/clip.mp4":           true,
		"clip.mp4":                        true,
		"https://example.com/clip.mp4":    false,
		"http://example.com/clip.mp4":     false,
		"oss://dashscope-instant/x/a.mp4": false,
	} {
		assert.Equal(t, local, IsLocal(s), s)
	}
}
