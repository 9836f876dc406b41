// Package limits holds the system limits admins can change, with GoAlert's
// identifiers and defaults. -1 means unlimited.
package limits

import (
	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/events"
)

// ID names a limit.
type ID string

const (
	NotificationRulesPerUser     ID = "notification_rules_per_user"
	ContactMethodsPerUser        ID = "contact_methods_per_user"
	EPStepsPerPolicy             ID = "ep_steps_per_policy"
	EPActionsPerStep             ID = "ep_actions_per_step"
	ParticipantsPerRotation      ID = "participants_per_rotation"
	RulesPerSchedule             ID = "rules_per_schedule"
	IntegrationKeysPerService    ID = "integration_keys_per_service"
	UnackedAlertsPerService      ID = "unacked_alerts_per_service"
	TargetsPerSchedule           ID = "targets_per_schedule"
	HeartbeatMonitorsPerService  ID = "heartbeat_monitors_per_service"
	UserOverridesPerSchedule     ID = "user_overrides_per_schedule"
	CalendarSubscriptionsPerUser ID = "calendar_subscriptions_per_user"
)

// Defaults are the values before any admin change.
var Defaults = map[ID]int{
	NotificationRulesPerUser:     15,
	ContactMethodsPerUser:        10,
	EPStepsPerPolicy:             10,
	EPActionsPerStep:             20,
	ParticipantsPerRotation:      50,
	RulesPerSchedule:             30,
	IntegrationKeysPerService:    30,
	UnackedAlertsPerService:      200,
	TargetsPerSchedule:           10,
	HeartbeatMonitorsPerService:  30,
	UserOverridesPerSchedule:     35,
	CalendarSubscriptionsPerUser: 15,
}

// Stream is the stream of all limit changes.
const Stream = "config-system_limits"

// Parse returns the limit named s.
func Parse(s string) (ID, error) {
	if _, ok := Defaults[ID(s)]; ok {
		return ID(s), nil
	}
	return "", domain.FieldErrorf("id", "unknown system limit %q", s)
}

// Set decides changing limit id to value.
func Set(id ID, value int) ([]events.Event, error) {
	if _, ok := Defaults[id]; !ok {
		return nil, domain.FieldErrorf("id", "unknown system limit %q", id)
	}
	if value < -1 {
		return nil, domain.FieldError("value", "must be -1 (unlimited) or more")
	}
	return []events.Event{events.SystemLimitSet{LimitID: string(id), Value: value}}, nil
}
