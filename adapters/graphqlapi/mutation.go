package graphqlapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/alert"
	"github.com/oncallhq/goalert/domain/limits"
	"github.com/oncallhq/goalert/domain/user"
)

type metaInput struct{ Key, Value string }

func (r *resolver) CreateAlert(ctx context.Context, args struct {
	Input struct {
		Summary   string
		Details   *string
		ServiceID graphql.ID
		Sanitize  *bool
		Dedup     *string
		Meta      *[]metaInput
	}
}) (*alertRes, error) {
	in := args.Input
	n := alert.New{ServiceID: string(in.ServiceID), Summary: in.Summary, Details: deref(in.Details), Dedup: deref(in.Dedup)}
	if in.Meta != nil {
		n.Meta = map[string]string{}
		for _, m := range *in.Meta {
			n.Meta[m.Key] = m.Value
		}
	}
	ref, res, err := r.d.Commands.CreateAlert(ctx, n)
	if err != nil {
		return nil, err
	}
	if err := r.wait(ctx, res); err != nil {
		return nil, err
	}
	return r.Alert(ctx, struct{ ID int32 }{int32(ref.ID)})
}

func (r *resolver) CloseMatchingAlert(ctx context.Context, args struct {
	Input struct {
		ServiceID graphql.ID
		Summary   *string
		Details   *string
		Dedup     *string
	}
}) (bool, error) {
	in := args.Input
	_, res, err := r.d.Commands.CloseMatchingAlert(ctx, alert.New{
		ServiceID: string(in.ServiceID), Summary: deref(in.Summary), Details: deref(in.Details), Dedup: deref(in.Dedup),
	})
	if err != nil {
		return false, err
	}
	return true, r.wait(ctx, res)
}

// setStatus acknowledges or closes one alert. It reports false, without
// error, for an alert already at or past the status: bulk updates skip
// those, as GoAlert's do.
func (r *resolver) setStatus(ctx context.Context, id int64, status string) (bool, commands.Result, error) {
	var res commands.Result
	var err error
	switch status {
	case "StatusAcknowledged":
		res, err = r.d.Commands.AcknowledgeAlert(ctx, id)
	case "StatusClosed":
		res, err = r.d.Commands.CloseAlert(ctx, id)
	default:
		return false, res, domain.FieldError("newStatus", "may only be StatusAcknowledged or StatusClosed")
	}
	if errors.Is(err, alert.ErrAlreadyAcknowledged) || errors.Is(err, alert.ErrClosed) {
		return false, res, nil
	}
	return err == nil, res, err
}

func (r *resolver) UpdateAlerts(ctx context.Context, args struct {
	Input struct {
		AlertIDs  []int32
		NewStatus string
	}
}) (*[]*alertRes, error) {
	var last commands.Result
	var changed []int64
	for _, id := range args.Input.AlertIDs {
		ok, res, err := r.setStatus(ctx, int64(id), args.Input.NewStatus)
		if err != nil {
			return nil, fmt.Errorf("alert %d: %w", id, err)
		}
		if ok {
			changed = append(changed, int64(id))
			last = res
		}
	}
	return r.alertsAfter(ctx, last, changed)
}

func (r *resolver) alertsAfter(ctx context.Context, res commands.Result, ids []int64) (*[]*alertRes, error) {
	if err := r.wait(ctx, res); err != nil {
		return nil, err
	}
	out := make([]*alertRes, 0, len(ids))
	for _, id := range ids {
		a, err := r.Alert(ctx, struct{ ID int32 }{int32(id)})
		if err != nil {
			return nil, err
		}
		if a != nil {
			out = append(out, a)
		}
	}
	return &out, nil
}

func (r *resolver) UpdateAlertsByService(ctx context.Context, args struct {
	Input struct {
		ServiceID graphql.ID
		NewStatus string
	}
}) (bool, error) {
	ids, err := r.d.Commands.OpenAlertIDs(ctx, string(args.Input.ServiceID), args.Input.NewStatus == "StatusAcknowledged")
	if err != nil {
		return false, err
	}
	var last commands.Result
	for _, id := range ids {
		ok, res, err := r.setStatus(ctx, id, args.Input.NewStatus)
		if err != nil {
			return false, fmt.Errorf("alert %d: %w", id, err)
		}
		if ok {
			last = res
		}
	}
	return true, r.wait(ctx, last)
}

func (r *resolver) EscalateAlerts(ctx context.Context, args struct{ Input *[]int32 }) (*[]*alertRes, error) {
	if args.Input == nil {
		return &[]*alertRes{}, nil
	}
	var last commands.Result
	var ids []int64
	for _, id := range *args.Input {
		res, err := r.d.Commands.EscalateAlert(ctx, int64(id))
		if err != nil {
			return nil, fmt.Errorf("alert %d: %w", id, err)
		}
		last = res
		ids = append(ids, int64(id))
	}
	return r.alertsAfter(ctx, last, ids)
}

type keyInput struct {
	ServiceID          *graphql.ID
	Type               string
	Name               string
	ExternalSystemName *string
}

type labelInput struct {
	Target *targetInput
	Key    string
	Value  string
}

type targetInput struct {
	ID   graphql.ID
	Type string
}

// CreateService adds a service with its keys, labels and heartbeat
// monitors. With newEscalationPolicy the policy is created first; if the
// service is then refused, the policy is deleted again.
func (r *resolver) CreateService(ctx context.Context, args struct {
	Input struct {
		Name                 string
		Description          string
		Favorite             *bool
		EscalationPolicyID   *graphql.ID
		NewEscalationPolicy  *policyInput
		NewIntegrationKeys   *[]keyInput
		Labels               *[]labelInput
		NewHeartbeatMonitors *[]heartbeatInput
	}
}) (*serviceRes, error) {
	in := args.Input
	c := commands.CreateService{Name: in.Name, Description: in.Description}
	if in.EscalationPolicyID != nil {
		c.EscalationPolicyID = string(*in.EscalationPolicyID)
	}
	if in.NewIntegrationKeys != nil {
		if len(*in.NewIntegrationKeys) > 5 {
			return nil, domain.FieldError("newIntegrationKeys", "at most 5 keys may be created with a service")
		}
		for _, k := range *in.NewIntegrationKeys {
			c.Keys = append(c.Keys, commands.NewKey{Name: k.Name, Type: k.Type, ExternalSystemName: deref(k.ExternalSystemName)})
		}
	}
	if in.NewHeartbeatMonitors != nil && len(*in.NewHeartbeatMonitors) > 5 {
		return nil, domain.FieldError("newHeartbeatMonitors", "at most 5 heartbeat monitors may be created with a service")
	}
	if in.NewEscalationPolicy != nil {
		if c.EscalationPolicyID != "" {
			return nil, domain.FieldError("newEscalationPolicy", "give either escalationPolicyID or newEscalationPolicy, not both")
		}
		policyID, _, err := r.createPolicy(ctx, *in.NewEscalationPolicy)
		if err != nil {
			return nil, fmt.Errorf("newEscalationPolicy: %w", err)
		}
		c.EscalationPolicyID = policyID
	}
	id, _, res, err := r.d.Commands.CreateService(ctx, c)
	if err != nil {
		if in.NewEscalationPolicy != nil {
			dres, derr := r.d.Commands.DeletePolicy(ctx, c.EscalationPolicyID)
			if derr == nil {
				derr = r.wait(ctx, dres)
			}
			if derr != nil {
				return nil, errors.Join(err, fmt.Errorf("delete the new escalation policy: %w", derr))
			}
		}
		return nil, err
	}
	if in.NewHeartbeatMonitors != nil {
		for i, hb := range *in.NewHeartbeatMonitors {
			if _, res, err = r.createHeartbeat(ctx, id, hb); err != nil {
				return nil, fmt.Errorf("newHeartbeatMonitors %d: %w", i, err)
			}
		}
	}
	if in.Labels != nil {
		for _, l := range *in.Labels {
			if res, err = r.d.Commands.SetServiceLabel(ctx, id, l.Key, l.Value); err != nil {
				return nil, err
			}
		}
	}
	if err := r.wait(ctx, res); err != nil {
		return nil, err
	}
	return r.serviceByID(ctx, id)
}

func (r *resolver) UpdateService(ctx context.Context, args struct {
	Input struct {
		ID                   graphql.ID
		Name                 *string
		Description          *string
		EscalationPolicyID   *graphql.ID
		MaintenanceExpiresAt *Timestamp
	}
}) (bool, error) {
	in := args.Input
	u := commands.UpdateService{ID: string(in.ID), Name: in.Name, Description: in.Description}
	if in.EscalationPolicyID != nil {
		p := string(*in.EscalationPolicyID)
		u.EscalationPolicyID = &p
	}
	if in.MaintenanceExpiresAt != nil {
		t := in.MaintenanceExpiresAt.Time
		if !t.After(r.d.Commands.Clock().Now()) {
			t = time.Time{} // a past time ends maintenance
		}
		u.MaintenanceExpiresAt = &t
	}
	res, err := r.d.Commands.UpdateService(ctx, u)
	if err != nil {
		return false, err
	}
	return true, r.wait(ctx, res)
}

func (r *resolver) CreateIntegrationKey(ctx context.Context, args struct{ Input keyInput }) (*keyRes, error) {
	in := args.Input
	if in.ServiceID == nil {
		return nil, domain.FieldError("serviceID", "is required")
	}
	id, res, err := r.d.Commands.CreateIntegrationKey(ctx, string(*in.ServiceID),
		commands.NewKey{Name: in.Name, Type: in.Type, ExternalSystemName: deref(in.ExternalSystemName)})
	if err != nil {
		return nil, err
	}
	if err := r.wait(ctx, res); err != nil {
		return nil, err
	}
	return r.IntegrationKey(ctx, struct{ ID graphql.ID }{graphql.ID(id)})
}

func (r *resolver) SetLabel(ctx context.Context, args struct{ Input labelInput }) (bool, error) {
	t := args.Input.Target
	if t == nil {
		return false, domain.FieldError("target", "is required")
	}
	if t.Type != "service" {
		return false, domain.FieldErrorf("target", "labels can be set on services, not on %s", t.Type)
	}
	res, err := r.d.Commands.SetServiceLabel(ctx, string(t.ID), args.Input.Key, args.Input.Value)
	if err != nil {
		return false, err
	}
	return true, r.wait(ctx, res)
}

func (r *resolver) CreateUser(ctx context.Context, args struct {
	Input struct {
		Username string
		Password string
		Name     *string
		Email    *string
		Role     *string
		Favorite *bool
	}
}) (*userRes, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	in := args.Input
	role := user.RoleUser
	if in.Role != nil {
		var err error
		if role, err = user.ParseRole(*in.Role); err != nil {
			return nil, err
		}
	}
	name := in.Username
	if in.Name != nil && *in.Name != "" {
		name = *in.Name
	}
	id, res, err := r.d.Commands.CreateUser(ctx, commands.CreateUser{
		Name: name, Email: deref(in.Email), Role: role, Username: in.Username, Password: in.Password,
	})
	if err != nil {
		return nil, err
	}
	if err := r.wait(ctx, res); err != nil {
		return nil, err
	}
	return r.User(ctx, struct{ ID *graphql.ID }{ptrID(id)})
}

func ptrID(s string) *graphql.ID { id := graphql.ID(s); return &id }

func (r *resolver) UpdateUser(ctx context.Context, args struct {
	Input struct {
		ID                          graphql.ID
		Name                        *string
		Email                       *string
		Role                        *string
		StatusUpdateContactMethodID *graphql.ID
	}
}) (bool, error) {
	in := args.Input
	p := principal(ctx)
	if string(in.ID) != p.UserID && !p.IsAdmin() {
		return false, domain.Forbidden("not_your_user", "only an admin may change another user")
	}
	var role *user.Role
	if in.Role != nil {
		if !p.IsAdmin() {
			return false, errAdminOnly
		}
		r, err := user.ParseRole(*in.Role)
		if err != nil {
			return false, err
		}
		role = &r
	}
	if in.StatusUpdateContactMethodID != nil {
		return false, domain.FieldError("statusUpdateContactMethodID", "the user has no contact method with that id")
	}
	res, err := r.d.Commands.UpdateUser(ctx, string(in.ID), in.Name, in.Email, role)
	if err != nil {
		return false, err
	}
	return true, r.wait(ctx, res)
}

// DeleteAll deletes each target in order; it stops at the first error.
func (r *resolver) DeleteAll(ctx context.Context, args struct{ Input *[]targetInput }) (bool, error) {
	if args.Input == nil {
		return true, nil
	}
	var last commands.Result
	for i, t := range *args.Input {
		var res commands.Result
		var err error
		switch t.Type {
		case "service":
			res, err = r.d.Commands.DeleteService(ctx, string(t.ID))
		case "integrationKey":
			res, err = r.d.Commands.DeleteIntegrationKey(ctx, string(t.ID))
		case "user":
			if err = requireAdmin(ctx); err == nil {
				res, err = r.d.Commands.DeleteUser(ctx, string(t.ID))
			}
		case "contactMethod":
			res, err = r.deleteContactMethod(ctx, string(t.ID))
		case "notificationRule":
			res, err = r.deleteRule(ctx, string(t.ID))
		case "escalationPolicy":
			res, err = r.d.Commands.DeletePolicy(ctx, string(t.ID))
		case "heartbeatMonitor":
			res, err = r.d.Commands.DeleteHeartbeatMonitor(ctx, string(t.ID))
		case "rotation":
			res, err = r.d.Commands.DeleteRotation(ctx, string(t.ID))
		case "schedule":
			res, err = r.d.Commands.DeleteSchedule(ctx, string(t.ID))
		case "userOverride":
			res, err = r.d.Commands.DeleteUserOverride(ctx, string(t.ID))
		case "calendarSubscription":
			res, err = r.deleteCalendarSubscription(ctx, string(t.ID))
		default:
			err = domain.FieldErrorf("input", "deleting a %s is not possible here", t.Type)
		}
		if err != nil {
			return false, fmt.Errorf("target %d (%s %s): %w", i, t.Type, t.ID, err)
		}
		last = res
	}
	return true, r.wait(ctx, last)
}

func (r *resolver) SetSystemLimits(ctx context.Context, args struct {
	Input []struct {
		ID    string
		Value int32
	}
}) (bool, error) {
	if err := requireAdmin(ctx); err != nil {
		return false, err
	}
	byName := map[string]limits.ID{}
	for id, n := range limitNames {
		byName[n] = id
	}
	// Check every value first, so a bad one changes nothing.
	for _, l := range args.Input {
		if _, err := limits.Set(byName[l.ID], int(l.Value)); err != nil {
			return false, fmt.Errorf("%s: %w", l.ID, err)
		}
	}
	var last commands.Result
	for _, l := range args.Input {
		res, err := r.d.Commands.SetSystemLimit(ctx, string(byName[l.ID]), int(l.Value))
		if err != nil {
			return false, fmt.Errorf("%s: %w", l.ID, err)
		}
		last = res
	}
	return true, r.wait(ctx, last)
}
