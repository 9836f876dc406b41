package events

// AlertTriggered: an alert was created. Status triggered.
type AlertTriggered struct {
	AlertID   int64             `json:"alert_id"`
	ServiceID string            `json:"service_id"`
	Summary   string            `json:"summary"`
	Details   string            `json:"details,omitempty"`
	DedupKey  string            `json:"dedup_key"`
	Source    string            `json:"source"` // manual, generic, grafana, site24x7, prometheusAlertmanager, email, pagerduty, heartbeat
	Meta      map[string]string `json:"meta,omitempty"`
}

func (AlertTriggered) EventName() string { return "alert.triggered" }

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
