package events

// AlertTriggered: an alert was created. Status triggered.
//
// Schema version 2 adds IntegrationKeyID: the key the alert came through,
// empty for an alert created by a person (manual). Source says only the
// kind of key, and a service can have several keys of one kind (one per
// monitoring system); the key id tells them apart, for the alert's
// timeline and for acting on the alerts of one key. The request metadata's
// actor names the key too, but metadata is context about the request,
// not part of the fact, and is not written by every path. Version 1 events
// upcast with an empty IntegrationKeyID: they do not say which key it was.
type AlertTriggered struct {
	AlertID          int64             `json:"alert_id"`
	ServiceID        string            `json:"service_id"`
	Summary          string            `json:"summary"`
	Details          string            `json:"details,omitempty"`
	DedupKey         string            `json:"dedup_key"`
	Source           string            `json:"source"` // manual, generic, grafana, site24x7, prometheusAlertmanager, email, pagerduty, heartbeat
	IntegrationKeyID string            `json:"integration_key_id"`
	Meta             map[string]string `json:"meta,omitempty"`
}

func (AlertTriggered) EventName() string  { return "alert.triggered" }
func (AlertTriggered) SchemaVersion() int { return 2 }

// AlertDeduplicated: a trigger matched the open alert and was suppressed.
type AlertDeduplicated struct {
	AlertID int64 `json:"alert_id"`
}

func (AlertDeduplicated) EventName() string { return "alert.deduplicated" }

// AlertAcknowledged: someone took the alert; escalation stops.
type AlertAcknowledged struct {
	AlertID int64 `json:"alert_id"`
}

func (AlertAcknowledged) EventName() string { return "alert.acknowledged" }

// AlertEscalationRequested: someone asked for the next escalation step now.
type AlertEscalationRequested struct {
	AlertID int64 `json:"alert_id"`
}

func (AlertEscalationRequested) EventName() string { return "alert.escalation_requested" }

// AlertClosed: the alert is resolved. Closed alerts never reopen.
type AlertClosed struct {
	AlertID int64 `json:"alert_id"`
}

func (AlertClosed) EventName() string { return "alert.closed" }
