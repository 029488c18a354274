package dashscope_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope"
	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

func TestUploadFollowsTheDocumentedFlowAndTheURLWorksInASubmission(t *testing.T) {
	srv := dashscopetest.NewServer(t)
	c := newClient(t, srv)
	video := dashscopetest.SampleVideo

	ossURL, err := c.Upload(t.Context(), "我的 clip.mp4", bytes.NewReader(video), int64(len(video)))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(ossURL, "oss://dashscope-instant/"), ossURL)
	assert.Regexp(t, `/[0-9a-f]{12}-___clip\.mp4$`, ossURL, "non-ASCII characters never reach a URL")

	policyReq := srv.Requests(dashscopetest.EndpointPolicy)
	require.Len(t, policyReq, 1)
	assert.Equal(t, "getPolicy", policyReq[0].Query.Get("action"))
	assert.Equal(t, "wan2.1-vace-plus", policyReq[0].Query.Get("model"))
	assert.Equal(t, "Bearer "+srv.APIKey(), policyReq[0].Header.Get("Authorization"))

	ups := srv.Uploads()
	require.Len(t, ups, 1)
	up := ups[0]
	assert.Empty(t, up.Header.Get("Authorization"), "the form carries no key")
	assert.Equal(t, []string{"OSSAccessKeyId", "Signature", "policy", "key", "x-oss-object-acl", "x-oss-forbid-overwrite", "success_action_status", "file"}, up.Order)
	assert.Equal(t, "200", up.Fields["success_action_status"])
	assert.Equal(t, "true", up.Fields["x-oss-forbid-overwrite"])
	sum := sha256.Sum256(video)
	assert.Equal(t, hex.EncodeToString(sum[:]), up.SHA256)
	assert.Equal(t, "oss://"+up.Key, ossURL)

	_, err = c.Submit(t.Context(), dashscope.VideoOutpainting{Prompt: "p", VideoURL: ossURL})
	require.NoError(t, err)
	sub := srv.Requests(dashscopetest.EndpointSubmit)[0]
	assert.Equal(t, "enable", sub.Header.Get("X-DashScope-OssResourceResolve"))
}

func TestUploadPolicyIsReadLeniently(t *testing.T) {
	srv := dashscopetest.NewServer(t, dashscopetest.WithStringPolicyNumbers(), dashscopetest.WithUploadLimit(7))
	c := newClient(t, srv)
	p, err := c.GetUploadPolicy(t.Context())
	require.NoError(t, err)
	assert.Equal(t, int64(7<<20), p.MaxBytes())
	assert.EqualValues(t, 300, p.ExpireInSeconds)
	assert.True(t, bool(p.ForbidOverwrite))
	_, err = c.Upload(t.Context(), "a.png", bytes.NewReader([]byte("x")), 1)
	assert.NoError(t, err)
}

func TestUploadOverThePolicyLimitIsRefusedBeforeSending(t *testing.T) {
	srv := dashscopetest.NewServer(t, dashscopetest.WithUploadLimit(1))
	c := newClient(t, srv)
	_, err := c.Upload(t.Context(), "big.mp4", bytes.NewReader(nil), 2<<20)
	require.ErrorIs(t, err, dashscope.ErrTooLarge)
	assert.Zero(t, srv.Count(dashscopetest.EndpointUpload))
}

func TestUploadRetriesAndRecognisesItsOwnEarlierUpload(t *testing.T) {
	srv := dashscopetest.NewServer(t)
	c := newClient(t, srv)
	srv.InjectFault(dashscopetest.EndpointUpload, 1, dashscopetest.Fault{Status: 503, Code: "ServiceUnavailable"})
	_, err := c.Upload(t.Context(), "a.mp4", bytes.NewReader([]byte("abc")), 3)
	require.NoError(t, err)
	assert.Equal(t, 2, srv.Count(dashscopetest.EndpointUpload))

	// The file lands but the answer is lost: the retry meets FileAlreadyExists and knows it is done.
	srv.InjectFault(dashscopetest.EndpointUpload, 1, dashscopetest.Fault{Status: 502, AfterAccept: true})
	url, err := c.Upload(t.Context(), "b.mp4", bytes.NewReader([]byte("abc")), 3)
	require.NoError(t, err)
	assert.Len(t, srv.Uploads(), 2)
	assert.Equal(t, "oss://"+srv.Uploads()[1].Key, url)
}

func TestUploadStreamsTheFileInsteadOfHoldingIt(t *testing.T) {
	srv := dashscopetest.NewServer(t, dashscopetest.WithUploadLimit(100))
	c := newClient(t, srv)
	f, err := os.Create(filepath.Join(t.TempDir(), "big.mp4"))
	require.NoError(t, err)
	defer f.Close()
	const size = 50 << 20
	require.NoError(t, f.Truncate(size))

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = c.Upload(t.Context(), "big.mp4", f, size)
	require.NoError(t, err)
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("uploading 50 MB allocated %d KB (client and fake together)", allocated>>10)
	assert.Less(t, allocated, uint64(8<<20), "a file held in memory would allocate at least its 50 MB")
	assert.Equal(t, int64(size), srv.Uploads()[0].Size)
}

// hostRewriter sends every request to the fake, whatever host it names, and
// records the URLs the client asked for: vendor host names cannot be served
// on loopback.
type hostRewriter struct {
	fake  *url.URL
	mu    sync.Mutex
	asked []string
}

func (h *hostRewriter) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.asked = append(h.asked, r.URL.String())
	h.mu.Unlock()
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = h.fake.Scheme, h.fake.Host, ""
	return http.DefaultTransport.RoundTrip(r)
}

func (h *hostRewriter) URLs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.asked...)
}

func TestUploadPolicyOfAWorkspaceRootComesFromTheRegionsSharedRoot(t *testing.T) {
	tests := []struct{ root, policyRoot string }{
		{"https://llm-abc.ap-southeast-1.maas.aliyuncs.com/api/v1", dashscope.RegionIntl.BaseURL},
		{"https://llm-abc.cn-beijing.maas.aliyuncs.com/api/v1/", dashscope.RegionCN.BaseURL},
		{dashscope.RegionCN.BaseURL, dashscope.RegionCN.BaseURL},
		{"https://gateway.example.com/qwen/api/v1", "https://gateway.example.com/qwen/api/v1"},
	}
	for _, tc := range tests {
		t.Run(tc.root, func(t *testing.T) {
			srv := dashscopetest.NewServer(t, dashscopetest.WithPathPrefix(pathOf(t, tc.root)))
			fake, err := url.Parse(srv.URL)
			require.NoError(t, err)
			rw := &hostRewriter{fake: fake}
			c := newClient(t, srv, dashscope.WithBaseURL(tc.root), dashscope.WithHTTPClient(&http.Client{Transport: rw}))
			require.Equal(t, tc.policyRoot, c.UploadBaseURL())

			ossURL, err := c.Upload(t.Context(), "a.mp4", bytes.NewReader([]byte("abc")), 3)
			require.NoError(t, err)
			_, err = c.Submit(t.Context(), dashscope.VideoOutpainting{Prompt: "p", VideoURL: ossURL})
			require.NoError(t, err)
			asked := rw.URLs()
			require.Len(t, asked, 3, "policy, upload, submit")
			assert.True(t, strings.HasPrefix(asked[0], tc.policyRoot+"/uploads?"), asked[0])
			assert.Equal(t, strings.TrimRight(tc.root, "/")+"/services/aigc/video-generation/video-synthesis", asked[2], "other calls stay on the root")
		})
	}
}

// pathOf is the path of an API root, the prefix the fake must serve it under.
func pathOf(t *testing.T, root string) string {
	t.Helper()
	u, err := url.Parse(root)
	require.NoError(t, err)
	return u.Path
}

func TestWithUploadBaseURLPointsThePolicyRequestElsewhere(t *testing.T) {
	srv := dashscopetest.NewServer(t)
	// The root is never called: only the policy is asked for, from the fake.
	c := newClient(t, srv, dashscope.WithBaseURL("https://llm-abc.ap-southeast-1.maas.aliyuncs.com/api/v1"),
		dashscope.WithUploadBaseURL(srv.BaseURL()+"/"))
	assert.Equal(t, srv.BaseURL(), c.UploadBaseURL())
	_, err := c.GetUploadPolicy(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, srv.Count(dashscopetest.EndpointPolicy))

	_, err = dashscope.NewClient(dashscope.WithUploadBaseURL("ftp://uploads.example.com/api/v1"))
	assert.ErrorContains(t, err, "ftp://uploads.example.com/api/v1")
}

// BenchmarkUpload50MB uploads a 50 MB file to the fake and reports the peak
// heap growth while it streams, which must stay within a few MB of idle.
func BenchmarkUpload50MB(b *testing.B) {
	srv := dashscopetest.NewServer(b, dashscopetest.WithUploadLimit(100))
	c, err := srv.Client()
	require.NoError(b, err)
	path := filepath.Join(b.TempDir(), "big.mp4")
	f, err := os.Create(path)
	require.NoError(b, err)
	const size = 50 << 20
	require.NoError(b, f.Truncate(size))
	defer f.Close()

	var peak atomic.Uint64
	runtime.GC()
	var idle runtime.MemStats
	runtime.ReadMemStats(&idle)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	})
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Upload(b.Context(), "big.mp4", f, size); err != nil {
			b.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(peak.Load()-min(peak.Load(), idle.HeapInuse))/(1<<20), "peak-heap-MB-over-idle")
}
