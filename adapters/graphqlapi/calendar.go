package graphqlapi

// Calendar subscriptions: iCal feeds of a user's shifts. A user sees and
// manages their own; an admin anyone's.

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"time"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/projections/oncall"
)

var (
	errNotYourSubscription = domain.Forbidden("not_your_user", "only its owner or an admin may see or change a calendar subscription")
	errCalendarDisabled    = domain.Forbidden("calendar_subscriptions_disabled", "calendar subscriptions are disabled by the administrator (General.DisableCalendarSubscriptions)")
)

func mayUseSubscriptions(ctx context.Context, userID string) error {
	if p := principal(ctx); p.UserID == userID || p.IsAdmin() {
		return nil
	}
	return errNotYourSubscription
}

func (r *resolver) UserCalendarSubscription(ctx context.Context, args struct{ ID graphql.ID }) (*calendarSubRes, error) {
	sub, err := r.d.OnCall.CalendarSubscription(ctx, string(args.ID))
	if errors.Is(err, oncall.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := mayUseSubscriptions(ctx, sub.UserID); err != nil {
		return nil, err
	}
	return &calendarSubRes{sub: sub, r: r}, nil
}

// CreateUserCalendarSubscription subscribes the signed-in user. The feed
// URL carries the secret token, which is not kept: the URL is in this
// answer only.
func (r *resolver) CreateUserCalendarSubscription(ctx context.Context, args struct {
	Input struct {
		Name            string
		ReminderMinutes *[]int32
		ScheduleID      graphql.ID
		Disabled        *bool
		FullSchedule    *bool
	}
}) (*calendarSubRes, error) {
	in := args.Input
	if r.d.Config != nil && r.d.Config.Current().Bool("General.DisableCalendarSubscriptions") {
		return nil, errCalendarDisabled
	}
	if in.Disabled != nil && *in.Disabled {
		return nil, domain.FieldError("disabled", "a subscription cannot be created disabled")
	}
	c := commands.CreateCalendarSubscription{UserID: principal(ctx).UserID, Name: in.Name, ScheduleID: string(in.ScheduleID),
		FullSchedule: in.FullSchedule != nil && *in.FullSchedule, ReminderMinutes: []int{}}
	if in.ReminderMinutes != nil {
		for _, m := range *in.ReminderMinutes {
			c.ReminderMinutes = append(c.ReminderMinutes, int(m))
		}
	}
	id, token, res, err := r.d.Commands.CreateCalendarSubscription(ctx, c)
	if err != nil {
		return nil, err
	}
	if err := r.wait(ctx, res); err != nil {
		return nil, err
	}
	sub, err := r.d.OnCall.CalendarSubscription(ctx, id)
	if err != nil {
		return nil, err
	}
	feed := r.d.PublicURL + "/api/v2/calendar?" + url.Values{"token": {token}}.Encode()
	return &calendarSubRes{sub: sub, r: r, url: &feed}, nil
}

// deleteCalendarSubscription serves deleteAll; the feed stops answering
// as soon as it commits.
func (r *resolver) deleteCalendarSubscription(ctx context.Context, id string) (commands.Result, error) {
	sub, err := r.d.Commands.CalendarSubscription(ctx, id)
	if err != nil {
		return commands.Result{}, err
	}
	if err := mayUseSubscriptions(ctx, sub.UserID); err != nil {
		return commands.Result{}, err
	}
	return r.d.Commands.DeleteCalendarSubscription(ctx, id)
}

func (u *userRes) CalendarSubscriptions(ctx context.Context) ([]*calendarSubRes, error) {
	if err := mayUseSubscriptions(ctx, u.u.ID); err != nil {
		return nil, err
	}
	subs, err := u.r.d.OnCall.CalendarSubscriptions(ctx, u.u.ID)
	if err != nil {
		return nil, err
	}
	out := make([]*calendarSubRes, len(subs))
	for i, s := range subs {
		out[i] = &calendarSubRes{sub: s, r: u.r}
	}
	return out, nil
}

type calendarSubRes struct {
	sub oncall.CalendarSubscription
	r   *resolver
	url *string // set on creation only
}

func (c *calendarSubRes) ID() graphql.ID         { return graphql.ID(c.sub.ID) }
func (c *calendarSubRes) Name() string           { return c.sub.Name }
func (c *calendarSubRes) ScheduleID() graphql.ID { return graphql.ID(c.sub.ScheduleID) }
func (c *calendarSubRes) FullSchedule() bool     { return c.sub.FullSchedule }
func (c *calendarSubRes) Disabled() bool         { return false }
func (c *calendarSubRes) URL() *string           { return c.url }

// LastAccess is the zero time, GoAlert's value for a feed never read:
// feed reads are not recorded.
func (c *calendarSubRes) LastAccess() Timestamp { return ts(time.Time{}) }

func (c *calendarSubRes) ReminderMinutes() []int32 {
	out := make([]int32, len(c.sub.ReminderMinutes))
	for i, m := range c.sub.ReminderMinutes {
		out[i] = int32(m)
	}
	slices.Sort(out)
	return out
}

func (c *calendarSubRes) Schedule(ctx context.Context) (*scheduleRes, error) {
	if c.sub.ScheduleID == "" {
		return nil, nil
	}
	return c.r.scheduleByID(ctx, c.sub.ScheduleID)
}
