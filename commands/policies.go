package commands

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/oncallhq/goalert/domain/escalation"
	"github.com/oncallhq/goalert/domain/limits"
	"github.com/oncallhq/goalert/events"
)

// scopePolicyName reserves escalation policy names (case-insensitive).
const scopePolicyName = "escalation_policy_name"

func policyNameKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// NewStep describes a step to add.
type NewStep struct {
	DelayMinutes int
	Actions      []events.Dest
}

// CreatePolicy is the command to add an escalation policy with its steps.
type CreatePolicy struct {
	Name        string
	Description string
	Repeat      int
	Steps       []NewStep
}

// CreatePolicy adds a policy and returns its id and its steps' ids.
func (h *Handler) CreatePolicy(ctx context.Context, c CreatePolicy) (string, []string, Result, error) {
	id := uuid.NewString()
	stepIDs := make([]string, len(c.Steps))
	for i := range stepIDs {
		stepIDs[i] = uuid.NewString()
	}
	res, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		evs, err := escalation.Create(id, c.Name, c.Description, c.Repeat)
		if err != nil {
			return err
		}
		if err := reservePolicyName(ctx, tx, c.Name, id); err != nil {
			return err
		}
		p := escalation.FromHistory(evs)
		maxSteps, maxActions, err := stepLimits(ctx, tx)
		if err != nil {
			return err
		}
		for i, s := range c.Steps {
			if err := checkTargets(ctx, tx, s.Actions); err != nil {
				return err
			}
			more, err := p.AddStep(stepIDs[i], s.DelayMinutes, s.Actions, maxSteps, maxActions)
			if err != nil {
				return err
			}
			for _, e := range more {
				p.Apply(e)
			}
			evs = append(evs, more...)
		}
		return tx.Append(ctx, escalation.Stream(id), 0, evs...)
	})
	if err != nil {
		return "", nil, Result{}, err
	}
	return id, stepIDs, res, nil
}

func stepLimits(ctx context.Context, tx *Tx) (steps, actions int, err error) {
	if steps, err = tx.Limit(ctx, limits.EPStepsPerPolicy); err != nil {
		return 0, 0, err
	}
	actions, err = tx.Limit(ctx, limits.EPActionsPerStep)
	return steps, actions, err
}

func reservePolicyName(ctx context.Context, tx *Tx, name, id string) error {
	holder, err := tx.Reserve(ctx, scopePolicyName, policyNameKey(name), id)
	if err != nil {
		return err
	}
	if holder != id {
		return escalation.ErrNameTaken
	}
	return nil
}

// loadPolicy returns a live policy for a command.
func loadPolicy(ctx context.Context, tx *Tx, id string) (*escalation.Policy, int64, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, 0, escalation.ErrNotFound
	}
	hist, err := tx.Load(ctx, escalation.Stream(id))
	if err != nil {
		return nil, 0, err
	}
	p := escalation.FromHistory(hist.Events)
	if !p.Exists() {
		return nil, 0, escalation.ErrNotFound
	}
	return p, hist.Version, nil
}

// PolicyExists reports whether id names a live policy.
func (h *Handler) PolicyExists(ctx context.Context, id string) (bool, error) {
	var ok bool
	_, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		_, _, err := loadPolicy(ctx, tx, id)
		ok = err == nil
		if err == escalation.ErrNotFound {
			return nil
		}
		return err
	})
	return ok, err
}

// UpdatePolicy changes what is set of a policy's name, description and
// repeat.
func (h *Handler) UpdatePolicy(ctx context.Context, id string, name, description *string, repeat *int) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		p, version, err := loadPolicy(ctx, tx, id)
		if err != nil {
			return err
		}
		n, d, r := p.Name(), p.Description(), p.Repeat()
		if name != nil {
			n = *name
		}
		if description != nil {
			d = *description
		}
		if repeat != nil {
			r = *repeat
		}
		evs, err := p.Update(n, d, r)
		if err != nil {
			return err
		}
		if len(evs) > 0 && policyNameKey(n) != policyNameKey(p.Name()) {
			if err := reservePolicyName(ctx, tx, n, id); err != nil {
				return err
			}
			if err := tx.Release(ctx, scopePolicyName, policyNameKey(p.Name()), id); err != nil {
				return err
			}
		}
		return tx.Append(ctx, escalation.Stream(id), version, evs...)
	})
}

// DeletePolicy deletes a policy; its name is free again.
func (h *Handler) DeletePolicy(ctx context.Context, id string) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		p, version, err := loadPolicy(ctx, tx, id)
		if err != nil {
			return err
		}
		evs, err := p.Delete()
		if err != nil {
			return err
		}
		// Services name their policy; the services read model answers
		// which do (a service assigned this instant may be missed, and then
		// pages no one until it gets another policy).
		var used bool
		if err := tx.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM services WHERE escalation_policy_id = $1)`, id).Scan(&used); err != nil {
			return fmt.Errorf("find services of the policy: %w", err)
		}
		if used {
			return escalation.ErrInUse
		}
		if err := tx.Release(ctx, scopePolicyName, policyNameKey(p.Name()), id); err != nil {
			return err
		}
		return tx.Append(ctx, escalation.Stream(id), version, evs...)
	})
}

// AddPolicyStep appends a step and returns its id.
func (h *Handler) AddPolicyStep(ctx context.Context, policyID string, s NewStep) (string, Result, error) {
	id := uuid.NewString()
	res, err := h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		p, version, err := loadPolicy(ctx, tx, policyID)
		if err != nil {
			return err
		}
		maxSteps, maxActions, err := stepLimits(ctx, tx)
		if err != nil {
			return err
		}
		if err := checkTargets(ctx, tx, s.Actions); err != nil {
			return err
		}
		evs, err := p.AddStep(id, s.DelayMinutes, s.Actions, maxSteps, maxActions)
		if err != nil {
			return err
		}
		return tx.Append(ctx, escalation.Stream(policyID), version, evs...)
	})
	if err != nil {
		return "", Result{}, err
	}
	return id, res, nil
}

// UpdatePolicyStep sets a step's delay and targets (nil keeps them).
func (h *Handler) UpdatePolicyStep(ctx context.Context, policyID, stepID string, delay *int, actions []events.Dest) (Result, error) {
	return h.Do(ctx, func(ctx context.Context, tx *Tx) error {
		p, version, err := loadPolicy(ctx, tx, policyID)
		if err != nil {
			return err
		}
		var cur *escalation.Step
		for _, s := range p.Steps() {
			if s.ID == stepID {
				cur = &s
			}
		}
		if cur == nil {
			return escalation.ErrStepNotFound
		}
		d, a := cur.DelayMinutes, cur.Actions
		if delay != nil {
			d = *delay
		}
		if actions != nil {
			// Only targets the step did not have are checked: one deleted
			// since (a rotation, say) must not block removing another.
			var added []events.Dest
			for _, n := range actions {
				if !slices.ContainsFunc(cur.Actions, func(o events.Dest) bool { return o.Type == n.Type && maps.Equal(o.Args, n.Args) }) {
					added = append(added, n)
				}
			}
			if err := checkTargets(ctx, tx, added); err != nil {
				return err
			}
			a = actions
		}
		_, maxActions, err := stepLimits(ctx, tx)
		if err != nil {
			return err
		}
		evs, err := p.UpdateStep(stepID, d, a, maxActions)
		if err != nil {
			return err
		}
		return tx.Append(ctx, escalation.Stream(policyID), version, evs...)
	})
}

// RemovePolicyStep deletes a step.
func (h *Handler) RemovePolicyStep(ctx context.Context, policyID, stepID string) (Result, error) {
	return h.Update(ctx, escalation.Stream(policyID), func(hist History, _ time.Time) ([]events.Event, error) {
		p := escalation.FromHistory(hist.Events)
		return p.RemoveStep(stepID)
	})
}

// ReorderPolicySteps puts the steps in the order of stepIDs.
func (h *Handler) ReorderPolicySteps(ctx context.Context, policyID string, stepIDs []string) (Result, error) {
	return h.Update(ctx, escalation.Stream(policyID), func(hist History, _ time.Time) ([]events.Event, error) {
		p := escalation.FromHistory(hist.Events)
		return p.Reorder(stepIDs)
	})
}
