package schedule

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/notification"
	"github.com/oncallhq/goalert/domain/rotation"
	"github.com/oncallhq/goalert/events"
)

// Errors of the schedule aggregate.
var (
	ErrNotFound                 = domain.NotFound("schedule_not_found", "schedule not found")
	ErrNameTaken                = domain.Conflict("schedule_name_taken", "a schedule with this name already exists")
	ErrTooManyRules             = domain.Limit("rules_per_schedule", "too many rules in this schedule")
	ErrTooManyTargets           = domain.Limit("targets_per_schedule", "too many targets in this schedule")
	ErrTooManyOverrides         = domain.Limit("user_overrides_per_schedule", "too many user overrides in this schedule")
	ErrOverrideNotFound         = domain.NotFound("user_override_not_found", "user override not found")
	ErrNotificationRuleNotFound = domain.NotFound("oncall_notification_rule_not_found", "on-call notification rule not found")
)

// Stream returns the stream id of schedule id.
func Stream(id string) string { return events.StreamID("schedule", id) }

// Settings are a schedule's own fields.
type Settings struct {
	Name        string
	Description string
	// TimeZone is an IANA zone name; rules are read on its wall clock.
	TimeZone string
}

// Limits are the system limits schedule decisions enforce; -1 means
// unlimited.
type Limits struct {
	Rules     int // rules_per_schedule, over all targets
	Targets   int // targets_per_schedule
	Overrides int // user_overrides_per_schedule, counting those not yet ended
}

// TargetRule is a rule with its id.
type TargetRule struct {
	ID string
	Rule
}

// TargetRules is a target with its identified rules.
type TargetRules struct {
	Kind  TargetKind
	ID    string
	Rules []TargetRule
}

// NotificationRule tells a Slack channel or webhook who is on call: on
// every change when HasTime is false, otherwise daily at Time on the
// Weekdays set.
type NotificationRule struct {
	ID       string
	Dest     events.Dest
	HasTime  bool
	Time     Clock
	Weekdays [7]bool
}

// Aggregate is a schedule as its history tells it.
type Aggregate struct {
	id, name, description string
	zoneName              string
	zone                  *time.Location
	targets               []TargetRules
	overrides             []Override
	temporary             []Temporary
	notify                []NotificationRule
	deleted               bool
}

// FromHistory rebuilds a schedule from its events; nil when there are none.
func FromHistory(evs []events.Event) *Aggregate {
	var a *Aggregate
	for _, e := range evs {
		if a == nil {
			a = &Aggregate{zone: time.UTC}
		}
		a.Apply(e)
	}
	return a
}

// Apply folds one event into a.
func (a *Aggregate) Apply(e events.Event) {
	switch e := e.(type) {
	case events.ScheduleCreated:
		a.id, a.name, a.description = e.ScheduleID, e.Name, e.Description
		a.setZone(e.TimeZone)
	case events.ScheduleUpdated:
		a.name, a.description = e.Name, e.Description
		a.setZone(e.TimeZone)
	case events.ScheduleDeleted:
		a.deleted = true
	case events.ScheduleTargetRulesSet:
		a.applyTargetRules(e)
	case events.ScheduleOverrideAdded:
		a.overrides = append(a.overrides, Override{ID: e.OverrideID, Start: e.Start, End: e.End,
			AddUserID: e.AddUserID, RemoveUserID: e.RemoveUserID})
	case events.ScheduleOverrideRemoved:
		a.overrides = slices.DeleteFunc(slices.Clone(a.overrides), func(o Override) bool { return o.ID == e.OverrideID })
	case events.ScheduleTemporarySet:
		tmp := Temporary{Start: e.Start, End: e.End}
		for _, sh := range e.Shifts {
			tmp.Shifts = append(tmp.Shifts, Shift{UserID: sh.UserID, Start: sh.Start, End: sh.End})
		}
		a.temporary = append(TrimTemporary(a.temporary, e.Start, e.End), tmp)
		slices.SortFunc(a.temporary, func(x, y Temporary) int { return x.Start.Compare(y.Start) })
	case events.ScheduleTemporaryCleared:
		a.temporary = TrimTemporary(a.temporary, e.Start, e.End)
	case events.ScheduleOnCallNotificationRuleSet:
		r := NotificationRule{ID: e.RuleID, Dest: e.Dest, Weekdays: e.Weekdays}
		if c, err := ParseClock(e.Time); err == nil && e.Time != "" {
			r.HasTime, r.Time = true, c
		}
		a.notify = slices.Clone(a.notify)
		if i := slices.IndexFunc(a.notify, func(n NotificationRule) bool { return n.ID == e.RuleID }); i >= 0 {
			a.notify[i] = r
		} else {
			a.notify = append(a.notify, r)
		}
	case events.ScheduleOnCallNotificationRuleRemoved:
		a.notify = slices.DeleteFunc(slices.Clone(a.notify), func(n NotificationRule) bool { return n.ID == e.RuleID })
	}
}

func (a *Aggregate) setZone(name string) {
	a.zoneName = name
	a.zone = time.UTC
	if loc, err := time.LoadLocation(name); err == nil {
		a.zone = loc
	}
}

// applyTargetRules replaces one target's rules. The slices are copied on
// write, so that a Spec taken earlier stays as it was.
func (a *Aggregate) applyTargetRules(e events.ScheduleTargetRulesSet) {
	tg := TargetRules{Kind: TargetKind(e.TargetType), ID: e.TargetID}
	for _, r := range e.Rules {
		start, err1 := ParseClock(r.Start)
		end, err2 := ParseClock(r.End)
		if err1 != nil || err2 != nil {
			continue // never written: decisions check rules
		}
		tg.Rules = append(tg.Rules, TargetRule{ID: r.ID, Rule: Rule{Start: start, End: end, Weekdays: r.Weekdays}})
	}
	targets := slices.Clone(a.targets)
	i := slices.IndexFunc(targets, func(t TargetRules) bool { return t.Kind == tg.Kind && t.ID == tg.ID })
	switch {
	case len(tg.Rules) == 0 && i >= 0:
		targets = slices.Delete(targets, i, i+1)
	case len(tg.Rules) == 0:
	case i >= 0:
		targets[i] = tg
	default:
		targets = append(targets, tg)
	}
	a.targets = targets
}

// TrimTemporary returns list with every temporary schedule cut back to
// outside [s, e).
func TrimTemporary(list []Temporary, s, e time.Time) []Temporary {
	out := make([]Temporary, 0, len(list))
	for _, t := range list {
		if !t.Start.Before(e) || !s.Before(t.End) {
			out = append(out, t)
			continue
		}
		if t.Start.Before(s) {
			out = append(out, clipTemporary(t, t.Start, s))
		}
		if e.Before(t.End) {
			out = append(out, clipTemporary(t, e, t.End))
		}
	}
	return out
}

func clipTemporary(t Temporary, s, e time.Time) Temporary {
	out := Temporary{Start: s, End: e}
	for _, sh := range t.Shifts {
		w := span{sh.Start, sh.End}.clip(s, e)
		if !w.empty() {
			out.Shifts = append(out.Shifts, Shift{UserID: sh.UserID, Start: w.s, End: w.e})
		}
	}
	return out
}

// Exists reports whether a is a live schedule.
func (a *Aggregate) Exists() bool { return a != nil && a.id != "" && !a.deleted }

func (a *Aggregate) ID() string          { return a.id }
func (a *Aggregate) Name() string        { return a.name }
func (a *Aggregate) Description() string { return a.description }

// TimeZone returns the name of the schedule's zone.
func (a *Aggregate) TimeZone() string { return a.zoneName }

// Zone returns the schedule's zone (UTC for one this build does not know).
func (a *Aggregate) Zone() *time.Location { return a.zone }

// Settings returns the schedule's own fields.
func (a *Aggregate) Settings() Settings {
	return Settings{Name: a.name, Description: a.description, TimeZone: a.zoneName}
}

// Targets returns the targets with their rules. Callers must not modify
// them.
func (a *Aggregate) Targets() []TargetRules { return a.targets }

// Target returns the rules of one target; none when it is not on the
// schedule.
func (a *Aggregate) Target(kind TargetKind, id string) []TargetRule {
	for _, t := range a.targets {
		if t.Kind == kind && t.ID == id {
			return t.Rules
		}
	}
	return nil
}

// Overrides returns the user overrides, in the order they were added.
// Callers must not modify them.
func (a *Aggregate) Overrides() []Override { return a.overrides }

// Override returns the override with id.
func (a *Aggregate) Override(id string) (Override, bool) {
	i := slices.IndexFunc(a.overrides, func(o Override) bool { return o.ID == id })
	if i < 0 {
		return Override{}, false
	}
	return a.overrides[i], true
}

// Temporary returns the temporary schedules by start. Callers must not
// modify them.
func (a *Aggregate) Temporary() []Temporary { return a.temporary }

// NotificationRules returns the on-call notification rules. Callers must
// not modify them.
func (a *Aggregate) NotificationRules() []NotificationRule { return a.notify }

// RotationIDs returns the rotations the schedule targets.
func (a *Aggregate) RotationIDs() []string {
	var ids []string
	for _, t := range a.targets {
		if t.Kind == TargetRotation {
			ids = append(ids, t.ID)
		}
	}
	return ids
}

// Spec returns what decides who is on call; empty for a deleted schedule.
func (a *Aggregate) Spec() Spec {
	if !a.Exists() {
		return Spec{Zone: a.zone}
	}
	s := Spec{Zone: a.zone, Overrides: a.overrides, Temporary: a.temporary}
	for _, t := range a.targets {
		tg := Target{Kind: t.Kind, ID: t.ID, Rules: make([]Rule, len(t.Rules))}
		for i, r := range t.Rules {
			tg.Rules[i] = r.Rule
		}
		s.Targets = append(s.Targets, tg)
	}
	return s
}

func checkSettings(s Settings) (Settings, error) {
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
	if s.TimeZone == "" {
		errs = append(errs, domain.FieldError("timeZone", "must be set"))
	} else if _, err := time.LoadLocation(s.TimeZone); err != nil {
		errs = append(errs, domain.FieldErrorf("timeZone", "unknown time zone %q", s.TimeZone))
	}
	return s, errors.Join(errs...)
}

// Create decides a new schedule with its targets. The caller guarantees id
// is new, the name free and the targets real users and rotations, and
// gives every rule an id.
func Create(id string, s Settings, targets []TargetRules, lim Limits) ([]events.Event, error) {
	s, err := checkSettings(s)
	if err != nil {
		return nil, err
	}
	evs := []events.Event{events.ScheduleCreated{ScheduleID: id, Name: s.Name, Description: s.Description, TimeZone: s.TimeZone}}
	a := FromHistory(evs)
	for i, t := range targets {
		if slices.ContainsFunc(targets[:i], func(o TargetRules) bool { return o.Kind == t.Kind && o.ID == t.ID }) {
			return nil, domain.FieldErrorf(fmt.Sprintf("targets[%d]", i), "%s %s appears twice", t.Kind, t.ID)
		}
		more, err := a.SetTargetRules(t, lim)
		if err != nil {
			return nil, prefixed(fmt.Sprintf("targets[%d]", i), err)
		}
		for _, e := range more {
			a.Apply(e)
		}
		evs = append(evs, more...)
	}
	return evs, nil
}

// Update decides new settings; nothing changed decides nothing.
func (a *Aggregate) Update(s Settings) ([]events.Event, error) {
	if !a.Exists() {
		return nil, ErrNotFound
	}
	s, err := checkSettings(s)
	if err != nil {
		return nil, err
	}
	if s == a.Settings() {
		return nil, nil
	}
	return []events.Event{events.ScheduleUpdated{ScheduleID: a.id, Name: s.Name, Description: s.Description, TimeZone: s.TimeZone}}, nil
}

// Delete decides deleting the schedule.
func (a *Aggregate) Delete() ([]events.Event, error) {
	if !a.Exists() {
		return nil, ErrNotFound
	}
	return []events.Event{events.ScheduleDeleted{ScheduleID: a.id}}, nil
}

// SetTargetRules decides the full rule list of one target; no rules
// removes the target. Limits apply to the schedule as it would be. Setting
// the rules a target already has decides nothing.
func (a *Aggregate) SetTargetRules(t TargetRules, lim Limits) ([]events.Event, error) {
	if !a.Exists() {
		return nil, ErrNotFound
	}
	var errs []error
	if _, err := ParseTargetKind(string(t.Kind)); err != nil {
		errs = append(errs, prefixed("target", err))
	}
	if t.ID == "" {
		errs = append(errs, domain.FieldError("target.id", "must be set"))
	}
	seen := map[string]bool{}
	for i, r := range t.Rules {
		field := fmt.Sprintf("rules[%d]", i)
		errs = append(errs, prefixed(field, r.Validate()))
		switch {
		case r.ID == "":
			errs = append(errs, domain.FieldError(field+".id", "must be set"))
		case seen[r.ID]:
			errs = append(errs, domain.FieldErrorf(field+".id", "rule %s appears twice", r.ID))
		}
		seen[r.ID] = true
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	old := a.Target(t.Kind, t.ID)
	if slices.Equal(old, t.Rules) {
		return nil, nil
	}
	// Counts only growing past a limit are refused, so that a schedule over
	// a limit an admin lowered can still be trimmed.
	rules, targets := 0, 0
	for _, o := range a.targets {
		rules += len(o.Rules)
		targets++
	}
	newRules, newTargets := rules-len(old)+len(t.Rules), targets
	switch {
	case len(old) == 0 && len(t.Rules) > 0:
		newTargets++
	case len(old) > 0 && len(t.Rules) == 0:
		newTargets--
	}
	if lim.Targets >= 0 && newTargets > lim.Targets && newTargets > targets {
		return nil, fmt.Errorf("%d targets, limit %d: %w", newTargets, lim.Targets, ErrTooManyTargets)
	}
	if lim.Rules >= 0 && newRules > lim.Rules && newRules > rules {
		return nil, fmt.Errorf("%d rules, limit %d: %w", newRules, lim.Rules, ErrTooManyRules)
	}
	ev := events.ScheduleTargetRulesSet{ScheduleID: a.id, TargetType: string(t.Kind), TargetID: t.ID, Rules: []events.ScheduleRule{}}
	for _, r := range t.Rules {
		ev.Rules = append(ev.Rules, events.ScheduleRule{ID: r.ID, Start: r.Start.String(), End: r.End.String(), Weekdays: r.Weekdays})
	}
	return []events.Event{ev}, nil
}

// AddOverride decides adding o (its ID set by the caller). It must end in
// the future; it may not overlap in time another override of the schedule
// that involves one of its users (ErrOverrideConflict); and the overrides
// not yet ended may not exceed lim.Overrides (ErrTooManyOverrides).
func (a *Aggregate) AddOverride(o Override, lim Limits, now time.Time) ([]events.Event, error) {
	if !a.Exists() {
		return nil, ErrNotFound
	}
	if o.ID == "" {
		return nil, domain.FieldError("id", "must be set")
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if !o.End.After(now) {
		return nil, domain.FieldError("end", "must be in the future")
	}
	live := 0
	for _, x := range a.overrides {
		if x.ID == o.ID {
			return nil, domain.FieldErrorf("id", "override %s exists already", o.ID)
		}
		if x.End.After(now) {
			live++
		}
		if err := ValidateOverrides([]Override{x, o}); err != nil {
			return nil, unfielded(err)
		}
	}
	if lim.Overrides >= 0 && live >= lim.Overrides {
		return nil, fmt.Errorf("%d overrides not yet ended, limit %d: %w", live, lim.Overrides, ErrTooManyOverrides)
	}
	return []events.Event{events.ScheduleOverrideAdded{ScheduleID: a.id, OverrideID: o.ID, Start: o.Start.UTC(), End: o.End.UTC(),
		AddUserID: o.AddUserID, RemoveUserID: o.RemoveUserID}}, nil
}

// unfielded returns the first domain error in err without its field: a
// conflict is about the override as a whole.
func unfielded(err error) error {
	var de *domain.Error
	if !errors.As(err, &de) {
		return err
	}
	c := *de
	c.Field = ""
	return &c
}

// RemoveOverride decides removing an override.
func (a *Aggregate) RemoveOverride(id string) ([]events.Event, error) {
	if !a.Exists() {
		return nil, ErrNotFound
	}
	if _, ok := a.Override(id); !ok {
		return nil, ErrOverrideNotFound
	}
	return []events.Event{events.ScheduleOverrideRemoved{ScheduleID: a.id, OverrideID: id}}, nil
}

// SetTemporary decides a temporary schedule. When clearEnd is after
// clearStart, temporary schedules are first cut back to outside that span,
// as GoAlert's setTemporarySchedule does; tmp also replaces whatever
// overlaps it. It must end in the future.
func (a *Aggregate) SetTemporary(tmp Temporary, clearStart, clearEnd, now time.Time) ([]events.Event, error) {
	if !a.Exists() {
		return nil, ErrNotFound
	}
	if err := tmp.Validate(); err != nil {
		return nil, err
	}
	if !tmp.End.After(now) {
		return nil, domain.FieldError("end", "must be in the future")
	}
	var evs []events.Event
	if clearEnd.After(clearStart) {
		evs = append(evs, events.ScheduleTemporaryCleared{ScheduleID: a.id, Start: clearStart.UTC(), End: clearEnd.UTC()})
	}
	set := events.ScheduleTemporarySet{ScheduleID: a.id, Start: tmp.Start.UTC(), End: tmp.End.UTC(), Shifts: []events.TemporaryShift{}}
	for _, sh := range tmp.Shifts {
		set.Shifts = append(set.Shifts, events.TemporaryShift{UserID: sh.UserID, Start: sh.Start.UTC(), End: sh.End.UTC()})
	}
	return append(evs, set), nil
}

// ClearTemporary decides cutting temporary schedules back to outside
// [start, end). With none there, it decides nothing.
func (a *Aggregate) ClearTemporary(start, end time.Time) ([]events.Event, error) {
	if !a.Exists() {
		return nil, ErrNotFound
	}
	if !end.After(start) {
		return nil, domain.FieldError("end", "must be after start")
	}
	for _, t := range a.temporary {
		if t.Start.Before(end) && start.Before(t.End) {
			return []events.Event{events.ScheduleTemporaryCleared{ScheduleID: a.id, Start: start.UTC(), End: end.UTC()}}, nil
		}
	}
	return nil, nil
}

// SetNotificationRule decides adding or replacing an on-call notification
// rule. Its destination is a Slack channel or a webhook; a rule with a
// time needs at least one weekday.
func (a *Aggregate) SetNotificationRule(r NotificationRule) ([]events.Event, error) {
	if !a.Exists() {
		return nil, ErrNotFound
	}
	var errs []error
	if r.ID == "" {
		errs = append(errs, domain.FieldError("id", "must be set"))
	}
	dest, err := checkChannel(r.Dest)
	errs = append(errs, err)
	if r.HasTime {
		if !r.Time.valid() {
			errs = append(errs, domain.FieldErrorf("time", "time of day out of range: %d minutes", int(r.Time)))
		}
		if r.Weekdays == [7]bool{} {
			errs = append(errs, domain.FieldError("weekdayFilter", "pick at least one day"))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	ev := events.ScheduleOnCallNotificationRuleSet{ScheduleID: a.id, RuleID: r.ID, Dest: dest}
	if r.HasTime {
		ev.Time, ev.Weekdays = r.Time.String(), r.Weekdays
	}
	return []events.Event{ev}, nil
}

func checkChannel(d events.Dest) (events.Dest, error) {
	arg := ""
	switch d.Type {
	case notification.DestSlackChannel:
		arg = notification.ArgSlackChannelID
	case notification.DestWebhook:
		arg = notification.ArgWebhookURL
	default:
		return d, domain.FieldErrorf("dest.type", "on-call notifications go to a Slack channel or a webhook, not %q", d.Type)
	}
	v := strings.TrimSpace(d.Args[arg])
	if v == "" {
		return d, domain.FieldErrorf("dest.args", "%s needs the argument %s", d.Type, arg)
	}
	if arg == notification.ArgWebhookURL && !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
		return d, domain.FieldErrorf("dest.args", "%q is not an http(s) URL", v)
	}
	return events.Dest{Type: d.Type, Args: map[string]string{arg: v}}, nil
}

// RemoveNotificationRule decides removing an on-call notification rule.
func (a *Aggregate) RemoveNotificationRule(id string) ([]events.Event, error) {
	if !a.Exists() {
		return nil, ErrNotFound
	}
	if !slices.ContainsFunc(a.notify, func(n NotificationRule) bool { return n.ID == id }) {
		return nil, ErrNotificationRuleNotFound
	}
	return []events.Event{events.ScheduleOnCallNotificationRuleRemoved{ScheduleID: a.id, RuleID: id}}, nil
}

// History is a stream's events with when each occurred (At[i] for
// Events[i], in stream order).
type History struct {
	Events []events.Event
	At     []time.Time
}

// Timeline is what time travel needs: a schedule's history and the
// histories of the rotations it targets (or ever targeted).
type Timeline struct {
	Schedule  History
	Rotations map[string]History
}

// RotationsIn returns every rotation that the schedule events evs target
// at some point, each once.
func RotationsIn(evs []events.Event) []string {
	var ids []string
	for _, e := range evs {
		if t, ok := e.(events.ScheduleTargetRulesSet); ok && t.TargetType == string(TargetRotation) && !slices.Contains(ids, t.TargetID) {
			ids = append(ids, t.TargetID)
		}
	}
	return ids
}

// cursor folds a history forward in time.
type cursor struct {
	h    History
	next int
}

// advance folds the events that occurred at or before t into apply.
func (c *cursor) advance(t time.Time, apply func(events.Event)) {
	for c.next < len(c.h.Events) && c.next < len(c.h.At) && !c.h.At[c.next].After(t) {
		apply(c.h.Events[c.next])
		c.next++
	}
}

// state is the configuration as it stands at one instant of a timeline.
type state struct {
	sched     *Aggregate
	rotations map[string]*rotation.Aggregate
	sc        cursor
	rc        map[string]*cursor
}

func (tl Timeline) start() *state {
	st := &state{sc: cursor{h: tl.Schedule}, rotations: map[string]*rotation.Aggregate{}, rc: map[string]*cursor{}}
	for id, h := range tl.Rotations {
		st.rc[id] = &cursor{h: h}
		st.rotations[id] = &rotation.Aggregate{}
	}
	return st
}

func (st *state) advance(t time.Time) {
	st.sc.advance(t, func(e events.Event) {
		if st.sched == nil {
			st.sched = &Aggregate{zone: time.UTC}
		}
		st.sched.Apply(e)
	})
	for id, c := range st.rc {
		c.advance(t, st.rotations[id].Apply)
	}
}

func (st *state) rotationShifts(id string, from, to time.Time) []rotation.Shift {
	if r := st.rotations[id]; r != nil {
		return r.Shifts(from, to)
	}
	return nil
}

// OnCallAt returns who was on call at t, sorted, computed with the
// configuration of the schedule and its rotations as it stood at t: a
// change made after t does not alter the answer.
func (tl Timeline) OnCallAt(t time.Time) []string {
	st := tl.start()
	st.advance(t)
	if !st.sched.Exists() {
		return nil
	}
	return st.sched.Spec().OnCallAt(t, st.rotationShifts)
}

// Shifts returns who was (or, past the last change, will be) on call from
// from until to, as Spec.Shifts does, with every instant computed with the
// configuration as it stood at that instant. A shift that a change cut
// short ends at the change; one that a change left as it was runs on
// through it.
func (tl Timeline) Shifts(from, to time.Time) []Shift {
	if !from.Before(to) {
		return nil
	}
	cuts := []time.Time{from}
	addCuts := func(h History) {
		for _, at := range h.At {
			if at.After(from) && at.Before(to) {
				cuts = append(cuts, at)
			}
		}
	}
	addCuts(tl.Schedule)
	for _, h := range tl.Rotations {
		addCuts(h)
	}
	slices.SortFunc(cuts, time.Time.Compare)
	cuts = slices.CompactFunc(cuts, time.Time.Equal)
	cuts = append(cuts, to)

	st := tl.start()
	var out []Shift
	open := map[string]int{} // user -> index in out of a shift running into the next segment
	for i := 0; i+1 < len(cuts); i++ {
		st.advance(cuts[i])
		var seg []Shift
		if st.sched.Exists() {
			seg = st.sched.Spec().Shifts(cuts[i], cuts[i+1], st.rotationShifts)
		}
		carried := map[string]int{}
		for _, sh := range seg {
			if j, ok := open[sh.UserID]; ok && sh.Start.Equal(cuts[i]) {
				out[j].End, out[j].Truncated = sh.End, sh.Truncated
				if sh.Truncated {
					carried[sh.UserID] = j
				}
				continue
			}
			out = append(out, sh)
			if sh.Truncated {
				carried[sh.UserID] = len(out) - 1
			}
		}
		for u, j := range open {
			if _, ok := carried[u]; !ok {
				out[j].Truncated = false // ended by the change at cuts[i]
			}
		}
		open = carried
	}
	// A change at to itself decides who is still on call then.
	st.advance(to)
	var at []string
	if st.sched.Exists() {
		at = st.sched.Spec().OnCallAt(to, st.rotationShifts)
	}
	for u, j := range open {
		if !slices.Contains(at, u) {
			out[j].Truncated = false
		}
	}
	slices.SortFunc(out, func(a, b Shift) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		if c := strings.Compare(a.UserID, b.UserID); c != 0 {
			return c
		}
		return a.End.Compare(b.End)
	})
	return out
}
