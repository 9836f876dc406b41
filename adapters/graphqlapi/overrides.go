package graphqlapi

// User overrides: a user added to, removed from or replacing another on a
// schedule for a while. Any signed-in user may create them, as in GoAlert.

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/projections/oncall"
)

type overrideInput struct {
	ScheduleID   *graphql.ID
	Start, End   Timestamp
	AddUserID    *graphql.ID
	RemoveUserID *graphql.ID
}

func idOrEmpty(id *graphql.ID) string {
	if id == nil {
		return ""
	}
	return string(*id)
}

func (r *resolver) createOverride(ctx context.Context, scheduleID string, in overrideInput) (string, commands.Result, error) {
	return r.d.Commands.CreateUserOverride(ctx, commands.CreateUserOverride{ScheduleID: scheduleID, Start: in.Start.Time, End: in.End.Time,
		AddUserID: idOrEmpty(in.AddUserID), RemoveUserID: idOrEmpty(in.RemoveUserID)})
}

func (r *resolver) CreateUserOverride(ctx context.Context, args struct{ Input overrideInput }) (*overrideRes, error) {
	in := args.Input
	if in.ScheduleID == nil {
		return nil, domain.FieldError("scheduleID", "is required")
	}
	id, res, err := r.createOverride(ctx, string(*in.ScheduleID), in)
	if err != nil {
		return nil, err
	}
	if err := r.wait(ctx, res); err != nil {
		return nil, err
	}
	return r.overrideByID(ctx, id)
}

func (r *resolver) overrideByID(ctx context.Context, id string) (*overrideRes, error) {
	o, err := r.d.OnCall.Override(ctx, id)
	if errors.Is(err, oncall.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &overrideRes{o, r}, nil
}

func (r *resolver) UserOverride(ctx context.Context, args struct{ ID graphql.ID }) (*overrideRes, error) {
	return r.overrideByID(ctx, string(args.ID))
}

type overrideSearch struct {
	First              int32
	After              string
	Omit               *[]graphql.ID
	ScheduleID         *graphql.ID
	FilterAddUserID    *[]graphql.ID
	FilterRemoveUserID *[]graphql.ID
	FilterAnyUserID    *[]graphql.ID
	Start, End         *Timestamp
}

// matches applies the user filters; each given filter must hold.
func (in overrideSearch) matches(o oncall.Override) bool {
	has := func(list *[]graphql.ID, ids ...string) bool {
		if list == nil {
			return true
		}
		for _, id := range ids {
			if id != "" && slices.Contains(*list, graphql.ID(id)) {
				return true
			}
		}
		return false
	}
	return has(in.FilterAddUserID, o.AddUserID) && has(in.FilterRemoveUserID, o.RemoveUserID) &&
		has(in.FilterAnyUserID, o.AddUserID, o.RemoveUserID) && !omitted(in.Omit, o.ID)
}

// overrideCursor is an override's place in the order overrides are
// listed in: by start, then id.
func overrideCursor(o oncall.Override) string {
	return o.Start.UTC().Format(time.RFC3339Nano) + "\x00" + o.ID
}

// UserOverrides lists overrides by start, then id.
func (r *resolver) UserOverrides(ctx context.Context, args struct{ Input *overrideSearch }) (*overrideConn, error) {
	in := overrideSearch{First: 15}
	if args.Input != nil {
		in = *args.Input
	}
	limit := pageSize(in.First)
	f := oncall.OverrideFilter{ScheduleID: idOrEmpty(in.ScheduleID)}
	if in.Start != nil {
		f.Start = in.Start.Time
	}
	if in.End != nil {
		f.End = in.End.Time
	}
	list, err := r.d.OnCall.Overrides(ctx, f)
	if err != nil {
		return nil, err
	}
	after := decodeCursor(in.After)
	c := &overrideConn{nodes: []*overrideRes{}}
	for _, o := range list {
		if !in.matches(o) || (after != "" && compareCursor(overrideCursor(o), after) <= 0) {
			continue
		}
		if len(c.nodes) == limit {
			c.page = pageInfo{cursor: encodeCursor(overrideCursor(c.nodes[len(c.nodes)-1].o)), more: true}
			break
		}
		c.nodes = append(c.nodes, &overrideRes{o, r})
	}
	return c, nil
}

// compareCursor orders override cursors as the reader orders overrides:
// RFC 3339 in UTC with nanoseconds trimmed does not sort as text, so the
// time is compared as a time.
func compareCursor(a, b string) int {
	at, aid, _ := strings.Cut(a, "\x00")
	bt, bid, _ := strings.Cut(b, "\x00")
	ta, _ := time.Parse(time.RFC3339Nano, at)
	tb, _ := time.Parse(time.RFC3339Nano, bt)
	if c := ta.Compare(tb); c != 0 {
		return c
	}
	return strings.Compare(aid, bid)
}

type overrideRes struct {
	o oncall.Override
	r *resolver
}

func (x *overrideRes) ID() graphql.ID           { return graphql.ID(x.o.ID) }
func (x *overrideRes) Start() Timestamp         { return ts(x.o.Start) }
func (x *overrideRes) End() Timestamp           { return ts(x.o.End) }
func (x *overrideRes) AddUserID() graphql.ID    { return graphql.ID(x.o.AddUserID) }
func (x *overrideRes) RemoveUserID() graphql.ID { return graphql.ID(x.o.RemoveUserID) }
func (x *overrideRes) Target() targetRes        { return x.r.entityTarget("schedule", x.o.ScheduleID) }

func (x *overrideRes) AddUser(ctx context.Context) (*userRes, error) {
	if x.o.AddUserID == "" {
		return nil, nil
	}
	return x.r.userByID(ctx, x.o.AddUserID)
}

func (x *overrideRes) RemoveUser(ctx context.Context) (*userRes, error) {
	if x.o.RemoveUserID == "" {
		return nil, nil
	}
	return x.r.userByID(ctx, x.o.RemoveUserID)
}

type overrideConn struct {
	nodes []*overrideRes
	page  pageInfo
}

func (c *overrideConn) Nodes() []*overrideRes { return c.nodes }
func (c *overrideConn) PageInfo() pageInfo    { return c.page }
