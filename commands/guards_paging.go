package commands

import (
	"time"

	"github.com/oncallhq/goalert/domain/escalation"
	"github.com/oncallhq/goalert/domain/notification"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/events"
)

// pagingGuards is the paging engine's write-side state as the log
// determines it: destination and policy name reservations, each open
// alert's place in its policy, and heartbeat monitors. Outgoing messages
// are not rebuilt: a message queued but not sent when the log was
// exported is not sent by the importing system.
type pagingGuards struct {
	dests      map[string]destClaim // by contact method id
	policies   map[string]*escalation.Policy
	policyAt   map[string]time.Time
	escalation map[int64]*escPos
	monitors   map[string]*monitor
}

type destClaim struct {
	userID, key string
	at          time.Time
}

type escPos struct {
	serviceID, policyID string
	step, repeat, seq   int
	last                time.Time
}

type monitor struct {
	serviceID, name, details, state string
	timeout                         int
	muted                           bool
	alertID                         int64
}

func newPagingGuards() *pagingGuards {
	return &pagingGuards{dests: map[string]destClaim{}, policies: map[string]*escalation.Policy{},
		policyAt: map[string]time.Time{}, escalation: map[int64]*escPos{}, monitors: map[string]*monitor{}}
}

var pagingGuardEvents = []string{
	events.ContactMethodAdded{}.EventName(), events.ContactMethodRemoved{}.EventName(),
	events.EscalationPolicyCreated{}.EventName(), events.EscalationPolicyUpdated{}.EventName(),
	events.EscalationPolicyDeleted{}.EventName(), events.EscalationStepAdded{}.EventName(),
	events.EscalationStepUpdated{}.EventName(), events.EscalationStepRemoved{}.EventName(),
	events.EscalationStepsReordered{}.EventName(), events.AlertEscalated{}.EventName(),
	events.HeartbeatMonitorCreated{}.EventName(), events.HeartbeatMonitorUpdated{}.EventName(),
	events.HeartbeatMonitorDeleted{}.EventName(), events.HeartbeatMonitorExpired{}.EventName(),
	events.HeartbeatMonitorHealthy{}.EventName(), events.ServiceEscalationPolicyChanged{}.EventName(),
}

func (p *pagingGuards) apply(e events.Event, at time.Time) {
	switch e := e.(type) {
	case events.ContactMethodAdded:
		p.dests[e.ContactMethodID] = destClaim{userID: e.UserID, key: user.DestKey(notification.Dest{Type: e.Dest.Type, Args: e.Dest.Args}), at: at}
	case events.ContactMethodRemoved:
		delete(p.dests, e.ContactMethodID)
	case events.UserDeleted:
		for id, d := range p.dests {
			if d.userID == e.UserID {
				delete(p.dests, id)
			}
		}
	case events.EscalationPolicyCreated:
		pol := &escalation.Policy{}
		pol.Apply(e)
		p.policies[e.PolicyID], p.policyAt[e.PolicyID] = pol, at
	case events.EscalationPolicyUpdated, events.EscalationStepAdded, events.EscalationStepUpdated,
		events.EscalationStepRemoved, events.EscalationStepsReordered:
		if pol := p.policies[policyOf(e)]; pol != nil {
			pol.Apply(e)
		}
	case events.EscalationPolicyDeleted:
		delete(p.policies, e.PolicyID)
	case events.AlertTriggered:
		p.escalation[e.AlertID] = &escPos{serviceID: e.ServiceID, step: -1}
	case events.AlertClosed:
		delete(p.escalation, e.AlertID)
	case events.AlertEscalated:
		if s := p.escalation[e.AlertID]; s != nil {
			s.policyID, s.step, s.repeat, s.last = e.PolicyID, e.StepNumber, e.Repeat, at
			s.seq++
		}
	case events.ServiceEscalationPolicyChanged:
		for _, s := range p.escalation {
			if s.serviceID == e.ServiceID {
				s.policyID, s.step, s.repeat = "", -1, 0
			}
		}
	case events.HeartbeatMonitorCreated:
		p.monitors[e.MonitorID] = &monitor{serviceID: e.ServiceID, name: e.Name, details: e.AdditionalDetails,
			timeout: e.TimeoutMinutes, state: "inactive"}
	case events.HeartbeatMonitorUpdated:
		if m := p.monitors[e.MonitorID]; m != nil {
			m.name, m.details, m.timeout, m.muted = e.Name, e.AdditionalDetails, e.TimeoutMinutes, e.MutedReason != ""
		}
	case events.HeartbeatMonitorDeleted:
		delete(p.monitors, e.MonitorID)
	case events.HeartbeatMonitorExpired:
		if m := p.monitors[e.MonitorID]; m != nil {
			m.state, m.alertID = "unhealthy", e.AlertID
		}
	case events.HeartbeatMonitorHealthy:
		if m := p.monitors[e.MonitorID]; m != nil {
			m.state, m.alertID = "healthy", 0
		}
	}
}

func policyOf(e events.Event) string {
	switch e := e.(type) {
	case events.EscalationPolicyUpdated:
		return e.PolicyID
	case events.EscalationStepAdded:
		return e.PolicyID
	case events.EscalationStepUpdated:
		return e.PolicyID
	case events.EscalationStepRemoved:
		return e.PolicyID
	case events.EscalationStepsReordered:
		return e.PolicyID
	}
	return ""
}

func (p *pagingGuards) reservationRows() [][]any {
	var rows [][]any
	for cm, d := range p.dests {
		rows = append(rows, []any{scopeContactDest, d.key, contactOwner(d.userID, cm), d.at})
	}
	for id, pol := range p.policies {
		rows = append(rows, []any{scopePolicyName, policyNameKey(pol.Name()), id, p.policyAt[id]})
	}
	return rows
}

// escalationRows places each open alert where its events left it: an
// unacknowledged alert is due when its current step's delay runs out (at
// once if it never entered a step), an acknowledged one waits.
func (p *pagingGuards) escalationRows(open map[int64]openAlert, now time.Time) [][]any {
	var rows [][]any
	for id, a := range open {
		s := p.escalation[id]
		if s == nil {
			s = &escPos{serviceID: a.serviceID, step: -1}
		}
		var due, last any
		if !s.last.IsZero() {
			last = s.last
		}
		if a.status == "triggered" {
			due = now
			if pol := p.policies[s.policyID]; pol != nil && s.step >= 0 && s.step < len(pol.Steps()) {
				due = s.last.Add(time.Duration(pol.Steps()[s.step].DelayMinutes) * time.Minute)
			}
		}
		rows = append(rows, []any{id, a.serviceID, s.policyID, s.step, s.repeat, due, last, s.seq})
	}
	return rows
}

// heartbeatRows restores the monitors. Check-ins are not events, so a
// healthy monitor gets a full timeout from now before it can expire.
func (p *pagingGuards) heartbeatRows(now time.Time) [][]any {
	var rows [][]any
	for id, m := range p.monitors {
		var due, alertID any
		if m.state == "healthy" {
			due = now.Add(time.Duration(m.timeout) * time.Minute)
		}
		if m.alertID != 0 {
			alertID = m.alertID
		}
		rows = append(rows, []any{id, m.serviceID, m.name, m.timeout, m.details, m.muted, m.state, due, alertID})
	}
	return rows
}
