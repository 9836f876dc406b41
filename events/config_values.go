package events

// ConfigValueSet: an admin changed one admin config value (GoAlert's ids,
// such as "Mailgun.APIKey").
//
// When Encrypted is true, Value is sealed by the data-encryption keyring
// (AES-GCM under --data-encryption-key, or marked plain text on a server
// that has no key) and must be opened before use. Secrets are sealed before
// the event is built, so the log never holds them in the clear. A secret
// cleared to "" is stored as "" unsealed: there is nothing to hide.
type ConfigValueSet struct {
	ID        string `json:"id"`
	Value     string `json:"value"`
	Encrypted bool   `json:"encrypted,omitempty"`
}

func (ConfigValueSet) EventName() string { return "config.value_set" }
