// Package escalation is the escalation policy aggregate: ordered steps,
// each paging its targets and waiting its delay before the next, repeated
// a number of times; and the arithmetic of moving an alert through them.
package escalation

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/notification"
	"github.com/oncallhq/goalert/events"
)

// Step action (target) types, with GoAlert's ids. Webhooks and Slack
// channels use the notification destination types.
const (
	ActionUser     = "builtin-user"     // arg user_id
	ActionSchedule = "builtin-schedule" // arg schedule_id
	ActionRotation = "builtin-rotation" // arg rotation_id
)

// Limits of a policy's fields.
const (
	MaxRepeat = 5
	MinDelay  = 1
	MaxDelay  = 9000
)

// Errors.
var (
	ErrNotFound      = domain.NotFound("escalation_policy_not_found", "escalation policy not found")
	ErrStepNotFound  = domain.NotFound("escalation_step_not_found", "escalation policy step not found")
	ErrNameTaken     = domain.Conflict("escalation_policy_name_taken", "an escalation policy with this name already exists")
	ErrTooManySteps  = domain.Limit("ep_steps_per_policy", "too many steps for this escalation policy")
	ErrTooManyTarget = domain.Limit("ep_actions_per_step", "too many targets for this escalation step")
	ErrInUse         = domain.Conflict("escalation_policy_in_use", "the escalation policy is used by a service")
)

// Stream returns the stream id of policy id.
func Stream(id string) string { return events.StreamID("escalation_policy", id) }

// Step is one step of a policy.
type Step struct {
	ID           string
	DelayMinutes int
	Actions      []events.Dest
}

// Policy is the decision-making view of a policy's history.
type Policy struct {
	id, name, description string
	repeat                int
	steps                 []Step
	deleted               bool
}

// FromHistory rebuilds a policy from its events; nil when there are none.
func FromHistory(evs []events.Event) *Policy {
	var p *Policy
	for _, e := range evs {
		if p == nil {
			p = &Policy{}
		}
		p.Apply(e)
	}
	return p
}

// Apply folds one event into p.
func (p *Policy) Apply(e events.Event) {
	switch e := e.(type) {
	case events.EscalationPolicyCreated:
		p.id, p.name, p.description, p.repeat = e.PolicyID, e.Name, e.Description, e.Repeat
	case events.EscalationPolicyUpdated:
		p.name, p.description, p.repeat = e.Name, e.Description, e.Repeat
	case events.EscalationPolicyDeleted:
		p.deleted = true
	case events.EscalationStepAdded:
		p.steps = append(p.steps, Step{ID: e.StepID, DelayMinutes: e.DelayMinutes, Actions: e.Actions})
	case events.EscalationStepUpdated:
		if i := p.stepIndex(e.StepID); i >= 0 {
			p.steps[i].DelayMinutes, p.steps[i].Actions = e.DelayMinutes, e.Actions
		}
	case events.EscalationStepRemoved:
		if i := p.stepIndex(e.StepID); i >= 0 {
			p.steps = slices.Delete(p.steps, i, i+1)
		}
	case events.EscalationStepsReordered:
		byID := make(map[string]Step, len(p.steps))
		for _, s := range p.steps {
			byID[s.ID] = s
		}
		steps := make([]Step, 0, len(e.StepIDs))
		for _, id := range e.StepIDs {
			if s, ok := byID[id]; ok {
				steps = append(steps, s)
			}
		}
		p.steps = steps
	}
}

func (p *Policy) stepIndex(id string) int {
	return slices.IndexFunc(p.steps, func(s Step) bool { return s.ID == id })
}

// Exists reports whether p is a live policy.
func (p *Policy) Exists() bool { return p != nil && !p.deleted }

func (p *Policy) ID() string          { return p.id }
func (p *Policy) Name() string        { return p.name }
func (p *Policy) Description() string { return p.description }
func (p *Policy) Repeat() int         { return p.repeat }

// Steps returns the steps in order. Callers must not modify them.
func (p *Policy) Steps() []Step { return p.steps }

func validate(name, description string, repeat int) error {
	if strings.TrimSpace(name) == "" {
		return domain.FieldError("name", "must not be empty")
	}
	if utf8.RuneCountInString(name) > 255 {
		return domain.FieldError("name", "must be at most 255 characters")
	}
	if utf8.RuneCountInString(description) > 255 {
		return domain.FieldError("description", "must be at most 255 characters")
	}
	if repeat < 0 || repeat > MaxRepeat {
		return domain.FieldErrorf("repeat", "must be between 0 and %d", MaxRepeat)
	}
	return nil
}

// Create decides a new policy. The caller guarantees id is new and the
// name free.
func Create(id, name, description string, repeat int) ([]events.Event, error) {
	if err := validate(name, description, repeat); err != nil {
		return nil, err
	}
	return []events.Event{events.EscalationPolicyCreated{PolicyID: id, Name: strings.TrimSpace(name), Description: description, Repeat: repeat}}, nil
}

// Update decides a change of name, description and repeat.
func (p *Policy) Update(name, description string, repeat int) ([]events.Event, error) {
	if !p.Exists() {
		return nil, ErrNotFound
	}
	if err := validate(name, description, repeat); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == p.name && description == p.description && repeat == p.repeat {
		return nil, nil
	}
	return []events.Event{events.EscalationPolicyUpdated{PolicyID: p.id, Name: name, Description: description, Repeat: repeat}}, nil
}

// Delete decides deleting the policy.
func (p *Policy) Delete() ([]events.Event, error) {
	if !p.Exists() {
		return nil, ErrNotFound
	}
	return []events.Event{events.EscalationPolicyDeleted{PolicyID: p.id}}, nil
}

// NormalizeAction checks one step target and returns it in stored form.
func NormalizeAction(a events.Dest) (events.Dest, error) {
	need := func(arg string) (events.Dest, error) {
		v := strings.TrimSpace(a.Args[arg])
		if v == "" {
			return a, domain.FieldErrorf("actions", "%s needs the argument %s", a.Type, arg)
		}
		return events.Dest{Type: a.Type, Args: map[string]string{arg: v}}, nil
	}
	switch a.Type {
	case ActionUser:
		return need("user_id")
	case ActionSchedule:
		return need("schedule_id")
	case ActionRotation:
		return need("rotation_id")
	case notification.DestWebhook:
		d, err := need(notification.ArgWebhookURL)
		if err != nil {
			return d, err
		}
		if v := d.Args[notification.ArgWebhookURL]; !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
			return d, domain.FieldErrorf("actions", "%q is not an http(s) URL", v)
		}
		return d, nil
	case notification.DestSlackChannel:
		return need(notification.ArgSlackChannelID)
	}
	return a, domain.FieldErrorf("actions", "unknown escalation target type %q", a.Type)
}

func checkStep(delay int, actions []events.Dest, maxActions int) ([]events.Dest, error) {
	if delay < MinDelay || delay > MaxDelay {
		return nil, domain.FieldErrorf("delayMinutes", "must be between %d and %d", MinDelay, MaxDelay)
	}
	if maxActions >= 0 && len(actions) > maxActions {
		return nil, ErrTooManyTarget
	}
	out := make([]events.Dest, 0, len(actions))
	seen := map[string]bool{}
	for _, a := range actions {
		n, err := NormalizeAction(a)
		if err != nil {
			return nil, err
		}
		key := n.Type
		for k, v := range n.Args {
			key += "|" + k + "=" + v
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, n)
	}
	return out, nil
}

// AddStep decides appending a step.
func (p *Policy) AddStep(id string, delay int, actions []events.Dest, maxSteps, maxActions int) ([]events.Event, error) {
	if !p.Exists() {
		return nil, ErrNotFound
	}
	if maxSteps >= 0 && len(p.steps) >= maxSteps {
		return nil, ErrTooManySteps
	}
	acts, err := checkStep(delay, actions, maxActions)
	if err != nil {
		return nil, err
	}
	return []events.Event{events.EscalationStepAdded{PolicyID: p.id, StepID: id, DelayMinutes: delay, Actions: acts}}, nil
}

// UpdateStep decides a step's new delay and targets.
func (p *Policy) UpdateStep(id string, delay int, actions []events.Dest, maxActions int) ([]events.Event, error) {
	if !p.Exists() {
		return nil, ErrNotFound
	}
	if p.stepIndex(id) < 0 {
		return nil, ErrStepNotFound
	}
	acts, err := checkStep(delay, actions, maxActions)
	if err != nil {
		return nil, err
	}
	return []events.Event{events.EscalationStepUpdated{PolicyID: p.id, StepID: id, DelayMinutes: delay, Actions: acts}}, nil
}

// RemoveStep decides deleting a step.
func (p *Policy) RemoveStep(id string) ([]events.Event, error) {
	if !p.Exists() {
		return nil, ErrNotFound
	}
	if p.stepIndex(id) < 0 {
		return nil, ErrStepNotFound
	}
	return []events.Event{events.EscalationStepRemoved{PolicyID: p.id, StepID: id}}, nil
}

// Reorder decides a new order of the steps: ids must name every step once.
func (p *Policy) Reorder(ids []string) ([]events.Event, error) {
	if !p.Exists() {
		return nil, ErrNotFound
	}
	if len(ids) != len(p.steps) {
		return nil, domain.FieldErrorf("stepIDs", "must list all %d steps once", len(p.steps))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if p.stepIndex(id) < 0 || seen[id] {
			return nil, domain.FieldErrorf("stepIDs", "must list all %d steps once", len(p.steps))
		}
		seen[id] = true
	}
	same := true
	for i, s := range p.steps {
		same = same && s.ID == ids[i]
	}
	if same {
		return nil, nil
	}
	return []events.Event{events.EscalationStepsReordered{PolicyID: p.id, StepIDs: slices.Clone(ids)}}, nil
}

// Position is where an alert is in its policy. Step -1 means it has not
// entered step 0 yet.
type Position struct {
	Step   int
	Repeat int
}

// Start is the position of a new alert.
var Start = Position{Step: -1}

// Next returns the step an alert at cur moves to when its step's delay
// runs out (forced false) or someone asks to escalate (forced true), and
// false when it stays where it is: the last step of the last repeat.
// A forced escalation after the last step always wraps to step 0. With no
// steps there is nowhere to go.
func Next(cur Position, steps, repeat int, forced bool) (Position, bool) {
	if steps == 0 {
		return cur, false
	}
	if cur.Step < 0 {
		return Position{Step: 0, Repeat: 0}, true
	}
	if cur.Step+1 < steps {
		return Position{Step: cur.Step + 1, Repeat: cur.Repeat}, true
	}
	if forced || cur.Repeat < repeat {
		return Position{Step: 0, Repeat: cur.Repeat + 1}, true
	}
	return cur, false
}
