package dashscope

import (
	"math"
	"time"
)

// PollSchedule decides how long to wait before the next status query of a
// task, given the task's age (time since it was submitted) and how many
// queries this poller has made.
type PollSchedule interface {
	Interval(age time.Duration, polls int) time.Duration
}

// DurationModel describes how long jobs take, as a mix of uniform ranges.
type DurationModel []DurationRange

// DurationRange is a share of jobs that end uniformly within [From, To).
type DurationRange struct {
	Share    float64
	From, To time.Duration
}

// VACEDurations models wan2.1-vace-plus jobs: a tenth fail within seconds
// (bad inputs), most finish 4–10 minutes after submission, and a small tail
// ends anywhere in the first half hour (queues, short inputs).
var VACEDurations = DurationModel{
	{Share: 0.10, From: 0, To: 6 * time.Second},
	{Share: 0.88, From: 4 * time.Minute, To: 10 * time.Minute},
	{Share: 0.02, From: 0, To: 30 * time.Minute},
}

// hazard returns the density f and the survival S of job end times at age t.
func (m DurationModel) hazard(t time.Duration) (f, s float64) {
	for _, r := range m {
		width := (r.To - r.From).Seconds()
		switch {
		case t < r.From:
			s += r.Share
		case t < r.To:
			f += r.Share / width
			s += r.Share * (r.To - t).Seconds() / width
		}
	}
	return f, s
}

// AdaptiveSchedule polls each task at the interval that minimises the
// expected detection delay plus Cost seconds of delay per query, given the
// DurationModel: interval = sqrt(2·Cost·S(t)/f(t)), so polls are dense where
// jobs are likely to end (the first seconds, then minutes 4–10) and sparse
// where they are not, bounded by Min and Max.
type AdaptiveSchedule struct {
	Model    DurationModel
	Cost     float64
	Min, Max time.Duration
}

// DefaultSchedule is the schedule Wait uses unless told otherwise. Over the
// benchmark mix (10% failing within 5 s, the rest ending uniformly at 4–10
// minutes) it makes under half the official SDK's queries with a shorter
// mean detection delay (see BenchmarkPollSchedules).
var DefaultSchedule PollSchedule = AdaptiveSchedule{
	Model: VACEDurations,
	Cost:  0.06,
	Min:   time.Second,
	Max:   time.Minute,
}

// Interval implements PollSchedule.
func (s AdaptiveSchedule) Interval(age time.Duration, _ int) time.Duration {
	if age < 0 {
		age = 0
	}
	f, surv := s.Model.hazard(age)
	d := s.Max
	if f > 0 {
		d = time.Duration(math.Sqrt(2*s.Cost*surv/f) * float64(time.Second))
	}
	return min(max(d, s.Min), s.Max)
}

// SDKSchedule is the official Python and Java SDKs' schedule: 1 s, doubling
// every third query, at most 5 s (1, 1, 2, 2, 2, 4, 4, 4, 5, 5, …).
type SDKSchedule struct{}

// Interval implements PollSchedule.
func (SDKSchedule) Interval(_ time.Duration, polls int) time.Duration {
	d := time.Second
	for i := 0; i < (polls+1)/3 && d < 5*time.Second; i++ {
		d *= 2
	}
	return min(d, 5*time.Second)
}

// FixedSchedule polls at a constant interval (useful in tests).
type FixedSchedule time.Duration

// Interval implements PollSchedule.
func (f FixedSchedule) Interval(time.Duration, int) time.Duration { return time.Duration(f) }
