package dashscope

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// TaskStatus is the state of an asynchronous task.
type TaskStatus string

// Task statuses. CANCELLED (as one vendor page spells it) is read as Canceled.
const (
	StatusPending   TaskStatus = "PENDING"
	StatusRunning   TaskStatus = "RUNNING"
	StatusSuspended TaskStatus = "SUSPENDED"
	StatusSucceeded TaskStatus = "SUCCEEDED"
	StatusFailed    TaskStatus = "FAILED"
	StatusCanceled  TaskStatus = "CANCELED"
	// StatusUnknown means the service has no such task: a wrong id, or one older than 24 hours.
	StatusUnknown TaskStatus = "UNKNOWN"
)

// Terminal reports whether the task has ended and will not change again.
func (s TaskStatus) Terminal() bool {
	switch s {
	case StatusSucceeded, StatusFailed, StatusCanceled, StatusUnknown:
		return true
	}
	return false
}

// UnmarshalText reads a status, accepting both spellings of CANCELED.
func (s *TaskStatus) UnmarshalText(b []byte) error {
	v := TaskStatus(strings.ToUpper(strings.TrimSpace(string(b))))
	if v == "CANCELLED" {
		v = StatusCanceled
	}
	*s = v
	return nil
}

// ResultTTL is how long the service keeps a task and its result URL.
const ResultTTL = 24 * time.Hour

// serviceZone is the zone of the service's time strings (UTC+8).
var serviceZone = time.FixedZone("UTC+8", 8*60*60)

// serviceTimeLayout is how task times are written, e.g. "2025-05-15 16:14:44.723".
const serviceTimeLayout = "2006-01-02 15:04:05.999"

// ServiceTime is a time as the task API writes it: "YYYY-MM-DD HH:mm:ss.SSS" in UTC+8.
type ServiceTime struct{ time.Time }

// UnmarshalJSON reads a service time string; an empty string is the zero time.
func (t *ServiceTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("dashscope: task time %s: %w", b, err)
	}
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	v, err := time.ParseInLocation(serviceTimeLayout, s, serviceZone)
	if err != nil {
		return fmt.Errorf("dashscope: task time %q: %w", s, err)
	}
	t.Time = v
	return nil
}

// MarshalJSON writes the service's format.
func (t ServiceTime) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte(`""`), nil
	}
	return json.Marshal(FormatServiceTime(t.Time))
}

// FormatServiceTime writes t the way the task API does.
func FormatServiceTime(t time.Time) string {
	return t.In(serviceZone).Format("2006-01-02 15:04:05.000")
}

// TaskMetrics counts a running task's sub-tasks.
type TaskMetrics struct {
	Total     int `json:"TOTAL"`
	Succeeded int `json:"SUCCEEDED"`
	Failed    int `json:"FAILED"`
}

// Task is the state of one asynchronous task as the service reports it.
type Task struct {
	ID            string       `json:"task_id"`
	Status        TaskStatus   `json:"task_status"`
	RequestID     string       `json:"request_id,omitempty"`
	SubmitTime    ServiceTime  `json:"submit_time"`
	ScheduledTime ServiceTime  `json:"scheduled_time"`
	EndTime       ServiceTime  `json:"end_time"`
	VideoURL      string       `json:"video_url,omitempty"`
	OrigPrompt    string       `json:"orig_prompt,omitempty"`
	ActualPrompt  string       `json:"actual_prompt,omitempty"`
	Code          string       `json:"code,omitempty"`
	Message       string       `json:"message,omitempty"`
	Metrics       *TaskMetrics `json:"task_metrics,omitempty"`
	Usage         *Usage       `json:"usage,omitempty"`
}

// Expires is when the task's result stops being available: the signed video
// URL's Expires when it has one, else ResultTTL after submission, when the
// service forgets the task; zero when unknown (no submission time, or a task
// the service does not know).
func (t *Task) Expires() time.Time {
	if u, err := url.Parse(t.VideoURL); err == nil && t.VideoURL != "" {
		if secs, err := strconv.ParseInt(u.Query().Get("Expires"), 10, 64); err == nil && secs > 0 {
			return time.Unix(secs, 0)
		}
	}
	if t.SubmitTime.IsZero() || t.Status == StatusUnknown {
		return time.Time{}
	}
	return t.SubmitTime.Add(ResultTTL)
}

// taskResponse is the body of submit and query responses.
type taskResponse struct {
	RequestID string `json:"request_id"`
	Output    *Task  `json:"output"`
	Usage     *Usage `json:"usage"`
}

// task is the response's task. A failed task's code and message come from
// upstream and reach people and models: clean (the client's upstream)
// makes them plain, drops secrets and cuts them to at most n characters.
func (r *taskResponse) task(clean func(s string, n int) string) (*Task, error) {
	if r.Output == nil || r.Output.ID == "" {
		return nil, fmt.Errorf("dashscope: response has no output.task_id (request_id %q)", r.RequestID)
	}
	t := *r.Output
	t.Code = clean(t.Code, maxCodeRunes)
	t.Message = clean(t.Message, maxMessageRunes)
	t.RequestID = r.RequestID
	if r.Usage != nil {
		t.Usage = r.Usage
	}
	return &t, nil
}

// ListFilter narrows [Client.ListTasks]. Zero fields are left to the service's
// defaults: the last 24 hours, every model and status, page 1 of 10.
type ListFilter struct {
	// Start and End bound the creation time; the window may be at most 24 hours.
	Start, End time.Time
	// Model filters by model name; the client's model when empty and All is false.
	Model string
	// AllModels lists tasks of every model instead of the client's.
	AllModels bool
	Status    TaskStatus
	PageNo    int
	PageSize  int
}

// TaskSummary is one row of a task list.
type TaskSummary struct {
	ID        string     `json:"task_id"`
	Status    TaskStatus `json:"status"`
	Model     string     `json:"model_name"`
	Created   EpochMilli `json:"gmt_create"`
	Started   EpochMilli `json:"start_time"`
	Ended     EpochMilli `json:"end_time"`
	RequestID string     `json:"request_id"`
	Region    string     `json:"region"`
}

// TaskPage is a page of a task list.
type TaskPage struct {
	Total     int           `json:"total"`
	TotalPage int           `json:"total_page"`
	PageNo    int           `json:"page_no"`
	PageSize  int           `json:"page_size"`
	RequestID string        `json:"request_id"`
	Tasks     []TaskSummary `json:"data"`
}

// EpochMilli is a time written as milliseconds since the Unix epoch; 0 is the zero time.
type EpochMilli struct{ time.Time }

// UnmarshalJSON reads a number (or a numeric string) of milliseconds.
func (t *EpochMilli) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		if string(b) == "null" {
			t.Time = time.Time{}
			return nil
		}
		return fmt.Errorf("dashscope: epoch time %s: %w", b, err)
	}
	ms, err := n.Int64()
	if err != nil {
		return fmt.Errorf("dashscope: epoch time %s: %w", b, err)
	}
	if ms == 0 {
		t.Time = time.Time{}
		return nil
	}
	t.Time = time.UnixMilli(ms)
	return nil
}

// MarshalJSON writes milliseconds since the epoch.
func (t EpochMilli) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("0"), nil
	}
	return json.Marshal(t.UnixMilli())
}

// listTimeLayout is the list filter's time format, YYYYMMDDhhmmss (UTC+8).
const listTimeLayout = "20060102150405"
