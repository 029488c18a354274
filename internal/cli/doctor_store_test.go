package cli

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/internal/journal/redisjournal"
	"github.com/vace-mcp/vace-mcp/internal/localfiles"
	"github.com/vace-mcp/vace-mcp/internal/redistest"
)

func TestDoctorReportsASharedStoreAndWhenItIsDown(t *testing.T) {
	srv := redistest.Spawn(t, redistest.SpawnOptions{Password: "s3cret-pw"})
	store, err := redisjournal.New(redisjournal.Options{URL: srv.URL, Prefix: srv.Prefix})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	client, err := dashscope.NewClient()
	require.NoError(t, err)
	outputs, err := localfiles.NewOutputDir(t.TempDir())
	require.NoError(t, err)
	setup := Setup{Client: client, Outputs: outputs, Journal: store}

	var out bytes.Buffer
	Doctor(t.Context(), setup, &out)
	assert.Contains(t, out.String(), "ok    shared job journal "+store.Describe()+" answers: schema 1, 0 jobs")
	assert.NotContains(t, out.String(), "s3cret-pw")

	srv.Stop()
	out.Reset()
	assert.Equal(t, 1, Doctor(t.Context(), setup, &out))
	assert.Contains(t, out.String(), "FAIL  the job journal "+store.Describe()+" is unavailable")
	assert.Contains(t, out.String(), "Redis is running")
	assert.Contains(t, out.String(), "the read-only tools keep working")
	assert.NotContains(t, out.String(), "s3cret-pw")
}
