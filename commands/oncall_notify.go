package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oncallhq/goalert/domain/notification"
	"github.com/oncallhq/goalert/domain/schedule"
	"github.com/oncallhq/goalert/events"
)

// OnCallChangeCheck is how often a schedule with an "on change"
// notification rule is checked for a change of who is on call.
const OnCallChangeCheck = 30 * time.Second

// NotifyOnCall sends the schedules' on-call notifications that are due: a
// rule without a time of day reports every change of who is on call, one
// with a time reports who is on call then, on its weekdays, in the
// schedule's zone. It returns how many rules it handled.
func (h *Handler) NotifyOnCall(ctx context.Context) (int, error) {
	now := h.clock.Now()
	// Follow the rules as the read model has them (new rules start now,
	// removed ones are forgotten) and see whether any is due, in one round
	// trip: this runs on every engine pass.
	var due bool
	if err := h.pool.QueryRow(ctx, `WITH ins AS (
			INSERT INTO oncall_notify_state (rule_id, schedule_id, next_at)
			SELECT id, schedule_id, $1 FROM schedule_oncall_notification_rules ON CONFLICT (rule_id) DO NOTHING
		), del AS (
			DELETE FROM oncall_notify_state s WHERE NOT EXISTS
				(SELECT 1 FROM schedule_oncall_notification_rules r WHERE r.id = s.rule_id)
		)
		SELECT EXISTS (SELECT 1 FROM oncall_notify_state WHERE next_at <= $1)`, now).Scan(&due); err != nil {
		return 0, fmt.Errorf("on-call notification rules: %w", err)
	}
	if !due {
		return 0, nil
	}
	n := 0
	ctx = events.WithMetadata(ctx, engineMeta)
	_, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		n = 0
		rows, err := tx.tx.Query(ctx, `SELECT s.rule_id, s.schedule_id, s.last_users, r.dest, coalesce(r.time_of_day, ''), r.weekdays,
				sc.name, sc.time_zone
			FROM oncall_notify_state s
			JOIN schedule_oncall_notification_rules r ON r.id = s.rule_id
			JOIN schedules sc ON sc.id = s.schedule_id
			WHERE s.next_at <= $1 ORDER BY s.next_at LIMIT 20 FOR UPDATE OF s SKIP LOCKED`, tx.now)
		if err != nil {
			return err
		}
		type due struct {
			ruleID, scheduleID, tod, name, zone string
			last                                []string
			dest                                events.Dest
			weekdays                            []bool
		}
		list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (due, error) {
			var d due
			var dest []byte
			err := r.Scan(&d.ruleID, &d.scheduleID, &d.last, &dest, &d.tod, &d.weekdays, &d.name, &d.zone)
			if err == nil {
				err = json.Unmarshal(dest, &d.dest)
			}
			return d, err
		})
		if err != nil {
			return err
		}
		for _, d := range list {
			users, err := h.OnCallAt(ctx, "schedule", d.scheduleID, tx.now)
			if err != nil {
				return err
			}
			slices.Sort(users)
			next := tx.now.Add(OnCallChangeCheck)
			// The first look at a new rule only records who is on call and
			// when the rule is next due.
			send := false
			if d.tod == "" {
				send = d.last != nil && !slices.Equal(d.last, users)
			} else {
				send = d.last != nil
				next, err = nextTimeOfDay(tx.now, d.tod, d.weekdays, d.zone)
				if err != nil {
					return err
				}
			}
			if send {
				if err := queueOnCall(ctx, tx, d.scheduleID, d.name, d.ruleID, d.dest, users); err != nil {
					return err
				}
			}
			if users == nil {
				users = []string{}
			}
			if _, err := tx.tx.Exec(ctx, `UPDATE oncall_notify_state SET last_users = $2, next_at = $3 WHERE rule_id = $1`,
				d.ruleID, users, next); err != nil {
				return err
			}
		}
		n = len(list)
		return nil
	})
	return n, err
}

// queueOnCall queues a ScheduleOnCallUsers message with the users' names.
func queueOnCall(ctx context.Context, tx *Tx, scheduleID, name, ruleID string, dest events.Dest, users []string) error {
	type onCallUser struct{ ID, Name string }
	list := make([]onCallUser, 0, len(users))
	for _, id := range users {
		u := onCallUser{ID: id}
		if usr, _, err := loadUser(ctx, tx, id); err == nil {
			u.Name = usr.Name()
		}
		list = append(list, u)
	}
	raw, err := json.Marshal(list)
	if err != nil {
		return err
	}
	_, err = tx.enqueue(ctx, queued{Kind: notification.KindOnCallUsers, Dest: dest,
		Payload:  map[string]string{"schedule_id": scheduleID, "schedule_name": name, "users": string(raw)},
		DedupKey: "oncall:" + ruleID + ":" + tx.now.UTC().Format(time.RFC3339Nano)})
	return err
}

// nextTimeOfDay is the first instant after now at wall-clock time tod
// ("HH:MM") in zone on one of weekdays (Sunday first); a week from now
// when no weekday is set.
func nextTimeOfDay(now time.Time, tod string, weekdays []bool, zone string) (time.Time, error) {
	c, err := schedule.ParseClock(tod)
	if err != nil {
		return time.Time{}, err
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC
	}
	local := now.In(loc)
	for i := 0; i <= 7; i++ {
		day := local.AddDate(0, 0, i)
		at := time.Date(day.Year(), day.Month(), day.Day(), int(c)/60, int(c)%60, 0, 0, loc)
		wd := int(at.Weekday())
		if at.After(now) && wd < len(weekdays) && weekdays[wd] {
			return at, nil
		}
	}
	return now.Add(7 * 24 * time.Hour), nil
}
