package oncall

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oncallhq/goalert/domain/rotation"
	"github.com/oncallhq/goalert/domain/schedule"
	"github.com/oncallhq/goalert/events"
)

// querier is what the loaders read through: the pool, or the projection's
// transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// ErrNotFound is returned for a row that is not in the read model.
var ErrNotFound = errors.New("not found")

func zone(name string) *time.Location {
	if loc, err := time.LoadLocation(name); err == nil {
		return loc
	}
	return time.UTC
}

// Rotation is a row of rotations with its participants.
type Rotation struct {
	ID           string
	Name         string
	Description  string
	Type         string
	ShiftLength  int
	Start        time.Time
	TimeZone     string
	Participants []string
	// ActiveIndex (-1: nobody) was on call at ActiveAt.
	ActiveIndex int
	ActiveAt    time.Time
	// HistoryUntil is how far OnCallHistory rows of the rotation are
	// written; the definition tells the rest.
	HistoryUntil time.Time
}

// Definition returns the rotation's arithmetic and its anchor.
func (r Rotation) Definition() (rotation.Rotation, rotation.Anchor) {
	return rotation.Rotation{Type: rotation.Type(r.Type), ShiftLength: r.ShiftLength, Start: r.Start, Zone: zone(r.TimeZone),
		Participants: r.Participants}, rotation.Anchor{Index: r.ActiveIndex, At: r.ActiveAt}
}

// ActiveIndexAt returns the position of the participant on call at t (-1
// for nobody), as GraphQL's Rotation.activeUserIndex shows it.
func (r Rotation) ActiveIndexAt(t time.Time) int {
	def, a := r.Definition()
	return def.ActiveAt(a.Index, a.At, t)
}

// NextHandoffTimes returns the next count hand-offs after t.
func (r Rotation) NextHandoffTimes(t time.Time, count int) []time.Time {
	def, _ := r.Definition()
	return def.HandoffTimes(t, count)
}

// storedRotation is a rotation as the projection and the Reader compute
// with it.
type storedRotation struct {
	def    rotation.Rotation
	anchor rotation.Anchor
}

const selectRotation = `SELECT r.id, r.name, r.description, r.type, r.shift_length, r.start_time, r.time_zone,
	coalesce((SELECT array_agg(p.user_id ORDER BY p.position) FROM rotation_participants p WHERE p.rotation_id = r.id), '{}'),
	r.active_index, r.active_at, r.history_until FROM rotations r`

func scanRotation(row pgx.Row) (Rotation, error) {
	var r Rotation
	err := row.Scan(&r.ID, &r.Name, &r.Description, &r.Type, &r.ShiftLength, &r.Start, &r.TimeZone, &r.Participants,
		&r.ActiveIndex, &r.ActiveAt, &r.HistoryUntil)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrNotFound
	}
	return r, err
}

// loadRotation reads a rotation's definition; ok is false when there is
// no such rotation.
func loadRotation(ctx context.Context, q querier, id string) (storedRotation, bool, error) {
	r, err := scanRotation(q.QueryRow(ctx, selectRotation+` WHERE r.id = $1`, id))
	if errors.Is(err, ErrNotFound) {
		return storedRotation{}, false, nil
	}
	if err != nil {
		return storedRotation{}, false, fmt.Errorf("read rotation %s: %w", id, err)
	}
	def, a := r.Definition()
	return storedRotation{def: def, anchor: a}, true, nil
}

// definition is what decides who is on call on a schedule, as stored.
type definition struct {
	name         string
	zone         *time.Location
	historyUntil time.Time
	spec         schedule.Spec
	rotations    map[string]storedRotation
}

func (d definition) rotationShifts(id string, from, to time.Time) []rotation.Shift {
	r, ok := d.rotations[id]
	if !ok {
		return nil
	}
	return r.def.Shifts(r.anchor.Index, r.anchor.At, from, to)
}

// loadDefinition reads a schedule's definition; ErrNotFound when there is
// no such schedule.
func loadDefinition(ctx context.Context, q querier, id string) (definition, error) {
	var d definition
	var tz string
	err := q.QueryRow(ctx, `SELECT name, time_zone, history_until FROM schedules WHERE id = $1`, id).Scan(&d.name, &tz, &d.historyUntil)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, ErrNotFound
	}
	if err != nil {
		return d, fmt.Errorf("read schedule %s: %w", id, err)
	}
	d.zone = zone(tz)
	d.spec.Zone = d.zone
	if d.spec.Targets, err = loadTargets(ctx, q, id); err != nil {
		return d, err
	}
	rows, err := q.Query(ctx, `SELECT id, start_time, end_time, add_user_id, remove_user_id FROM schedule_overrides
		WHERE schedule_id = $1 ORDER BY start_time, id`, id)
	if err != nil {
		return d, fmt.Errorf("read overrides of %s: %w", id, err)
	}
	if d.spec.Overrides, err = pgx.CollectRows(rows, pgx.RowToStructByPos[schedule.Override]); err != nil {
		return d, fmt.Errorf("read overrides of %s: %w", id, err)
	}
	if d.spec.Temporary, err = loadTemporary(ctx, q, id); err != nil {
		return d, err
	}
	d.rotations = map[string]storedRotation{}
	for _, t := range d.spec.Targets {
		if t.Kind != schedule.TargetRotation {
			continue
		}
		r, ok, err := loadRotation(ctx, q, t.ID)
		if err != nil {
			return d, err
		}
		if ok {
			d.rotations[t.ID] = r
		}
	}
	return d, nil
}

// Rule is a stored schedule rule with its id.
type Rule struct {
	ID string
	schedule.Rule
}

// Target is a schedule target with its rules.
type Target struct {
	Kind  schedule.TargetKind
	ID    string
	Rules []Rule
}

func loadTargetRules(ctx context.Context, q querier, scheduleID string) ([]Target, error) {
	rows, err := q.Query(ctx, `SELECT target_type, target_id, id, start_minute, end_minute, weekdays FROM schedule_rules
		WHERE schedule_id = $1 ORDER BY target_type, target_id, position`, scheduleID)
	if err != nil {
		return nil, fmt.Errorf("read rules of %s: %w", scheduleID, err)
	}
	var out []Target
	var kind, tid, rid string
	var start, end int
	var days []bool
	_, err = pgx.ForEachRow(rows, []any{&kind, &tid, &rid, &start, &end, &days}, func() error {
		r := Rule{ID: rid, Rule: schedule.Rule{Start: schedule.Clock(start), End: schedule.Clock(end)}}
		copy(r.Weekdays[:], days)
		if n := len(out); n == 0 || out[n-1].Kind != schedule.TargetKind(kind) || out[n-1].ID != tid {
			out = append(out, Target{Kind: schedule.TargetKind(kind), ID: tid})
		}
		out[len(out)-1].Rules = append(out[len(out)-1].Rules, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read rules of %s: %w", scheduleID, err)
	}
	return out, nil
}

func loadTargets(ctx context.Context, q querier, scheduleID string) ([]schedule.Target, error) {
	stored, err := loadTargetRules(ctx, q, scheduleID)
	if err != nil {
		return nil, err
	}
	out := make([]schedule.Target, len(stored))
	for i, t := range stored {
		out[i] = schedule.Target{Kind: t.Kind, ID: t.ID}
		for _, r := range t.Rules {
			out[i].Rules = append(out[i].Rules, r.Rule)
		}
	}
	return out, nil
}

func loadTemporary(ctx context.Context, q querier, scheduleID string) ([]schedule.Temporary, error) {
	rows, err := q.Query(ctx, `SELECT start_time, end_time, shifts FROM schedule_temporary WHERE schedule_id = $1 ORDER BY start_time`, scheduleID)
	if err != nil {
		return nil, fmt.Errorf("read temporary schedules of %s: %w", scheduleID, err)
	}
	var out []schedule.Temporary
	var t schedule.Temporary
	var raw []byte
	_, err = pgx.ForEachRow(rows, []any{&t.Start, &t.End, &raw}, func() error {
		var shifts []events.TemporaryShift
		if err := json.Unmarshal(raw, &shifts); err != nil {
			return err
		}
		tmp := schedule.Temporary{Start: t.Start, End: t.End}
		for _, sh := range shifts {
			tmp.Shifts = append(tmp.Shifts, schedule.Shift{UserID: sh.UserID, Start: sh.Start, End: sh.End})
		}
		out = append(out, tmp)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read temporary schedules of %s: %w", scheduleID, err)
	}
	return out, nil
}

// Reader answers queries on the read model. Who is on call from a
// subject's history_until on is computed from the stored definitions at
// the time of the query.
type Reader struct{ Pool *pgxpool.Pool }

// Rotation returns one rotation.
func (r Reader) Rotation(ctx context.Context, id string) (Rotation, error) {
	return scanRotation(r.Pool.QueryRow(ctx, selectRotation+` WHERE r.id = $1`, id))
}

// Rotations returns rotations by name, optionally filtered by a search
// string, at most limit, after the name after (for paging).
func (r Reader) Rotations(ctx context.Context, search, after string, limit int) ([]Rotation, error) {
	rows, err := r.Pool.Query(ctx, selectRotation+` WHERE ($1 = '' OR r.name ILIKE '%' || $1 || '%') AND ($2 = '' OR lower(r.name) > lower($2))
		ORDER BY lower(r.name) LIMIT $3`, search, after, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Rotation, error) { return scanRotation(row) })
}

// Schedule is a row of schedules.
type Schedule struct {
	ID           string
	Name         string
	Description  string
	TimeZone     string
	HistoryUntil time.Time
}

const selectSchedule = `SELECT id, name, description, time_zone, history_until FROM schedules`

// Schedule returns one schedule.
func (r Reader) Schedule(ctx context.Context, id string) (Schedule, error) {
	rows, err := r.Pool.Query(ctx, selectSchedule+` WHERE id = $1`, id)
	if err != nil {
		return Schedule{}, err
	}
	s, err := pgx.CollectOneRow(rows, pgx.RowToStructByPos[Schedule])
	if errors.Is(err, pgx.ErrNoRows) {
		return s, ErrNotFound
	}
	return s, err
}

// Schedules returns schedules by name, optionally filtered by a search
// string, at most limit, after the name after (for paging).
func (r Reader) Schedules(ctx context.Context, search, after string, limit int) ([]Schedule, error) {
	rows, err := r.Pool.Query(ctx, selectSchedule+` WHERE ($1 = '' OR name ILIKE '%' || $1 || '%') AND ($2 = '' OR lower(name) > lower($2))
		ORDER BY lower(name) LIMIT $3`, search, after, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Schedule])
}

// Targets returns a schedule's targets with their rules, by type and id.
func (r Reader) Targets(ctx context.Context, scheduleID string) ([]Target, error) {
	return loadTargetRules(ctx, r.Pool, scheduleID)
}

// Override is a row of schedule_overrides.
type Override struct {
	ID           string
	ScheduleID   string
	Start, End   time.Time
	AddUserID    string
	RemoveUserID string
}

// OverrideFilter selects overrides. Empty fields do not filter; Start and
// End keep those that overlap [Start, End).
type OverrideFilter struct {
	ScheduleID string
	// UserID keeps overrides that add or remove this user.
	UserID     string
	Start, End time.Time
}

const selectOverride = `SELECT id, schedule_id, start_time, end_time, add_user_id, remove_user_id FROM schedule_overrides`

// Override returns one override.
func (r Reader) Override(ctx context.Context, id string) (Override, error) {
	rows, err := r.Pool.Query(ctx, selectOverride+` WHERE id = $1`, id)
	if err != nil {
		return Override{}, err
	}
	o, err := pgx.CollectOneRow(rows, pgx.RowToStructByPos[Override])
	if errors.Is(err, pgx.ErrNoRows) {
		return o, ErrNotFound
	}
	return o, err
}

// Overrides returns the overrides f selects, by start.
func (r Reader) Overrides(ctx context.Context, f OverrideFilter) ([]Override, error) {
	var start, end *time.Time
	if !f.Start.IsZero() {
		start = &f.Start
	}
	if !f.End.IsZero() {
		end = &f.End
	}
	rows, err := r.Pool.Query(ctx, selectOverride+` WHERE ($1 = '' OR schedule_id = $1)
		AND ($2 = '' OR add_user_id = $2 OR remove_user_id = $2)
		AND ($3::timestamptz IS NULL OR end_time > $3) AND ($4::timestamptz IS NULL OR start_time < $4)
		ORDER BY start_time, id`, f.ScheduleID, f.UserID, start, end)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Override])
}

// TemporarySchedules returns a schedule's temporary schedules by start.
func (r Reader) TemporarySchedules(ctx context.Context, scheduleID string) ([]schedule.Temporary, error) {
	return loadTemporary(ctx, r.Pool, scheduleID)
}

// NotificationRule is an on-call notification rule of a schedule.
type NotificationRule struct {
	ScheduleID string
	schedule.NotificationRule
}

// NotificationRules returns a schedule's on-call notification rules.
func (r Reader) NotificationRules(ctx context.Context, scheduleID string) ([]NotificationRule, error) {
	rows, err := r.Pool.Query(ctx, `SELECT schedule_id, id, dest, time_of_day, weekdays FROM schedule_oncall_notification_rules
		WHERE schedule_id = $1 ORDER BY id`, scheduleID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (NotificationRule, error) {
		var n NotificationRule
		var dest []byte
		var tod *string
		var days []bool
		if err := row.Scan(&n.ScheduleID, &n.ID, &dest, &tod, &days); err != nil {
			return n, err
		}
		copy(n.Weekdays[:], days)
		if tod != nil {
			c, err := schedule.ParseClock(*tod)
			if err != nil {
				return n, err
			}
			n.HasTime, n.Time = true, c
		}
		return n, json.Unmarshal(dest, &n.Dest)
	})
}

// CalendarSubscription is a row of calendar_subscriptions (its token is
// never stored).
type CalendarSubscription struct {
	ID              string
	UserID          string
	Name            string
	ScheduleID      string
	FullSchedule    bool
	ReminderMinutes []int
	CreatedAt       time.Time
}

const selectSubscription = `SELECT id, user_id, name, schedule_id, full_schedule, reminder_minutes, created_at FROM calendar_subscriptions`

// CalendarSubscriptions returns a user's subscriptions, oldest first.
func (r Reader) CalendarSubscriptions(ctx context.Context, userID string) ([]CalendarSubscription, error) {
	rows, err := r.Pool.Query(ctx, selectSubscription+` WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[CalendarSubscription])
}

// CalendarSubscription returns one subscription.
func (r Reader) CalendarSubscription(ctx context.Context, id string) (CalendarSubscription, error) {
	rows, err := r.Pool.Query(ctx, selectSubscription+` WHERE id = $1`, id)
	if err != nil {
		return CalendarSubscription{}, err
	}
	s, err := pgx.CollectOneRow(rows, pgx.RowToStructByPos[CalendarSubscription])
	if errors.Is(err, pgx.ErrNoRows) {
		return s, ErrNotFound
	}
	return s, err
}

// OnCallUsers returns the users on call at now on a schedule or rotation
// (subjectType SubjectSchedule or SubjectRotation), sorted; ErrNotFound
// for one not in the read model.
func (r Reader) OnCallUsers(ctx context.Context, subjectType, id string, now time.Time) ([]string, error) {
	switch subjectType {
	case SubjectRotation:
		rot, ok, err := loadRotation(ctx, r.Pool, id)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, ErrNotFound
		}
		if i := rot.def.ActiveAt(rot.anchor.Index, rot.anchor.At, now); i >= 0 {
			return []string{rot.def.Participants[i]}, nil
		}
		return nil, nil
	case SubjectSchedule:
		d, err := loadDefinition(ctx, r.Pool, id)
		if err != nil {
			return nil, err
		}
		return d.spec.OnCallAt(now, d.rotationShifts), nil
	}
	return nil, fmt.Errorf("unknown on-call subject type %q", subjectType)
}

// Shifts returns a schedule's shifts from from until to, as GraphQL's
// Schedule.shifts shows them: before the schedule's history_until, as they
// happened (the written history); after it, from the definitions as they
// stand. A shift still going on at to is Truncated.
func (r Reader) Shifts(ctx context.Context, scheduleID string, from, to time.Time) ([]schedule.Shift, error) {
	d, err := loadDefinition(ctx, r.Pool, scheduleID)
	if err != nil {
		return nil, err
	}
	return r.shifts(ctx, SubjectSchedule, scheduleID, d.historyUntil, d.zone, from, to, func(f, t time.Time) []schedule.Shift {
		return d.spec.Shifts(f, t, d.rotationShifts)
	})
}

// RotationShifts is Shifts for a rotation.
func (r Reader) RotationShifts(ctx context.Context, rotationID string, from, to time.Time) ([]schedule.Shift, error) {
	rot, err := r.Rotation(ctx, rotationID)
	if err != nil {
		return nil, err
	}
	def, a := rot.Definition()
	sr := storedRotation{def: def, anchor: a}
	return r.shifts(ctx, SubjectRotation, rotationID, rot.HistoryUntil, def.Zone, from, to, func(f, t time.Time) []schedule.Shift {
		return rotationShifts(sr, f, t)
	})
}

// shifts joins the written history before until with computed shifts
// after it.
func (r Reader) shifts(ctx context.Context, subjectType, id string, until time.Time, loc *time.Location, from, to time.Time,
	compute func(from, to time.Time) []schedule.Shift) ([]schedule.Shift, error) {
	if !from.Before(to) {
		return nil, nil
	}
	var out []schedule.Shift
	mid := to
	if until.Before(mid) {
		mid = until
	}
	if from.Before(mid) {
		rows, err := r.Pool.Query(ctx, `SELECT user_id, greatest(start_time, $3), least(coalesce(end_time, 'infinity'), $4),
			coalesce(end_time, 'infinity') > $4 FROM oncall_history
			WHERE subject_type = $1 AND subject_id = $2 AND start_time < $4 AND (end_time IS NULL OR end_time > $3)
			ORDER BY start_time, user_id`, subjectType, id, from, mid)
		if err != nil {
			return nil, err
		}
		var sh schedule.Shift
		_, err = pgx.ForEachRow(rows, []any{&sh.UserID, &sh.Start, &sh.End, &sh.Truncated}, func() error {
			if sh.Start.Before(sh.End) {
				out = append(out, schedule.Shift{UserID: sh.UserID, Start: sh.Start.In(loc), End: sh.End.In(loc), Truncated: sh.Truncated})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if mid.Before(to) {
		start := mid
		if from.After(start) {
			start = from
		}
		tail := compute(start, to)
		open := map[string]int{}
		for i, sh := range out {
			if sh.Truncated {
				open[sh.UserID] = i
			}
		}
		for _, sh := range tail {
			if i, ok := open[sh.UserID]; ok && sh.Start.Equal(start) {
				out[i].End, out[i].Truncated = sh.End, sh.Truncated
				delete(open, sh.UserID)
				continue
			}
			out = append(out, sh)
		}
		for _, i := range open {
			out[i].Truncated = false
		}
	}
	slices.SortFunc(out, func(a, b schedule.Shift) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return strings.Compare(a.UserID, b.UserID)
	})
	return out, nil
}

// UserShift is a user's shift on one schedule.
type UserShift struct {
	ScheduleID   string
	ScheduleName string
	schedule.Shift
}

// UserShifts returns the shifts of userID from from until to on every
// schedule the user is on (through a rule, a rotation, an override or a
// temporary schedule), or on scheduleID alone when it is set, by start.
// With all set (and a scheduleID), every shift of that schedule is
// returned, whoever's it is.
func (r Reader) UserShifts(ctx context.Context, userID, scheduleID string, all bool, from, to time.Time) ([]UserShift, error) {
	ids := []string{scheduleID}
	if scheduleID == "" {
		rows, err := r.Pool.Query(ctx, `
			SELECT schedule_id FROM schedule_rules WHERE target_type = 'user' AND target_id = $1
			UNION SELECT s.schedule_id FROM schedule_rules s JOIN rotation_participants p
				ON s.target_type = 'rotation' AND s.target_id = p.rotation_id WHERE p.user_id = $1
			UNION SELECT schedule_id FROM schedule_overrides WHERE add_user_id = $1 AND end_time > $2
			UNION SELECT schedule_id FROM schedule_temporary WHERE end_time > $2
				AND shifts @> jsonb_build_array(jsonb_build_object('user_id', $1::text))
			UNION SELECT subject_id FROM oncall_history WHERE subject_type = 'schedule' AND user_id = $1
				AND (end_time IS NULL OR end_time > $2)
			ORDER BY 1`, userID, from)
		if err != nil {
			return nil, err
		}
		if ids, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return nil, err
		}
	}
	var out []UserShift
	for _, sid := range ids {
		d, err := loadDefinition(ctx, r.Pool, sid)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		shifts, err := r.Shifts(ctx, sid, from, to)
		if err != nil {
			return nil, err
		}
		for _, sh := range shifts {
			if all || sh.UserID == userID {
				out = append(out, UserShift{ScheduleID: sid, ScheduleName: d.name, Shift: sh})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b UserShift) int { return a.Start.Compare(b.Start) })
	return out, nil
}

// HistoryRow is a span during which a user was on call on a schedule or
// rotation; End is zero while it goes on.
type HistoryRow struct {
	UserID     string
	Start, End time.Time
}

// OnCallHistory returns who was on call on a schedule or rotation from from
// until now (now included), by start: the written history joined with the
// spans computed since. A span still going on at now has a zero End.
func (r Reader) OnCallHistory(ctx context.Context, subjectType, id string, from, now time.Time) ([]HistoryRow, error) {
	// One nanosecond past now takes in a span that begins at now.
	to := now.Add(time.Nanosecond)
	var shifts []schedule.Shift
	var err error
	switch subjectType {
	case SubjectSchedule:
		shifts, err = r.Shifts(ctx, id, from, to)
	case SubjectRotation:
		shifts, err = r.RotationShifts(ctx, id, from, to)
	default:
		return nil, fmt.Errorf("unknown on-call subject type %q", subjectType)
	}
	if errors.Is(err, ErrNotFound) {
		// Deleted: its history is all written.
		shifts, err = r.shifts(ctx, subjectType, id, to, time.UTC, from, to, nil)
	}
	if err != nil {
		return nil, err
	}
	out := make([]HistoryRow, len(shifts))
	for i, sh := range shifts {
		out[i] = HistoryRow{UserID: sh.UserID, Start: sh.Start}
		if !sh.Truncated {
			out[i].End = sh.End
		}
	}
	return out, nil
}
