package rotation

import (
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/events"
)

// Errors of the rotation aggregate.
var (
	ErrNotFound  = domain.NotFound("rotation_not_found", "rotation not found")
	ErrNameTaken = domain.Conflict("rotation_name_taken", "a rotation with this name already exists")
)

// Stream returns the stream id of rotation id.
func Stream(id string) string { return events.StreamID("rotation", id) }

// Settings are the fields of a rotation an admin edits, apart from its
// participants.
type Settings struct {
	Name        string
	Description string
	Type        Type
	ShiftLength int
	// Start anchors the hand-off grid; it is kept to the minute.
	Start time.Time
	// TimeZone is an IANA zone name ("Europe/Berlin").
	TimeZone string
}

// Aggregate is a rotation as its history tells it: name, hand-off
// definition and who is on call.
type Aggregate struct {
	id, name, description string
	zoneName              string
	def                   Rotation
	anchor                Anchor
	deleted               bool
}

// FromHistory rebuilds a rotation from its events; nil when there are none.
func FromHistory(evs []events.Event) *Aggregate {
	var a *Aggregate
	for _, e := range evs {
		if a == nil {
			a = &Aggregate{}
		}
		a.Apply(e)
	}
	return a
}

// AsOf rebuilds the rotation as it stood at t from its events and when each
// occurred (at[i] for evs[i], in order): events after t are left out, so a
// later change never alters the answer. nil when it did not exist yet.
func AsOf(evs []events.Event, at []time.Time, t time.Time) *Aggregate {
	n := 0
	for n < len(evs) && n < len(at) && !at[n].After(t) {
		n++
	}
	return FromHistory(evs[:n])
}

// Apply folds one event into a. Every rotation event carries the whole
// definition, so applying one never depends on what came before.
func (a *Aggregate) Apply(e events.Event) {
	switch e := e.(type) {
	case events.RotationCreated:
		a.id, a.name, a.description = e.RotationID, e.Name, e.Description
		a.setDefinition(e.RotationDefinition)
	case events.RotationUpdated:
		a.name, a.description = e.Name, e.Description
		a.setDefinition(e.RotationDefinition)
	case events.RotationParticipantsSet:
		a.setDefinition(e.RotationDefinition)
	case events.RotationActiveSet:
		a.setDefinition(e.RotationDefinition)
	case events.RotationDeleted:
		a.deleted = true
	}
}

func (a *Aggregate) setDefinition(d events.RotationDefinition) {
	a.zoneName = d.TimeZone
	a.def = Rotation{
		Type: Type(d.Type), ShiftLength: d.ShiftLength, Start: d.Start,
		Zone: loadZone(d.TimeZone), Participants: slices.Clone(d.Participants),
	}
	a.anchor = Anchor{Index: d.ActiveIndex, At: d.ActiveAt}
}

// loadZone returns the zone named name. Names are checked when a decision
// records them; one this build no longer knows falls back to UTC, since
// replaying history must not fail.
func loadZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Exists reports whether a is a live rotation.
func (a *Aggregate) Exists() bool { return a != nil && a.id != "" && !a.deleted }

func (a *Aggregate) ID() string          { return a.id }
func (a *Aggregate) Name() string        { return a.name }
func (a *Aggregate) Description() string { return a.description }

// TimeZone returns the name of the rotation's zone.
func (a *Aggregate) TimeZone() string { return a.zoneName }

// Definition returns the hand-off definition; the caller may modify the
// copy it gets.
func (a *Aggregate) Definition() Rotation {
	d := a.def
	d.Participants = slices.Clone(d.Participants)
	return d
}

// Anchor returns who was on call at the last change.
func (a *Aggregate) Anchor() Anchor { return a.anchor }

// Settings returns the rotation's editable fields.
func (a *Aggregate) Settings() Settings {
	return Settings{Name: a.name, Description: a.description, Type: a.def.Type, ShiftLength: a.def.ShiftLength,
		Start: a.def.Start, TimeZone: a.zoneName}
}

// ActiveIndexAt returns the position of the participant on call at t, or
// NoParticipant.
func (a *Aggregate) ActiveIndexAt(t time.Time) int {
	if !a.Exists() {
		return NoParticipant
	}
	return a.def.ActiveAt(a.anchor.Index, a.anchor.At, t)
}

// OnCallAt returns the user on call at t, or "" when nobody is.
func (a *Aggregate) OnCallAt(t time.Time) string {
	if i := a.ActiveIndexAt(t); i != NoParticipant {
		return a.def.Participants[i]
	}
	return ""
}

// Shifts returns who is on call from from until to, as Rotation.Shifts
// does; nil for a deleted rotation.
func (a *Aggregate) Shifts(from, to time.Time) []Shift {
	if !a.Exists() {
		return nil
	}
	return a.def.Shifts(a.anchor.Index, a.anchor.At, from, to)
}

// checkSettings validates s and returns it normalized (name trimmed, start
// to the minute in UTC) with its zone.
func checkSettings(s Settings) (Settings, *time.Location, error) {
	var errs []error
	s.Name = strings.TrimSpace(s.Name)
	switch {
	case s.Name == "":
		errs = append(errs, domain.FieldError("name", "must not be empty"))
	case utf8.RuneCountInString(s.Name) > 255:
		errs = append(errs, domain.FieldError("name", "must be at most 255 characters"))
	}
	if utf8.RuneCountInString(s.Description) > 255 {
		errs = append(errs, domain.FieldError("description", "must be at most 255 characters"))
	}
	// A bad zone is reported here; UTC stands in so that Validate does not
	// report it again.
	zone := time.UTC
	if s.TimeZone == "" {
		errs = append(errs, domain.FieldError("timeZone", "must be set"))
	} else if loc, err := time.LoadLocation(s.TimeZone); err != nil {
		errs = append(errs, domain.FieldErrorf("timeZone", "unknown time zone %q", s.TimeZone))
	} else {
		zone = loc
	}
	s.Start = s.Start.Truncate(time.Minute).UTC()
	return s, zone, errors.Join(errs...)
}

func (a *Aggregate) definition(r Rotation, anchor Anchor) events.RotationDefinition {
	return definition(a.zoneName, r, anchor)
}

func definition(zoneName string, r Rotation, anchor Anchor) events.RotationDefinition {
	parts := slices.Clone(r.Participants)
	if parts == nil {
		parts = []string{}
	}
	return events.RotationDefinition{
		Type: string(r.Type), ShiftLength: r.ShiftLength, Start: r.Start.UTC(), TimeZone: zoneName,
		Participants: parts, ActiveIndex: anchor.Index, ActiveAt: anchor.At.UTC(),
	}
}

// Create decides a new rotation with its participants in hand-off order.
// The first participant is on call from now. maxParticipants is the
// participants_per_rotation limit (-1: unlimited). The caller guarantees id
// is new, the name free and the participants real users.
func Create(id string, s Settings, participants []string, maxParticipants int, now time.Time) ([]events.Event, error) {
	s, zone, err := checkSettings(s)
	r := Rotation{Type: s.Type, ShiftLength: s.ShiftLength, Start: s.Start, Zone: zone, Participants: participants}
	if err := errors.Join(err, r.Validate(maxParticipants)); err != nil {
		return nil, err
	}
	anchor := Anchor{Index: NoParticipant, At: now}
	if len(participants) > 0 {
		anchor.Index = 0
	}
	return []events.Event{events.RotationCreated{RotationID: id, Name: s.Name, Description: s.Description,
		RotationDefinition: definition(s.TimeZone, r, anchor)}}, nil
}

// Update decides new settings. A change to the hand-off grid (type, shift
// length, start, zone) takes effect from now: whoever is on call now stays
// on call until the next hand-off of the new grid. Nothing changed decides
// nothing.
func (a *Aggregate) Update(s Settings, maxParticipants int, now time.Time) ([]events.Event, error) {
	if !a.Exists() {
		return nil, ErrNotFound
	}
	s, zone, err := checkSettings(s)
	r := Rotation{Type: s.Type, ShiftLength: s.ShiftLength, Start: s.Start, Zone: zone, Participants: a.def.Participants}
	if err := errors.Join(err, r.Validate(-1)); err != nil {
		return nil, err
	}
	gridSame := r.Type == a.def.Type && r.ShiftLength == a.def.ShiftLength && r.Start.Equal(a.def.Start) && s.TimeZone == a.zoneName
	if gridSame && s.Name == a.name && s.Description == a.description {
		return nil, nil
	}
	anchor := a.anchor
	if !gridSame {
		anchor = a.def.Reanchor(a.anchor, now)
	}
	return []events.Event{events.RotationUpdated{RotationID: a.id, Name: s.Name, Description: s.Description,
		RotationDefinition: definition(s.TimeZone, r, anchor)}}, nil
}

// SetParticipants decides a new participant list, effective now. Whoever is
// on call now stays on call if they are still in the list (at the position
// nearest their old one); otherwise the participant now at their position
// (or the first) takes over until the next hand-off. An empty list ends
// the rotation; a first participant starts it.
func (a *Aggregate) SetParticipants(userIDs []string, maxParticipants int, now time.Time) ([]events.Event, error) {
	if !a.Exists() {
		return nil, ErrNotFound
	}
	r := a.Definition()
	r.Participants = slices.Clone(userIDs)
	if err := r.Validate(maxParticipants); err != nil {
		return nil, err
	}
	if slices.Equal(r.Participants, a.def.Participants) {
		return nil, nil
	}
	cur := a.def.Reanchor(a.anchor, now)
	next := Anchor{Index: NoParticipant, At: now}
	switch n := len(r.Participants); {
	case n == 0:
	case cur.Index == NoParticipant:
		next.Index = 0
	default:
		next.Index = keepActive(a.def.Participants[cur.Index], cur.Index, r.Participants)
	}
	return []events.Event{events.RotationParticipantsSet{RotationID: a.id, RotationDefinition: a.definition(r, next)}}, nil
}

// keepActive returns the position in parts of user, nearest to old, or old
// wrapped into parts when user is no longer there.
func keepActive(user string, old int, parts []string) int {
	best := -1
	for i, p := range parts {
		if p == user && (best < 0 || abs(i-old) < abs(best-old)) {
			best = i
		}
	}
	if best >= 0 {
		return best
	}
	return old % len(parts)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// AddParticipant decides appending userID, effective now; the first
// participant starts the rotation.
func (a *Aggregate) AddParticipant(userID string, maxParticipants int, now time.Time) ([]events.Event, error) {
	if !a.Exists() {
		return nil, ErrNotFound
	}
	r, anchor := a.def.AddParticipant(userID, a.anchor, now)
	if err := r.Validate(maxParticipants); err != nil {
		return nil, err
	}
	return []events.Event{events.RotationParticipantsSet{RotationID: a.id, RotationDefinition: a.definition(r, anchor)}}, nil
}

// RemoveParticipant decides removing the participant at position pos,
// effective now, as Rotation.RemoveParticipant does.
func (a *Aggregate) RemoveParticipant(pos int, now time.Time) ([]events.Event, error) {
	if !a.Exists() {
		return nil, ErrNotFound
	}
	r, anchor, err := a.def.RemoveParticipant(pos, a.anchor, now)
	if err != nil {
		return nil, err
	}
	return []events.Event{events.RotationParticipantsSet{RotationID: a.id, RotationDefinition: a.definition(r, anchor)}}, nil
}

// SetActive decides that the participant at index is on call from now
// until the next hand-off. Choosing who is already on call decides nothing.
func (a *Aggregate) SetActive(index int, now time.Time) ([]events.Event, error) {
	if !a.Exists() {
		return nil, ErrNotFound
	}
	anchor, err := a.def.SetActive(index, now)
	if err != nil {
		return nil, err
	}
	if a.ActiveIndexAt(now) == index {
		return nil, nil
	}
	return []events.Event{events.RotationActiveSet{RotationID: a.id, RotationDefinition: a.definition(a.def, anchor)}}, nil
}

// Delete decides deleting the rotation.
func (a *Aggregate) Delete() ([]events.Event, error) {
	if !a.Exists() {
		return nil, ErrNotFound
	}
	return []events.Event{events.RotationDeleted{RotationID: a.id}}, nil
}
