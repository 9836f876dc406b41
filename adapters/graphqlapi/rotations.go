package graphqlapi

// Rotations: participants taking turns on call, handing off on the wall
// clock of the rotation's zone. Any signed-in user may read and change
// them, as in GoAlert.

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/rotation"
	"github.com/oncallhq/goalert/projections/oncall"
)

// Hand-off previews and lists, as GoAlert bounds them.
const (
	maxHandoffPreview = 20
	maxNextHandoffs   = 50
)

func (r *resolver) now() time.Time { return r.d.Commands.Clock().Now() }

func (r *resolver) rotationByID(ctx context.Context, id string) (*rotationRes, error) {
	rot, err := r.d.OnCall.Rotation(ctx, id)
	if errors.Is(err, oncall.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &rotationRes{rot, r}, nil
}

func (r *resolver) Rotation(ctx context.Context, args struct{ ID graphql.ID }) (*rotationRes, error) {
	return r.rotationByID(ctx, string(args.ID))
}

// nameSearch is the search input of lists ordered by a name that is
// unique regardless of case: services, policies, rotations, schedules.
type nameSearch struct {
	First          int32
	After          string
	Search         string
	Omit           *[]graphql.ID
	FavoritesOnly  bool
	FavoritesFirst bool
}

// byName returns one page of a name-ordered search: fetch is asked for a
// page and one more (plus room for the omitted ids), and the cursor is the
// last name shown.
func byName[T any](in *nameSearch, fetch func(search, after string, limit int) ([]T, error), id, name func(T) string) ([]T, pageInfo, error) {
	q := nameSearch{First: 15}
	if in != nil {
		q = *in
	}
	limit := pageSize(q.First)
	list, err := fetch(q.Search, decodeCursor(q.After), limit+1+omitCount(q.Omit))
	if err != nil {
		return nil, pageInfo{}, err
	}
	var out []T
	for _, v := range list {
		if omitted(q.Omit, id(v)) {
			continue
		}
		if len(out) == limit {
			return out, pageInfo{cursor: encodeCursor(name(out[len(out)-1])), more: true}, nil
		}
		out = append(out, v)
	}
	return out, pageInfo{}, nil
}

// Rotations lists rotations by name; the cursor is the last rotation's
// name, which is unique regardless of case.
func (r *resolver) Rotations(ctx context.Context, args struct{ Input *nameSearch }) (*rotationConn, error) {
	list, page, err := byName(args.Input, func(search, after string, limit int) ([]oncall.Rotation, error) {
		return r.d.OnCall.Rotations(ctx, search, after, limit)
	}, func(v oncall.Rotation) string { return v.ID }, func(v oncall.Rotation) string { return v.Name })
	if err != nil {
		return nil, err
	}
	c := &rotationConn{page: page}
	for _, rot := range list {
		c.nodes = append(c.nodes, &rotationRes{rot, r})
	}
	return c, nil
}

type rotationInput struct {
	Name        string
	Description *string
	TimeZone    string
	Start       Timestamp
	Favorite    *bool
	Type        string
	ShiftLength int32
	UserIDs     *[]graphql.ID
}

func (r *resolver) createRotation(ctx context.Context, in rotationInput) (string, commands.Result, error) {
	return r.d.Commands.CreateRotation(ctx, commands.CreateRotation{
		Name: in.Name, Description: deref(in.Description), Type: in.Type, ShiftLength: int(in.ShiftLength),
		Start: in.Start.Time, TimeZone: in.TimeZone, UserIDs: ids(in.UserIDs),
	})
}

func (r *resolver) CreateRotation(ctx context.Context, args struct{ Input rotationInput }) (*rotationRes, error) {
	id, res, err := r.createRotation(ctx, args.Input)
	if err != nil {
		return nil, err
	}
	if err := r.wait(ctx, res); err != nil {
		return nil, err
	}
	return r.rotationByID(ctx, id)
}

// UpdateRotation changes what is given in one command: settings, then
// participants, then the active participant.
func (r *resolver) UpdateRotation(ctx context.Context, args struct {
	Input struct {
		ID              graphql.ID
		Name            *string
		Description     *string
		TimeZone        *string
		Start           *Timestamp
		Type            *string
		ShiftLength     *int32
		ActiveUserIndex *int32
		UserIDs         *[]graphql.ID
	}
}) (bool, error) {
	in := args.Input
	u := commands.UpdateRotation{ID: string(in.ID), Name: in.Name, Description: in.Description, Type: in.Type, TimeZone: in.TimeZone}
	if in.Start != nil {
		u.Start = &in.Start.Time
	}
	if in.ShiftLength != nil {
		n := int(*in.ShiftLength)
		u.ShiftLength = &n
	}
	if in.UserIDs != nil {
		u.UserIDs = ids(in.UserIDs)
	}
	if in.ActiveUserIndex != nil {
		n := int(*in.ActiveUserIndex)
		u.ActiveUserIndex = &n
	}
	res, err := r.d.Commands.UpdateRotation(ctx, u)
	if err != nil {
		return false, err
	}
	return true, r.wait(ctx, res)
}

// CalcRotationHandoffTimes previews hand-offs without a rotation, as
// GoAlert's rotation form does.
func (r *resolver) CalcRotationHandoffTimes(args struct {
	Input *struct {
		Handoff          Timestamp
		From             *Timestamp
		TimeZone         string
		ShiftLength      *Duration
		ShiftLengthHours *int32
		Count            int32
	}
}) ([]Timestamp, error) {
	if args.Input == nil {
		return nil, domain.FieldError("input", "is required")
	}
	in := args.Input
	if in.Count < 0 || in.Count > maxHandoffPreview {
		return nil, domain.FieldErrorf("count", "must be between 0 and %d", maxHandoffPreview)
	}
	zone, err := time.LoadLocation(in.TimeZone)
	if in.TimeZone == "" || err != nil {
		return nil, domain.FieldErrorf("timeZone", "unknown time zone %q", in.TimeZone)
	}
	rot := rotation.Rotation{Start: in.Handoff.Time, Zone: zone}
	switch {
	case in.ShiftLength != nil && in.ShiftLengthHours != nil:
		return nil, domain.FieldError("shiftLength", "give shiftLength or shiftLengthHours, not both")
	case in.ShiftLength != nil:
		if rot.Type, rot.ShiftLength, err = in.ShiftLength.shift(); err != nil {
			return nil, err
		}
	case in.ShiftLengthHours != nil:
		rot.Type, rot.ShiftLength = rotation.Hourly, int(*in.ShiftLengthHours)
	default:
		return nil, domain.FieldError("shiftLength", "is required")
	}
	if err := rot.Validate(-1); err != nil {
		return nil, err
	}
	from := r.now()
	if in.From != nil {
		from = in.From.Time
	}
	return timestamps(rot.HandoffTimes(from, int(in.Count))), nil
}

func timestamps(ts []time.Time) []Timestamp {
	out := make([]Timestamp, len(ts))
	for i, t := range ts {
		out[i] = Timestamp{t}
	}
	return out
}

// ids turns an optional list of ids into strings; nil stays nil.
func ids(in *[]graphql.ID) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(*in))
	for i, id := range *in {
		out[i] = string(id)
	}
	return out
}

type rotationRes struct {
	rot oncall.Rotation
	r   *resolver
}

func (x *rotationRes) ID() graphql.ID         { return graphql.ID(x.rot.ID) }
func (x *rotationRes) Name() string           { return x.rot.Name }
func (x *rotationRes) Description() string    { return x.rot.Description }
func (x *rotationRes) IsFavorite() bool       { return false }
func (x *rotationRes) Start() Timestamp       { return ts(x.rot.Start) }
func (x *rotationRes) TimeZone() string       { return x.rot.TimeZone }
func (x *rotationRes) Type() string           { return x.rot.Type }
func (x *rotationRes) ShiftLength() int32     { return int32(x.rot.ShiftLength) }
func (x *rotationRes) ActiveUserIndex() int32 { return int32(x.rot.ActiveIndexAt(x.r.now())) }

func (x *rotationRes) UserIDs() []graphql.ID {
	out := make([]graphql.ID, len(x.rot.Participants))
	for i, id := range x.rot.Participants {
		out[i] = graphql.ID(id)
	}
	return out
}

// Users are the participants in hand-off order; users deleted since are
// left out.
func (x *rotationRes) Users(ctx context.Context) ([]*userRes, error) {
	out := make([]*userRes, 0, len(x.rot.Participants))
	for _, id := range x.rot.Participants {
		u, err := x.r.userByID(ctx, id)
		if err != nil {
			return nil, err
		}
		if u != nil {
			out = append(out, u)
		}
	}
	return out, nil
}

func (x *rotationRes) NextHandoffTimes(args struct{ Num *int32 }) ([]Timestamp, error) {
	n := min(len(x.rot.Participants), maxNextHandoffs)
	if args.Num != nil {
		n = int(*args.Num)
	}
	if n < 0 || n > maxNextHandoffs {
		return nil, domain.FieldErrorf("num", "must be between 0 and %d", maxNextHandoffs)
	}
	now := x.r.now()
	if x.rot.ActiveIndexAt(now) < 0 {
		return []Timestamp{}, nil
	}
	return timestamps(x.rot.NextHandoffTimes(now, n)), nil
}

type rotationConn struct {
	nodes []*rotationRes
	page  pageInfo
}

func (c *rotationConn) Nodes() []*rotationRes { return c.nodes }
func (c *rotationConn) PageInfo() pageInfo    { return c.page }

// Duration is the ISODuration scalar, limited to what rotations use:
// years, months, weeks, days and hours.
type Duration struct{ Years, Months, Weeks, Days, Hours int }

func (Duration) ImplementsGraphQLType(name string) bool { return name == "ISODuration" }

var isoDuration = regexp.MustCompile(`^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?)?$`)

func (d *Duration) UnmarshalGraphQL(input any) error {
	s, ok := input.(string)
	if !ok {
		return fmt.Errorf("ISODuration must be a string, got %T", input)
	}
	m := isoDuration.FindStringSubmatch(s)
	if m == nil || s == "P" || s[len(s)-1] == 'T' {
		return fmt.Errorf("ISODuration %q is not a duration of years, months, weeks, days and hours like P1W or PT8H", s)
	}
	parts := []*int{&d.Years, &d.Months, &d.Weeks, &d.Days, &d.Hours}
	for i, p := range parts {
		if m[i+1] == "" {
			*p = 0
			continue
		}
		n, err := strconv.Atoi(m[i+1])
		if err != nil {
			return fmt.Errorf("ISODuration %q: %w", s, err)
		}
		*p = n
	}
	return nil
}

// shift is the rotation type and shift length of d, which must have
// exactly one of months, weeks, days and hours, as in GoAlert.
func (d Duration) shift() (rotation.Type, int, error) {
	if d.Years != 0 {
		return "", 0, domain.FieldError("shiftLength", "years are not allowed; use months")
	}
	var typ rotation.Type
	var n, set int
	for _, p := range []struct {
		n   int
		typ rotation.Type
	}{{d.Months, rotation.Monthly}, {d.Weeks, rotation.Weekly}, {d.Days, rotation.Daily}, {d.Hours, rotation.Hourly}} {
		if p.n != 0 {
			typ, n = p.typ, p.n
			set++
		}
	}
	switch set {
	case 0:
		return "", 0, domain.FieldError("shiftLength", "must not be zero")
	case 1:
		return typ, n, nil
	}
	return "", 0, domain.FieldError("shiftLength", "give only one of months, weeks, days or hours")
}
