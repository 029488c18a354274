package config

import (
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parse(t *testing.T, env map[string]string, args ...string) (*Config, error) {
	t.Helper()
	return Parse(args, func(k string) string { return env[k] }, io.Discard)
}

func TestDefaults(t *testing.T) {
	c, err := parse(t, nil)
	require.NoError(t, err)
	assert.Equal(t, TransportStdio, c.Transport)
	assert.Equal(t, "127.0.0.1:8080", c.Addr)
	assert.Equal(t, "intl", c.Region)
	assert.Equal(t, "https://dashscope-intl.aliyuncs.com/api/v1", c.BaseURL)
	assert.Equal(t, "wan2.1-vace-plus", c.Model)
	assert.Equal(t, slog.LevelInfo, c.LogLevel)
	assert.Empty(t, c.APIKey)
	assert.Equal(t, 30*time.Minute, c.SessionIdleTimeout)
	assert.Equal(t, 5*time.Second, c.ProgressInterval)
	assert.Zero(t, c.PollInterval)
	assert.True(t, filepath.IsAbs(c.OutputDir), "the default output directory does not depend on the working directory: %s", c.OutputDir)
	assert.Equal(t, "vace-mcp", filepath.Base(c.OutputDir))
	assert.True(t, c.AutoSave)
}

func TestOutputDirDefaultsToTheVideosFolderAndAutoSaveCanBeTurnedOff(t *testing.T) {
	videos := t.TempDir()
	c, err := parse(t, map[string]string{"XDG_VIDEOS_DIR": videos})
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(videos, "vace-mcp"), c.OutputDir)

	c, err = parse(t, map[string]string{"XDG_VIDEOS_DIR": videos}, "--output-dir", "clips")
	require.NoError(t, err)
	assert.Equal(t, "clips", c.OutputDir, "an explicit relative directory stays relative to the working directory")
	c, err = parse(t, map[string]string{"VACE_MCP_OUTPUT_DIR": "/srv/videos"})
	require.NoError(t, err)
	assert.Equal(t, "/srv/videos", c.OutputDir)
	_, err = parse(t, nil, "--output-dir", "")
	assert.ErrorContains(t, err, "--output-dir must not be empty")

	c, err = parse(t, map[string]string{"VACE_MCP_AUTO_SAVE": "false"})
	require.NoError(t, err)
	assert.False(t, c.AutoSave)
	c, err = parse(t, map[string]string{"VACE_MCP_AUTO_SAVE": "false"}, "--auto-save")
	require.NoError(t, err)
	assert.True(t, c.AutoSave, "the flag wins over the environment")
	c, err = parse(t, nil, "--auto-save=false")
	require.NoError(t, err)
	assert.False(t, c.AutoSave)
	assert.True(t, IsBoolFlag("auto-save"))
}

func TestRegionSetsRootAndModelTogether(t *testing.T) {
	c, err := parse(t, nil, "--region", "cn")
	require.NoError(t, err)
	assert.Equal(t, "https://dashscope.aliyuncs.com/api/v1", c.BaseURL)
	assert.Equal(t, "wanx2.1-vace-plus", c.Model)

	// A known root given alone implies its region's model.
	c, err = parse(t, map[string]string{"DASHSCOPE_BASE_URL": "https://dashscope.aliyuncs.com/api/v1"})
	require.NoError(t, err)
	assert.Equal(t, "cn", c.Region)
	assert.Equal(t, "wanx2.1-vace-plus", c.Model)

	// A proxy root keeps the region's model; an explicit model wins.
	c, err = parse(t, nil, "--base-url", "https://proxy.example.com/qwen/api/v1", "--model", "wan2.1-vace-plus")
	require.NoError(t, err)
	assert.Equal(t, "https://proxy.example.com/qwen/api/v1", c.BaseURL)
	assert.Equal(t, "wan2.1-vace-plus", c.Model)

	c, err = parse(t, map[string]string{"VACE_MCP_SANDBOX": "true"})
	require.NoError(t, err)
	assert.True(t, c.Sandbox)
	assert.True(t, IsBoolFlag("sandbox"))
	assert.False(t, IsBoolFlag("region"))
}

func TestTheSeedsProxySetupIsAccepted(t *testing.T) {
	// A proxy's root has no region: any model passes, --region only picks the default one.
	for _, args := range [][]string{
		{"--base-url", "https://gateway.example.com/qwen/api/v1", "--model", "wanx2.1-vace-plus"},
		{"--base-url", "https://gateway.example.com/qwen/api/v1", "--region", "cn"},
		{"--base-url", "https://gateway.example.com/qwen/api/v1", "--region", "intl", "--model", "wanx2.1-vace-plus"},
	} {
		c, err := parse(t, nil, args...)
		require.NoError(t, err, args)
		assert.Equal(t, "https://gateway.example.com/qwen/api/v1", c.BaseURL, args)
		assert.Equal(t, "wanx2.1-vace-plus", c.Model, args)
	}
}

func TestVendorRootsAreCheckedAgainstTheModelWithTheFixNamed(t *testing.T) {
	tests := []struct {
		args []string
		says string
	}{
		{[]string{"--base-url", "https://llm-abc.ap-southeast-1.maas.aliyuncs.com/api/v1", "--model", "wanx2.1-vace-plus"},
			"--model wanx2.1-vace-plus is the Beijing (cn) name for the model, but the API root https://llm-abc.ap-southeast-1.maas.aliyuncs.com/api/v1 is in Singapore (intl): " +
				"use a Beijing root in --base-url (such as https://dashscope.aliyuncs.com/api/v1), or --model wan2.1-vace-plus"},
		{[]string{"--workspace", "llm-abc", "--model", "wanx2.1-vace-plus"},
			"the API root https://llm-abc.ap-southeast-1.maas.aliyuncs.com/api/v1 is in Singapore (intl): use --region cn, or --model wan2.1-vace-plus"},
		{[]string{"--region", "cn", "--model", "wan2.1-vace-plus"},
			"is in Beijing (cn): use --region intl, or --model wanx2.1-vace-plus"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := parse(t, nil, tc.args...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.says)
		})
	}

	c, err := parse(t, nil, "--base-url", "https://llm-abc.cn-beijing.maas.aliyuncs.com/api/v1")
	require.NoError(t, err)
	assert.Equal(t, "cn", c.Region, "a workspace root decides the region")
	assert.Equal(t, "wanx2.1-vace-plus", c.Model)

	c, err = parse(t, nil, "--model", "wan2.7-videoedit")
	require.NoError(t, err, "a model the client does not know is not refused")
	assert.Equal(t, "wan2.7-videoedit", c.Model)
}

func TestWorkspaceSelectsTheWorkspaceDomainOfTheRegion(t *testing.T) {
	c, err := parse(t, nil, "--workspace", "llm-abc", "--region", "cn")
	require.NoError(t, err)
	assert.Equal(t, "https://llm-abc.cn-beijing.maas.aliyuncs.com/api/v1", c.BaseURL)
	assert.Equal(t, "wanx2.1-vace-plus", c.Model)
	assert.Equal(t, "cn", c.Region)

	c, err = parse(t, map[string]string{"DASHSCOPE_WORKSPACE": "llm-xyz"})
	require.NoError(t, err)
	assert.Equal(t, "https://llm-xyz.ap-southeast-1.maas.aliyuncs.com/api/v1", c.BaseURL)
	assert.Equal(t, "wan2.1-vace-plus", c.Model)
	assert.Equal(t, "llm-xyz", c.Workspace)
}

func TestEnvironmentAndPrecedence(t *testing.T) {
	env := map[string]string{
		"DASHSCOPE_API_KEY":       " sk-abc \n",
		"DASHSCOPE_HTTP_BASE_URL": "http://127.0.0.1:9000/api/v1",
		"VACE_MCP_AUTH_TOKEN":     "tok",
		"VACE_MCP_ALLOW_ORIGINS":  "https://a.example, https://b.example",
		"VACE_MCP_ALLOW_DIRS":     "/data" + string(os.PathListSeparator) + "/media",
	}
	c, err := parse(t, env)
	require.NoError(t, err)
	assert.Equal(t, "sk-abc", c.APIKey)
	assert.Equal(t, "http://127.0.0.1:9000/api/v1", c.BaseURL, "the official SDK's variable is honoured")
	assert.Equal(t, "tok", c.AuthToken)
	assert.Equal(t, []string{"https://a.example", "https://b.example"}, c.AllowedOrigins)
	assert.Equal(t, []string{"/data", "/media"}, c.AllowedDirs)

	env["DASHSCOPE_BASE_URL"] = "http://127.0.0.1:9100/api/v1"
	c, err = parse(t, env, "--allow-origin", "https://c.example", "--allow-origin", "https://d.example")
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:9100/api/v1", c.BaseURL, "DASHSCOPE_BASE_URL wins over DASHSCOPE_HTTP_BASE_URL")
	assert.Equal(t, []string{"https://c.example", "https://d.example"}, c.AllowedOrigins, "flags replace the environment's list")

	c, err = parse(t, env, "--base-url", "http://127.0.0.1:9200/api/v1")
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:9200/api/v1", c.BaseURL, "a flag wins over the environment")
}

func TestBadValuesAreRefusedWithWhatIsAllowed(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		says string
	}{
		{args: []string{"--transport", "websocket"}, says: "use stdio, sse or http"},
		{args: []string{"--transport", "http", "--addr", "8080"}, says: "host:port"},
		{args: []string{"--region", "eu"}, says: "intl (Singapore"},
		{args: []string{"--base-url", "dashscope.aliyuncs.com"}, says: "full API root"},
		{args: []string{"--region", "cn", "--base-url", "https://dashscope-intl.aliyuncs.com/api/v1"}, says: "conflicts"},
		{args: []string{"--log-level", "loud"}, says: "debug, info, warn or error"},
		{args: []string{"--session-idle-timeout", "soon"}, says: "positive duration"},
		{args: []string{"--poll-interval", "-1s"}, says: "positive duration"},
		{args: []string{"--max-sessions", "0"}, says: "positive whole number"},
		{args: []string{"--allow-origin", "https://a.example/path"}, says: "scheme and host"},
		{args: []string{"serve"}, says: "unexpected argument"},
		{env: map[string]string{"VACE_MCP_TRANSPORT": "pipe"}, says: "use stdio, sse or http"},
		{env: map[string]string{"VACE_MCP_SANDBOX": "yes"}, says: `VACE_MCP_SANDBOX="yes": use true or false`},
		{env: map[string]string{"DASHSCOPE_REGION": "cn"}, args: []string{"--base-url", "https://dashscope-intl.aliyuncs.com/api/v1"}, says: "conflicts"},
		{args: []string{"--model", "wanx2.1-vace-plus"}, says: "--model wanx2.1-vace-plus is the Beijing (cn) name for the model, but the API root https://dashscope-intl.aliyuncs.com/api/v1 is in Singapore (intl): use --region cn, or --model wan2.1-vace-plus"},
		{args: []string{"--region", "cn", "--base-url", "https://llm-abc.ap-southeast-1.maas.aliyuncs.com/api/v1"}, says: "conflicts"},
		{args: []string{"--workspace", "llm.abc"}, says: `--workspace: workspace id "llm.abc": use the id on the console's Workspace Details page, letters, digits and '-'`},
		{args: []string{"--workspace", "llm-abc", "--base-url", "https://gateway.example.com/qwen/api/v1"}, says: "--workspace llm-abc and --base-url https://gateway.example.com/qwen/api/v1 both choose the API root: give one or the other"},
		{env: map[string]string{"DASHSCOPE_WORKSPACE": "llm-abc", "DASHSCOPE_HTTP_BASE_URL": "https://dashscope.aliyuncs.com/api/v1"}, says: "and DASHSCOPE_HTTP_BASE_URL https://dashscope.aliyuncs.com/api/v1 both choose the API root"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := parse(t, tc.env, tc.args...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.says)
		})
	}
}

func TestErrorsNeverShowTheKey(t *testing.T) {
	_, err := parse(t, map[string]string{"DASHSCOPE_API_KEY": "sk-secret-123"}, "--region", "mars")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "sk-secret-123")
}

func TestEveryFlagIsDocumented(t *testing.T) {
	flags := Flags()
	require.NotEmpty(t, flags)
	seen := map[string]bool{}
	for _, f := range flags {
		assert.NotEmpty(t, f.Usage, f.Name)
		assert.False(t, seen[f.Name], "flag %s twice", f.Name)
		seen[f.Name] = true
	}
	for _, name := range []string{"transport", "addr", "base-url", "region", "model", "workspace", "log-level", "version", "sandbox",
		"auth-token", "allow-origin", "insecure-no-auth", "session-idle-timeout", "allow-dir", "output-dir"} {
		assert.True(t, seen[name], "missing --%s", name)
	}
}

func TestToolsAndReadOnlyComeFromFlagsOrEnvironment(t *testing.T) {
	c, err := parse(t, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"all"}, c.Tools)
	assert.False(t, c.ReadOnly)

	env := map[string]string{"VACE_MCP_TOOLS": "tasks, files", "VACE_MCP_READ_ONLY": "true"}
	c, err = parse(t, env)
	require.NoError(t, err)
	assert.Equal(t, []string{"tasks", "files"}, c.Tools)
	assert.True(t, c.ReadOnly)

	c, err = parse(t, env, "--tools", "edit,get_task", "--tools", "files", "--read-only=false")
	require.NoError(t, err)
	assert.Equal(t, []string{"edit", "get_task", "files"}, c.Tools, "flags replace the environment's list; commas and repeats both work")
	assert.False(t, c.ReadOnly)

	_, err = parse(t, map[string]string{"VACE_MCP_READ_ONLY": "maybe"})
	assert.ErrorContains(t, err, `VACE_MCP_READ_ONLY="maybe": use true or false`)
	assert.True(t, IsFlag("tools"), "vace-mcp call passes --tools to the server")
	assert.True(t, IsBoolFlag("read-only"))
}

func TestBaseURLRefusesQueriesAndPlainHTTPAndNeverShowsCredentials(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		says string
	}{
		{args: []string{"--base-url", "https://proxyuser:pw-secret@gateway.example.com/api/v1?token=1"}, says: `--base-url "https://xxxxx@gateway.example.com/api/v1?token=1": remove the query or fragment`},
		{args: []string{"--base-url", "https://gateway.example.com/api/v1#top"}, says: "remove the query or fragment"},
		{env: map[string]string{"DASHSCOPE_HTTP_BASE_URL": "https://gateway.example.com/api/v1?"}, says: "DASHSCOPE_HTTP_BASE_URL"},
		{args: []string{"--base-url", "http://proxyuser:pw-secret@gateway.example.com/api/v1"},
			says: "--base-url http://xxxxx@gateway.example.com/api/v1: plain http:// to a host other than loopback would send the API key unencrypted: use https://, or add --allow-insecure-http"},
		{args: []string{"--base-url", "HTTP://10.0.0.7:8080/api/v1"}, says: "--allow-insecure-http"},
		{args: []string{"--workspace", "llm-abc", "--base-url", "https://proxyuser:pw-secret@gateway.example.com/api/v1"}, says: "both choose the API root"},
		{args: []string{"--base-url", "https://proxyuser:pw-secret@dashscope-intl.aliyuncs.com/api/v1", "--model", "wanx2.1-vace-plus"}, says: "API root https://xxxxx@dashscope-intl.aliyuncs.com/api/v1 is in Singapore"},
		{args: []string{"--base-url", "https://proxyuser:pw-secret@dashscope-intl.aliyuncs.com/api/v1", "--region", "cn"}, says: "conflicts with the API root https://xxxxx@dashscope-intl"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := parse(t, tc.env, tc.args...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.says)
			assert.NotContains(t, err.Error(), "pw-secret")
			assert.NotContains(t, err.Error(), "proxyuser")
		})
	}

	for _, root := range []string{"http://127.0.0.1:9200/api/v1", "http://localhost:8080/api/v1", "http://[::1]/api/v1", "https://u:p@gateway.example.com/api/v1"} {
		c, err := parse(t, nil, "--base-url", root)
		require.NoError(t, err, root)
		assert.Equal(t, root, c.BaseURL, "requests use the root as given")
		assert.False(t, c.InsecureBaseURL, root)
	}

	c, err := parse(t, nil, "--base-url", "http://gateway.example.com/api/v1", "--allow-insecure-http")
	require.NoError(t, err)
	assert.True(t, c.InsecureBaseURL, "allowed, and marked for the warning at start")
	c, err = parse(t, map[string]string{"VACE_MCP_ALLOW_INSECURE_HTTP": "true", "DASHSCOPE_BASE_URL": "http://gateway.example.com/api/v1"})
	require.NoError(t, err)
	assert.True(t, c.InsecureBaseURL)
	assert.True(t, IsBoolFlag("allow-insecure-http"))
}

func TestStoreIsTheEmbeddedJournalUnlessRedisIsNamed(t *testing.T) {
	c, err := parse(t, nil)
	require.NoError(t, err)
	assert.Equal(t, StoreSQLite, c.Store)
	assert.Empty(t, c.RedisURL)

	c, err = parse(t, map[string]string{"VACE_MCP_STATE_DIR": "/srv/state"}, "--store", "sqlite:")
	require.NoError(t, err)
	assert.Equal(t, StoreSQLite, c.Store)
	assert.Equal(t, "/srv/state", c.StateDir, "sqlite: is the state directory")
	c, err = parse(t, map[string]string{"VACE_MCP_STATE_DIR": "/srv/state"}, "--store", "sqlite:/srv/journal")
	require.NoError(t, err)
	assert.Equal(t, "/srv/journal", c.StateDir, "sqlite:DIR names the journal's directory")
	c, err = parse(t, map[string]string{"VACE_MCP_STORE": "sqlite:///srv/journal"})
	require.NoError(t, err)
	assert.Equal(t, "/srv/journal", c.StateDir)

	c, err = parse(t, map[string]string{"VACE_MCP_STORE": "redis://redis:6379/0"})
	require.NoError(t, err)
	assert.Equal(t, StoreRedis, c.Store)
	assert.Equal(t, "redis://redis:6379/0", c.RedisURL)
	assert.Empty(t, c.RedisPassword)
	c, err = parse(t, map[string]string{"VACE_MCP_REDIS_PASSWORD": "pw-from-env"}, "--store", "rediss://cache.example.com:6380/2")
	require.NoError(t, err)
	assert.Equal(t, StoreRedis, c.Store)
	assert.Equal(t, "rediss://cache.example.com:6380/2", c.RedisURL)
	assert.Equal(t, "pw-from-env", c.RedisPassword)
	c, err = parse(t, nil, "--store", "redis://:s3cret-pw@redis:6379/0")
	require.NoError(t, err)
	assert.Equal(t, "redis://:s3cret-pw@redis:6379/0", c.RedisURL, "the password reaches the store")
	assert.Equal(t, "redis://:xxxxx@redis:6379/0", c.StoreName(), "and is shown to nobody")
}

func TestStoreRefusesOtherSchemesAndNeverShowsThePassword(t *testing.T) {
	for value, says := range map[string]string{
		"memcached://cache:11211":                "unknown scheme \"memcached\": use sqlite:",
		"unix:///run/redis.sock":                 "unknown scheme \"unix\"",
		"/srv/state":                             "--store has no scheme",
		"redis://:s3cret-pw@/0":                  "name the Redis host",
		"redis://:s3cret-pw@redis:6379/zero":     "--store redis://:xxxxx@redis:6379/zero: invalid database number",
		"redis://:s3cret-pw@redis:6379/0?bad=1":  "unexpected option: bad",
		"redis://:s3cret-pw@red is:6379/0":       "does not parse (not shown",
		"rediss://user:s3cret-pw@redis:6379/0/1": "invalid URL path",
	} {
		t.Run(value, func(t *testing.T) {
			_, err := parse(t, nil, "--store", value)
			require.Error(t, err)
			assert.Contains(t, err.Error(), says)
			assert.NotContains(t, err.Error(), "s3cret-pw")
		})
	}
}

func TestHelpShowsTheStoreWithoutItsPassword(t *testing.T) {
	var help strings.Builder
	_, err := Parse([]string{"--help"}, func(k string) string {
		return map[string]string{"VACE_MCP_STORE": "redis://:s3cret-pw@redis:6379/0"}[k]
	}, &help)
	require.ErrorIs(t, err, flag.ErrHelp)
	assert.Contains(t, help.String(), "redis://:xxxxx@redis:6379/0")
	assert.NotContains(t, help.String(), "s3cret-pw")
}

func TestInstanceIDDefaultsToARandomOneAndIsChecked(t *testing.T) {
	a, err := parse(t, nil)
	require.NoError(t, err)
	b, err := parse(t, nil)
	require.NoError(t, err)
	assert.Regexp(t, `^[0-9a-f]{8}$`, a.InstanceID)
	assert.NotEqual(t, a.InstanceID, b.InstanceID, "two instances started alike still differ")
	c, err := parse(t, map[string]string{"VACE_MCP_INSTANCE_ID": "vace1"})
	require.NoError(t, err)
	assert.Equal(t, "vace1", c.InstanceID)
	for _, bad := range []string{"vace-1", "a b", "vace1/", strings.Repeat("x", 33), "é"} {
		_, err := parse(t, nil, "--instance-id", bad)
		assert.ErrorContains(t, err, "--instance-id", bad)
		assert.ErrorContains(t, err, "letters, digits or underscores", bad)
	}
}
