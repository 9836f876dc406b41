package graphqlapi

// Escalation policies and their steps. Any signed-in user may read and
// change them, as in GoAlert.

import (
	"context"
	"errors"
	"fmt"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/escalation"
	"github.com/oncallhq/goalert/projections/paging"
)

func (r *resolver) policyByID(ctx context.Context, id string) (*policyRes, error) {
	p, err := r.d.Paging.Policy(ctx, id)
	if errors.Is(err, paging.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &policyRes{p, r}, nil
}

func (r *resolver) EscalationPolicy(ctx context.Context, args struct{ ID graphql.ID }) (*policyRes, error) {
	return r.policyByID(ctx, string(args.ID))
}

func (r *resolver) EscalationPolicies(ctx context.Context, args struct{ Input *nameSearch }) (*policyConn, error) {
	list, page, err := byName(args.Input, func(search, after string, limit int) ([]paging.Policy, error) {
		return r.d.Paging.Policies(ctx, search, after, limit)
	}, func(v paging.Policy) string { return v.ID }, func(v paging.Policy) string { return v.Name })
	if err != nil {
		return nil, err
	}
	c := &policyConn{page: page}
	for _, p := range list {
		c.nodes = append(c.nodes, &policyRes{p, r})
	}
	return c, nil
}

type stepInput struct {
	EscalationPolicyID *graphql.ID
	DelayMinutes       int32
	Actions            *[]destInput
	Targets            *[]targetInput
}

type policyInput struct {
	Name        string
	Description string
	Repeat      int32
	Favorite    *bool
	Steps       *[]stepInput
}

func (in policyInput) command() (commands.CreatePolicy, error) {
	c := commands.CreatePolicy{Name: in.Name, Description: in.Description, Repeat: int(in.Repeat)}
	if in.Steps != nil {
		for i, s := range *in.Steps {
			acts, err := stepActions(s.Actions, s.Targets)
			if err != nil {
				return c, fmt.Errorf("step %d: %w", i, err)
			}
			c.Steps = append(c.Steps, commands.NewStep{DelayMinutes: int(s.DelayMinutes), Actions: acts})
		}
	}
	return c, nil
}

// createPolicy adds a policy with its steps and returns its id.
func (r *resolver) createPolicy(ctx context.Context, in policyInput) (string, commands.Result, error) {
	c, err := in.command()
	if err == nil {
		for _, s := range c.Steps {
			if err = r.checkDests(s.Actions...); err != nil {
				break
			}
		}
	}
	if err != nil {
		return "", commands.Result{}, err
	}
	id, _, res, err := r.d.Commands.CreatePolicy(ctx, c)
	return id, res, err
}

func (r *resolver) CreateEscalationPolicy(ctx context.Context, args struct{ Input policyInput }) (*policyRes, error) {
	id, res, err := r.createPolicy(ctx, args.Input)
	if err != nil {
		return nil, err
	}
	if err := r.wait(ctx, res); err != nil {
		return nil, err
	}
	return r.policyByID(ctx, id)
}

// UpdateEscalationPolicy changes what is given. With stepIDs, steps left
// out are deleted and the rest take the order given: GoAlert's UI deletes
// a step that way. stepIDs are checked before anything changes.
func (r *resolver) UpdateEscalationPolicy(ctx context.Context, args struct {
	Input struct {
		ID          graphql.ID
		Name        *string
		Description *string
		Repeat      *int32
		StepIDs     *[]string
	}
}) (bool, error) {
	in := args.Input
	id := string(in.ID)
	var drop []string
	if in.StepIDs != nil {
		var err error
		if drop, err = r.stepsToDrop(ctx, id, *in.StepIDs); err != nil {
			return false, err
		}
	}
	var last commands.Result
	keep := func(res commands.Result) {
		if res.Wrote() {
			last = res
		}
	}
	if in.Name != nil || in.Description != nil || in.Repeat != nil {
		var repeat *int
		if in.Repeat != nil {
			n := int(*in.Repeat)
			repeat = &n
		}
		res, err := r.d.Commands.UpdatePolicy(ctx, id, in.Name, in.Description, repeat)
		if err != nil {
			return false, err
		}
		keep(res)
	}
	if in.StepIDs != nil {
		for _, stepID := range drop {
			res, err := r.d.Commands.RemovePolicyStep(ctx, id, stepID)
			if err != nil {
				return false, err
			}
			keep(res)
		}
		res, err := r.d.Commands.ReorderPolicySteps(ctx, id, *in.StepIDs)
		if err != nil {
			return false, err
		}
		keep(res)
	}
	return true, r.wait(ctx, last)
}

// stepsToDrop checks a policy's new step order, ids, which must name
// current steps, each once, and returns the steps it leaves out.
func (r *resolver) stepsToDrop(ctx context.Context, policyID string, ids []string) ([]string, error) {
	if _, err := r.d.Paging.Policy(ctx, policyID); errors.Is(err, paging.ErrNotFound) {
		return nil, escalation.ErrNotFound
	} else if err != nil {
		return nil, err
	}
	cur, err := r.d.Paging.Steps(ctx, policyID)
	if err != nil {
		return nil, err
	}
	listed := map[string]bool{}
	for _, id := range ids {
		if listed[id] {
			return nil, domain.FieldErrorf("stepIDs", "lists step %s twice", id)
		}
		listed[id] = true
	}
	var drop []string
	for _, s := range cur {
		if listed[s.ID] {
			delete(listed, s.ID)
		} else {
			drop = append(drop, s.ID)
		}
	}
	for id := range listed {
		return nil, domain.FieldErrorf("stepIDs", "%s is not a step of this escalation policy", id)
	}
	return drop, nil
}

func (r *resolver) CreateEscalationPolicyStep(ctx context.Context, args struct{ Input stepInput }) (*stepRes, error) {
	in := args.Input
	if in.EscalationPolicyID == nil {
		return nil, domain.FieldError("escalationPolicyID", "is required")
	}
	acts, err := stepActions(in.Actions, in.Targets)
	if err == nil {
		err = r.checkDests(acts...)
	}
	if err != nil {
		return nil, err
	}
	id, res, err := r.d.Commands.AddPolicyStep(ctx, string(*in.EscalationPolicyID), commands.NewStep{DelayMinutes: int(in.DelayMinutes), Actions: acts})
	if err != nil {
		return nil, err
	}
	if err := r.wait(ctx, res); err != nil {
		return nil, err
	}
	return r.stepByID(ctx, id)
}

func (r *resolver) stepByID(ctx context.Context, id string) (*stepRes, error) {
	s, err := r.d.Paging.Step(ctx, id)
	if errors.Is(err, paging.ErrNotFound) {
		return nil, escalation.ErrStepNotFound
	}
	if err != nil {
		return nil, err
	}
	return &stepRes{s, r}, nil
}

func (r *resolver) UpdateEscalationPolicyStep(ctx context.Context, args struct {
	Input struct {
		ID           graphql.ID
		DelayMinutes *int32
		Actions      *[]destInput
		Targets      *[]targetInput
	}
}) (bool, error) {
	in := args.Input
	s, err := r.stepByID(ctx, string(in.ID))
	if err != nil {
		return false, err
	}
	acts, err := stepActions(in.Actions, in.Targets)
	if err == nil {
		err = r.checkDests(acts...)
	}
	if err != nil {
		return false, err
	}
	var delay *int
	if in.DelayMinutes != nil {
		d := int(*in.DelayMinutes)
		delay = &d
	}
	res, err := r.d.Commands.UpdatePolicyStep(ctx, s.s.PolicyID, s.s.ID, delay, acts)
	if err != nil {
		return false, err
	}
	return true, r.wait(ctx, res)
}

type policyRes struct {
	p paging.Policy
	r *resolver
}

func (p *policyRes) ID() graphql.ID      { return graphql.ID(p.p.ID) }
func (p *policyRes) Name() string        { return p.p.Name }
func (p *policyRes) Description() string { return p.p.Description }
func (p *policyRes) Repeat() int32       { return int32(p.p.Repeat) }
func (p *policyRes) IsFavorite() bool    { return false }

func (p *policyRes) Steps(ctx context.Context) ([]*stepRes, error) {
	steps, err := p.r.d.Paging.Steps(ctx, p.p.ID)
	if err != nil {
		return nil, err
	}
	out := make([]*stepRes, len(steps))
	for i, s := range steps {
		out[i] = &stepRes{s, p.r}
	}
	return out, nil
}

type policyConn struct {
	nodes []*policyRes
	page  pageInfo
}

func (c *policyConn) Nodes() []*policyRes { return c.nodes }
func (c *policyConn) PageInfo() pageInfo  { return c.page }

type stepRes struct {
	s paging.Step
	r *resolver
}

func (s *stepRes) ID() graphql.ID      { return graphql.ID(s.s.ID) }
func (s *stepRes) StepNumber() int32   { return int32(s.s.StepNumber) }
func (s *stepRes) DelayMinutes() int32 { return int32(s.s.DelayMinutes) }

func (s *stepRes) Actions() []destRes {
	out := make([]destRes, len(s.s.Actions))
	for i, a := range s.s.Actions {
		out[i] = destRes{a, s.r}
	}
	return out
}

func (s *stepRes) Targets() []targetRes {
	out := make([]targetRes, 0, len(s.s.Actions))
	for _, a := range s.s.Actions {
		if t, ok := s.r.targetOf(a); ok {
			out = append(out, t)
		}
	}
	return out
}

func (s *stepRes) EscalationPolicy(ctx context.Context) (*policyRes, error) {
	return s.r.policyByID(ctx, s.s.PolicyID)
}

func (s *serviceRes) EscalationPolicy(ctx context.Context) (*policyRes, error) {
	if s.s.EscalationPolicyID == "" {
		return nil, nil
	}
	return s.r.policyByID(ctx, s.s.EscalationPolicyID)
}
