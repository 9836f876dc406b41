package graphqlapi

// Who is on call: now, per step of a service's escalation policy, and, from
// the event log, at any instant of the past as it was configured then.

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/escalation"
	"github.com/oncallhq/goalert/projections/oncall"
	"github.com/oncallhq/goalert/projections/users"
)

// userByID is the user with id, or nil when there is none (any more).
func (r *resolver) userByID(ctx context.Context, id string) (*userRes, error) {
	u, err := r.d.Users.ByID(ctx, id)
	if errors.Is(err, users.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &userRes{u, r}, nil
}

// OnCallAt answers from the log, so that the past reads as it was lived.
func (r *resolver) OnCallAt(ctx context.Context, args struct {
	ScheduleID *graphql.ID
	RotationID *graphql.ID
	Time       Timestamp
}) ([]*userRes, error) {
	var kind, id string
	switch {
	case args.ScheduleID != nil && args.RotationID != nil:
		return nil, domain.FieldError("rotationID", "give scheduleID or rotationID, not both")
	case args.ScheduleID != nil:
		kind, id = escalation.ActionSchedule, string(*args.ScheduleID)
	case args.RotationID != nil:
		kind, id = escalation.ActionRotation, string(*args.RotationID)
	default:
		return nil, domain.FieldError("scheduleID", "give scheduleID or rotationID")
	}
	ids, err := r.d.Commands.OnCallAsOf(ctx, kind, id, args.Time.Time)
	if err != nil {
		return nil, err
	}
	out := make([]*userRes, 0, len(ids))
	for _, uid := range ids {
		u, err := r.userByID(ctx, uid)
		if err != nil {
			return nil, err
		}
		if u == nil {
			u = &userRes{users.User{ID: uid, Name: uid, Role: "unknown"}, r}
		}
		out = append(out, u)
	}
	return out, nil
}

func (r *resolver) ShiftsAsOf(ctx context.Context, args struct {
	ScheduleID graphql.ID
	Start, End Timestamp
}) ([]shiftRes, error) {
	return r.shiftsAsOf(ctx, string(args.ScheduleID), args.Start.Time, args.End.Time)
}

func (r *resolver) shiftsAsOf(ctx context.Context, scheduleID string, start, end time.Time) ([]shiftRes, error) {
	if err := shiftWindow(start, end); err != nil {
		return nil, err
	}
	shifts, err := r.d.Commands.ShiftsAsOf(ctx, scheduleID, start, end)
	if err != nil {
		return nil, err
	}
	return r.shifts(shifts), nil
}

type serviceOnCallUser struct {
	userID, name string
	step         int
}

func (s serviceOnCallUser) UserID() graphql.ID { return graphql.ID(s.userID) }
func (s serviceOnCallUser) UserName() string   { return s.name }
func (s serviceOnCallUser) StepNumber() int32  { return int32(s.step) }

// OnCallUsers lists, step by step, the users each step of the service's
// policy reaches now: its users, and whoever is on call on its schedules
// and rotations. Within a step, users are by name, each once.
func (s *serviceRes) OnCallUsers(ctx context.Context) ([]serviceOnCallUser, error) {
	if s.s.EscalationPolicyID == "" {
		return []serviceOnCallUser{}, nil
	}
	steps, err := s.r.d.Paging.Steps(ctx, s.s.EscalationPolicyID)
	if err != nil {
		return nil, err
	}
	now := s.r.now()
	out := []serviceOnCallUser{}
	for _, st := range steps {
		var ids []string
		for _, a := range st.Actions {
			more, err := s.r.reached(ctx, a.Type, a.Args, now)
			if err != nil {
				return nil, err
			}
			ids = append(ids, more...)
		}
		seen := map[string]bool{}
		var step []serviceOnCallUser
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			u, err := s.r.userByID(ctx, id)
			if err != nil {
				return nil, err
			}
			if u != nil {
				step = append(step, serviceOnCallUser{userID: id, name: u.u.Name, step: st.StepNumber})
			}
		}
		sort.Slice(step, func(i, j int) bool {
			if a, b := strings.ToLower(step[i].name), strings.ToLower(step[j].name); a != b {
				return a < b
			}
			return step[i].userID < step[j].userID
		})
		out = append(out, step...)
	}
	return out, nil
}

// reached is who a step action pages at now; nobody for channels and for
// schedules and rotations that are gone.
func (r *resolver) reached(ctx context.Context, typ string, args map[string]string, now time.Time) ([]string, error) {
	var subject, id string
	switch typ {
	case escalation.ActionUser:
		return []string{args["user_id"]}, nil
	case escalation.ActionSchedule:
		subject, id = oncall.SubjectSchedule, args["schedule_id"]
	case escalation.ActionRotation:
		subject, id = oncall.SubjectRotation, args["rotation_id"]
	default:
		return nil, nil
	}
	ids, err := r.d.OnCall.OnCallUsers(ctx, subject, id, now)
	if errors.Is(err, oncall.ErrNotFound) {
		return nil, nil
	}
	return ids, err
}
