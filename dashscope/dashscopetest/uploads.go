package dashscopetest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// ossPath is where the fake's stand-in for the OSS upload host takes forms.
const ossPath = "/oss-upload"

// fakeAccessKeyID is the OSS access key id the fake's policies carry.
const fakeAccessKeyID = "LTAI5tDashscopeTestFake"

// uploadFields are the form fields the upload flow sends before the file, in order.
var uploadFields = []string{"OSSAccessKeyId", "Signature", "policy", "key", "x-oss-object-acl", "x-oss-forbid-overwrite", "success_action_status"}

// Upload is a file the fake's upload host received.
type Upload struct {
	// Key is the object key; the file is then oss://<Key>.
	Key string
	// FileName is the file part's file name.
	FileName string
	// Size and SHA256 describe the content (which is not kept).
	Size   int64
	SHA256 string
	// Fields are the form fields before the file, and Order is every part's
	// name as received, "file" included.
	Fields map[string]string
	Order  []string
	// Header is the POST's headers.
	Header http.Header
	// Model is the model the policy was issued for.
	Model string
}

// Policy is an upload policy the fake issued.
type Policy struct {
	// Model is the model the policy was asked for (model= on the request);
	// files uploaded under it are bound to that model.
	Model string
	// UploadDir is the policy's upload_dir.
	UploadDir string
	// Expires is when it stops taking uploads, by the fake's clock.
	Expires time.Time
}

// policy is an issued policy with what the upload host checks it by.
type policy struct {
	Policy
	signature string
	maxBytes  int64
}

// WithUploadLimit sets the policy's max_file_size_mb (default 100).
func WithUploadLimit(mb int) Option { return func(s *Server) { s.uploadLimitMB = mb } }

// WithStringPolicyNumbers writes the policy's numbers and booleans as JSON
// strings, which the service is documented to do at times.
func WithStringPolicyNumbers() Option { return func(s *Server) { s.stringPolicy = true } }

// Policies returns the upload policies issued so far, oldest first.
func (s *Server) Policies() []Policy {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Policy, 0, len(s.policyOrder))
	for _, k := range s.policyOrder {
		out = append(out, s.policies[k].Policy)
	}
	return out
}

// Uploads returns the files received so far, oldest first.
func (s *Server) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Upload, 0, len(s.uploadOrder))
	for _, k := range s.uploadOrder {
		out = append(out, *s.uploads[k])
	}
	return out
}

// servePolicy answers GET /uploads?action=getPolicy&model=…. The docs do not
// say how the service answers a model it does not serve: the fake issues the
// policy, and a submission that uses the file under another model is refused.
func (s *Server) servePolicy(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("action") != "getPolicy" {
		writeError(w, http.StatusBadRequest, "InvalidParameter", "action must be getPolicy", newID())
		return
	}
	model := q.Get("model")
	if model == "" {
		writeError(w, http.StatusBadRequest, "InvalidParameter", "model is required", newID())
		return
	}
	now := s.clock.Now()
	limit := s.uploadLimitMB
	if limit <= 0 {
		limit = 100
	}
	p := &policy{
		Policy: Policy{
			Model:     model,
			UploadDir: fmt.Sprintf("dashscope-instant/%s/%s/%s", strings.ReplaceAll(newID(), "-", "")[:24], now.Format("2006-01-02"), newID()),
			Expires:   now.Add(300 * time.Second),
		},
		signature: newID(),
		maxBytes:  int64(limit) << 20,
	}
	// Policies are known by their text: the directory's condition keeps two
	// issued in the same second from sharing it, the later replacing the earlier.
	encoded := base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf(`{"expiration":%q,"conditions":[["content-length-range",0,%d],["starts-with","$key",%q]]}`,
		p.Expires.UTC().Format(time.RFC3339), p.maxBytes, p.UploadDir+"/")))
	s.mu.Lock()
	if s.policies == nil {
		s.policies = map[string]*policy{}
	}
	s.policies[encoded] = p
	s.policyOrder = append(s.policyOrder, encoded)
	s.mu.Unlock()

	data := map[string]any{
		"policy": encoded, "signature": p.signature, "upload_dir": p.UploadDir, "upload_host": s.URL + ossPath,
		"expire_in_seconds": 300, "max_file_size_mb": limit, "capacity_limit_mb": 999999999,
		"oss_access_key_id": fakeAccessKeyID, "x_oss_object_acl": "private", "x_oss_forbid_overwrite": "true",
	}
	if s.stringPolicy {
		for k, v := range data {
			data[k] = fmt.Sprint(v)
		}
	} else {
		data["x_oss_forbid_overwrite"] = true
	}
	writeJSON(w, http.StatusOK, map[string]any{"request_id": newID(), "data": data})
}

// serveUpload takes a PostObject form the way OSS does, streaming the file.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" {
		ossError(w, http.StatusBadRequest, "InvalidArgument", "Authorization header is not allowed with a POST policy form")
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		ossError(w, http.StatusBadRequest, "InvalidArgument", "the body must be multipart/form-data: "+err.Error())
		return
	}
	up := &Upload{Fields: map[string]string{}, Header: r.Header.Clone()}
	var p *policy
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			ossError(w, http.StatusBadRequest, "MalformedPOSTRequest", err.Error())
			return
		}
		name := part.FormName()
		up.Order = append(up.Order, name)
		if name != "file" {
			if up.SHA256 != "" {
				ossError(w, http.StatusBadRequest, "InvalidArgument", fmt.Sprintf("field %q comes after the file: file must be the last field", name))
				return
			}
			v, _ := io.ReadAll(io.LimitReader(part, 64<<10))
			up.Fields[name] = string(v)
			continue
		}
		if p, err = s.checkUploadForm(up); err != nil {
			ossError(w, http.StatusForbidden, "AccessDenied", err.Error())
			return
		}
		up.FileName = part.FileName()
		h := sha256.New()
		n, err := io.Copy(h, io.LimitReader(part, p.maxBytes+1))
		if err != nil {
			ossError(w, http.StatusBadRequest, "MalformedPOSTRequest", err.Error())
			return
		}
		if n > p.maxBytes {
			ossError(w, http.StatusBadRequest, "EntityTooLarge", fmt.Sprintf("Your proposed upload exceeds the maximum allowed size of %d bytes", p.maxBytes))
			return
		}
		up.Size, up.SHA256 = n, hex.EncodeToString(h.Sum(nil))
	}
	if up.SHA256 == "" {
		ossError(w, http.StatusBadRequest, "InvalidArgument", "the form has no file field")
		return
	}
	up.Key, up.Model = up.Fields["key"], p.Model
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.uploads == nil {
		s.uploads = map[string]*Upload{}
	}
	if _, exists := s.uploads[up.Key]; exists {
		ossError(w, http.StatusConflict, "FileAlreadyExists", "The object you specified already exists and can not be overwritten.")
		return
	}
	s.uploads[up.Key] = up
	s.uploadOrder = append(s.uploadOrder, up.Key)
	w.WriteHeader(http.StatusOK)
}

// checkUploadForm checks the fields sent before the file against the policy.
func (s *Server) checkUploadForm(up *Upload) (*policy, error) {
	for _, name := range uploadFields {
		if _, ok := up.Fields[name]; !ok {
			return nil, fmt.Errorf("missing form field %q (expected, in order: %s, then file)", name, strings.Join(uploadFields, ", "))
		}
	}
	s.mu.Lock()
	p, ok := s.policies[up.Fields["policy"]]
	s.mu.Unlock()
	switch {
	case !ok:
		return nil, errors.New("unknown policy")
	case s.clock.Now().After(p.Expires):
		return nil, errors.New("Invalid according to Policy: Policy expired.")
	case up.Fields["Signature"] != p.signature:
		return nil, errors.New("The request signature we calculated does not match the signature you provided.")
	case up.Fields["OSSAccessKeyId"] != fakeAccessKeyID:
		return nil, errors.New("The OSS Access Key Id you provided does not exist in our records.")
	case !strings.HasPrefix(up.Fields["key"], p.UploadDir+"/") || len(up.Fields["key"]) == len(p.UploadDir)+1:
		return nil, fmt.Errorf("key %q must be a file name under the policy's upload_dir %q", up.Fields["key"], p.UploadDir)
	case up.Fields["success_action_status"] != "200":
		return nil, errors.New("success_action_status must be 200")
	}
	return p, nil
}

func ossError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n<Error>\n  <Code>%s</Code>\n  <Message>%s</Message>\n  <RequestId>%s</RequestId>\n</Error>\n", code, msg, newID())
}
