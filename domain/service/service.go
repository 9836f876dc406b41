// Package service is the service aggregate: what alerts belong to, with its
// integration keys, labels, escalation policy and maintenance window.
package service

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/events"
)

// KeyType is an integration key's type: which ingest endpoint accepts it.
type KeyType string

const (
	KeyGeneric      KeyType = "generic"
	KeyGrafana      KeyType = "grafana"
	KeySite24x7     KeyType = "site24x7"
	KeyAlertmanager KeyType = "prometheusAlertmanager"
	KeyEmail        KeyType = "email"
	KeyPagerDuty    KeyType = "pagerduty"
)

// ParseKeyType returns the key type named s.
func ParseKeyType(s string) (KeyType, error) {
	switch t := KeyType(s); t {
	case KeyGeneric, KeyGrafana, KeySite24x7, KeyAlertmanager, KeyEmail, KeyPagerDuty:
		return t, nil
	}
	return "", domain.FieldErrorf("type", "unknown integration key type %q", s)
}

// MaxMaintenance is the longest maintenance window.
const MaxMaintenance = 24*time.Hour + 5*time.Minute

// Errors.
var (
	ErrNotFound    = domain.NotFound("service_not_found", "service not found")
	ErrNameTaken   = domain.Conflict("service_name_taken", "a service with that name already exists")
	ErrKeyNotFound = domain.NotFound("integration_key_not_found", "integration key not found")
	ErrTooManyKeys = domain.Limit("integration_keys_per_service", "too many integration keys for this service")
)

// Stream returns the stream id of the service with id.
func Stream(id string) string { return events.StreamID("service", id) }

// Service is the decision-making view of a service's history.
type Service struct {
	id      string
	name    string
	desc    string
	policy  string
	deleted bool
	keys    map[string]KeyType
	labels  map[string]string
	maint   time.Time
}

// FromHistory rebuilds a service; nil when it never existed.
func FromHistory(evs []events.Event) *Service {
	if len(evs) == 0 {
		return nil
	}
	s := &Service{keys: map[string]KeyType{}, labels: map[string]string{}}
	for _, e := range evs {
		s.apply(e)
	}
	return s
}

// Apply folds decided events into s, so that several decisions in one
// command see each other.
func (s *Service) Apply(evs ...events.Event) {
	for _, e := range evs {
		s.apply(e)
	}
}

func (s *Service) apply(e events.Event) {
	switch e := e.(type) {
	case events.ServiceCreated:
		s.id, s.name, s.desc, s.policy = e.ServiceID, e.Name, e.Description, e.EscalationPolicyID
	case events.ServiceUpdated:
		s.name, s.desc = e.Name, e.Description
	case events.ServiceEscalationPolicyChanged:
		s.policy = e.EscalationPolicyID
	case events.ServiceMaintenanceSet:
		s.maint = e.ExpiresAt
	case events.ServiceLabelSet:
		if e.Value == "" {
			delete(s.labels, e.Key)
		} else {
			s.labels[e.Key] = e.Value
		}
	case events.IntegrationKeyCreated:
		s.keys[e.KeyID] = KeyType(e.Type)
	case events.IntegrationKeyDeleted:
		delete(s.keys, e.KeyID)
	case events.ServiceDeleted:
		s.deleted = true
	}
}

// Exists reports whether s is a live service.
func (s *Service) Exists() bool { return s != nil && !s.deleted }

func (s *Service) ID() string          { return s.id }
func (s *Service) Name() string        { return s.name }
func (s *Service) Description() string { return s.desc }
func (s *Service) PolicyID() string    { return s.policy }

// MaintenanceUntil is when maintenance mode ends; the zero time, or a time
// already past, means the service is not in maintenance.
func (s *Service) MaintenanceUntil() time.Time { return s.maint }

// InMaintenance reports whether escalation is held at now.
func (s *Service) InMaintenance(now time.Time) bool { return now.Before(s.maint) }

// Keys returns the ids of the service's integration keys.
func (s *Service) Keys() []string {
	out := make([]string, 0, len(s.keys))
	for k := range s.keys {
		out = append(out, k)
	}
	return out
}

// ValidateName checks a service name: 1 to 255 characters.
func ValidateName(name string) error {
	if strings.TrimSpace(name) == "" {
		return domain.FieldError("name", "must not be empty")
	}
	if utf8.RuneCountInString(name) > 255 {
		return domain.FieldError("name", "must be at most 255 characters")
	}
	return nil
}

func validateDescription(d string) error {
	if utf8.RuneCountInString(d) > 1000 {
		return domain.FieldError("description", "must be at most 1000 characters")
	}
	return nil
}

// Create decides creating a service.
func Create(id, name, description, policyID string) ([]events.Event, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if err := validateDescription(description); err != nil {
		return nil, err
	}
	return []events.Event{events.ServiceCreated{ServiceID: id, Name: name, Description: description, EscalationPolicyID: policyID}}, nil
}

// Update decides a change of name and description; nil when nothing
// changes.
func (s *Service) Update(name, description string) ([]events.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if err := validateDescription(description); err != nil {
		return nil, err
	}
	if name == s.name && description == s.desc {
		return nil, nil
	}
	return []events.Event{events.ServiceUpdated{ServiceID: s.id, Name: name, Description: description}}, nil
}

// SetPolicy decides a change of escalation policy; nil when unchanged.
func (s *Service) SetPolicy(policyID string) ([]events.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	if policyID == s.policy {
		return nil, nil
	}
	return []events.Event{events.ServiceEscalationPolicyChanged{ServiceID: s.id, EscalationPolicyID: policyID}}, nil
}

// SetMaintenance decides starting (or, with a zero until, ending)
// maintenance. until must be in the future and at most MaxMaintenance away.
func (s *Service) SetMaintenance(until, now time.Time) ([]events.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	if !until.IsZero() {
		if !until.After(now) {
			return nil, domain.FieldError("maintenanceExpiresAt", "must be in the future")
		}
		if until.Sub(now) > MaxMaintenance {
			return nil, domain.FieldError("maintenanceExpiresAt", "must be at most 24 hours from now")
		}
	}
	return []events.Event{events.ServiceMaintenanceSet{ServiceID: s.id, ExpiresAt: until}}, nil
}

// SetLabel decides setting (or, with an empty value, removing) a label.
func (s *Service) SetLabel(key, value string) ([]events.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	if err := ValidateLabelKey(key); err != nil {
		return nil, err
	}
	if s.labels[key] == value {
		return nil, nil
	}
	return []events.Event{events.ServiceLabelSet{ServiceID: s.id, Key: key, Value: value}}, nil
}

// ValidateLabelKey checks GoAlert's label key format: prefix/name, the
// prefix lower-case DNS-like segments, at most 255 characters in all.
func ValidateLabelKey(key string) error {
	prefix, name, ok := strings.Cut(key, "/")
	if !ok || prefix == "" || name == "" || len(key) > 255 {
		return domain.FieldError("key", "must look like prefix/name, at most 255 characters")
	}
	for _, seg := range strings.Split(prefix, ".") {
		if len(seg) < 3 || len(seg) > 63 {
			return domain.FieldError("key", "each dot-separated part of the prefix must be 3 to 63 characters")
		}
		for _, r := range seg {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return domain.FieldError("key", "the prefix may hold only lower-case letters, digits, '-' and '.'")
			}
		}
	}
	return nil
}

// AddKey decides adding an integration key. limit is the system limit of
// keys per service (-1 for none).
func (s *Service) AddKey(keyID, name string, t KeyType, external string, limit int) ([]events.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	if strings.TrimSpace(name) == "" {
		return nil, domain.FieldError("name", "must not be empty")
	}
	if limit >= 0 && len(s.keys) >= limit {
		return nil, ErrTooManyKeys
	}
	return []events.Event{events.IntegrationKeyCreated{ServiceID: s.id, KeyID: keyID, Name: name, Type: string(t), ExternalSystemName: external}}, nil
}

// DeleteKey decides deleting an integration key.
func (s *Service) DeleteKey(keyID string) ([]events.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	if _, ok := s.keys[keyID]; !ok {
		return nil, ErrKeyNotFound
	}
	return []events.Event{events.IntegrationKeyDeleted{ServiceID: s.id, KeyID: keyID}}, nil
}

// Delete decides deleting the service; its keys go with it.
func (s *Service) Delete() ([]events.Event, error) {
	if !s.Exists() {
		return nil, ErrNotFound
	}
	return []events.Event{events.ServiceDeleted{ServiceID: s.id}}, nil
}
