package events

// registerAll is the catalogue of every event the product writes. An event
// type that is not listed here cannot be read back, so tests build a
// registry and round-trip every entry.
func registerAll(r *Registry) {
	r.Register(UserCreated{})
	r.Register(UserBasicAuthSet{})
	r.Register(UserUpdated{})
	r.Register(UserDeleted{})

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
	r.Upcast(AlertTriggered{}.EventName(), 1, upcastAlertTriggeredV1)

	r.Register(SystemLimitSet{})
	r.Register(ConfigValueSet{})

	r.Register(SigningKeyCreated{})
	r.Register(SessionStarted{})
	r.Register(SessionEnded{})
	r.Register(SignInFailed{})
}
