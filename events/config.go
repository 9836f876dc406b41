package events

// SystemLimitSet: an admin changed a system limit; -1 means unlimited.
type SystemLimitSet struct {
	LimitID string `json:"limit_id"`
	Value   int    `json:"value"`
}

func (SystemLimitSet) EventName() string { return "config.system_limit_set" }
