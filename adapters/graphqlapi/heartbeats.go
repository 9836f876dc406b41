package graphqlapi

// Heartbeat monitors: a service's check-in URLs that raise an alert when
// no check-in arrives within the timeout.

import (
	"context"
	"errors"
	"net/url"
	"sync"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/projections/paging"
)

func (r *resolver) HeartbeatMonitor(ctx context.Context, args struct{ ID graphql.ID }) (*heartbeatRes, error) {
	h, err := r.d.Paging.Heartbeat(ctx, string(args.ID))
	if errors.Is(err, paging.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &heartbeatRes{h: h, r: r}, nil
}

type heartbeatInput struct {
	ServiceID         *graphql.ID
	Name              string
	TimeoutMinutes    int32
	AdditionalDetails *string
}

func (r *resolver) createHeartbeat(ctx context.Context, serviceID string, in heartbeatInput) (string, commands.Result, error) {
	return r.d.Commands.CreateHeartbeatMonitor(ctx, serviceID, in.Name, int(in.TimeoutMinutes), deref(in.AdditionalDetails))
}

func (r *resolver) CreateHeartbeatMonitor(ctx context.Context, args struct{ Input heartbeatInput }) (*heartbeatRes, error) {
	in := args.Input
	if in.ServiceID == nil {
		return nil, domain.FieldError("serviceID", "is required")
	}
	id, res, err := r.createHeartbeat(ctx, string(*in.ServiceID), in)
	if err != nil {
		return nil, err
	}
	if err := r.wait(ctx, res); err != nil {
		return nil, err
	}
	return r.HeartbeatMonitor(ctx, struct{ ID graphql.ID }{graphql.ID(id)})
}

func (r *resolver) UpdateHeartbeatMonitor(ctx context.Context, args struct {
	Input struct {
		ID                graphql.ID
		Name              *string
		TimeoutMinutes    *int32
		AdditionalDetails *string
		Muted             *string
	}
}) (bool, error) {
	in := args.Input
	u := commands.HeartbeatUpdate{Name: in.Name, AdditionalDetails: in.AdditionalDetails, MutedReason: in.Muted}
	if in.TimeoutMinutes != nil {
		n := int(*in.TimeoutMinutes)
		u.TimeoutMinutes = &n
	}
	res, err := r.d.Commands.UpdateHeartbeatMonitor(ctx, string(in.ID), u)
	if err != nil {
		return false, err
	}
	return true, r.wait(ctx, res)
}

func (s *serviceRes) HeartbeatMonitors(ctx context.Context) ([]*heartbeatRes, error) {
	hs, err := s.r.d.Paging.Heartbeats(ctx, s.s.ID)
	if err != nil {
		return nil, err
	}
	out := make([]*heartbeatRes, len(hs))
	for i, h := range hs {
		out[i] = &heartbeatRes{h: h, r: s.r}
	}
	return out, nil
}

type heartbeatRes struct {
	h paging.Heartbeat
	r *resolver

	// The live state is read once, for lastState and lastHeartbeat.
	once  sync.Once
	state commands.HeartbeatStatus
	err   error
}

func (h *heartbeatRes) ID() graphql.ID            { return graphql.ID(h.h.ID) }
func (h *heartbeatRes) ServiceID() graphql.ID     { return graphql.ID(h.h.ServiceID) }
func (h *heartbeatRes) Name() string              { return h.h.Name }
func (h *heartbeatRes) TimeoutMinutes() int32     { return int32(h.h.TimeoutMinutes) }
func (h *heartbeatRes) AdditionalDetails() string { return h.h.AdditionalDetails }
func (h *heartbeatRes) Muted() string             { return h.h.MutedReason }

// Href is the check-in URL; the monitor's id is its secret.
func (h *heartbeatRes) Href() string {
	return h.r.d.PublicURL + "/api/v2/heartbeat/" + url.PathEscape(h.h.ID)
}

// live reads the monitor's state as the engine keeps it: check-ins are
// not events, so the read model has no last check-in time.
func (h *heartbeatRes) live(ctx context.Context) (commands.HeartbeatStatus, error) {
	h.once.Do(func() {
		h.state, h.err = h.r.d.Commands.HeartbeatState(ctx, h.h.ID)
		if errors.Is(h.err, commands.ErrHeartbeatNotFound) {
			h.state, h.err = commands.HeartbeatStatus{State: h.h.LastState}, nil
		}
	})
	return h.state, h.err
}

func (h *heartbeatRes) LastState(ctx context.Context) (string, error) {
	s, err := h.live(ctx)
	if err != nil {
		return "", err
	}
	return s.State, nil
}

func (h *heartbeatRes) LastHeartbeat(ctx context.Context) (*Timestamp, error) {
	s, err := h.live(ctx)
	if err != nil || s.LastBeat == nil {
		return nil, err
	}
	t := ts(*s.LastBeat)
	return &t, nil
}
