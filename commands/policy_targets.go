package commands

import (
	"context"

	"github.com/google/uuid"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/escalation"
	"github.com/oncallhq/goalert/domain/rotation"
	"github.com/oncallhq/goalert/domain/schedule"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/events"
)

// checkTargets refuses step targets that name a user, schedule or rotation
// that does not exist: such a step would page no one without saying so.
func checkTargets(ctx context.Context, tx *Tx, actions []events.Dest) error {
	for _, a := range actions {
		var id, stream string
		var exists func([]events.Event) bool
		switch a.Type {
		case escalation.ActionUser:
			id, stream = a.Args["user_id"], user.Stream(a.Args["user_id"])
			exists = func(evs []events.Event) bool { return user.FromHistory(evs).Exists() }
		case escalation.ActionSchedule:
			id, stream = a.Args["schedule_id"], schedule.Stream(a.Args["schedule_id"])
			exists = func(evs []events.Event) bool { return schedule.FromHistory(evs).Exists() }
		case escalation.ActionRotation:
			id, stream = a.Args["rotation_id"], rotation.Stream(a.Args["rotation_id"])
			exists = func(evs []events.Event) bool { return rotation.FromHistory(evs).Exists() }
		default:
			continue
		}
		if _, err := uuid.Parse(id); err != nil {
			return domain.FieldErrorf("actions", "%s target %q does not exist", a.Type, id)
		}
		hist, err := tx.Load(ctx, stream)
		if err != nil {
			return err
		}
		if !exists(hist.Events) {
			return domain.FieldErrorf("actions", "%s target %q does not exist", a.Type, id)
		}
	}
	return nil
}
