package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func isServer(n string) bool { return n == "sandbox" || n == "region" || n == "allow-dir" }
func isBool(n string) bool   { return n == "sandbox" }

func TestParseCallSeparatesToolAndServerArguments(t *testing.T) {
	o, server, err := ParseCall([]string{"image_reference", "--sandbox", "--prompt", "a cat", "--ref_images_url", "a.png",
		"--ref_images_url=b.png", "--region", "cn", "--obj_or_bg", `["obj","bg"]`, "--wait", "--json=false", "--timeout", "5m"}, isServer, isBool)
	require.NoError(t, err)
	assert.Equal(t, "image_reference", o.Tool)
	assert.Equal(t, []string{"--sandbox", "--region", "cn"}, server)
	assert.Equal(t, []string{"a.png", "b.png"}, o.Args["ref_images_url"])
	assert.True(t, o.Wait)
	assert.False(t, o.JSON)
	assert.Equal(t, 5*time.Minute, o.Timeout)

	schema := json.RawMessage(`{"properties":{"prompt":{"type":"string"},"ref_images_url":{"type":"array","items":{"type":"string"}},
		"obj_or_bg":{"type":"array","items":{"type":"string"}},"seed":{"type":"integer"},"prompt_extend":{"type":"boolean"},"strength":{"type":"number"}}}`)
	o.Args["seed"], o.Args["prompt_extend"], o.Args["strength"] = []string{"7"}, []string{"false"}, []string{"0.5"}
	o.order = append(o.order, "seed", "prompt_extend", "strength")
	args, err := convertArgs(o, schema)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"prompt": "a cat", "ref_images_url": []any{"a.png", "b.png"}, "obj_or_bg": []any{"obj", "bg"},
		"seed": int64(7), "prompt_extend": false, "strength": 0.5}, args)

	_, err = o.LocalDirs()
	assert.ErrorContains(t, err, "--ref_images_url a.png: no such file", "a missing file is named as such")

	dir := t.TempDir()
	t.Chdir(dir)
	require.NoError(t, os.WriteFile("a.png", nil, 0o644))
	require.NoError(t, os.WriteFile("b.png", nil, 0o644))
	dirs, err := o.LocalDirs()
	require.NoError(t, err)
	abs, _ := filepath.Abs("a.png")
	assert.Equal(t, abs, o.Args["ref_images_url"][0], "relative paths are made absolute")
	assert.Contains(t, dirs, filepath.Dir(abs))

	o, _, err = ParseCall([]string{"video_edit", "--download"}, isServer, isBool)
	require.NoError(t, err)
	assert.True(t, o.Wait, "--download waits for the video")
	_, _, err = ParseCall([]string{"video_edit", "--prompt", "x", "--help"}, isServer, isBool)
	assert.ErrorIs(t, err, ErrHelp)
}

func TestParseCallRefusesMalformedCommands(t *testing.T) {
	for _, args := range [][]string{{}, {"--prompt", "x"}, {"video_edit", "prompt"}, {"video_edit", "--prompt"}, {"video_edit", "--timeout", "soon"}} {
		_, _, err := ParseCall(args, isServer, isBool)
		assert.Error(t, err, "%q", args)
	}
}
