package localfiles

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
		{"a link out", filepath.Join(allowed, "escape.mp4"), "outside the allowed directories"},
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

// TestOutsidePathsAreRefusedWithOneMessage probes the outside through every
// door an agent has (a missing or existing file, a link in, /proc/self): the
// answer is the same sentence, with nothing of the outside in it.
func TestOutsidePathsAreRefusedWithOneMessage(t *testing.T) {
	allowed, outside := layout(t)
	require.NoError(t, os.Symlink(filepath.Join(outside, "missing.txt"), filepath.Join(allowed, "dangling-out.mp4")))
	require.NoError(t, os.Symlink("../media-private/secret.txt", filepath.Join(allowed, "relative-out.mp4")))
	require.NoError(t, os.Symlink(filepath.Join(outside, "loop"), filepath.Join(allowed, "loop.mp4")))
	require.NoError(t, os.Symlink(filepath.Join(allowed, "loop.mp4"), filepath.Join(outside, "loop")))
	p, err := NewPolicy([]string{allowed})
	require.NoError(t, err)

	paths := []string{
		filepath.Join(outside, "secret.txt"),
		filepath.Join(outside, "missing.txt"),
		filepath.Join(outside, "missing", "deeper.txt"),
		"file://" + filepath.Join(outside, "secret.txt"),
		filepath.Join(allowed, "escape.mp4"),
		filepath.Join(allowed, "dangling-out.mp4"),
		filepath.Join(allowed, "relative-out.mp4"),
		filepath.Join(allowed, "loop.mp4"),
		filepath.Join(allowed, "dirlink", "secret.txt"),
		filepath.Join(allowed, "dirlink", "missing.txt"),
		"/proc/self/exe",
		"/proc/self/cwd/x.mp4",
		"/proc/self/root" + filepath.Join(allowed, "clip.mp4"),
	}
	want := ""
	for _, path := range paths {
		_, err := p.Open(path)
		require.ErrorIs(t, err, ErrOutside, path)
		msg := strings.ReplaceAll(err.Error(), strconv.Quote(path), "PATH")
		if want == "" {
			want = msg
		}
		assert.Equal(t, want, msg, path)
	}
	assert.NotContains(t, want, outside)
	assert.NotContains(t, want, "exist")
}

// TestInsidePathsKeepTheirReasons: a file missing or broken inside the
// allowed directories is told apart, as that is the caller's to fix.
func TestInsidePathsKeepTheirReasons(t *testing.T) {
	allowed, _ := layout(t)
	require.NoError(t, os.Symlink(filepath.Join(allowed, "gone.mp4"), filepath.Join(allowed, "dangling.mp4")))
	require.NoError(t, os.Symlink("loop-b.mp4", filepath.Join(allowed, "loop-a.mp4")))
	require.NoError(t, os.Symlink("loop-a.mp4", filepath.Join(allowed, "loop-b.mp4")))
	p, err := NewPolicy([]string{allowed})
	require.NoError(t, err)
	for path, says := range map[string]string{
		filepath.Join(allowed, "nope.mp4"):           "does not exist",
		filepath.Join(allowed, "nope", "deeper.mp4"): "does not exist",
		filepath.Join(allowed, "dangling.mp4"):       "does not exist",
		filepath.Join(allowed, "clip.mp4", "x.mp4"):  "not a directory",
		filepath.Join(allowed, "loop-a.mp4"):         "too many levels of symbolic links",
		filepath.Join(allowed, "sub"):                "a directory",
		allowed:                                      "a directory",
	} {
		_, err := p.Open(path)
		require.Error(t, err, path)
		assert.NotErrorIs(t, err, ErrOutside, path)
		assert.Contains(t, err.Error(), says, path)
		assert.Equal(t, 1, strings.Count(err.Error(), allowed), "only the path given is named: %v", err)
	}
}

// TestAllowedDirectoriesGivenThroughALinkWork: a directory given by a name
// that is a link is inside under both names.
func TestAllowedDirectoriesGivenThroughALinkWork(t *testing.T) {
	allowed, _ := layout(t)
	link := filepath.Join(t.TempDir(), "media-link")
	require.NoError(t, os.Symlink(allowed, link))
	p, err := NewPolicy([]string{link})
	require.NoError(t, err)
	for _, path := range []string{filepath.Join(link, "clip.mp4"), filepath.Join(allowed, "clip.mp4")} {
		f, err := p.Open(path)
		require.NoError(t, err, path)
		f.Close()
	}
	_, err = p.Open(filepath.Join(link, "nope.mp4"))
	assert.ErrorContains(t, err, "does not exist")
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
