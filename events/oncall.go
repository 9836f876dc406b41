package events

import "time"

// RotationDefinition is a rotation's hand-off definition and who is on call,
// as it stands after the event that carries it. Every rotation event but
// rotation.deleted carries the whole of it, so that the rotation at any past
// instant is the last such event at or before that instant.
type RotationDefinition struct {
	// Type is hourly, daily, weekly or monthly.
	Type        string `json:"type"`
	ShiftLength int    `json:"shift_length"`
	// Start anchors the hand-off grid in TimeZone (an IANA zone name).
	Start    time.Time `json:"start"`
	TimeZone string    `json:"time_zone"`
	// Participants are user IDs in hand-off order; one may repeat.
	Participants []string `json:"participants"`
	// ActiveIndex (-1 for nobody) is the participant on call at ActiveAt;
	// the rotation moves on one participant per hand-off after it.
	ActiveIndex int       `json:"active_index"`
	ActiveAt    time.Time `json:"active_at"`
}

// RotationCreated: a new rotation.
type RotationCreated struct {
	RotationID  string `json:"rotation_id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	RotationDefinition
}

func (RotationCreated) EventName() string { return "rotation.created" }

// RotationUpdated: the rotation's name, description or hand-off grid
// changed; who is on call was re-anchored at the change.
type RotationUpdated struct {
	RotationID  string `json:"rotation_id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	RotationDefinition
}

func (RotationUpdated) EventName() string { return "rotation.updated" }

// RotationParticipantsSet: the ordered participant list changed (users
// added, removed or reordered).
type RotationParticipantsSet struct {
	RotationID string `json:"rotation_id"`
	RotationDefinition
}

func (RotationParticipantsSet) EventName() string { return "rotation.participants_set" }

// RotationActiveSet: an admin picked who is on call now.
type RotationActiveSet struct {
	RotationID string `json:"rotation_id"`
	RotationDefinition
}

func (RotationActiveSet) EventName() string { return "rotation.active_set" }

// RotationDeleted: the rotation is gone; it puts nobody on call from now.
type RotationDeleted struct {
	RotationID string `json:"rotation_id"`
}

func (RotationDeleted) EventName() string { return "rotation.deleted" }

// ScheduleCreated: a new schedule, with no targets yet (they follow as
// schedule.target_rules_set events).
type ScheduleCreated struct {
	ScheduleID  string `json:"schedule_id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	TimeZone    string `json:"time_zone"`
}

func (ScheduleCreated) EventName() string { return "schedule.created" }

// ScheduleUpdated: the schedule's name, description and time zone as they
// are now.
type ScheduleUpdated struct {
	ScheduleID  string `json:"schedule_id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	TimeZone    string `json:"time_zone"`
}

func (ScheduleUpdated) EventName() string { return "schedule.updated" }

// ScheduleDeleted: the schedule is gone.
type ScheduleDeleted struct {
	ScheduleID string `json:"schedule_id"`
}

func (ScheduleDeleted) EventName() string { return "schedule.deleted" }

// ScheduleRule is when a schedule target is on call: from Start to End
// ("HH:MM" in the schedule's zone) on each day whose Weekdays flag is set
// (Sunday first). End before Start crosses midnight; End equal to Start is
// a 24-hour shift.
type ScheduleRule struct {
	ID       string  `json:"id"`
	Start    string  `json:"start"`
	End      string  `json:"end"`
	Weekdays [7]bool `json:"weekdays"`
}

// ScheduleTargetRulesSet: the full rule list of one target (TargetType
// "user" or "rotation"). No rules removes the target from the schedule.
type ScheduleTargetRulesSet struct {
	ScheduleID string         `json:"schedule_id"`
	TargetType string         `json:"target_type"`
	TargetID   string         `json:"target_id"`
	Rules      []ScheduleRule `json:"rules"`
}

func (ScheduleTargetRulesSet) EventName() string { return "schedule.target_rules_set" }

// ScheduleOverrideAdded: from Start until End, AddUserID is on call,
// RemoveUserID is not, or (both set) AddUserID stands in for RemoveUserID
// while RemoveUserID is on call.
type ScheduleOverrideAdded struct {
	ScheduleID   string    `json:"schedule_id"`
	OverrideID   string    `json:"override_id"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
	AddUserID    string    `json:"add_user_id,omitempty"`
	RemoveUserID string    `json:"remove_user_id,omitempty"`
}

func (ScheduleOverrideAdded) EventName() string { return "schedule.override_added" }

// ScheduleOverrideRemoved: the override no longer applies, from now on.
type ScheduleOverrideRemoved struct {
	ScheduleID string `json:"schedule_id"`
	OverrideID string `json:"override_id"`
}

func (ScheduleOverrideRemoved) EventName() string { return "schedule.override_removed" }

// TemporaryShift is one user's shift in a temporary schedule.
type TemporaryShift struct {
	UserID string    `json:"user_id"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
}

// ScheduleTemporarySet: from Start until End, Shifts alone say who is on
// call. Temporary schedules overlapping the span are cut back to outside
// it.
type ScheduleTemporarySet struct {
	ScheduleID string           `json:"schedule_id"`
	Start      time.Time        `json:"start"`
	End        time.Time        `json:"end"`
	Shifts     []TemporaryShift `json:"shifts"`
}

func (ScheduleTemporarySet) EventName() string { return "schedule.temporary_set" }

// ScheduleTemporaryCleared: temporary schedules are cut back to outside
// Start until End (dropped where nothing is left).
type ScheduleTemporaryCleared struct {
	ScheduleID string    `json:"schedule_id"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
}

func (ScheduleTemporaryCleared) EventName() string { return "schedule.temporary_cleared" }

// ScheduleOnCallNotificationRuleSet: a Slack channel or webhook (Dest) is
// told who is on call: whenever that changes when Time is empty, otherwise
// daily at Time ("HH:MM" in the schedule's zone) on the Weekdays set
// (Sunday first). Setting an existing RuleID replaces it.
type ScheduleOnCallNotificationRuleSet struct {
	ScheduleID string  `json:"schedule_id"`
	RuleID     string  `json:"rule_id"`
	Dest       Dest    `json:"dest"`
	Time       string  `json:"time,omitempty"`
	Weekdays   [7]bool `json:"weekdays"`
}

func (ScheduleOnCallNotificationRuleSet) EventName() string {
	return "schedule.oncall_notification_rule_set"
}

// ScheduleOnCallNotificationRuleRemoved: the rule no longer notifies.
type ScheduleOnCallNotificationRuleRemoved struct {
	ScheduleID string `json:"schedule_id"`
	RuleID     string `json:"rule_id"`
}

func (ScheduleOnCallNotificationRuleRemoved) EventName() string {
	return "schedule.oncall_notification_rule_removed"
}

// CalendarSubscriptionCreated: a user subscribed to an iCal feed of their
// shifts (on ScheduleID only when set; every shift of that schedule with
// FullSchedule). Only the SHA-256 of the feed's secret token is kept.
// Each entry of ReminderMinutes is an alarm that many minutes before a
// shift starts.
type CalendarSubscriptionCreated struct {
	UserID          string `json:"user_id"`
	SubscriptionID  string `json:"subscription_id"`
	Name            string `json:"name"`
	ScheduleID      string `json:"schedule_id,omitempty"`
	FullSchedule    bool   `json:"full_schedule,omitempty"`
	ReminderMinutes []int  `json:"reminder_minutes,omitempty"`
	TokenHash       string `json:"token_hash"`
}

func (CalendarSubscriptionCreated) EventName() string { return "calendar.subscription_created" }

// CalendarSubscriptionDeleted: the subscription is revoked; its feed URL
// no longer works.
type CalendarSubscriptionDeleted struct {
	UserID         string `json:"user_id"`
	SubscriptionID string `json:"subscription_id"`
}

func (CalendarSubscriptionDeleted) EventName() string { return "calendar.subscription_deleted" }
