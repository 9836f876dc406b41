// Package oncall is the read model of who is on call: rotations and their
// participants, schedules with their targets and rules, user overrides,
// temporary schedules, on-call notification rules, calendar subscriptions,
// and the on-call history of every schedule and rotation.
//
// The history is kept as the log tells it, with no clock of its own: when
// an event changes a schedule or rotation at instant T, the projection
// first writes down who was on call from the subject's history_until to T
// under the definition that held until then, then stores the new
// definition. Who is on call after history_until follows from the stored
// definitions alone, so the Reader computes it on read ("on call now",
// shifts ahead, the tail of the history) with the same arithmetic as the
// commands. A rebuild from the log therefore writes the same rows, and no
// periodic job has to run for "now" to stay current.
package oncall

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oncallhq/goalert/domain/schedule"
	"github.com/oncallhq/goalert/events"
	"github.com/oncallhq/goalert/projections"
)

// Subject types of the history.
const (
	SubjectSchedule = "schedule"
	SubjectRotation = "rotation"
)

// Projection writes the on-call read models.
type Projection struct{}

var _ projections.Projection = Projection{}

func (Projection) Name() string { return "oncall" }

func (Projection) Handles() []string {
	evs := []events.Event{
		events.RotationCreated{}, events.RotationUpdated{}, events.RotationParticipantsSet{}, events.RotationActiveSet{},
		events.RotationDeleted{},
		events.ScheduleCreated{}, events.ScheduleUpdated{}, events.ScheduleDeleted{}, events.ScheduleTargetRulesSet{},
		events.ScheduleOverrideAdded{}, events.ScheduleOverrideRemoved{}, events.ScheduleTemporarySet{},
		events.ScheduleTemporaryCleared{}, events.ScheduleOnCallNotificationRuleSet{}, events.ScheduleOnCallNotificationRuleRemoved{},
		events.CalendarSubscriptionCreated{}, events.CalendarSubscriptionDeleted{},
	}
	names := make([]string, len(evs))
	for i, e := range evs {
		names[i] = e.EventName()
	}
	return names
}

func (Projection) Tables() []string {
	return []string{"rotations", "rotation_participants", "schedules", "schedule_rules", "schedule_overrides",
		"schedule_temporary", "schedule_oncall_notification_rules", "calendar_subscriptions", "oncall_history"}
}

// Apply writes the batch in order. Writes that do not depend on the read
// model are batched; an event that ends a span of history first flushes
// them, then reads the definitions in force and writes the history up to
// its instant.
func (Projection) Apply(ctx context.Context, tx pgx.Tx, batch []projections.Event) error {
	w := &writer{tx: tx, b: &pgx.Batch{}}
	for _, e := range batch {
		if err := w.apply(ctx, e); err != nil {
			return fmt.Errorf("oncall projection: %s (stream %s, version %d): %w", e.Name, e.StreamID, e.Version, err)
		}
	}
	if err := w.flush(ctx); err != nil {
		return fmt.Errorf("oncall projection: %w", err)
	}
	return nil
}

type writer struct {
	tx pgx.Tx
	b  *pgx.Batch
}

func (w *writer) flush(ctx context.Context) error {
	if w.b.Len() == 0 {
		return nil
	}
	b := w.b
	w.b = &pgx.Batch{}
	return w.tx.SendBatch(ctx, b).Close()
}

func (w *writer) apply(ctx context.Context, e projections.Event) error {
	at := e.OccurredAt
	switch ev := e.Data.(type) {
	case events.RotationCreated:
		w.b.Queue(`INSERT INTO rotations (id, name, description, type, shift_length, start_time, time_zone, active_index, active_at, history_until, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) ON CONFLICT (id) DO NOTHING`,
			ev.RotationID, ev.Name, ev.Description, ev.Type, ev.ShiftLength, ev.Start, ev.TimeZone, ev.ActiveIndex, ev.ActiveAt, at)
		w.queueParticipants(ev.RotationID, ev.Participants)
	case events.RotationUpdated:
		if err := w.advanceRotation(ctx, ev.RotationID, at); err != nil {
			return err
		}
		w.b.Queue(`UPDATE rotations SET name = $2, description = $3 WHERE id = $1`, ev.RotationID, ev.Name, ev.Description)
		w.queueDefinition(ev.RotationID, ev.RotationDefinition)
	case events.RotationParticipantsSet:
		if err := w.advanceRotation(ctx, ev.RotationID, at); err != nil {
			return err
		}
		w.queueDefinition(ev.RotationID, ev.RotationDefinition)
	case events.RotationActiveSet:
		if err := w.advanceRotation(ctx, ev.RotationID, at); err != nil {
			return err
		}
		w.queueDefinition(ev.RotationID, ev.RotationDefinition)
	case events.RotationDeleted:
		if err := w.advanceRotation(ctx, ev.RotationID, at); err != nil {
			return err
		}
		w.b.Queue(`UPDATE oncall_history SET end_time = greatest(start_time, $2) WHERE subject_type = 'rotation' AND subject_id = $1 AND end_time IS NULL`, ev.RotationID, at)
		w.b.Queue(`DELETE FROM rotation_participants WHERE rotation_id = $1`, ev.RotationID)
		w.b.Queue(`DELETE FROM rotations WHERE id = $1`, ev.RotationID)

	case events.ScheduleCreated:
		w.b.Queue(`INSERT INTO schedules (id, name, description, time_zone, history_until, created_at) VALUES ($1, $2, $3, $4, $5, $5)
			ON CONFLICT (id) DO NOTHING`, ev.ScheduleID, ev.Name, ev.Description, ev.TimeZone, at)
	case events.ScheduleUpdated:
		if err := w.advanceSchedule(ctx, ev.ScheduleID, at); err != nil {
			return err
		}
		w.b.Queue(`UPDATE schedules SET name = $2, description = $3, time_zone = $4 WHERE id = $1`, ev.ScheduleID, ev.Name, ev.Description, ev.TimeZone)
	case events.ScheduleDeleted:
		if err := w.advanceSchedule(ctx, ev.ScheduleID, at); err != nil {
			return err
		}
		w.b.Queue(`UPDATE oncall_history SET end_time = greatest(start_time, $2) WHERE subject_type = 'schedule' AND subject_id = $1 AND end_time IS NULL`, ev.ScheduleID, at)
		for _, t := range []string{"schedule_rules", "schedule_overrides", "schedule_temporary", "schedule_oncall_notification_rules"} {
			w.b.Queue(`DELETE FROM `+t+` WHERE schedule_id = $1`, ev.ScheduleID)
		}
		w.b.Queue(`DELETE FROM schedules WHERE id = $1`, ev.ScheduleID)
	case events.ScheduleTargetRulesSet:
		if err := w.advanceSchedule(ctx, ev.ScheduleID, at); err != nil {
			return err
		}
		w.b.Queue(`DELETE FROM schedule_rules WHERE schedule_id = $1 AND target_type = $2 AND target_id = $3`, ev.ScheduleID, ev.TargetType, ev.TargetID)
		for i, r := range ev.Rules {
			start, err1 := schedule.ParseClock(r.Start)
			end, err2 := schedule.ParseClock(r.End)
			if err1 != nil || err2 != nil {
				continue // the aggregate skips it too
			}
			w.b.Queue(`INSERT INTO schedule_rules (schedule_id, target_type, target_id, position, id, start_minute, end_minute, weekdays)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, ev.ScheduleID, ev.TargetType, ev.TargetID, i, r.ID, int(start), int(end), r.Weekdays[:])
		}
	case events.ScheduleOverrideAdded:
		if err := w.advanceSchedule(ctx, ev.ScheduleID, at); err != nil {
			return err
		}
		w.b.Queue(`INSERT INTO schedule_overrides (id, schedule_id, start_time, end_time, add_user_id, remove_user_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
			ev.OverrideID, ev.ScheduleID, ev.Start, ev.End, ev.AddUserID, ev.RemoveUserID, at)
	case events.ScheduleOverrideRemoved:
		if err := w.advanceSchedule(ctx, ev.ScheduleID, at); err != nil {
			return err
		}
		w.b.Queue(`DELETE FROM schedule_overrides WHERE id = $1`, ev.OverrideID)
	case events.ScheduleTemporarySet:
		tmp := schedule.Temporary{Start: ev.Start, End: ev.End}
		for _, sh := range ev.Shifts {
			tmp.Shifts = append(tmp.Shifts, schedule.Shift{UserID: sh.UserID, Start: sh.Start, End: sh.End})
		}
		return w.changeTemporary(ctx, ev.ScheduleID, at, ev.Start, ev.End, &tmp)
	case events.ScheduleTemporaryCleared:
		return w.changeTemporary(ctx, ev.ScheduleID, at, ev.Start, ev.End, nil)
	case events.ScheduleOnCallNotificationRuleSet:
		dest, _ := json.Marshal(ev.Dest)
		var tod *string
		if ev.Time != "" {
			tod = &ev.Time
		}
		w.b.Queue(`INSERT INTO schedule_oncall_notification_rules (schedule_id, id, dest, time_of_day, weekdays) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (schedule_id, id) DO UPDATE SET dest = excluded.dest, time_of_day = excluded.time_of_day, weekdays = excluded.weekdays`,
			ev.ScheduleID, ev.RuleID, dest, tod, ev.Weekdays[:])
	case events.ScheduleOnCallNotificationRuleRemoved:
		w.b.Queue(`DELETE FROM schedule_oncall_notification_rules WHERE schedule_id = $1 AND id = $2`, ev.ScheduleID, ev.RuleID)

	case events.CalendarSubscriptionCreated:
		reminders := ev.ReminderMinutes
		if reminders == nil {
			reminders = []int{}
		}
		w.b.Queue(`INSERT INTO calendar_subscriptions (id, user_id, name, schedule_id, full_schedule, reminder_minutes, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
			ev.SubscriptionID, ev.UserID, ev.Name, ev.ScheduleID, ev.FullSchedule, reminders, at)
	case events.CalendarSubscriptionDeleted:
		w.b.Queue(`DELETE FROM calendar_subscriptions WHERE id = $1`, ev.SubscriptionID)
	}
	return nil
}

func (w *writer) queueParticipants(rotationID string, ids []string) {
	w.b.Queue(`DELETE FROM rotation_participants WHERE rotation_id = $1`, rotationID)
	if len(ids) > 0 {
		w.b.Queue(`INSERT INTO rotation_participants (rotation_id, position, user_id)
			SELECT $1, p.ord - 1, p.id FROM unnest($2::text[]) WITH ORDINALITY AS p(id, ord)`, rotationID, ids)
	}
}

func (w *writer) queueDefinition(id string, d events.RotationDefinition) {
	w.b.Queue(`UPDATE rotations SET type = $2, shift_length = $3, start_time = $4, time_zone = $5, active_index = $6, active_at = $7
		WHERE id = $1`, id, d.Type, d.ShiftLength, d.Start, d.TimeZone, d.ActiveIndex, d.ActiveAt)
	w.queueParticipants(id, d.Participants)
}

// changeTemporary replaces a schedule's temporary schedules with them cut
// back to outside [start, end), plus set when given.
func (w *writer) changeTemporary(ctx context.Context, scheduleID string, at, start, end time.Time, set *schedule.Temporary) error {
	if err := w.advanceSchedule(ctx, scheduleID, at); err != nil {
		return err
	}
	cur, err := loadTemporary(ctx, w.tx, scheduleID)
	if err != nil {
		return err
	}
	next := schedule.TrimTemporary(cur, start, end)
	if set != nil {
		next = append(next, *set)
	}
	w.b.Queue(`DELETE FROM schedule_temporary WHERE schedule_id = $1`, scheduleID)
	for _, t := range next {
		w.b.Queue(`INSERT INTO schedule_temporary (schedule_id, start_time, end_time, shifts) VALUES ($1, $2, $3, $4)`,
			scheduleID, t.Start, t.End, temporaryShiftsJSON(t.Shifts))
	}
	return nil
}

func temporaryShiftsJSON(shifts []schedule.Shift) []byte {
	out := make([]events.TemporaryShift, len(shifts))
	for i, sh := range shifts {
		out[i] = events.TemporaryShift{UserID: sh.UserID, Start: sh.Start, End: sh.End}
	}
	b, _ := json.Marshal(out)
	return b
}

// advanceRotation writes the history of a rotation, and of every schedule
// that targets it, up to at, under the definitions stored now (those in
// force until at).
func (w *writer) advanceRotation(ctx context.Context, id string, at time.Time) error {
	if err := w.flush(ctx); err != nil {
		return err
	}
	rows, err := w.tx.Query(ctx, `SELECT DISTINCT schedule_id FROM schedule_rules WHERE target_type = 'rotation' AND target_id = $1 ORDER BY 1`, id)
	if err != nil {
		return fmt.Errorf("find schedules of rotation %s: %w", id, err)
	}
	scheds, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("find schedules of rotation %s: %w", id, err)
	}
	for _, sid := range scheds {
		if err := w.advanceSchedule(ctx, sid, at); err != nil {
			return err
		}
	}
	var until time.Time
	err = w.tx.QueryRow(ctx, `SELECT history_until FROM rotations WHERE id = $1 FOR UPDATE`, id).Scan(&until)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read rotation %s: %w", id, err)
	}
	if !at.After(until) {
		return nil // a change that committed later but happened earlier: it counts from history_until
	}
	r, ok, err := loadRotation(ctx, w.tx, id)
	if err != nil || !ok {
		return err
	}
	if err := w.record(ctx, SubjectRotation, id, until, at, rotationShifts(r, until, at)); err != nil {
		return err
	}
	w.b.Queue(`UPDATE rotations SET history_until = $2 WHERE id = $1`, id, at)
	return nil
}

// rotationShifts returns r's shifts from from until to as schedule shifts:
// Truncated when the user is still on call at to.
func rotationShifts(r storedRotation, from, to time.Time) []schedule.Shift {
	var out []schedule.Shift
	for _, sh := range r.def.Shifts(r.anchor.Index, r.anchor.At, from, to.Add(time.Nanosecond)) {
		if !sh.Start.Before(to) {
			continue
		}
		s := schedule.Shift{UserID: sh.UserID, Start: sh.Start, End: sh.End}
		if s.End.After(to) {
			s.End, s.Truncated = to, true
		}
		out = append(out, s)
	}
	return out
}

// advanceSchedule writes a schedule's history up to at under the
// definitions stored now.
func (w *writer) advanceSchedule(ctx context.Context, id string, at time.Time) error {
	if err := w.flush(ctx); err != nil {
		return err
	}
	var until time.Time
	err := w.tx.QueryRow(ctx, `SELECT history_until FROM schedules WHERE id = $1 FOR UPDATE`, id).Scan(&until)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read schedule %s: %w", id, err)
	}
	if !at.After(until) {
		return nil
	}
	d, err := loadDefinition(ctx, w.tx, id)
	if err != nil {
		return err
	}
	if err := w.record(ctx, SubjectSchedule, id, until, at, d.spec.Shifts(until, at, d.rotationShifts)); err != nil {
		return err
	}
	w.b.Queue(`UPDATE schedules SET history_until = $2 WHERE id = $1`, id, at)
	return nil
}

// record adds shifts, computed from from until to, to a subject's
// history: a shift that starts at from continues the open row of its user,
// open rows of users not on call at from end there, and a Truncated shift
// stays open.
func (w *writer) record(ctx context.Context, subjectType, id string, from, to time.Time, shifts []schedule.Shift) error {
	rows, err := w.tx.Query(ctx, `SELECT user_id, start_time FROM oncall_history
		WHERE subject_type = $1 AND subject_id = $2 AND end_time IS NULL`, subjectType, id)
	if err != nil {
		return fmt.Errorf("read open history of %s %s: %w", subjectType, id, err)
	}
	open := map[string]time.Time{}
	var user string
	var start time.Time
	_, err = pgx.ForEachRow(rows, []any{&user, &start}, func() error {
		open[user] = start
		return nil
	})
	if err != nil {
		return fmt.Errorf("read open history of %s %s: %w", subjectType, id, err)
	}
	for _, sh := range shifts {
		end := &sh.End
		if sh.Truncated {
			end = nil
		}
		if st, ok := open[sh.UserID]; ok && sh.Start.Equal(from) {
			delete(open, sh.UserID)
			if end != nil {
				w.b.Queue(`UPDATE oncall_history SET end_time = $5 WHERE subject_type = $1 AND subject_id = $2 AND user_id = $3 AND start_time = $4`,
					subjectType, id, sh.UserID, st, *end)
			}
			continue
		}
		w.b.Queue(`INSERT INTO oncall_history (subject_type, subject_id, user_id, start_time, end_time) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (subject_type, subject_id, user_id, start_time) DO UPDATE SET end_time = excluded.end_time`,
			subjectType, id, sh.UserID, sh.Start, end)
	}
	users := make([]string, 0, len(open))
	for u := range open {
		users = append(users, u)
	}
	slices.Sort(users)
	for _, u := range users {
		w.b.Queue(`UPDATE oncall_history SET end_time = $4 WHERE subject_type = $1 AND subject_id = $2 AND user_id = $3 AND end_time IS NULL`,
			subjectType, id, u, from)
	}
	return nil
}
