package dashscopetest_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vace-mcp/vace-mcp/dashscope/dashscopetest"
)

// upload puts a file on the fake through the documented flow, under a policy
// asked for with model, and returns its oss:// URL.
func upload(t *testing.T, s *dashscopetest.Server, model, name string) string {
	t.Helper()
	return uploadUnder(t, policyFor(t, s, model), name)
}

// policyFor asks the fake for an upload policy and returns its data.
func policyFor(t *testing.T, s *dashscopetest.Server, model string) map[string]any {
	t.Helper()
	r := send(t, "GET", s.BaseURL()+"/uploads?action=getPolicy&model="+model, s.APIKey(), nil, "")
	require.Equal(t, 200, r.status, r.raw)
	return r.body["data"].(map[string]any)
}

// uploadUnder posts a file to the policy's upload host and returns its oss:// URL.
func uploadUnder(t *testing.T, data map[string]any, name string) string {
	t.Helper()
	key := data["upload_dir"].(string) + "/" + name

	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, f := range [][2]string{
		{"OSSAccessKeyId", data["oss_access_key_id"].(string)}, {"Signature", data["signature"].(string)},
		{"policy", data["policy"].(string)}, {"key", key}, {"x-oss-object-acl", "private"},
		{"x-oss-forbid-overwrite", "true"}, {"success_action_status", "200"},
	} {
		require.NoError(t, mw.WriteField(f[0], f[1]))
	}
	fw, err := mw.CreateFormFile("file", name)
	require.NoError(t, err)
	_, err = fw.Write([]byte("content"))
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	req, err := http.NewRequestWithContext(t.Context(), "POST", data["upload_host"].(string), &b)
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, 200, resp.StatusCode)
	return "oss://" + key
}

func TestPoliciesRecordTheModelTheyWereAskedFor(t *testing.T) {
	clock := dashscopetest.NewManualClock(time.Now())
	s := dashscopetest.NewServer(t, dashscopetest.WithClock(clock))
	first := policyFor(t, s, "wan2.7-videoedit")
	second := policyFor(t, s, "wan2.1-vace-plus") // in the same instant, on a clock that stands still

	policies := s.Policies()
	require.Len(t, policies, 2)
	assert.Equal(t, dashscopetest.Wan27Model, policies[0].Model)
	assert.Equal(t, first["upload_dir"], policies[0].UploadDir)
	assert.Equal(t, clock.Now().Add(300*time.Second), policies[0].Expires)
	assert.Equal(t, "wan2.1-vace-plus", policies[1].Model)
	assert.Equal(t, second["upload_dir"], policies[1].UploadDir)
	assert.NotEqual(t, first["policy"], second["policy"], "each policy has its own text")

	uploadUnder(t, first, "face.png") // still good after the second was issued
	uploadUnder(t, second, "clip.mp4")
	ups := s.Uploads()
	require.Len(t, ups, 2)
	assert.Equal(t, dashscopetest.Wan27Model, ups[0].Model)
	assert.Equal(t, "wan2.1-vace-plus", ups[1].Model)
}

func TestWan27TakesFilesUploadedForIt(t *testing.T) {
	s := dashscopetest.NewServer(t)
	ossHeader := map[string]string{"X-DashScope-OssResourceResolve": "enable"}
	for k, v := range asyncJSON {
		ossHeader[k] = v
	}
	clip := upload(t, s, dashscopetest.Wan27Model, "clip.mov")
	face := upload(t, s, dashscopetest.Wan27Model, "face.png")
	body := wan27Body(mediaOf(`{"type":"video","url":"`+clip+`"}`, `{"type":"reference_image","url":"`+face+`"}`), "")

	r := send(t, "POST", submitURL(s), s.APIKey(), asyncJSON, body)
	assert.Equal(t, 400, r.status, "oss:// URLs need the header")
	assert.Contains(t, r.body["message"], "X-DashScope-OssResourceResolve")
	assert.Equal(t, 200, send(t, "POST", submitURL(s), s.APIKey(), ossHeader, body).status)

	missing := strings.Replace(body, face, face+"-missing", 1)
	r = send(t, "POST", submitURL(s), s.APIKey(), ossHeader, missing)
	assert.Equal(t, 415, r.status)
	assert.Equal(t, "BadRequest.InputDownloadFailed", r.body["code"])

	vaceClip := upload(t, s, "wan2.1-vace-plus", "vace.mp4")
	r = send(t, "POST", submitURL(s), s.APIKey(), ossHeader, strings.Replace(body, clip, vaceClip, 1))
	assert.Equal(t, 415, r.status, "a file is bound to the model its policy was asked for")
	assert.Equal(t, "BadRequest.InputDownloadFailed", r.body["code"])
	assert.Contains(t, r.body["message"], "uploaded for model wan2.1-vace-plus, not wan2.7-videoedit")

	r = send(t, "POST", submitURL(s), s.APIKey(), ossHeader, strings.Replace(outpaintBody, "https://x/v.mp4", clip, 1))
	assert.Equal(t, 415, r.status, "and the other way round")
	assert.Contains(t, r.body["message"], "uploaded for model wan2.7-videoedit, not wan2.1-vace-plus")
}
