package localfiles

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSaveIsAtomicAndStaysInTheDirectory(t *testing.T) {
	o, err := NewOutputDir(filepath.Join(t.TempDir(), "out", "nested"))
	require.NoError(t, err)
	require.NoError(t, o.CheckWritable())

	path, err := o.Save("vace-abc.mp4", func(w io.Writer) error { _, err := io.WriteString(w, "video"); return err }, isVideo)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(o.Dir(), "vace-abc.mp4"), path)
	got, _ := os.ReadFile(path)
	assert.Equal(t, "video", string(got))
	p, ok := o.Existing("vace-abc.mp4", isVideo)
	assert.True(t, ok)
	assert.Equal(t, path, p)

	_, err = o.Save("vace-def.mp4", func(w io.Writer) error {
		_, _ = io.WriteString(w, "half a vid")
		return errors.New("connection reset")
	}, isVideo)
	assert.ErrorContains(t, err, "connection reset")
	entries, _ := os.ReadDir(o.Dir())
	require.Len(t, entries, 1, "a failed download leaves nothing behind")
	assert.Equal(t, "vace-abc.mp4", entries[0].Name())

	for _, bad := range []string{"../x.mp4", "a/b.mp4", "", "..", `a\b.mp4`} {
		_, err := o.Save(bad, func(io.Writer) error { return nil }, isVideo)
		assert.ErrorContains(t, err, "plain file name", bad)
	}
	entries, _ = os.ReadDir(filepath.Dir(o.Dir()))
	for _, e := range entries {
		assert.False(t, strings.HasSuffix(e.Name(), ".mp4"), "nothing written beside the output directory")
	}
}

// isVideo passes files that say "video".
func isVideo(r io.ReaderAt, size int64) error {
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if string(b) != "video" {
		return errors.New("not a video")
	}
	return nil
}

func TestContentThatFailsTheCheckIsNeitherSavedNorReused(t *testing.T) {
	o, err := NewOutputDir(t.TempDir())
	require.NoError(t, err)
	_, err = o.Save("vace-abc.mp4", func(w io.Writer) error { _, err := io.WriteString(w, "<html>502</html>"); return err }, isVideo)
	assert.ErrorContains(t, err, "not a video")
	entries, _ := os.ReadDir(o.Dir())
	assert.Empty(t, entries, "nothing is renamed into place")

	// A file that is there already but fails the check is no result, and the next save replaces it.
	require.NoError(t, os.WriteFile(filepath.Join(o.Dir(), "vace-abc.mp4"), []byte("<html>502</html>"), 0o644))
	_, ok := o.Existing("vace-abc.mp4", isVideo)
	assert.False(t, ok)
	path, err := o.Save("vace-abc.mp4", func(w io.Writer) error { _, err := io.WriteString(w, "video"); return err }, isVideo)
	require.NoError(t, err)
	got, _ := os.ReadFile(path)
	assert.Equal(t, "video", string(got))
	_, ok = o.Existing("vace-abc.mp4", isVideo)
	assert.True(t, ok)

	require.NoError(t, os.Symlink(path, filepath.Join(o.Dir(), "vace-link.mp4")))
	_, ok = o.Existing("vace-link.mp4", isVideo)
	assert.False(t, ok, "a link is not a saved file")
}

func TestTheDefaultOutputDirectoryIsTheUsersVideosFolder(t *testing.T) {
	videos := t.TempDir()
	d, err := DefaultOutputDir(func(k string) string { return map[string]string{"XDG_VIDEOS_DIR": videos}[k] })
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(videos, "vace-mcp"), d)

	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home) // Windows
	for _, xdg := range []string{"", "relative/videos"} {
		d, err = DefaultOutputDir(func(k string) string { return map[string]string{"XDG_VIDEOS_DIR": xdg}[k] })
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(home, videosFolder(runtime.GOOS), "vace-mcp"), d, "XDG_VIDEOS_DIR=%q is not an absolute path: ignored", xdg)
		assert.True(t, filepath.IsAbs(d), "never relative to a working directory that may be /")
	}
	assert.Equal(t, "Movies", videosFolder("darwin"))
	assert.Equal(t, "Videos", videosFolder("linux"))
	assert.Equal(t, "Videos", videosFolder("windows"))
}

func TestIntactTakesOnlyACheckedRegularFileWhereverItIs(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "elsewhere.mp4")
	require.NoError(t, os.WriteFile(good, []byte("video"), 0o644))
	assert.True(t, Intact(good, isVideo), "a result saved by another process, in its own directory")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.mp4"), []byte("<html>"), 0o644))
	assert.False(t, Intact(filepath.Join(dir, "bad.mp4"), isVideo))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "empty.mp4"), nil, 0o644))
	assert.False(t, Intact(filepath.Join(dir, "empty.mp4"), func(io.ReaderAt, int64) error { return nil }))
	assert.False(t, Intact(filepath.Join(dir, "gone.mp4"), isVideo))
	assert.False(t, Intact(dir, isVideo), "a directory")
	require.NoError(t, os.Symlink(good, filepath.Join(dir, "link.mp4")))
	assert.False(t, Intact(filepath.Join(dir, "link.mp4"), isVideo))
}
