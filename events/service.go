package events

import "time"

// ServiceCreated: a service that alerts belong to.
type ServiceCreated struct {
	ServiceID          string `json:"service_id"`
	Name               string `json:"name"`
	Description        string `json:"description,omitempty"`
	EscalationPolicyID string `json:"escalation_policy_id,omitempty"`
}

func (ServiceCreated) EventName() string { return "service.created" }

// ServiceUpdated: the service's name or description changed.
type ServiceUpdated struct {
	ServiceID   string `json:"service_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

func (ServiceUpdated) EventName() string { return "service.updated" }

// ServiceEscalationPolicyChanged: the service's alerts escalate through
// another policy from now on.
type ServiceEscalationPolicyChanged struct {
	ServiceID          string `json:"service_id"`
	EscalationPolicyID string `json:"escalation_policy_id"`
}

func (ServiceEscalationPolicyChanged) EventName() string { return "service.escalation_policy_changed" }

// ServiceMaintenanceSet: escalation of the service's alerts is held until
// ExpiresAt; a zero ExpiresAt ends maintenance.
type ServiceMaintenanceSet struct {
	ServiceID string    `json:"service_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (ServiceMaintenanceSet) EventName() string { return "service.maintenance_set" }

// ServiceLabelSet: a label was set; an empty Value removes it.
type ServiceLabelSet struct {
	ServiceID string `json:"service_id"`
	Key       string `json:"key"`
	Value     string `json:"value"`
}

func (ServiceLabelSet) EventName() string { return "service.label_set" }

// ServiceDeleted: the service and its integration keys are gone.
type ServiceDeleted struct {
	ServiceID string `json:"service_id"`
}

func (ServiceDeleted) EventName() string { return "service.deleted" }

// IntegrationKeyCreated: a token through which a monitoring system raises
// the service's alerts. The key id is the token.
type IntegrationKeyCreated struct {
	ServiceID          string `json:"service_id"`
	KeyID              string `json:"key_id"`
	Name               string `json:"name"`
	Type               string `json:"type"`
	ExternalSystemName string `json:"external_system_name,omitempty"`
}

func (IntegrationKeyCreated) EventName() string { return "service.integration_key_created" }

// IntegrationKeyDeleted: the token stops working.
type IntegrationKeyDeleted struct {
	ServiceID string `json:"service_id"`
	KeyID     string `json:"key_id"`
}

func (IntegrationKeyDeleted) EventName() string { return "service.integration_key_deleted" }
