package events

// registerAll is the catalogue of every event the product writes. An event
// type that is not listed here cannot be read back, so tests build a
// registry and round-trip every entry.
func registerAll(r *Registry) {
	r.Register(UserCreated{})
	r.Register(UserBasicAuthSet{})
	r.Register(UserUpdated{})
	r.Register(UserDeleted{})
	r.Register(ContactMethodAdded{})
	r.Register(ContactMethodUpdated{})
	r.Register(ContactMethodVerificationSent{})
	r.Register(ContactMethodTestSent{})
	r.Register(ContactMethodEnabled{})
	r.Register(ContactMethodDisabled{})
	r.Register(ContactMethodRemoved{})
	r.Register(NotificationRuleAdded{})
	r.Register(NotificationRuleRemoved{})

	r.Register(EscalationPolicyCreated{})
	r.Register(EscalationPolicyUpdated{})
	r.Register(EscalationPolicyDeleted{})
	r.Register(EscalationStepAdded{})
	r.Register(EscalationStepUpdated{})
	r.Register(EscalationStepRemoved{})
	r.Register(EscalationStepsReordered{})

	r.Register(NotificationSent{})
	r.Register(NotificationStatusChanged{})
	r.Register(NotificationFailed{})

	r.Register(HeartbeatMonitorCreated{})
	r.Register(HeartbeatMonitorUpdated{})
	r.Register(HeartbeatMonitorDeleted{})
	r.Register(HeartbeatMonitorExpired{})
	r.Register(HeartbeatMonitorHealthy{})

	r.Register(ServiceCreated{})
	r.Register(ServiceUpdated{})
	r.Register(ServiceEscalationPolicyChanged{})
	r.Register(ServiceMaintenanceSet{})
	r.Register(ServiceLabelSet{})
	r.Register(ServiceDeleted{})
	r.Register(IntegrationKeyCreated{})
	r.Register(IntegrationKeyDeleted{})

	r.Register(AlertTriggered{})
	r.Register(AlertDeduplicated{})
	r.Register(AlertAcknowledged{})
	r.Register(AlertEscalationRequested{})
	r.Register(AlertClosed{})
	r.Register(AlertEscalated{})
	r.Upcast(AlertTriggered{}.EventName(), 1, upcastAlertTriggeredV1)

	r.Register(SystemLimitSet{})
	r.Register(ConfigValueSet{})

	r.Register(SigningKeyCreated{})
	r.Register(SessionStarted{})
	r.Register(SessionEnded{})
	r.Register(SignInFailed{})
}
