package graphqlapi

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/limits"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/projections/alerts"
	"github.com/oncallhq/goalert/projections/services"
	"github.com/oncallhq/goalert/projections/users"
)

type resolver struct{ d Deps }

var errAdminOnly = domain.Forbidden("admin_only", "only an admin may do this")

func principal(ctx context.Context) user.Principal {
	p, _ := user.PrincipalFrom(ctx)
	return p
}

func requireAdmin(ctx context.Context) error {
	if !principal(ctx).IsAdmin() {
		return errAdminOnly
	}
	return nil
}

// wait makes a mutation's result show its own writes.
func (r *resolver) wait(ctx context.Context, res commands.Result) error {
	if !res.Wrote() {
		return nil
	}
	if err := r.d.WaitFor(ctx, res.Last); err != nil {
		return fmt.Errorf("wait for read models: %w", err)
	}
	return nil
}

// ----- queries -----

func (r *resolver) User(ctx context.Context, args struct{ ID *graphql.ID }) (*userRes, error) {
	id := principal(ctx).UserID
	if args.ID != nil {
		id = string(*args.ID)
	}
	u, err := r.d.Users.ByID(ctx, id)
	if errors.Is(err, users.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &userRes{u, r}, nil
}

type userSearch struct {
	First  int32
	After  string
	Search string
	Omit   *[]graphql.ID
}

func (r *resolver) Users(ctx context.Context, args struct {
	Input  *userSearch
	First  int32
	After  string
	Search string
}) (*userConn, error) {
	opts := userSearch{First: args.First, After: args.After, Search: args.Search}
	if args.Input != nil {
		opts = *args.Input
	}
	limit := pageSize(opts.First)
	// The cursor is the last user's name and id: names are not unique.
	afterName, afterID, _ := strings.Cut(decodeCursor(opts.After), "\x00")
	list, err := r.d.Users.Search(ctx, opts.Search, afterName, afterID, limit+1+omitCount(opts.Omit))
	if err != nil {
		return nil, err
	}
	c := &userConn{}
	for _, u := range list {
		if omitted(opts.Omit, u.ID) {
			continue
		}
		if len(c.nodes) == limit {
			last := c.nodes[len(c.nodes)-1].u
			c.page = pageInfo{cursor: encodeCursor(last.Name + "\x00" + last.ID), more: true}
			break
		}
		c.nodes = append(c.nodes, &userRes{u, r})
	}
	return c, nil
}

func (r *resolver) Alert(ctx context.Context, args struct{ ID int32 }) (*alertRes, error) {
	a, err := r.d.Alerts.Get(ctx, int64(args.ID))
	if errors.Is(err, alerts.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &alertRes{a, r}, nil
}

type alertSearch struct {
	FilterByStatus    *[]string
	FilterByServiceID *[]graphql.ID
	Search            string
	First             int32
	After             string
	FavoritesOnly     bool
	IncludeNotified   bool
	Omit              *[]int32
}

func (r *resolver) Alerts(ctx context.Context, args struct{ Input *alertSearch }) (*alertConn, error) {
	in := alertSearch{First: 15}
	if args.Input != nil {
		in = *args.Input
	}
	// Empty, not nil, slices: the reader's query treats an empty list as
	// "all", but a nil slice reaches Postgres as NULL and matches nothing.
	limit := pageSize(in.First)
	f := alerts.Filter{Search: strings.TrimSpace(in.Search), Statuses: []string{}, ServiceIDs: []string{}}
	if in.FilterByStatus != nil {
		for _, s := range *in.FilterByStatus {
			f.Statuses = append(f.Statuses, statusOf[s])
		}
	}
	if in.FilterByServiceID != nil {
		for _, id := range *in.FilterByServiceID {
			f.ServiceIDs = append(f.ServiceIDs, string(id))
		}
	}
	if in.After != "" {
		f.BeforeID, _ = strconv.ParseInt(decodeCursor(in.After), 10, 64)
	}
	omit := map[int64]bool{}
	if in.Omit != nil {
		for _, id := range *in.Omit {
			omit[int64(id)] = true
		}
	}
	// One row past the page tells whether there is a next page; omitted
	// alerts may take up to len(omit) more.
	f.Limit = limit + 1 + len(omit)
	list, err := r.d.Alerts.List(ctx, f)
	if err != nil {
		return nil, err
	}
	c := &alertConn{}
	for _, a := range list {
		if omit[a.ID] {
			continue
		}
		if len(c.nodes) == limit {
			c.page = pageInfo{cursor: encodeCursor(strconv.FormatInt(c.nodes[len(c.nodes)-1].a.ID, 10)), more: true}
			break
		}
		c.nodes = append(c.nodes, &alertRes{a, r})
	}
	return c, nil
}

func (r *resolver) serviceByID(ctx context.Context, id string) (*serviceRes, error) {
	s, err := r.d.Services.Get(ctx, id)
	if errors.Is(err, services.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &serviceRes{s, r}, nil
}

func (r *resolver) Service(ctx context.Context, args struct{ ID graphql.ID }) (*serviceRes, error) {
	return r.serviceByID(ctx, string(args.ID))
}

func (r *resolver) Services(ctx context.Context, args struct{ Input *nameSearch }) (*serviceConn, error) {
	list, page, err := byName(args.Input, func(search, after string, limit int) ([]services.Service, error) {
		return r.d.Services.Search(ctx, search, after, limit)
	}, func(v services.Service) string { return v.ID }, func(v services.Service) string { return v.Name })
	if err != nil {
		return nil, err
	}
	c := &serviceConn{page: page}
	for _, s := range list {
		c.nodes = append(c.nodes, &serviceRes{s, r})
	}
	return c, nil
}

func (r *resolver) IntegrationKey(ctx context.Context, args struct{ ID graphql.ID }) (*keyRes, error) {
	k, err := r.d.Services.Key(ctx, string(args.ID))
	if errors.Is(err, services.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &keyRes{k, r}, nil
}

// Limit ids as GraphQL names them.
var limitNames = map[limits.ID]string{
	limits.CalendarSubscriptionsPerUser: "CalendarSubscriptionsPerUser",
	limits.NotificationRulesPerUser:     "NotificationRulesPerUser",
	limits.ContactMethodsPerUser:        "ContactMethodsPerUser",
	limits.EPStepsPerPolicy:             "EPStepsPerPolicy",
	limits.EPActionsPerStep:             "EPActionsPerStep",
	limits.ParticipantsPerRotation:      "ParticipantsPerRotation",
	limits.RulesPerSchedule:             "RulesPerSchedule",
	limits.IntegrationKeysPerService:    "IntegrationKeysPerService",
	limits.UnackedAlertsPerService:      "UnackedAlertsPerService",
	limits.TargetsPerSchedule:           "TargetsPerSchedule",
	limits.HeartbeatMonitorsPerService:  "HeartbeatMonitorsPerService",
	limits.UserOverridesPerSchedule:     "UserOverridesPerSchedule",
}

func (r *resolver) SystemLimits(ctx context.Context) ([]systemLimit, error) {
	cur, err := r.d.Commands.SystemLimits(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]systemLimit, 0, len(cur))
	for id, v := range cur {
		out = append(out, systemLimit{id: limitNames[id], desc: "Maximum " + strings.ReplaceAll(string(id), "_", " ") + " (-1 for no limit).", value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// omitCount is how many rows omit may skip: a page fetches that many more
// so that omitted rows do not cut it short or hide the next page.
func omitCount(omit *[]graphql.ID) int {
	if omit == nil {
		return 0
	}
	return len(*omit)
}

func omitted(omit *[]graphql.ID, id string) bool {
	if omit == nil {
		return false
	}
	for _, o := range *omit {
		if string(o) == id {
			return true
		}
	}
	return false
}
