package localfiles

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSaveIsAtomicAndStaysInTheDirectory(t *testing.T) {
	o, err := NewOutputDir(filepath.Join(t.TempDir(), "out", "nested"))
	require.NoError(t, err)
	require.NoError(t, o.CheckWritable())

	path, err := o.Save("vace-abc.mp4", func(w io.Writer) error { _, err := io.WriteString(w, "video"); return err })
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(o.Dir(), "vace-abc.mp4"), path)
	got, _ := os.ReadFile(path)
	assert.Equal(t, "video", string(got))
	p, ok := o.Existing("vace-abc.mp4")
	assert.True(t, ok)
	assert.Equal(t, path, p)

	_, err = o.Save("vace-def.mp4", func(w io.Writer) error {
		_, _ = io.WriteString(w, "half a vid")
		return errors.New("connection reset")
	})
	assert.ErrorContains(t, err, "connection reset")
	entries, _ := os.ReadDir(o.Dir())
	require.Len(t, entries, 1, "a failed download leaves nothing behind")
	assert.Equal(t, "vace-abc.mp4", entries[0].Name())

	for _, bad := range []string{"../x.mp4", "a/b.mp4", "", "..", `a\b.mp4`} {
		_, err := o.Save(bad, func(io.Writer) error { return nil })
		assert.ErrorContains(t, err, "plain file name", bad)
	}
	entries, _ = os.ReadDir(filepath.Dir(o.Dir()))
	for _, e := range entries {
		assert.False(t, strings.HasSuffix(e.Name(), ".mp4"), "nothing written beside the output directory")
	}
}
