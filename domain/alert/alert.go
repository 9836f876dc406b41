// Package alert is the alert aggregate: triggered, then acknowledged, then
// closed, never backwards, with duplicates of an open alert suppressed.
package alert

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/events"
)

// Status of an alert. The stored values are GoAlert's.
type Status string

const (
	StatusTriggered Status = "triggered"
	StatusActive    Status = "active" // acknowledged
	StatusClosed    Status = "closed"
)

// Limits of GoAlert's API.
const (
	MaxSummaryLength = 1024
	MaxDetailsLength = 6144
	maxDedupLength   = 512
	// DuplicateLogInterval is the least time between two recorded
	// duplicates of one alert.
	DuplicateLogInterval = 5 * time.Second
)

// Sources name how an alert arrived.
const (
	SourceManual       = "manual"
	SourceGeneric      = "generic"
	SourceGrafana      = "grafana"
	SourceSite24x7     = "site24x7"
	SourceAlertmanager = "prometheusAlertmanager"
	SourceEmail        = "email"
	SourcePagerDuty    = "pagerduty"
	SourceHeartbeat    = "heartbeat"
)

// Errors.
var (
	ErrNotFound            = domain.NotFound("alert_not_found", "alert not found")
	ErrClosed              = domain.Conflict("alert_closed", "alert is already closed")
	ErrAlreadyAcknowledged = domain.Conflict("alert_acknowledged", "alert is already acknowledged")
	ErrTooManyUnacked      = domain.Limit("unacked_alerts_per_service", "too many unacknowledged alerts for this service")
)

// Stream returns the stream id of alert id.
func Stream(id int64) string { return events.StreamID("alert", strconv.FormatInt(id, 10)) }

// New is what a trigger carries.
type New struct {
	ServiceID string
	Summary   string
	Details   string
	Dedup     string // caller's key; empty means derived from summary and details
	Source    string
	// IntegrationKeyID is the key the trigger came through; empty for a
	// person's (manual) alert.
	IntegrationKeyID string
	Meta             map[string]string
}

// Normalize folds the summary's line breaks into spaces and checks the
// lengths, returning the alert as it will be stored.
func (n New) Normalize() (New, error) {
	n.Summary = strings.TrimSpace(foldLines(n.Summary))
	if utf8.RuneCountInString(n.Summary) > MaxSummaryLength {
		return n, domain.FieldErrorf("summary", "must be at most %d characters", MaxSummaryLength)
	}
	if utf8.RuneCountInString(n.Details) > MaxDetailsLength {
		return n, domain.FieldErrorf("details", "must be at most %d characters", MaxDetailsLength)
	}
	if n.Source == "" {
		n.Source = SourceManual
	}
	return n, nil
}

// DedupKey is the key that identifies n's open alert within its service:
// the caller's key, or a hash of summary and details. n must be normalized.
func (n New) DedupKey() string {
	if n.Source == SourceHeartbeat && n.Dedup != "" {
		return "heartbeat:1:" + n.Dedup
	}
	if n.Dedup != "" {
		d := strings.TrimSpace(n.Dedup)
		if len(d) > maxDedupLength {
			// Long keys (Alertmanager group keys can be) keep their
			// uniqueness through a hash instead of being cut.
			sum := sha256.Sum256([]byte(d))
			d = "sha256:" + hex.EncodeToString(sum[:])
		}
		return "user:1:" + d
	}
	src := n.Summary
	if n.Details != "" {
		src += "\n" + n.Details
	}
	sum := sha512.Sum512([]byte(src))
	return "auto:1:" + hex.EncodeToString(sum[:])
}

func foldLines(s string) string {
	s = strings.ReplaceAll(s, "\r\n", " ")
	return strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
}

// Trigger decides the creation of alert id from n (normalized).
func Trigger(id int64, n New) []events.Event {
	return []events.Event{events.AlertTriggered{
		AlertID: id, ServiceID: n.ServiceID, Summary: n.Summary, Details: n.Details,
		DedupKey: n.DedupKey(), Source: n.Source, IntegrationKeyID: n.IntegrationKeyID, Meta: n.Meta,
	}}
}

// Alert is the decision-making view of one alert's history.
type Alert struct {
	id        int64
	serviceID string
	status    Status
	dedupKey  string
	lastDup   time.Time
	created   time.Time
	summary   string
	details   string
	meta      map[string]string
	// escalatedAt is when the alert last entered a step.
	escalatedAt time.Time
}

// FromHistory rebuilds an alert from its stored events; nil when there are
// none.
func FromHistory(envs []events.Envelope, evs []events.Event) *Alert {
	if len(evs) == 0 {
		return nil
	}
	a := &Alert{}
	for i, e := range evs {
		a.apply(e, envs[i].OccurredAt)
	}
	return a
}

func (a *Alert) apply(e events.Event, at time.Time) {
	switch e := e.(type) {
	case events.AlertTriggered:
		a.id, a.serviceID, a.status, a.dedupKey, a.created = e.AlertID, e.ServiceID, StatusTriggered, e.DedupKey, at
		a.lastDup = at
		a.summary, a.details, a.meta = e.Summary, e.Details, e.Meta
	case events.AlertEscalated:
		a.escalatedAt = at
	case events.AlertDeduplicated:
		a.lastDup = at
	case events.AlertAcknowledged:
		a.status = StatusActive
	case events.AlertEscalationRequested:
		// A manual escalation re-triggers an acknowledged alert.
		if a.status == StatusActive {
			a.status = StatusTriggered
		}
	case events.AlertClosed:
		a.status = StatusClosed
	}
}

func (a *Alert) ID() int64         { return a.id }
func (a *Alert) ServiceID() string { return a.serviceID }
func (a *Alert) Status() Status    { return a.status }
func (a *Alert) DedupKey() string  { return a.dedupKey }
func (a *Alert) Summary() string   { return a.summary }
func (a *Alert) Details() string   { return a.details }

// Meta returns the alert's metadata. Callers must not modify it.
func (a *Alert) Meta() map[string]string { return a.meta }

// EscalatedAt is when the alert last entered an escalation step.
func (a *Alert) EscalatedAt() time.Time { return a.escalatedAt }

// Duplicate decides what a trigger matching this open alert records: a
// deduplicated event, unless one was recorded (or the alert created) less
// than DuplicateLogInterval before now.
func (a *Alert) Duplicate(now time.Time) []events.Event {
	if now.Sub(a.lastDup) < DuplicateLogInterval {
		return nil
	}
	return []events.Event{events.AlertDeduplicated{AlertID: a.id}}
}

// Acknowledge decides an acknowledgement. It returns ErrClosed for a
// closed alert and ErrAlreadyAcknowledged for an acknowledged one.
func (a *Alert) Acknowledge() ([]events.Event, error) {
	switch a.status {
	case StatusClosed:
		return nil, ErrClosed
	case StatusActive:
		return nil, ErrAlreadyAcknowledged
	}
	return []events.Event{events.AlertAcknowledged{AlertID: a.id}}, nil
}

// Close decides closing the alert. It returns ErrClosed when it is closed.
func (a *Alert) Close() ([]events.Event, error) {
	if a.status == StatusClosed {
		return nil, ErrClosed
	}
	return []events.Event{events.AlertClosed{AlertID: a.id}}, nil
}

// RequestEscalation decides a manual escalation; the paging engine acts on
// it. It returns ErrClosed for a closed alert.
func (a *Alert) RequestEscalation() ([]events.Event, error) {
	if a.status == StatusClosed {
		return nil, ErrClosed
	}
	return []events.Event{events.AlertEscalationRequested{AlertID: a.id}}, nil
}
