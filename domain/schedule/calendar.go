package schedule

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/events"
)

// Calendar subscription rules, as in GoAlert.
const (
	MaxReminders      = 15
	MaxReminderMinute = 7 * 24 * 60
)

// Errors of calendar subscriptions.
var (
	ErrSubscriptionNotFound = domain.NotFound("calendar_subscription_not_found", "calendar subscription not found")
	ErrTooManySubscriptions = domain.Limit("calendar_subscriptions_per_user", "too many calendar subscriptions for this user")
)

// SubscriptionsStream returns the stream of user id's calendar
// subscriptions: one stream per user, so that the per-user limit holds
// under concurrent writers.
func SubscriptionsStream(userID string) string { return events.StreamID("calendar", userID) }

// Subscription is an iCal feed of a user's shifts.
type Subscription struct {
	ID     string
	UserID string
	Name   string
	// ScheduleID limits the feed to one schedule; empty means all of them.
	ScheduleID string
	// FullSchedule shows every shift of ScheduleID, not only the user's.
	FullSchedule    bool
	ReminderMinutes []int
	// TokenHash is the SHA-256 (hex) of the feed's secret token.
	TokenHash string
}

// Subscriptions is a user's calendar subscriptions.
type Subscriptions struct {
	userID string
	subs   []Subscription
}

// SubscriptionsFromHistory rebuilds a user's subscriptions from the events
// of their stream; an empty set when there are none.
func SubscriptionsFromHistory(userID string, evs []events.Event) *Subscriptions {
	s := &Subscriptions{userID: userID}
	for _, e := range evs {
		s.Apply(e)
	}
	return s
}

// Apply folds one event into s.
func (s *Subscriptions) Apply(e events.Event) {
	switch e := e.(type) {
	case events.CalendarSubscriptionCreated:
		s.subs = append(s.subs, Subscription{ID: e.SubscriptionID, UserID: e.UserID, Name: e.Name, ScheduleID: e.ScheduleID,
			FullSchedule: e.FullSchedule, ReminderMinutes: slices.Clone(e.ReminderMinutes), TokenHash: e.TokenHash})
	case events.CalendarSubscriptionDeleted:
		s.subs = slices.DeleteFunc(s.subs, func(x Subscription) bool { return x.ID == e.SubscriptionID })
	}
}

// All returns the live subscriptions. Callers must not modify them.
func (s *Subscriptions) All() []Subscription { return s.subs }

// Get returns the subscription with id.
func (s *Subscriptions) Get(id string) (Subscription, bool) {
	i := slices.IndexFunc(s.subs, func(x Subscription) bool { return x.ID == id })
	if i < 0 {
		return Subscription{}, false
	}
	return s.subs[i], true
}

// Create decides a new subscription (ID and TokenHash set by the caller,
// which also guarantees the schedule exists). max is the
// calendar_subscriptions_per_user limit (-1: unlimited).
func (s *Subscriptions) Create(sub Subscription, max int) ([]events.Event, error) {
	sub.Name = strings.TrimSpace(sub.Name)
	switch {
	case sub.ID == "" || sub.TokenHash == "":
		return nil, domain.FieldError("id", "must be set")
	case sub.Name == "":
		return nil, domain.FieldError("name", "must not be empty")
	case utf8.RuneCountInString(sub.Name) > 255:
		return nil, domain.FieldError("name", "must be at most 255 characters")
	case sub.FullSchedule && sub.ScheduleID == "":
		return nil, domain.FieldError("fullSchedule", "needs a schedule")
	case len(sub.ReminderMinutes) > MaxReminders:
		return nil, domain.FieldErrorf("reminderMinutes", "at most %d reminders", MaxReminders)
	}
	for i, m := range sub.ReminderMinutes {
		if m < 0 || m > MaxReminderMinute {
			return nil, domain.FieldErrorf(fmt.Sprintf("reminderMinutes[%d]", i), "must be between 0 and %d", MaxReminderMinute)
		}
	}
	if max >= 0 && len(s.subs) >= max {
		return nil, fmt.Errorf("%d subscriptions, limit %d: %w", len(s.subs), max, ErrTooManySubscriptions)
	}
	reminders := slices.Clone(sub.ReminderMinutes)
	slices.Sort(reminders)
	return []events.Event{events.CalendarSubscriptionCreated{UserID: s.userID, SubscriptionID: sub.ID, Name: sub.Name,
		ScheduleID: sub.ScheduleID, FullSchedule: sub.FullSchedule, ReminderMinutes: slices.Compact(reminders), TokenHash: sub.TokenHash}}, nil
}

// Delete decides revoking a subscription.
func (s *Subscriptions) Delete(id string) ([]events.Event, error) {
	if _, ok := s.Get(id); !ok {
		return nil, ErrSubscriptionNotFound
	}
	return []events.Event{events.CalendarSubscriptionDeleted{UserID: s.userID, SubscriptionID: id}}, nil
}
