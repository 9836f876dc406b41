package graphqlapi

// Schedules: targets (users and rotations) with rules, temporary schedules
// and on-call notification rules, and the shifts they make. Any signed-in
// user may read and change them, as in GoAlert.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/schedule"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/projections/oncall"
)

// maxShiftDays bounds a shifts window, as GoAlert does.
const maxShiftDays = 50

// ClockTime is the ClockTime scalar: a time of day, HH:MM.
type ClockTime struct{ schedule.Clock }

func (ClockTime) ImplementsGraphQLType(name string) bool { return name == "ClockTime" }

func (c *ClockTime) UnmarshalGraphQL(input any) error {
	s, ok := input.(string)
	if !ok {
		return fmt.Errorf("ClockTime must be a string like 09:30, got %T", input)
	}
	v, err := schedule.ParseClock(s)
	if err != nil {
		return fmt.Errorf("ClockTime %q is not a time of day like 09:30", s)
	}
	c.Clock = v
	return nil
}

func (c ClockTime) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

// WeekdayFilter is the WeekdayFilter scalar: seven booleans, Sunday first.
type WeekdayFilter [7]bool

func (WeekdayFilter) ImplementsGraphQLType(name string) bool { return name == "WeekdayFilter" }

func (w *WeekdayFilter) UnmarshalGraphQL(input any) error {
	list, ok := input.([]any)
	if !ok || len(list) != 7 {
		return fmt.Errorf("WeekdayFilter must be a list of 7 booleans, Sunday first")
	}
	for i, v := range list {
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("WeekdayFilter must be a list of 7 booleans, got %T at %d", v, i)
		}
		w[i] = b
	}
	return nil
}

func (w WeekdayFilter) MarshalJSON() ([]byte, error) { return json.Marshal([7]bool(w)) }

var everyDay = WeekdayFilter{true, true, true, true, true, true, true}

func (r *resolver) scheduleByID(ctx context.Context, id string) (*scheduleRes, error) {
	s, err := r.d.OnCall.Schedule(ctx, id)
	if errors.Is(err, oncall.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &scheduleRes{s, r}, nil
}

func (r *resolver) Schedule(ctx context.Context, args struct{ ID graphql.ID }) (*scheduleRes, error) {
	return r.scheduleByID(ctx, string(args.ID))
}

// Schedules lists schedules by name; the cursor is the last schedule's
// name, which is unique regardless of case.
func (r *resolver) Schedules(ctx context.Context, args struct{ Input *nameSearch }) (*scheduleConn, error) {
	list, page, err := byName(args.Input, func(search, after string, limit int) ([]oncall.Schedule, error) {
		return r.d.OnCall.Schedules(ctx, search, after, limit)
	}, func(v oncall.Schedule) string { return v.ID }, func(v oncall.Schedule) string { return v.Name })
	if err != nil {
		return nil, err
	}
	c := &scheduleConn{page: page}
	for _, s := range list {
		c.nodes = append(c.nodes, &scheduleRes{s, r})
	}
	return c, nil
}

type scheduleRuleInput struct {
	ID            *graphql.ID
	Start         *ClockTime
	End           *ClockTime
	WeekdayFilter *WeekdayFilter
}

type scheduleTargetInput struct {
	ScheduleID *graphql.ID
	Target     *targetInput
	Rules      []scheduleRuleInput
}

// targetRules is the target with its rules; omitted times are 00:00 and an
// omitted weekday filter is every day, as in GoAlert. Rule ids are not
// taken from the input: rules are matched by their content. field is
// where the input is, for errors.
func (in scheduleTargetInput) targetRules(field string) (schedule.TargetRules, error) {
	if in.Target == nil {
		return schedule.TargetRules{}, domain.FieldError(field+"target", "is required")
	}
	t := schedule.TargetRules{Kind: schedule.TargetKind(in.Target.Type), ID: string(in.Target.ID), Rules: []schedule.TargetRule{}}
	for _, ri := range in.Rules {
		var rule schedule.Rule
		if ri.Start != nil {
			rule.Start = ri.Start.Clock
		}
		if ri.End != nil {
			rule.End = ri.End.Clock
		}
		days := everyDay
		if ri.WeekdayFilter != nil {
			days = *ri.WeekdayFilter
		}
		rule.Weekdays = days
		t.Rules = append(t.Rules, schedule.TargetRule{Rule: rule})
	}
	return t, nil
}

// CreateSchedule creates the schedule with its targets in one command,
// then its new overrides; when an override is refused, the schedule is
// deleted again so that nothing half-made is left.
func (r *resolver) CreateSchedule(ctx context.Context, args struct {
	Input struct {
		Name             string
		Description      *string
		TimeZone         string
		Favorite         *bool
		Targets          *[]scheduleTargetInput
		NewUserOverrides *[]overrideInput
	}
}) (*scheduleRes, error) {
	in := args.Input
	c := commands.CreateSchedule{Name: in.Name, Description: deref(in.Description), TimeZone: in.TimeZone}
	if in.Targets != nil {
		for i, ti := range *in.Targets {
			t, err := ti.targetRules(fmt.Sprintf("targets[%d].", i))
			if err != nil {
				return nil, err
			}
			c.Targets = append(c.Targets, t)
		}
	}
	id, res, err := r.d.Commands.CreateSchedule(ctx, c)
	if err != nil {
		return nil, err
	}
	if in.NewUserOverrides != nil {
		for i, o := range *in.NewUserOverrides {
			if o.ScheduleID != nil && string(*o.ScheduleID) != id {
				err = domain.FieldError(fmt.Sprintf("newUserOverrides[%d].scheduleID", i), "must be omitted: the override is for the new schedule")
			} else {
				_, res, err = r.createOverride(ctx, id, o)
			}
			if err != nil {
				dres, derr := r.d.Commands.DeleteSchedule(ctx, id)
				if derr == nil {
					derr = r.wait(ctx, dres)
				}
				if derr != nil {
					return nil, errors.Join(err, fmt.Errorf("delete the new schedule: %w", derr))
				}
				return nil, fmt.Errorf("newUserOverrides[%d]: %w", i, err)
			}
		}
	}
	if err := r.wait(ctx, res); err != nil {
		return nil, err
	}
	return r.scheduleByID(ctx, id)
}

func (r *resolver) UpdateSchedule(ctx context.Context, args struct {
	Input struct {
		ID          graphql.ID
		Name        *string
		Description *string
		TimeZone    *string
	}
}) (bool, error) {
	in := args.Input
	res, err := r.d.Commands.UpdateSchedule(ctx, string(in.ID), in.Name, in.Description, in.TimeZone)
	if err != nil {
		return false, err
	}
	return true, r.wait(ctx, res)
}

func (r *resolver) UpdateScheduleTarget(ctx context.Context, args struct{ Input scheduleTargetInput }) (bool, error) {
	in := args.Input
	if in.ScheduleID == nil {
		return false, domain.FieldError("scheduleID", "is required")
	}
	t, err := in.targetRules("")
	if err != nil {
		return false, err
	}
	res, err := r.d.Commands.UpdateScheduleTarget(ctx, string(*in.ScheduleID), t)
	if err != nil {
		return false, err
	}
	return true, r.wait(ctx, res)
}

func (r *resolver) SetTemporarySchedule(ctx context.Context, args struct {
	Input struct {
		ScheduleID graphql.ID
		ClearStart *Timestamp
		ClearEnd   *Timestamp
		Start      Timestamp
		End        Timestamp
		Shifts     []struct {
			UserID     graphql.ID
			Start, End Timestamp
		}
	}
}) (bool, error) {
	in := args.Input
	c := commands.SetTemporarySchedule{ScheduleID: string(in.ScheduleID), Start: in.Start.Time, End: in.End.Time, Shifts: []schedule.Shift{}}
	if (in.ClearStart == nil) != (in.ClearEnd == nil) {
		return false, domain.FieldError("clearEnd", "give both clearStart and clearEnd, or neither")
	}
	if in.ClearStart != nil {
		c.ClearStart, c.ClearEnd = in.ClearStart.Time, in.ClearEnd.Time
	}
	for _, sh := range in.Shifts {
		c.Shifts = append(c.Shifts, schedule.Shift{UserID: string(sh.UserID), Start: sh.Start.Time, End: sh.End.Time})
	}
	res, err := r.d.Commands.SetTemporarySchedule(ctx, c)
	if err != nil {
		return false, err
	}
	return true, r.wait(ctx, res)
}

func (r *resolver) ClearTemporarySchedules(ctx context.Context, args struct {
	Input struct {
		ScheduleID graphql.ID
		Start, End Timestamp
	}
}) (bool, error) {
	in := args.Input
	res, err := r.d.Commands.ClearTemporarySchedules(ctx, string(in.ScheduleID), in.Start.Time, in.End.Time)
	if err != nil {
		return false, err
	}
	return true, r.wait(ctx, res)
}

type onCallRuleInput struct {
	ID            *graphql.ID
	Target        *targetInput
	Dest          *destInput
	Time          *ClockTime
	WeekdayFilter *WeekdayFilter
}

// rule is the notification rule in; dest wins over the older target.
// field is where the input is, for errors.
func (in onCallRuleInput) rule(field string) (schedule.NotificationRule, error) {
	var n schedule.NotificationRule
	if in.ID != nil {
		n.ID = string(*in.ID)
	}
	switch {
	case in.Dest != nil:
		n.Dest = in.Dest.dest()
	case in.Target != nil && (in.Target.Type == "slackChannel" || in.Target.Type == "chanWebhook"):
		lt := targetTypes[in.Target.Type]
		n.Dest = events.Dest{Type: lt.destType, Args: map[string]string{lt.arg: string(in.Target.ID)}}
	case in.Target != nil:
		return n, domain.FieldErrorf(field+"target", "on-call notifications go to a slackChannel or chanWebhook, not a %s", in.Target.Type)
	default:
		return n, domain.FieldError(field+"dest", "is required (or the older target)")
	}
	if in.Time != nil {
		n.HasTime, n.Time, n.Weekdays = true, in.Time.Clock, everyDay
		if in.WeekdayFilter != nil {
			n.Weekdays = *in.WeekdayFilter
		}
	}
	return n, nil
}

// SetScheduleOnCallNotificationRules makes the schedule's rules the given
// ones. Everything the input can get wrong is checked before anything
// changes; the rules are then set one command each, and removed last.
func (r *resolver) SetScheduleOnCallNotificationRules(ctx context.Context, args struct {
	Input struct {
		ScheduleID graphql.ID
		Rules      []onCallRuleInput
	}
}) (bool, error) {
	id := string(args.Input.ScheduleID)
	if _, err := r.d.OnCall.Schedule(ctx, id); errors.Is(err, oncall.ErrNotFound) {
		return false, schedule.ErrNotFound
	} else if err != nil {
		return false, err
	}
	existing, err := r.d.OnCall.NotificationRules(ctx, id)
	if err != nil {
		return false, err
	}
	have := map[string]bool{}
	for _, n := range existing {
		have[n.ID] = true
	}
	keep := map[string]bool{}
	rules := make([]schedule.NotificationRule, len(args.Input.Rules))
	for i, in := range args.Input.Rules {
		field := fmt.Sprintf("rules[%d].", i)
		n, err := in.rule(field)
		if err == nil {
			err = r.checkDests(n.Dest)
		}
		if err == nil && n.ID != "" && (!have[n.ID] || keep[n.ID]) {
			err = domain.FieldError(field+"id", "is not a rule of this schedule, or appears twice")
		}
		if err != nil {
			return false, err
		}
		keep[n.ID] = true
		rules[i] = n
	}
	var last commands.Result
	for i, n := range rules {
		_, res, err := r.d.Commands.SetOnCallNotificationRule(ctx, id, n)
		if err != nil {
			return false, fmt.Errorf("rules[%d]: %w", i, err)
		}
		if res.Wrote() {
			last = res
		}
	}
	for _, n := range existing {
		if keep[n.ID] {
			continue
		}
		res, err := r.d.Commands.RemoveOnCallNotificationRule(ctx, id, n.ID)
		if err != nil {
			return false, err
		}
		last = res
	}
	return true, r.wait(ctx, last)
}

// entityTarget is a user, rotation or schedule as a Target.
func (r *resolver) entityTarget(typ, id string) targetRes {
	lt := targetTypes[typ]
	return targetRes{id: id, typ: typ, d: events.Dest{Type: lt.destType, Args: map[string]string{lt.arg: id}}, r: r}
}

// shiftWindow checks a shifts window as GoAlert does.
func shiftWindow(start, end time.Time) error {
	if end.Before(start) {
		return domain.FieldError("end", "must be after start")
	}
	if end.After(start.AddDate(0, 0, maxShiftDays)) {
		return domain.FieldErrorf("end", "must be at most %d days after start", maxShiftDays)
	}
	return nil
}

type scheduleRes struct {
	s oncall.Schedule
	r *resolver
}

func (x *scheduleRes) ID() graphql.ID      { return graphql.ID(x.s.ID) }
func (x *scheduleRes) Name() string        { return x.s.Name }
func (x *scheduleRes) Description() string { return x.s.Description }
func (x *scheduleRes) TimeZone() string    { return x.s.TimeZone }
func (x *scheduleRes) IsFavorite() bool    { return false }

func (x *scheduleRes) Shifts(ctx context.Context, args struct {
	Start, End Timestamp
	UserIDs    *[]graphql.ID
}) ([]shiftRes, error) {
	if err := shiftWindow(args.Start.Time, args.End.Time); err != nil {
		return nil, err
	}
	shifts, err := x.r.d.OnCall.Shifts(ctx, x.s.ID, args.Start.Time, args.End.Time)
	if errors.Is(err, oncall.ErrNotFound) {
		return []shiftRes{}, nil
	}
	if err != nil {
		return nil, err
	}
	if args.UserIDs != nil {
		want := ids(args.UserIDs)
		shifts = slices.DeleteFunc(shifts, func(sh schedule.Shift) bool { return !slices.Contains(want, sh.UserID) })
	}
	return x.r.shifts(shifts), nil
}

func (x *scheduleRes) ShiftsAsOf(ctx context.Context, args struct{ Start, End Timestamp }) ([]shiftRes, error) {
	return x.r.shiftsAsOf(ctx, x.s.ID, args.Start.Time, args.End.Time)
}

func (x *scheduleRes) Targets(ctx context.Context) ([]scheduleTargetRes, error) {
	ts, err := x.r.d.OnCall.Targets(ctx, x.s.ID)
	if err != nil {
		return nil, err
	}
	out := make([]scheduleTargetRes, len(ts))
	for i, t := range ts {
		out[i] = scheduleTargetRes{scheduleID: x.s.ID, t: t, r: x.r}
	}
	return out, nil
}

// Target is one target's rules; a user or rotation not on the schedule
// has none.
func (x *scheduleRes) Target(ctx context.Context, args struct{ Input targetInput }) (*scheduleTargetRes, error) {
	ts, err := x.Targets(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		if string(t.t.Kind) == args.Input.Type && t.t.ID == string(args.Input.ID) {
			return &t, nil
		}
	}
	return &scheduleTargetRes{scheduleID: x.s.ID, t: oncall.Target{Kind: schedule.TargetKind(args.Input.Type), ID: string(args.Input.ID)}, r: x.r}, nil
}

func (x *scheduleRes) TemporarySchedules(ctx context.Context) ([]temporaryRes, error) {
	list, err := x.r.d.OnCall.TemporarySchedules(ctx, x.s.ID)
	if err != nil {
		return nil, err
	}
	out := make([]temporaryRes, len(list))
	for i, t := range list {
		out[i] = temporaryRes{t, x.r}
	}
	return out, nil
}

func (x *scheduleRes) OnCallNotificationRules(ctx context.Context) ([]onCallRuleRes, error) {
	list, err := x.r.d.OnCall.NotificationRules(ctx, x.s.ID)
	if err != nil {
		return nil, err
	}
	out := make([]onCallRuleRes, len(list))
	for i, n := range list {
		out[i] = onCallRuleRes{n, x.r}
	}
	return out, nil
}

type scheduleConn struct {
	nodes []*scheduleRes
	page  pageInfo
}

func (c *scheduleConn) Nodes() []*scheduleRes { return c.nodes }
func (c *scheduleConn) PageInfo() pageInfo    { return c.page }

// shiftRes is an OnCallShift.
type shiftRes struct {
	sh schedule.Shift
	r  *resolver
}

func (r *resolver) shifts(list []schedule.Shift) []shiftRes {
	out := make([]shiftRes, len(list))
	for i, sh := range list {
		out[i] = shiftRes{sh, r}
	}
	return out
}

func (s shiftRes) UserID() graphql.ID { return graphql.ID(s.sh.UserID) }
func (s shiftRes) Start() Timestamp   { return ts(s.sh.Start) }
func (s shiftRes) End() Timestamp     { return ts(s.sh.End) }
func (s shiftRes) Truncated() bool    { return s.sh.Truncated }

// User is null for a user deleted since.
func (s shiftRes) User(ctx context.Context) (*userRes, error) { return s.r.userByID(ctx, s.sh.UserID) }

type scheduleTargetRes struct {
	scheduleID string
	t          oncall.Target
	r          *resolver
}

func (t scheduleTargetRes) ScheduleID() graphql.ID { return graphql.ID(t.scheduleID) }
func (t scheduleTargetRes) Target() targetRes      { return t.r.entityTarget(string(t.t.Kind), t.t.ID) }

func (t scheduleTargetRes) Rules() []scheduleRuleRes {
	out := make([]scheduleRuleRes, len(t.t.Rules))
	for i, rule := range t.t.Rules {
		out[i] = scheduleRuleRes{t, rule}
	}
	return out
}

type scheduleRuleRes struct {
	t    scheduleTargetRes
	rule oncall.Rule
}

func (x scheduleRuleRes) ID() graphql.ID               { return graphql.ID(x.rule.ID) }
func (x scheduleRuleRes) ScheduleID() graphql.ID       { return graphql.ID(x.t.scheduleID) }
func (x scheduleRuleRes) Start() ClockTime             { return ClockTime{x.rule.Start} }
func (x scheduleRuleRes) End() ClockTime               { return ClockTime{x.rule.End} }
func (x scheduleRuleRes) WeekdayFilter() WeekdayFilter { return x.rule.Weekdays }
func (x scheduleRuleRes) Target() targetRes            { return x.t.Target() }

type temporaryRes struct {
	t schedule.Temporary
	r *resolver
}

func (t temporaryRes) Start() Timestamp   { return ts(t.t.Start) }
func (t temporaryRes) End() Timestamp     { return ts(t.t.End) }
func (t temporaryRes) Shifts() []shiftRes { return t.r.shifts(t.t.Shifts) }

type onCallRuleRes struct {
	n oncall.NotificationRule
	r *resolver
}

func (x onCallRuleRes) ID() graphql.ID { return graphql.ID(x.n.ID) }
func (x onCallRuleRes) Dest() destRes  { return destRes{x.n.Dest, x.r} }

// Target is the channel in the older shape.
func (x onCallRuleRes) Target() targetRes {
	if t, ok := x.r.targetOf(x.n.Dest); ok {
		return t
	}
	return targetRes{id: mainArg(x.n.Dest), typ: "notificationChannel", d: x.n.Dest, r: x.r}
}

func (x onCallRuleRes) Time() *ClockTime {
	if !x.n.HasTime {
		return nil
	}
	return &ClockTime{x.n.Time}
}

func (x onCallRuleRes) WeekdayFilter() *WeekdayFilter {
	if !x.n.HasTime {
		return nil
	}
	w := WeekdayFilter(x.n.Weekdays)
	return &w
}
