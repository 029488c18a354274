package dashscopetest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vace-mcp/vace-mcp/dashscope"
)

// task is a submitted task; its status follows from its lifecycle and the clock.
type task struct {
	id        string
	model     string
	function  string
	prompt    string
	submitted time.Time
	life      Lifecycle
	canceled  time.Time
	// usage is the query's usage object once the task has succeeded.
	usage map[string]any
}

// state is a task's status at now, with the time it entered that status.
func (t *task) state(now time.Time) (dashscope.TaskStatus, time.Time) {
	scheduled := t.submitted.Add(t.life.Queue)
	ended := scheduled.Add(t.life.Run)
	switch {
	case now.Sub(t.submitted) > dashscope.ResultTTL:
		return dashscope.StatusUnknown, time.Time{}
	case !t.canceled.IsZero():
		return dashscope.StatusCanceled, t.canceled
	case now.Before(scheduled):
		return dashscope.StatusPending, t.submitted
	case now.Before(ended):
		return dashscope.StatusRunning, scheduled
	case t.life.FailCode != "":
		return dashscope.StatusFailed, ended
	}
	return dashscope.StatusSucceeded, ended
}

func (s *Server) serveSubmit(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Header.Get("X-DashScope-Async") != "enable" {
		writeError(w, http.StatusBadRequest, "InvalidParameter", "current user api does not support synchronous calls", newID())
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusBadRequest, "InvalidParameter", "Content-Type must be application/json, got "+strconv.Quote(ct), newID())
		return
	}
	sub, bad := s.parseSubmission(r, body)
	if bad != nil {
		writeError(w, bad.status, bad.code, bad.msg, newID())
		return
	}
	now := s.clock.Now()
	life := s.script(sub)
	t := &task{id: newID(), model: sub.Model, function: sub.Function, prompt: sub.Prompt, submitted: now, life: life, usage: usage(sub, life)}
	s.mu.Lock()
	s.forgetExpiredLocked(now)
	s.tasks[t.id] = t
	s.order = append(s.order, t)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"output":     map[string]any{"task_status": dashscope.StatusPending, "task_id": t.id},
		"request_id": newID(),
	})
}

// wan27ExampleSeconds is the input and output length in the vendor's example
// of a succeeded wan2.7-videoedit task.
const wan27ExampleSeconds = 5.02

// usage is what a succeeded task reports it billed: VACE its output's length,
// wan2.7-videoedit the input's seconds plus the output's, at the tier (SR)
// of the requested resolution.
func usage(sub Submission, life Lifecycle) map[string]any {
	if sub.Model != Wan27Model {
		return map[string]any{"video_duration": life.VideoDuration, "video_ratio": "standard", "video_count": 1}
	}
	in := cmp.Or(life.InputVideoDuration, wan27ExampleSeconds)
	out := life.OutputVideoDuration
	if out == 0 {
		out = in
		if d, ok := num(sub.Parameters["duration"]); ok && d > 0 {
			out = min(d, in) // the docs: duration cuts the input from 0 s to that many seconds
		}
	}
	sr := 1080 // the documented default resolution
	if sub.Parameters["resolution"] == "720P" {
		sr = 720
	}
	return map[string]any{"duration": in + out, "input_video_duration": in, "output_video_duration": out, "video_count": 1, "SR": sr}
}

// forgetExpiredLocked drops tasks the service has forgotten (older than a
// day), so a long-running fake does not grow without bound.
func (s *Server) forgetExpiredLocked(now time.Time) {
	keep := 0
	for keep < len(s.order) && now.Sub(s.order[keep].submitted) > dashscope.ResultTTL {
		delete(s.tasks, s.order[keep].id)
		keep++
	}
	if keep > 0 {
		s.order = append([]*task(nil), s.order[keep:]...)
	}
}

func (s *Server) serveGetTask(w http.ResponseWriter, id string) {
	now := s.clock.Now()
	s.mu.Lock()
	t, ok := s.tasks[id]
	var snapshot task
	if ok {
		snapshot = *t
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{
			"request_id": newID(),
			"output":     map[string]any{"task_id": id, "task_status": dashscope.StatusUnknown},
		})
		return
	}
	writeJSON(w, http.StatusOK, s.taskBody(&snapshot, now))
}

// taskBody is the documented query response for a task at now.
func (s *Server) taskBody(t *task, now time.Time) map[string]any {
	status, since := t.state(now)
	out := map[string]any{"task_id": t.id, "task_status": status}
	body := map[string]any{"request_id": newID(), "output": out}
	if status == dashscope.StatusUnknown {
		return body
	}
	out["submit_time"] = dashscope.FormatServiceTime(t.submitted)
	if status != dashscope.StatusPending && !(status == dashscope.StatusCanceled && t.canceled.Before(t.submitted.Add(t.life.Queue))) {
		out["scheduled_time"] = dashscope.FormatServiceTime(t.submitted.Add(t.life.Queue))
	}
	switch status {
	case dashscope.StatusRunning:
		out["task_metrics"] = map[string]int{"TOTAL": 1, "SUCCEEDED": 0, "FAILED": 0}
	case dashscope.StatusSucceeded:
		out["end_time"] = dashscope.FormatServiceTime(since)
		out["video_url"] = fmt.Sprintf("%s/results/%s.mp4?Expires=%d", s.URL, t.id, t.submitted.Add(dashscope.ResultTTL).Unix())
		// No actual_prompt (wan2.7's example has none; the fake gives VACE none
		// either). The docs show no task without a prompt: its orig_prompt is "".
		out["orig_prompt"] = t.prompt
		body["usage"] = t.usage
	case dashscope.StatusFailed:
		out["end_time"] = dashscope.FormatServiceTime(since)
		out["code"] = t.life.FailCode
		out["message"] = t.life.FailMessage
	case dashscope.StatusCanceled:
		out["end_time"] = dashscope.FormatServiceTime(since)
	}
	return body
}

// lookup returns a task and its status now, calling update (if any) on it
// while the lock is held.
func (s *Server) lookup(id string, update func(t *task, status dashscope.TaskStatus, now time.Time)) (dashscope.TaskStatus, bool) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[id]
	if !ok {
		return "", false
	}
	status, _ := t.state(now)
	if update != nil {
		update(t, status, now)
	}
	return status, true
}

func (s *Server) serveCancel(w http.ResponseWriter, id string) {
	status, ok := s.lookup(id, func(t *task, status dashscope.TaskStatus, now time.Time) {
		if status == dashscope.StatusPending {
			t.canceled = now
		}
	})
	if !ok || status != dashscope.StatusPending {
		writeError(w, http.StatusBadRequest, "UnsupportedOperation", "Failed to cancel the task, please confirm if the task is in PENDING status.", newID())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"request_id": newID()})
}

// serveListTasks answers GET /tasks with the documented filters and paging.
func (s *Server) serveListTasks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := s.clock.Now()
	end, start := now, now.Add(-24*time.Hour)
	var err error
	if v := q.Get("end_time"); v != "" {
		if end, err = parseListTime(v); err != nil {
			writeError(w, http.StatusBadRequest, "InvalidParameter", "end_time must be YYYYMMDDhhmmss, got "+strconv.Quote(v), newID())
			return
		}
	}
	if v := q.Get("start_time"); v != "" {
		if start, err = parseListTime(v); err != nil {
			writeError(w, http.StatusBadRequest, "InvalidParameter", "start_time must be YYYYMMDDhhmmss, got "+strconv.Quote(v), newID())
			return
		}
	} else if q.Get("end_time") != "" {
		start = end.Add(-24 * time.Hour)
	}
	if end.Sub(start) > 24*time.Hour || end.Before(start) {
		writeError(w, http.StatusBadRequest, "InvalidParameter", "the time window must be at most 24 hours, with start_time before end_time", newID())
		return
	}
	pageNo, ok1 := positiveInt(q.Get("page_no"), 1)
	pageSize, ok2 := positiveInt(q.Get("page_size"), 10)
	if !ok1 || !ok2 {
		writeError(w, http.StatusBadRequest, "InvalidParameter", "page_no and page_size must be positive integers", newID())
		return
	}
	model, status := q.Get("model_name"), strings.ToUpper(q.Get("status"))

	s.mu.Lock()
	var rows []map[string]any
	for i := len(s.order) - 1; i >= 0; i-- {
		t := s.order[i]
		st, since := t.state(now)
		// The list has second resolution: a task made within the window's last second is in it.
		if t.submitted.Before(start.Truncate(time.Second)) || t.submitted.After(end.Truncate(time.Second).Add(time.Second)) ||
			st == dashscope.StatusUnknown ||
			(model != "" && t.model != model) || (status != "" && string(st) != status) {
			continue
		}
		row := map[string]any{
			"task_id": t.id, "status": st, "model_name": t.model, "request_id": newID(), "region": "ap-southeast-1",
			"gmt_create": t.submitted.UnixMilli(),
		}
		if st != dashscope.StatusPending {
			row["start_time"] = t.submitted.Add(t.life.Queue).UnixMilli()
		}
		if st.Terminal() {
			row["end_time"] = since.UnixMilli()
		}
		rows = append(rows, row)
	}
	s.mu.Unlock()

	total := len(rows)
	from := min((pageNo-1)*pageSize, total)
	to := min(from+pageSize, total)
	writeJSON(w, http.StatusOK, map[string]any{
		"total": total, "data": rows[from:to], "total_page": (total + pageSize - 1) / pageSize,
		"page_no": pageNo, "page_size": pageSize, "request_id": newID(),
	})
}

func parseListTime(v string) (time.Time, error) {
	return time.ParseInLocation("20060102150405", v, time.FixedZone("UTC+8", 8*60*60))
}

func positiveInt(v string, def int) (int, bool) {
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n > 0
}

// serveResult serves a succeeded task's video while the task is kept.
func (s *Server) serveResult(w http.ResponseWriter, id string) {
	if status, _ := s.lookup(id, nil); status != dashscope.StatusSucceeded {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		_, _ = fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Request has expired.</Message></Error>`)
		return
	}
	w.Header().Set("Content-Type", "video/mp4")
	w.Header().Set("Content-Length", strconv.Itoa(len(SampleVideo)))
	_, _ = w.Write(SampleVideo)
}

// decodeObject reads a JSON object keeping numbers exact.
func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}
