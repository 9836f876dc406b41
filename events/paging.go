package events

import "time"

// Dest is a destination as events record it: GoAlert's {type, args}.
type Dest struct {
	Type string            `json:"type"`
	Args map[string]string `json:"args"`
}

// ContactMethodAdded: a way to reach a user. It starts disabled until the
// user proves it reaches them (a verification code).
type ContactMethodAdded struct {
	UserID          string `json:"user_id"`
	ContactMethodID string `json:"contact_method_id"`
	Name            string `json:"name"`
	Dest            Dest   `json:"dest"`
	StatusUpdates   bool   `json:"status_updates"`
	Disabled        bool   `json:"disabled"`
}

func (ContactMethodAdded) EventName() string { return "user.contact_method_added" }

// ContactMethodUpdated: the contact method's name or status updates
// setting changed.
type ContactMethodUpdated struct {
	UserID          string `json:"user_id"`
	ContactMethodID string `json:"contact_method_id"`
	Name            string `json:"name"`
	StatusUpdates   bool   `json:"status_updates"`
}

func (ContactMethodUpdated) EventName() string { return "user.contact_method_updated" }

// ContactMethodVerificationSent: a verification code was sent. Only its
// hash is kept; it expires at ExpiresAt.
type ContactMethodVerificationSent struct {
	UserID          string    `json:"user_id"`
	ContactMethodID string    `json:"contact_method_id"`
	CodeHash        string    `json:"code_hash"`
	ExpiresAt       time.Time `json:"expires_at"`
	MessageID       string    `json:"message_id"`
}

func (ContactMethodVerificationSent) EventName() string {
	return "user.contact_method_verification_sent"
}

// ContactMethodTestSent: a test message was sent to the contact method.
type ContactMethodTestSent struct {
	UserID          string `json:"user_id"`
	ContactMethodID string `json:"contact_method_id"`
	MessageID       string `json:"message_id"`
}

func (ContactMethodTestSent) EventName() string { return "user.contact_method_test_sent" }

// ContactMethodEnabled: the contact method may be used; Reason is
// "verified" or "start" (an SMS START reply).
type ContactMethodEnabled struct {
	UserID          string `json:"user_id"`
	ContactMethodID string `json:"contact_method_id"`
	Reason          string `json:"reason"`
}

func (ContactMethodEnabled) EventName() string { return "user.contact_method_enabled" }

// ContactMethodDisabled: nothing is sent to the contact method; Reason is
// "stop" (an SMS STOP reply or the voice menu).
type ContactMethodDisabled struct {
	UserID          string `json:"user_id"`
	ContactMethodID string `json:"contact_method_id"`
	Reason          string `json:"reason"`
}

func (ContactMethodDisabled) EventName() string { return "user.contact_method_disabled" }

// ContactMethodRemoved: the contact method and its notification rules are
// gone.
type ContactMethodRemoved struct {
	UserID          string `json:"user_id"`
	ContactMethodID string `json:"contact_method_id"`
}

func (ContactMethodRemoved) EventName() string { return "user.contact_method_removed" }

// NotificationRuleAdded: when the user is paged, the contact method is
// notified DelayMinutes after the escalation step began.
type NotificationRuleAdded struct {
	UserID          string `json:"user_id"`
	RuleID          string `json:"rule_id"`
	ContactMethodID string `json:"contact_method_id"`
	DelayMinutes    int    `json:"delay_minutes"`
}

func (NotificationRuleAdded) EventName() string { return "user.notification_rule_added" }

// NotificationRuleRemoved: the rule no longer fires.
type NotificationRuleRemoved struct {
	UserID string `json:"user_id"`
	RuleID string `json:"rule_id"`
}

func (NotificationRuleRemoved) EventName() string { return "user.notification_rule_removed" }

// EscalationPolicyCreated: who is paged for a service's alerts, and when.
type EscalationPolicyCreated struct {
	PolicyID    string `json:"policy_id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Repeat      int    `json:"repeat"`
}

func (EscalationPolicyCreated) EventName() string { return "escalation_policy.created" }

// EscalationPolicyUpdated: name, description or repeat changed.
type EscalationPolicyUpdated struct {
	PolicyID    string `json:"policy_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Repeat      int    `json:"repeat"`
}

func (EscalationPolicyUpdated) EventName() string { return "escalation_policy.updated" }

// EscalationPolicyDeleted: the policy is gone.
type EscalationPolicyDeleted struct {
	PolicyID string `json:"policy_id"`
}

func (EscalationPolicyDeleted) EventName() string { return "escalation_policy.deleted" }

// EscalationStepAdded: a step appended to the policy.
type EscalationStepAdded struct {
	PolicyID     string `json:"policy_id"`
	StepID       string `json:"step_id"`
	DelayMinutes int    `json:"delay_minutes"`
	Actions      []Dest `json:"actions"`
}

func (EscalationStepAdded) EventName() string { return "escalation_policy.step_added" }

// EscalationStepUpdated: a step's delay and actions, as they are now.
type EscalationStepUpdated struct {
	PolicyID     string `json:"policy_id"`
	StepID       string `json:"step_id"`
	DelayMinutes int    `json:"delay_minutes"`
	Actions      []Dest `json:"actions"`
}

func (EscalationStepUpdated) EventName() string { return "escalation_policy.step_updated" }

// EscalationStepRemoved: a step is gone; later steps move up.
type EscalationStepRemoved struct {
	PolicyID string `json:"policy_id"`
	StepID   string `json:"step_id"`
}

func (EscalationStepRemoved) EventName() string { return "escalation_policy.step_removed" }

// EscalationStepsReordered: the steps in their new order.
type EscalationStepsReordered struct {
	PolicyID string   `json:"policy_id"`
	StepIDs  []string `json:"step_ids"`
}

func (EscalationStepsReordered) EventName() string { return "escalation_policy.steps_reordered" }

// AlertEscalated: the alert entered a step of its policy (StepNumber from
// 0) and these were paged. NoOneOnCall is set when the step reached nobody.
type AlertEscalated struct {
	AlertID    int64  `json:"alert_id"`
	PolicyID   string `json:"policy_id"`
	StepNumber int    `json:"step_number"`
	Repeat     int    `json:"repeat"`
	Forced     bool   `json:"forced,omitempty"`
	// OldDelayMinutes is the delay of the step it left, when it moved on
	// because that delay ran out.
	OldDelayMinutes int      `json:"old_delay_minutes,omitempty"`
	Users           []string `json:"users,omitempty"`
	Channels        []Dest   `json:"channels,omitempty"`
	NoOneOnCall     bool     `json:"no_one_on_call,omitempty"`
}

func (AlertEscalated) EventName() string { return "alert.escalated" }

// NotificationSent: a message was handed to its provider (State "sent") or
// confirmed delivered (State "delivered").
type NotificationSent struct {
	MessageID       string `json:"message_id"`
	Kind            string `json:"kind"`
	AlertID         int64  `json:"alert_id,omitempty"`
	UserID          string `json:"user_id,omitempty"`
	UserName        string `json:"user_name,omitempty"`
	ContactMethodID string `json:"contact_method_id,omitempty"`
	Dest            Dest   `json:"dest"`
	State           string `json:"state"`
	ProviderID      string `json:"provider_id,omitempty"`
	Attempt         int    `json:"attempt"`
}

func (NotificationSent) EventName() string { return "notification.sent" }

// NotificationStatusChanged: a provider reported on a message later (a
// Twilio delivery callback, say).
type NotificationStatusChanged struct {
	MessageID string `json:"message_id"`
	AlertID   int64  `json:"alert_id,omitempty"`
	State     string `json:"state"`
	Detail    string `json:"detail,omitempty"`
}

func (NotificationStatusChanged) EventName() string { return "notification.status_changed" }

// NotificationFailed: the message did not go out, for good (Reason says
// why), after Attempt tries.
type NotificationFailed struct {
	MessageID       string `json:"message_id"`
	Kind            string `json:"kind"`
	AlertID         int64  `json:"alert_id,omitempty"`
	UserID          string `json:"user_id,omitempty"`
	UserName        string `json:"user_name,omitempty"`
	ContactMethodID string `json:"contact_method_id,omitempty"`
	Dest            Dest   `json:"dest"`
	Reason          string `json:"reason"`
	Attempt         int    `json:"attempt"`
}

func (NotificationFailed) EventName() string { return "notification.failed" }

// HeartbeatMonitorCreated: the service gets an alert when the monitor is
// not checked in for TimeoutMinutes.
type HeartbeatMonitorCreated struct {
	MonitorID         string `json:"monitor_id"`
	ServiceID         string `json:"service_id"`
	Name              string `json:"name"`
	TimeoutMinutes    int    `json:"timeout_minutes"`
	AdditionalDetails string `json:"additional_details,omitempty"`
}

func (HeartbeatMonitorCreated) EventName() string { return "heartbeat.created" }

// HeartbeatMonitorUpdated: the monitor's settings as they are now. A
// non-empty MutedReason mutes it: it raises no alerts.
type HeartbeatMonitorUpdated struct {
	MonitorID         string `json:"monitor_id"`
	Name              string `json:"name"`
	TimeoutMinutes    int    `json:"timeout_minutes"`
	AdditionalDetails string `json:"additional_details,omitempty"`
	MutedReason       string `json:"muted_reason,omitempty"`
}

func (HeartbeatMonitorUpdated) EventName() string { return "heartbeat.updated" }

// HeartbeatMonitorDeleted: the monitor is gone.
type HeartbeatMonitorDeleted struct {
	MonitorID string `json:"monitor_id"`
}

func (HeartbeatMonitorDeleted) EventName() string { return "heartbeat.deleted" }

// HeartbeatMonitorExpired: no check-in arrived in time; AlertID is the
// alert it raised (0 when muted).
type HeartbeatMonitorExpired struct {
	MonitorID string    `json:"monitor_id"`
	LastBeat  time.Time `json:"last_beat"`
	AlertID   int64     `json:"alert_id,omitempty"`
}

func (HeartbeatMonitorExpired) EventName() string { return "heartbeat.expired" }

// HeartbeatMonitorHealthy: a check-in arrived after the monitor had
// expired (or for the first time).
type HeartbeatMonitorHealthy struct {
	MonitorID string `json:"monitor_id"`
}

func (HeartbeatMonitorHealthy) EventName() string { return "heartbeat.healthy" }
