package oncall

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oncallhq/goalert/domain/schedule"
	"github.com/oncallhq/goalert/events"
)

// OnCallNow returns who is on call at now on every schedule, by schedule
// id (sorted user ids; schedules with no one on call are absent). It reads
// every definition with five queries, not a few per schedule, so asking
// about a thousand schedules costs about as much as asking about one
// ten times.
func (r Reader) OnCallNow(ctx context.Context, now time.Time) (map[string][]string, error) {
	specs := map[string]*schedule.Spec{}
	rows, err := r.Pool.Query(ctx, `SELECT id, time_zone FROM schedules`)
	if err != nil {
		return nil, fmt.Errorf("read schedules: %w", err)
	}
	var id, tz string
	if _, err := pgx.ForEachRow(rows, []any{&id, &tz}, func() error {
		specs[id] = &schedule.Spec{Zone: zone(tz)}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read schedules: %w", err)
	}

	rows, err = r.Pool.Query(ctx, `SELECT schedule_id, target_type, target_id, start_minute, end_minute, weekdays
		FROM schedule_rules ORDER BY schedule_id, target_type, target_id, position`)
	if err != nil {
		return nil, fmt.Errorf("read schedule rules: %w", err)
	}
	var kind, tid string
	var start, end int
	var days []bool
	if _, err := pgx.ForEachRow(rows, []any{&id, &kind, &tid, &start, &end, &days}, func() error {
		s := specs[id]
		if s == nil {
			return nil
		}
		rule := schedule.Rule{Start: schedule.Clock(start), End: schedule.Clock(end)}
		copy(rule.Weekdays[:], days)
		if n := len(s.Targets); n == 0 || s.Targets[n-1].Kind != schedule.TargetKind(kind) || s.Targets[n-1].ID != tid {
			s.Targets = append(s.Targets, schedule.Target{Kind: schedule.TargetKind(kind), ID: tid})
		}
		s.Targets[len(s.Targets)-1].Rules = append(s.Targets[len(s.Targets)-1].Rules, rule)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read schedule rules: %w", err)
	}

	// Only what touches now matters: overrides and temporary schedules
	// that have ended or not begun change nothing at now.
	rows, err = r.Pool.Query(ctx, `SELECT schedule_id, id, start_time, end_time, add_user_id, remove_user_id FROM schedule_overrides
		WHERE start_time <= $1 AND end_time > $1 ORDER BY start_time, id`, now)
	if err != nil {
		return nil, fmt.Errorf("read overrides: %w", err)
	}
	var o schedule.Override
	if _, err := pgx.ForEachRow(rows, []any{&id, &o.ID, &o.Start, &o.End, &o.AddUserID, &o.RemoveUserID}, func() error {
		if s := specs[id]; s != nil {
			s.Overrides = append(s.Overrides, o)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read overrides: %w", err)
	}
	rows, err = r.Pool.Query(ctx, `SELECT schedule_id, start_time, end_time, shifts FROM schedule_temporary
		WHERE start_time <= $1 AND end_time > $1`, now)
	if err != nil {
		return nil, fmt.Errorf("read temporary schedules: %w", err)
	}
	var t schedule.Temporary
	var raw []byte
	if _, err := pgx.ForEachRow(rows, []any{&id, &t.Start, &t.End, &raw}, func() error {
		var shifts []events.TemporaryShift
		if err := json.Unmarshal(raw, &shifts); err != nil {
			return err
		}
		tmp := schedule.Temporary{Start: t.Start, End: t.End}
		for _, sh := range shifts {
			tmp.Shifts = append(tmp.Shifts, schedule.Shift{UserID: sh.UserID, Start: sh.Start, End: sh.End})
		}
		if s := specs[id]; s != nil {
			s.Temporary = append(s.Temporary, tmp)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read temporary schedules: %w", err)
	}

	d := definition{rotations: map[string]storedRotation{}}
	rows, err = r.Pool.Query(ctx, selectRotation)
	if err != nil {
		return nil, fmt.Errorf("read rotations: %w", err)
	}
	rots, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Rotation, error) { return scanRotation(row) })
	if err != nil {
		return nil, fmt.Errorf("read rotations: %w", err)
	}
	for _, rot := range rots {
		def, a := rot.Definition()
		d.rotations[rot.ID] = storedRotation{def: def, anchor: a}
	}

	out := make(map[string][]string, len(specs))
	for id, s := range specs {
		if users := s.OnCallAt(now, d.rotationShifts); len(users) > 0 {
			out[id] = slices.Clip(users)
		}
	}
	return out, nil
}
